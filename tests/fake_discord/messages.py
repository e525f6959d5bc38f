"""Message bodies: reading JSON or multipart requests, Discord's validation, building records.

A stored message is the Discord message object plus what the request asked for that a
message object does not echo (`allowed_mentions`, `enforce_nonce`), so tests can assert on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .state import Snowflakes, iso_now

CONTENT_MAX = 2000
NONCE_MAX = 25
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_LIMITS = {"title": 256, "description": 4096}
FIELDS_MAX = 25
FIELD_LIMITS = {"name": 256, "value": 1024}


@dataclass
class UploadedFile:
    index: int
    filename: str
    data: bytes
    content_type: str


async def read_body(request: web.Request) -> tuple[dict[str, Any], list[UploadedFile]]:
    """The JSON body, or `payload_json` plus `files[n]` parts of a multipart body."""
    if not request.content_type.startswith("multipart/"):
        body = await request.json() if request.body_exists else {}  # read() may have cached it
        return body or {}, []
    body: dict[str, Any] = {}
    files: list[UploadedFile] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        name = part.name or ""
        if name == "payload_json":
            body = json.loads(await part.text())
        elif name.startswith("files["):
            index = int(name[len("files["):-1])
            files.append(UploadedFile(index, part.filename or f"file{index}",
                                      bytes(await part.read()),
                                      part.headers.get("Content-Type", "application/octet-stream")))
    return body, files


def _too_long(limit: int) -> dict[str, Any]:
    return {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                         "message": f"Must be {limit} or fewer in length."}]}


def _embed_errors(embed: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Per-field errors of one embed and its character total (as Discord counts it)."""
    errors: dict[str, Any] = {}
    total = 0
    for key, limit in EMBED_LIMITS.items():
        text = embed.get(key) or ""
        total += len(text)
        if len(text) > limit:
            errors[key] = _too_long(limit)
    for key, sub, limit in (("footer", "text", 2048), ("author", "name", 256)):
        text = (embed.get(key) or {}).get(sub) or ""
        total += len(text)
        if len(text) > limit:
            errors[key] = {sub: _too_long(limit)}
    fields = embed.get("fields") or []
    if len(fields) > FIELDS_MAX:
        errors["fields"] = _too_long(FIELDS_MAX)
    for i, fld in enumerate(fields):
        for key, limit in FIELD_LIMITS.items():
            text = str(fld.get(key) or "")
            total += len(text)
            if len(text) > limit:
                errors.setdefault("fields", {}).setdefault(str(i), {})[key] = _too_long(limit)
    return errors, total


def validate(body: dict[str, Any], *, has_files: bool, require_content: bool = True) -> dict | None:
    """A Discord 400 body (50006 empty / 50035 invalid form) or None when the body is valid."""
    errors: dict[str, Any] = {}
    content = body.get("content") or ""
    if len(content) > CONTENT_MAX:
        errors["content"] = _too_long(CONTENT_MAX)
    nonce = body.get("nonce")
    if nonce is not None and len(str(nonce)) > NONCE_MAX:
        errors["nonce"] = _too_long(NONCE_MAX)
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS_MAX:
        errors["embeds"] = _too_long(EMBEDS_MAX)
    total = 0
    for i, embed in enumerate(embeds):
        embed_errors, count = _embed_errors(embed)
        total += count
        if embed_errors:
            errors.setdefault("embeds", {})[str(i)] = embed_errors
    if total > EMBED_TOTAL_MAX:
        errors.setdefault("embeds", {}).setdefault("_errors", []).append(
            {"code": "MAX_EMBED_SIZE_EXCEEDED",
             "message": "Embed size exceeds maximum size of 6000"})
    if errors:
        return {"code": 50035, "message": "Invalid Form Body", "errors": errors}
    empty = not (content or embeds or has_files or body.get("components")
                 or body.get("sticker_ids") or body.get("poll"))
    if require_content and empty:
        return {"code": 50006, "message": "Cannot send an empty message"}
    return None


def attachment_records(fake_base: str, ids: Snowflakes, files: list[UploadedFile],
                       store: dict[int, bytes]) -> list[dict[str, Any]]:
    """Attachment objects for uploaded files; their bytes go into `store` (served by the fake)."""
    records = []
    for f in files:
        att_id = ids.next()
        store[att_id] = f.data
        url = f"{fake_base}/attachments/{att_id}/{f.filename}"
        records.append({
            "id": str(att_id), "filename": f.filename, "size": len(f.data), "url": url,
            "proxy_url": url, "content_type": f.content_type,
        })
    return records


def new_message(
    *,
    message_id: int,
    channel_id: int,
    guild_id: int | None,
    author: dict[str, Any],
    body: dict[str, Any],
    attachments: list[dict[str, Any]],
    message_type: int = 0,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "type": message_type,
        "content": body.get("content") or "",
        "author": author,
        "embeds": list(body.get("embeds") or []),
        "attachments": attachments,
        "components": list(body.get("components") or []),
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": bool(body.get("tts", False)),
        "timestamp": iso_now(),
        "edited_timestamp": None,
        "flags": int(body.get("flags") or 0),
        # Request-only fields, kept for tests (discord.py ignores unknown keys).
        "allowed_mentions": body.get("allowed_mentions"),
        "enforce_nonce": bool(body.get("enforce_nonce", False)),
    }
    if body.get("nonce") is not None:
        message["nonce"] = str(body["nonce"])
    if guild_id is not None:
        message["guild_id"] = str(guild_id)
    return message


def apply_edit(message: dict[str, Any], body: dict[str, Any],
               new_attachments: list[dict[str, Any]]) -> None:
    for key in ("content", "embeds", "components", "allowed_mentions"):
        if key in body:
            message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
    if "flags" in body and body["flags"] is not None:
        message["flags"] = int(body["flags"])
    if "attachments" in body:  # keep the listed existing attachments, add the new uploads
        keep = {str(a.get("id")) for a in body["attachments"] or []}
        message["attachments"] = [a for a in message["attachments"] if a["id"] in keep]
    message["attachments"] = list(message["attachments"]) + new_attachments
    message["edited_timestamp"] = iso_now()
