"""What every API request goes through before its handler, in Discord's order of concerns:
route known? → token → (held by the test?) → injected fault → global limit → route bucket
→ handler.
Each request is logged in `fake.stats` with its status and outcome."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .ratelimit import RequestRecord, rate_limit_429_headers, rate_limit_body
from .rest import error, json_response

if TYPE_CHECKING:
    from .server import FakeDiscord

API_PREFIX = "/api/v{version:\\d+}"  # routes are registered under this
API_PREFIX_CANONICAL = "/api/v{version}"
MESSAGE_ROUTE = "POST /channels/{channel_id}/messages"


def api_middleware(fake: FakeDiscord) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)  # gateway websocket, attachment downloads
        record = RequestRecord(request.method, re.sub(r"^/api/v\d+", "", request.path),
                               time.monotonic())
        response = await _guarded(fake, request, handler, record)
        record.status = response.status
        fake.stats.record(record)
        return response

    return middleware


async def _guarded(fake: FakeDiscord, request: web.Request, handler: Any,
                   record: RequestRecord) -> web.StreamResponse:
    method, path = request.method, record.path
    if request.match_info.http_exception is not None:
        fake.unhandled.append((method, path))
        record.outcome = "unhandled"
        return error(404, 0, f"404: Not Found (fake has no route {method} {path})")
    webhookish = path.startswith(("/interactions/", "/webhooks/"))  # token in the URL
    if not webhookish and request.headers.get("Authorization") != f"Bot {fake.token}":
        record.outcome = "error"
        return error(401, 0, "401: Unauthorized")
    if (hold := await fake.holds.wait(request, method, path)) is not None:
        try:  # a test kept this request waiting
            return await _limited(fake, request, handler, record)
        finally:
            hold.answered += 1
    return await _limited(fake, request, handler, record)


async def _limited(fake: FakeDiscord, request: web.Request, handler: Any,
                   record: RequestRecord) -> web.StreamResponse:
    """Injected fault → global limit → route bucket → handler."""
    method, path = request.method, record.path
    webhookish = path.startswith(("/interactions/", "/webhooks/"))
    now = time.monotonic()
    name, major, (limit, per) = _bucket_for(fake, request)
    if (fault := fake.faults.take(method, path)) is not None:
        record.outcome = "injected"
        body, headers = fault.response_parts()
        if fault.status == 429:
            headers = {**fake.route_buckets.peek(name, major, limit, per, now), **headers}
        return json_response(body, fault.status, headers)
    # Interaction endpoints are exempt from the global limit on Discord too.
    if not webhookish and (retry := fake.global_limiter.acquire(now)) is not None:
        record.outcome = "global-429"
        return json_response(rate_limit_body(retry, is_global=True), 429,
                             rate_limit_429_headers(retry, scope="global"))
    retry, headers = fake.route_buckets.acquire(name, major, limit, per, now)
    if retry is not None:
        record.outcome = "bucket-429"
        return json_response(rate_limit_body(retry, is_global=False), 429,
                             {**headers, **rate_limit_429_headers(retry, scope="user")})
    response = await handler(request)
    response.headers.update(headers)
    if response.status >= 400:
        record.outcome = "error"
    return response


def _bucket_for(fake: FakeDiscord, request: web.Request) -> tuple[str, str, tuple[int, float]]:
    """(bucket name, major parameter, (limit, per)) for a matched API request."""
    canonical = request.match_info.route.resource.canonical  # type: ignore[union-attr]
    key = f"{request.method} {canonical.removeprefix(API_PREFIX_CANONICAL)}"
    info = request.match_info
    if "token" in info:
        major = f"{info.get('interaction_id') or info.get('application_id')}/{info['token']}"
    else:
        major = info.get("channel_id") or info.get("guild_id") or ""
    if key in fake.route_limits:
        limits = fake.route_limits[key]
    else:
        limits = fake.message_limit if key == MESSAGE_ROUTE else fake.default_limit
    return key, major, limits
