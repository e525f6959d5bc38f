"""Guild-scoped feeds: add, remove, list and their poll status."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.news.canonical import canonical_url
from bot.news.ssrf import HostResolutionError, UnsafeURLError, check_url
from bot.services.caller import Caller
from bot.services.errors import UserError
from storage.models import Feed
from storage.store import Store

if TYPE_CHECKING:
    from bot.news.fetch import Fetcher

MAX_URL = 2000

# What a fetched body that is not a feed is, as parse_feed's error kinds say.
_NOT_A_FEED = {
    "html": "it is a web page (HTML), not an RSS or Atom feed; look for the site's feed link",
    "not_feed": "it is not an RSS or Atom feed",
    "empty": "the server sent an empty body",
}


@dataclass(slots=True, frozen=True)
class PollState:
    """How a feed's polling stands: ``state`` is pending (never polled yet), ok,
    failing (``retry_at``: when it is tried again) or disabled."""

    state: str
    retry_at: datetime | None = None


def poll_state(feed: Feed) -> PollState:
    if feed.disabled:
        return PollState("disabled")
    if feed.last_polled_at is None:
        return PollState("pending")
    if feed.failures:
        return PollState("failing", feed.next_poll_at)
    return PollState("ok")


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
        fetcher: Fetcher | None = None,
        max_per_guild: int = 50,
    ) -> None:
        self._store = store
        self._fetcher = fetcher  # None: the URL is not fetched before it is saved
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
            raise UserError(f"{caller.feed_owner} already has that feed.")
        try:
            await check_url(url, allow_private=self._allow_private)
        except UnsafeURLError as exc:
            raise UserError(f"Refused: {exc}") from exc
        except HostResolutionError as exc:
            raise UserError(f"Cannot resolve that feed's host ({exc}); check the URL.") from exc
        if await self._store.feeds.count_for_guild(guild_id) >= self._max:
            raise UserError(f"{caller.feed_owner} has {self._max} feeds, the most allowed; "
                            "remove one.")
        await self.probe(url)
        feed, _ = await self._store.feeds.ensure(
            url, guild_id=guild_id, added_by=caller.user_id,
            notify_channel_id=notify_channel_id, now=self._clock(),
        )
        return feed

    async def probe(self, url: str) -> None:
        """Fetch ``url`` once (the real Fetcher: SSRF guard on every hop, size cap,
        timeouts) and parse it; a UserError saying what is wrong unless it is a feed."""
        if self._fetcher is None:
            return
        from bot.news.fetch import FetchError  # aiohttp and feedparser: only when used
        from bot.news.parse import FeedParseError, parse_feed

        try:
            fetched = await self._fetcher.fetch(url)
        except FetchError as exc:
            if exc.kind == "refused":
                raise UserError(f"Refused: {exc}. Nothing was added.") from exc
            if exc.kind == "dns":
                raise UserError(f"Cannot resolve that feed's host ({exc}); check the URL. "
                                "Nothing was added.") from exc
            raise UserError(f"Could not fetch that URL ({exc}). Nothing was added.") from exc
        try:
            await asyncio.to_thread(parse_feed, fetched.body or b"", base_url=fetched.url,
                                    content_type=fetched.content_type)
        except FeedParseError as exc:
            if exc.kind == "no_entries":
                return  # a feed, only with nothing in it yet
            why = _NOT_A_FEED.get(exc.kind, f"it could not be read as a feed ({exc})")
            raise UserError(f"That URL is not a feed: {why}. Nothing was added.") from exc

    async def remove(self, caller: Caller, url: str) -> None:
        guild_id = caller.require_manage("Removing a feed")
        url = validate_feed_url(url)
        if not await self._store.feeds.remove(url, guild_id=guild_id):
            raise UserError(f"{caller.feed_owner} has no such feed; "
                            f"{caller.command('/feeds list')} shows its feeds.")

    async def list(self, caller: Caller) -> list[Feed]:
        guild_id = caller.require_guild("Feeds")
        return await self._store.feeds.list_for_guild(guild_id)

    async def operator_feeds(self) -> list[Feed]:
        return await self._store.feeds.list_for_guild(0)
