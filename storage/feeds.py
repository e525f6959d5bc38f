"""Feeds: the operator's default list (guild 0) and guild-scoped feeds, with poll state."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.db import execute_write
from storage.models import Feed
from storage.timeutil import from_db, to_db

OPERATOR_GUILD = 0


class FeedRepository:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def ensure(
        self,
        url: str,
        *,
        guild_id: int = OPERATOR_GUILD,
        added_by: int | None = None,
        notify_channel_id: int | None = None,
        now: datetime,
    ) -> tuple[Feed, bool]:
        """The feed for (url, guild), created if missing. Returns (feed, created)."""
        cur = await execute_write(self._db,
            "INSERT OR IGNORE INTO feeds (url, guild_id, added_by, notify_channel_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (url, guild_id, added_by, notify_channel_id, to_db(now)),
        )
        created = cur.rowcount == 1
        feed = await self.get_by_url(url, guild_id=guild_id)
        assert feed is not None
        return feed, created

    async def get(self, feed_id: int) -> Feed | None:
        async with self._db.execute("SELECT * FROM feeds WHERE id = ?", (feed_id,)) as cur:
            row = await cur.fetchone()
        return _feed(row) if row else None

    async def get_by_url(self, url: str, *, guild_id: int) -> Feed | None:
        async with self._db.execute(
            "SELECT * FROM feeds WHERE url = ? AND guild_id = ?", (url, guild_id)
        ) as cur:
            row = await cur.fetchone()
        return _feed(row) if row else None

    async def list_for_guild(self, guild_id: int) -> list[Feed]:
        async with self._db.execute(
            "SELECT * FROM feeds WHERE guild_id = ? ORDER BY id", (guild_id,)
        ) as cur:
            return [_feed(row) for row in await cur.fetchall()]

    async def with_url(self, url: str) -> list[Feed]:
        async with self._db.execute("SELECT * FROM feeds WHERE url = ?", (url,)) as cur:
            return [_feed(row) for row in await cur.fetchall()]

    async def count_for_guild(self, guild_id: int) -> int:
        async with self._db.execute(
            "SELECT count(*) FROM feeds WHERE guild_id = ?", (guild_id,)
        ) as cur:
            return (await cur.fetchone())[0]

    async def due(self, now: datetime, *, operator_urls: list[str] | None = None) -> list[Feed]:
        """Enabled feeds whose next poll time has come: every guild feed, the operator
        feeds among ``operator_urls`` (all operator feeds when None), and operator feeds
        added by hand (the shell's `/feeds add`)."""
        async with self._db.execute(
            "SELECT * FROM feeds WHERE disabled = 0"
            " AND (next_poll_at IS NULL OR next_poll_at <= ?) ORDER BY id",
            (to_db(now),),
        ) as cur:
            feeds = [_feed(row) for row in await cur.fetchall()]
        if operator_urls is not None:
            wanted = set(operator_urls)
            feeds = [
                f for f in feeds
                if f.guild_id != OPERATOR_GUILD or f.url in wanted or f.added_by is not None
            ]
        return feeds

    async def remove(self, url: str, *, guild_id: int) -> bool:
        cur = await execute_write(self._db,
            "DELETE FROM feeds WHERE url = ? AND guild_id = ?", (url, guild_id)
        )
        return cur.rowcount > 0

    async def record_success(
        self,
        feed_id: int,
        *,
        now: datetime,
        next_poll_at: datetime,
        etag: str | None,
        last_modified: str | None,
        title: str | None,
        warning: str | None = None,
    ) -> None:
        await execute_write(self._db,
            "UPDATE feeds SET etag = ?, last_modified = ?, title = coalesce(?, title),"
            " failures = 0, last_polled_at = ?, last_success_at = ?, next_poll_at = ?,"
            " last_error = ? WHERE id = ?",
            (etag, last_modified, title, to_db(now), to_db(now), to_db(next_poll_at), warning,
             feed_id),
        )

    async def record_failure(
        self, feed_id: int, *, now: datetime, error: str, next_poll_at: datetime, disable: bool
    ) -> None:
        await execute_write(self._db,
            "UPDATE feeds SET failures = failures + 1, last_polled_at = ?, last_error = ?,"
            " next_poll_at = ?, disabled = CASE WHEN ? THEN 1 ELSE disabled END WHERE id = ?",
            (to_db(now), error[:500], to_db(next_poll_at), int(disable), feed_id),
        )

    async def enable(self, feed_id: int) -> None:
        await execute_write(self._db,
            "UPDATE feeds SET disabled = 0, failures = 0, next_poll_at = NULL WHERE id = ?",
            (feed_id,),
        )


def _feed(row: aiosqlite.Row) -> Feed:
    return Feed(
        id=row["id"],
        url=row["url"],
        guild_id=row["guild_id"],
        title=row["title"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        failures=row["failures"],
        next_poll_at=from_db(row["next_poll_at"]),
        last_polled_at=from_db(row["last_polled_at"]),
        last_success_at=from_db(row["last_success_at"]),
        last_error=row["last_error"],
        disabled=bool(row["disabled"]),
        added_by=row["added_by"],
        notify_channel_id=row["notify_channel_id"],
    )
