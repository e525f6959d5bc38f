"""REST route handlers. Rate limits, faults and auth are applied by the server's middleware."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import messages as msgs
from . import threads
from .interactions import (
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    EPHEMERAL,
    LOADING,
    UPDATE_MESSAGE,
    FakeInteraction,
)
from .ratelimit import error_body
from .state import (
    ATTACH_FILES,
    DM,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    FakeChannel,
)

if TYPE_CHECKING:
    from .server import FakeDiscord

def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    # discord.py decodes JSON only when Content-Type is exactly "application/json" (no charset).
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json", **(headers or {})})


def error(status: int, code: int | None = None, message: str | None = None) -> web.Response:
    return json_response(error_body(status, code, message), status)


def no_content() -> web.Response:
    return web.Response(status=204)


class RestApi:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.world = fake.world

    def routes(self) -> list[web.RouteDef]:
        get, post, put, patch, delete = web.get, web.post, web.put, web.patch, web.delete
        return [
            get("/gateway", self.get_gateway),
            get("/gateway/bot", self.get_gateway_bot),
            get("/users/@me", self.get_me),
            post("/users/@me/channels", self.open_dm),
            get("/users/{user_id}", self.get_user),
            get("/oauth2/applications/@me", self.get_application),
            get("/applications/@me", self.get_application),
            get("/applications/{application_id}/commands", self.get_commands),
            put("/applications/{application_id}/commands", self.put_commands),
            get("/applications/{application_id}/guilds/{guild_id}/commands", self.get_commands),
            put("/applications/{application_id}/guilds/{guild_id}/commands", self.put_commands),
            post("/interactions/{interaction_id}/{token}/callback", self.interaction_callback),
            post("/webhooks/{application_id}/{token}", self.create_followup),
            get("/webhooks/{application_id}/{token}/messages/{message_id}", self.get_webhook_msg),
            patch("/webhooks/{application_id}/{token}/messages/{message_id}",
                  self.edit_webhook_msg),
            delete("/webhooks/{application_id}/{token}/messages/{message_id}",
                   self.delete_webhook_msg),
            get("/channels/{channel_id}", self.get_channel),
            delete("/channels/{channel_id}", self.delete_channel),
            get("/channels/{channel_id}/messages", self.get_channel_messages),
            post("/channels/{channel_id}/messages", self.create_message),
            post("/channels/{channel_id}/typing", self.typing),
            get("/channels/{channel_id}/messages/{message_id}", self.get_message),
            patch("/channels/{channel_id}/messages/{message_id}", self.edit_message),
            delete("/channels/{channel_id}/messages/{message_id}", self.delete_message),
            post("/channels/{channel_id}/messages/{message_id}/threads", self.start_thread),
            get("/guilds/{guild_id}", self.get_guild),
            get("/guilds/{guild_id}/channels", self.get_guild_channels),
            get("/guilds/{guild_id}/members/{user_id}", self.get_member),
        ]

    # -- gateway, users, application -------------------------------------------------------

    async def get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.fake.gateway_url})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response({
            "url": self.fake.gateway_url, "shards": self.fake.shards,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000,
                                    "max_concurrency": 1},
        })

    async def get_me(self, request: web.Request) -> web.Response:
        return json_response({**self.fake.bot_user.payload(), "verified": True,
                              "mfa_enabled": False, "flags": 0})

    async def get_user(self, request: web.Request) -> web.Response:
        user = self.world.users.get(int(request.match_info["user_id"]))
        return json_response(user.payload()) if user else error(404, 10013)

    async def get_application(self, request: web.Request) -> web.Response:
        fake = self.fake
        return json_response({
            "id": str(fake.application_id), "name": fake.bot_user.username, "icon": None,
            "description": "", "bot_public": True, "bot_require_code_grant": False,
            "owner": fake.app_owner.payload(), "verify_key": "0" * 64, "flags": 0,
            "summary": "", "team": None, "bot": fake.bot_user.payload(),
        })

    # -- application commands -----------------------------------------------------------------

    async def get_commands(self, request: web.Request) -> web.Response:
        guild_id = request.match_info.get("guild_id")
        return json_response(self.fake.commands_for(int(guild_id) if guild_id else None))

    async def put_commands(self, request: web.Request) -> web.Response:
        guild_id = request.match_info.get("guild_id")
        body = await request.json()
        stored = self.fake.store_commands(int(guild_id) if guild_id else None, body)
        return json_response(stored)

    # -- interactions ---------------------------------------------------------------------------

    def _interaction(self, request: web.Request) -> FakeInteraction | None:
        return self.fake.interactions.get(request.match_info["token"])

    async def interaction_callback(self, request: web.Request) -> web.Response:
        fake = self.fake
        inter = self._interaction(request)
        if inter is None or str(inter.id) != request.match_info["interaction_id"]:
            return error(404, 10062)
        if inter.callback is not None:
            return error(400, 40060)
        if time.monotonic() - inter.created > fake.interaction_timeout:
            return error(404, 10062)  # too late: Discord allows ~3 s to acknowledge
        body, files = await msgs.read_body(request)
        ctype, data = body.get("type"), body.get("data") or {}
        if ctype == CHANNEL_MESSAGE and (err := msgs.validate(data, has_files=bool(files))):
            return json_response(err, 400)
        message = None
        if ctype == CHANNEL_MESSAGE:
            message = fake.create_interaction_message(inter, data, files)
        elif ctype == DEFERRED_CHANNEL_MESSAGE:  # a "thinking…" placeholder until edited
            flags = (int(data.get("flags") or 0) & EPHEMERAL) | LOADING
            message = fake.create_interaction_message(inter, {"content": "", "flags": flags}, [])
        elif ctype == UPDATE_MESSAGE:
            target = fake.find_message(int(inter.payload["message"]["id"]))
            if target is not None:
                msgs.apply_edit(target, data, fake.store_files(files))
                message = target
        inter.callback = {"type": ctype, "data": data}
        inter.original = message
        await inter.notify()
        if request.query.get("with_response") not in ("1", "true", "True"):
            return no_content()
        response: dict[str, Any] = {
            "interaction": {
                "id": str(inter.id), "type": inter.type,
                "response_message_loading": ctype == DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": bool(int(data.get("flags") or 0) & EPHEMERAL),
            },
            "resource": {"type": ctype},
        }
        if message is not None:
            response["interaction"]["response_message_id"] = message["id"]
            response["resource"]["message"] = message
        if ctype == AUTOCOMPLETE_RESULT:
            response.pop("resource")
        return json_response(response)

    async def create_followup(self, request: web.Request) -> web.Response:
        fake = self.fake
        inter = self._interaction(request)
        if inter is None or inter.callback is None:
            return error(404, 10015)
        body, files = await msgs.read_body(request)
        if err := msgs.validate(body, has_files=bool(files)):
            return json_response(err, 400)
        original = inter.original
        if original is not None and original["flags"] & LOADING and not inter.followups:
            # The first followup after a deferral replaces the "thinking…" message.
            body = {**body, "flags": original["flags"] & EPHEMERAL}
            msgs.apply_edit(original, body, fake.store_files(files))
            message = original
        else:
            message = fake.create_interaction_message(inter, body, files)
        inter.followups.append(message)
        await inter.notify()
        # For interaction followups Discord always waits and returns the message.
        return json_response(message)

    def _webhook_message(self, request: web.Request) -> dict[str, Any] | None:
        inter = self._interaction(request)
        if inter is None:
            return None
        mid = request.match_info["message_id"]
        if mid == "@original":
            return inter.original
        return next((m for m in inter.messages if m["id"] == mid), None)

    async def get_webhook_msg(self, request: web.Request) -> web.Response:
        message = self._webhook_message(request)
        return json_response(message) if message else error(404, 10008)

    async def edit_webhook_msg(self, request: web.Request) -> web.Response:
        message = self._webhook_message(request)
        if message is None:
            return error(404, 10008)
        body, files = await msgs.read_body(request)
        if err := msgs.validate(body, has_files=bool(files), require_content=False):
            return json_response(err, 400)
        msgs.apply_edit(message, body, self.fake.store_files(files))
        message["flags"] &= ~LOADING
        inter = self._interaction(request)
        if inter is not None:
            await inter.notify()
        return json_response(message)

    async def delete_webhook_msg(self, request: web.Request) -> web.Response:
        message = self._webhook_message(request)
        if message is None:
            return error(404, 10008)
        self.fake.remove_message(message)
        return no_content()

    # -- channels and messages -----------------------------------------------------------------

    def _channel(self, request: web.Request) -> FakeChannel | None:
        return self.world.channels.get(int(request.match_info["channel_id"]))

    async def get_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        return json_response(channel.payload()) if channel else error(404, 10003)

    async def delete_channel(self, request: web.Request) -> web.Response:
        """Only threads can be deleted here (Manage Threads); other channels answer 403."""
        channel = self._channel(request)
        if channel is None:
            return error(404, 10003)
        if isinstance(channel, threads.FakeThread):
            return await threads.delete_thread(self.fake, channel)
        return error(403, 50013)

    async def get_channel_messages(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if channel is None:
            return error(404, 10003)
        history = list(reversed(self.fake.messages.get(channel.id, [])))  # newest first
        if before := request.query.get("before"):
            history = [m for m in history if int(m["id"]) < int(before)]
        if after := request.query.get("after"):
            history = [m for m in history if int(m["id"]) > int(after)]
        return json_response(history[: int(request.query.get("limit", 50))])

    def _send_denied(self, channel: FakeChannel, has_files: bool) -> web.Response | None:
        """The 403 Discord answers when the bot may not post here, else None."""
        if channel.type == DM:
            assert channel.recipient is not None
            return error(403, 50007) if channel.recipient.dms_closed else None
        guild = self.world.guild_of(channel)
        assert guild is not None
        perms = guild.permissions_for(self.fake.bot_user.id, channel)
        if not perms & VIEW_CHANNEL:
            return error(403, 50001)
        send = SEND_MESSAGES_IN_THREADS if channel.type == threads.PUBLIC_THREAD else SEND_MESSAGES
        if not perms & send or (has_files and not perms & ATTACH_FILES):
            return error(403, 50013)
        return None

    async def create_message(self, request: web.Request) -> web.Response:
        fake = self.fake
        channel = self._channel(request)
        if channel is None:
            return error(404, 10003)
        body, files = await msgs.read_body(request)
        if denied := self._send_denied(channel, bool(files)):
            return denied
        if err := msgs.validate(body, has_files=bool(files)):
            return json_response(err, 400)
        if body.get("enforce_nonce") and body.get("nonce") is not None:
            existing = fake.recent_nonce(channel.id, str(body["nonce"]))
            if existing is not None:
                fake.nonce_hits += 1
                return json_response(existing)
        message = fake.create_channel_message(channel, body, files)
        await fake.echo("MESSAGE_CREATE", channel, message)
        return json_response(message)

    async def start_thread(self, request: web.Request) -> web.Response:
        return await threads.start_thread_from_message(self.fake, request)

    async def typing(self, request: web.Request) -> web.Response:
        return no_content() if self._channel(request) else error(404, 10003)

    def _message(self, request: web.Request) -> dict[str, Any] | None:
        message = self.fake.find_message(int(request.match_info["message_id"]))
        if message is None or message["channel_id"] != request.match_info["channel_id"]:
            return None
        return message

    async def get_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        return json_response(message) if message else error(404, 10008)

    async def edit_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if message is None:
            return error(404, 10008)
        if message["author"]["id"] != str(self.fake.bot_user.id):
            return error(403, 50005, "Cannot edit a message authored by another user")
        body, files = await msgs.read_body(request)
        if err := msgs.validate(body, has_files=bool(files), require_content=False):
            return json_response(err, 400)
        msgs.apply_edit(message, body, self.fake.store_files(files))
        channel = self.world.channels[int(message["channel_id"])]
        await self.fake.echo("MESSAGE_UPDATE", channel, message)
        return json_response(message)

    async def delete_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if message is None:
            return error(404, 10008)
        self.fake.remove_message(message)
        channel = self.world.channels[int(message["channel_id"])]
        await self.fake.echo("MESSAGE_DELETE", channel, {
            "id": message["id"], "channel_id": message["channel_id"],
            **({"guild_id": message["guild_id"]} if "guild_id" in message else {})})
        return no_content()

    async def open_dm(self, request: web.Request) -> web.Response:
        body = await request.json()
        user_id = int(body.get("recipient_id", 0))
        if user_id not in self.world.users:
            return error(400, 50035, "Invalid Form Body")
        return json_response(self.world.dm_channel(user_id).payload())

    # -- guilds ---------------------------------------------------------------------------------

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self.world.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            return error(404, 10004, "Unknown Guild")
        return json_response({**guild.payload(), "approximate_member_count": len(guild.members)})

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        guild = self.world.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            return error(404, 10004, "Unknown Guild")
        return json_response([c.payload() for c in guild.channels.values()])

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self.world.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            return error(404, 10004, "Unknown Guild")
        member = guild.members.get(int(request.match_info["user_id"]))
        return json_response(member.payload()) if member else error(404, 10007, "Unknown Member")
