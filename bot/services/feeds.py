"""Guild-scoped feeds: add, remove, list and their poll status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.news.canonical import canonical_url
from bot.news.ssrf import HostResolutionError, UnsafeURLError, check_url
from bot.services.caller import Caller
from bot.services.errors import UserError
from storage.models import Feed
from storage.store import Store

MAX_URL = 2000


def validate_feed_url(url: str) -> str:
    url = url.strip()
    if not url:
        raise UserError("Give the feed's URL, e.g. https://example.com/feed.xml.")
    if len(url) > MAX_URL:
        raise UserError(f"That URL is too long (over {MAX_URL} characters).")
    if not url.lower().startswith(("http://", "https://")):
        raise UserError("A feed URL must start with http:// or https://.")
    try:
        return canonical_url(url)
    except ValueError as exc:
        raise UserError(f"That is not a valid URL: {exc}") from exc


class FeedService:
    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime],
        allow_private: bool,
        max_per_guild: int = 50,
    ) -> None:
        self._store = store
        self._clock = clock
        self._allow_private = allow_private
        self._max = max_per_guild

    async def add(self, caller: Caller, url: str, *, notify_channel_id: int | None = None) -> Feed:
        guild_id = caller.require_manage("Adding a feed")
        url = validate_feed_url(url)
        existing = await self._store.feeds.get_by_url(url, guild_id=guild_id)
        if existing and existing.one_off:
            existing = None  # a one-off poll's row: adding it makes it an ordinary feed
        if existing and existing.disabled:
            await self._store.feeds.enable(existing.id)  # adding it again retries it
            return await self._store.feeds.get(existing.id)
        if existing:
            raise UserError("This server already has that feed.")
        try:
            await check_url(url, allow_private=self._allow_private)
        except UnsafeURLError as exc:
            raise UserError(f"Refused: {exc}") from exc
        except HostResolutionError as exc:
            raise UserError(f"Cannot resolve that feed's host ({exc}); check the URL.") from exc
        if await self._store.feeds.count_for_guild(guild_id) >= self._max:
            raise UserError(f"This server has {self._max} feeds, the most allowed; remove one.")
        feed, _ = await self._store.feeds.ensure(
            url, guild_id=guild_id, added_by=caller.user_id,
            notify_channel_id=notify_channel_id, now=self._clock(),
        )
        return feed

    async def remove(self, caller: Caller, url: str) -> None:
        guild_id = caller.require_manage("Removing a feed")
        url = validate_feed_url(url)
        if not await self._store.feeds.remove(url, guild_id=guild_id):
            raise UserError("This server has no such feed; `/feeds list` shows its feeds.")

    async def list(self, caller: Caller) -> list[Feed]:
        guild_id = caller.require_guild("Feeds")
        return await self._store.feeds.list_for_guild(guild_id)

    async def operator_feeds(self) -> list[Feed]:
        return await self._store.feeds.list_for_guild(0)
