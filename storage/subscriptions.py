"""Subscriptions, and matching new articles against them through indexed joins."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.db import execute_write
from storage.models import Subscription
from storage.search import fts_query
from storage.timeutil import from_db, to_db

# Tag-backed kinds match through article_tags(kind, value); "source" through the
# article's source name; "keyword" through the full-text index.
_TAG_KINDS = ("actor", "cve", "vendor")


class SubscriptionRepository:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def add(
        self,
        *,
        guild_id: int,
        owner_id: int,
        target_kind: str,
        target_id: int,
        kind: str,
        value: str,
        display: str,
        now: datetime,
    ) -> tuple[Subscription, bool]:
        """Returns (subscription, created); an identical one is returned as it is."""
        cur = await execute_write(self._db,
            "INSERT OR IGNORE INTO subscriptions (guild_id, owner_id, target_kind, target_id,"
            " kind, value, display, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (guild_id, owner_id, target_kind, target_id, kind, value, display, to_db(now)),
        )
        async with self._db.execute(
            "SELECT * FROM subscriptions WHERE target_kind = ? AND target_id = ? AND kind = ?"
            " AND value = ?",
            (target_kind, target_id, kind, value),
        ) as c:
            row = await c.fetchone()
        return _subscription(row), cur.rowcount == 1

    async def remove(self, *, owner_id: int, kind: str, value: str, guild_id: int | None) -> int:
        """Remove the caller's own subscriptions of (kind, value): their DM ones, and
        channel ones they made in this guild. Returns how many were removed."""
        cur = await execute_write(self._db,
            "DELETE FROM subscriptions WHERE owner_id = ? AND kind = ? AND value = ?"
            " AND (target_kind = 'user' OR guild_id = ?)",
            (owner_id, kind, value, guild_id if guild_id is not None else -1),
        )
        return cur.rowcount

    async def for_owner(self, owner_id: int, *, guild_id: int | None = None) -> list[Subscription]:
        """A user's subscriptions: their DM ones, plus channel ones made in ``guild_id``."""
        async with self._db.execute(
            "SELECT * FROM subscriptions WHERE owner_id = ?"
            " AND (target_kind = 'user' OR guild_id = ?) ORDER BY kind, display",
            (owner_id, guild_id if guild_id is not None else -1),
        ) as cur:
            return [_subscription(row) for row in await cur.fetchall()]

    async def count_for_owner(self, owner_id: int) -> int:
        async with self._db.execute(
            "SELECT count(*) FROM subscriptions WHERE owner_id = ?", (owner_id,)
        ) as cur:
            return (await cur.fetchone())[0]

    async def count(self) -> int:
        async with self._db.execute("SELECT count(*) FROM subscriptions") as cur:
            return (await cur.fetchone())[0]

    async def for_channel(self, channel_id: int) -> list[Subscription]:
        async with self._db.execute(
            "SELECT * FROM subscriptions WHERE target_kind = 'channel' AND target_id = ?",
            (channel_id,),
        ) as cur:
            return [_subscription(row) for row in await cur.fetchall()]

    async def matches(self, first_id: int, last_id: int) -> list[tuple[str, int, int]]:
        """(target_kind, target_id, story_id) for every subscription that matches an article
        with first_id <= id <= last_id. Each branch is an indexed lookup."""
        db = self._db
        found: set[tuple[str, int, int]] = set()
        async with db.execute(
            "SELECT DISTINCT s.target_kind, s.target_id, a.story_id"
            " FROM articles a JOIN article_tags t ON t.article_id = a.id"
            " JOIN subscriptions s ON s.kind = t.kind AND s.value = t.value"
            " WHERE a.id BETWEEN ? AND ? AND a.scope_guild IN (0, s.guild_id)",
            (first_id, last_id),
        ) as cur:
            found.update(tuple(row) for row in await cur.fetchall())
        async with db.execute(
            "SELECT DISTINCT s.target_kind, s.target_id, a.story_id"
            # CROSS JOIN keeps the new articles as the outer loop: a few new
            # articles against many subscriptions, each probed by its index.
            " FROM articles a CROSS JOIN subscriptions s ON s.kind = 'source'"
            " AND s.value = lower(a.source) WHERE a.id BETWEEN ? AND ?"
            " AND a.scope_guild IN (0, s.guild_id)",
            (first_id, last_id),
        ) as cur:
            found.update(tuple(row) for row in await cur.fetchall())
        async with db.execute(
            "SELECT DISTINCT value FROM subscriptions WHERE kind = 'keyword'"
        ) as cur:
            keywords = [row[0] for row in await cur.fetchall()]
        for keyword in keywords:
            match = fts_query(keyword)
            if match is None:
                continue
            async with db.execute(
                "SELECT DISTINCT s.target_kind, s.target_id, a.story_id"
                " FROM articles_fts f JOIN articles a ON a.id = f.rowid"
                " JOIN subscriptions s ON s.kind = 'keyword' AND s.value = ?"
                " WHERE articles_fts MATCH ? AND f.rowid BETWEEN ? AND ?"
                " AND a.scope_guild IN (0, s.guild_id)",
                (keyword, match, first_id, last_id),
            ) as cur:
                found.update(tuple(row) for row in await cur.fetchall())
        return sorted(found)


def _subscription(row: aiosqlite.Row) -> Subscription:
    return Subscription(
        id=row["id"],
        guild_id=row["guild_id"],
        owner_id=row["owner_id"],
        target_kind=row["target_kind"],
        target_id=row["target_id"],
        kind=row["kind"],
        value=row["value"],
        display=row["display"],
        created_at=from_db(row["created_at"]),
    )
