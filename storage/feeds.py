"""Feeds: the operator's default list (guild 0) and guild-scoped feeds, with poll state.

A row marked `one_off` belongs to no list: a one-off poll (`ingest --once --feed URL`)
keeps it only for the URL's validators and poll state. `due`, `backing_off`,
`list_for_guild` and `count_for_guild` leave such rows out; `ensure` turns one into an
ordinary feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.db import Database, execute_write
from storage.models import Feed
from storage.timeutil import from_db, to_db

OPERATOR_GUILD = 0


class FeedRepository:
    def __init__(self, db: Database) -> None:
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
        """The feed for (url, guild), created if missing. Returns (feed, created).

        A one-off poll's row for the URL becomes an ordinary feed (created=True), due
        at once, its validators kept."""
        cur = await execute_write(self._db,
            "INSERT INTO feeds (url, guild_id, added_by, notify_channel_id, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (url, guild_id, added_by, notify_channel_id, to_db(now)),
        )
        created = cur.rowcount == 1
        feed = await self.get_by_url(url, guild_id=guild_id)
        assert feed is not None
        if feed.one_off:
            await execute_write(self._db,
                "UPDATE feeds SET one_off = 0, added_by = ?, notify_channel_id = ?,"
                " failures = 0, disabled = 0, next_poll_at = NULL WHERE id = ?",
                (added_by, notify_channel_id, feed.id),
            )
            feed, created = await self.get(feed.id), True
            assert feed is not None
        return feed, created

    async def ensure_one_off(self, url: str, *, now: datetime) -> Feed:
        """The operator's row for ``url`` — an existing feed stays as it is; otherwise a
        one-off row, created if missing."""
        await execute_write(self._db,
            "INSERT INTO feeds (url, guild_id, one_off, created_at) VALUES (?, ?, 1, ?)"
            " ON CONFLICT DO NOTHING",
            (url, OPERATOR_GUILD, to_db(now)),
        )
        feed = await self.get_by_url(url, guild_id=OPERATOR_GUILD)
        assert feed is not None
        return feed

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
            "SELECT * FROM feeds WHERE guild_id = ? AND one_off = 0 ORDER BY id", (guild_id,)
        ) as cur:
            return [_feed(row) for row in await cur.fetchall()]

    async def with_url(self, url: str) -> list[Feed]:
        async with self._db.execute("SELECT * FROM feeds WHERE url = ?", (url,)) as cur:
            return [_feed(row) for row in await cur.fetchall()]

    async def count_for_guild(self, guild_id: int) -> int:
        async with self._db.execute(
            "SELECT count(*) FROM feeds WHERE guild_id = ? AND one_off = 0", (guild_id,)
        ) as cur:
            return (await cur.fetchone())[0]

    async def due(self, now: datetime, *, operator_urls: list[str] | None = None) -> list[Feed]:
        """Enabled feeds whose next poll time has come: every guild feed, the operator
        feeds among ``operator_urls`` (all operator feeds when None), and operator feeds
        added by hand (the shell's `/feeds add`)."""
        async with self._db.execute(
            "SELECT * FROM feeds WHERE disabled = 0 AND one_off = 0"
            " AND (next_poll_at IS NULL OR next_poll_at <= ?) ORDER BY id",
            (to_db(now),),
        ) as cur:
            feeds = [_feed(row) for row in await cur.fetchall()]
        return _polled(feeds, operator_urls)

    async def backing_off(
        self, now: datetime, *, operator_urls: list[str] | None = None
    ) -> list[Feed]:
        """The feeds `due` would poll but for their backoff after failures (soonest
        retry first)."""
        async with self._db.execute(
            "SELECT * FROM feeds WHERE disabled = 0 AND one_off = 0 AND failures > 0"
            " AND next_poll_at > ? ORDER BY next_poll_at, id",
            (to_db(now),),
        ) as cur:
            feeds = [_feed(row) for row in await cur.fetchall()]
        return _polled(feeds, operator_urls)

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
            " next_poll_at = ?, disabled = CASE WHEN ? = 1 THEN 1 ELSE disabled END WHERE id = ?",
            (to_db(now), error[:500], to_db(next_poll_at), int(disable), feed_id),
        )

    async def enable(self, feed_id: int) -> None:
        await execute_write(self._db,
            "UPDATE feeds SET disabled = 0, failures = 0, next_poll_at = NULL WHERE id = ?",
            (feed_id,),
        )


def _polled(feeds: list[Feed], operator_urls: list[str] | None) -> list[Feed]:
    """Every guild feed, the operator feeds among ``operator_urls`` (all of them when
    None), and operator feeds added by hand (the shell's `/feeds add`)."""
    if operator_urls is None:
        return feeds
    wanted = set(operator_urls)
    return [
        f for f in feeds
        if f.guild_id != OPERATOR_GUILD or f.url in wanted or f.added_by is not None
    ]


def _feed(row: Any) -> Feed:
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
        one_off=bool(row["one_off"]),
    )
