"""Subscriptions, and matching new articles against them through indexed joins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.db import Database, execute_write
from storage.models import Subscription
from storage.search import match_param
from storage.timeutil import from_db, to_db

# Tag-backed kinds match through article_tags(kind, value); "source" through the
# article's source name; "keyword" through the full-text index.
_TAG_KINDS = ("actor", "cve", "vendor")


class SubscriptionRepository:
    def __init__(self, db: Database) -> None:
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
        alias: str | None = None,
    ) -> tuple[Subscription, bool]:
        """Returns (subscription, created); an identical one is returned as it is.
        ``alias``: the name the owner typed, when it differs from ``display``."""
        cur = await execute_write(self._db,
            "INSERT INTO subscriptions (guild_id, owner_id, target_kind, target_id,"
            " kind, value, display, created_at, alias) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (guild_id, owner_id, target_kind, target_id, kind, value, display, to_db(now),
             alias),
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

    async def get(self, subscription_id: int) -> Subscription | None:
        async with self._db.execute(
            "SELECT * FROM subscriptions WHERE id = ?", (subscription_id,)
        ) as cur:
            row = await cur.fetchone()
        return _subscription(row) if row else None

    async def remove_own(self, subscription_id: int, *, owner_id: int) -> bool:
        """Remove one subscription if ``owner_id`` owns it; returns whether it was removed."""
        cur = await execute_write(self._db,
            "DELETE FROM subscriptions WHERE id = ? AND owner_id = ?",
            (subscription_id, owner_id),
        )
        return cur.rowcount == 1

    async def mute(self, user_id: int, *, until: datetime) -> None:
        """Hold back the user's DM alerts until ``until`` (a later mute replaces it)."""
        await execute_write(self._db,
            "INSERT INTO alert_mutes (user_id, until) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET until = excluded.until",
            (user_id, to_db(until)),
        )

    async def muted_until(self, user_id: int) -> datetime | None:
        async with self._db.execute(
            "SELECT until FROM alert_mutes WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return from_db(row[0]) if row else None

    async def muted(self, *, now: datetime) -> dict[int, datetime]:
        """user id -> muted until, for every mute still running at ``now`` (few rows:
        the table holds one per user who ever muted; expired ones are skipped)."""
        async with self._db.execute(
            "SELECT user_id, until FROM alert_mutes WHERE until > ?", (to_db(now),)
        ) as cur:
            return {row[0]: from_db(row[1]) for row in await cur.fetchall()}

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

    async def matches(
        self, first_id: int, last_id: int, *, published_since: datetime | None = None
    ) -> list[tuple[str, int, int, int]]:
        """(target_kind, target_id, story_id, subscription_id) for every subscription that
        matches an article with first_id <= id <= last_id, stored no earlier than the
        subscription was made and (with ``published_since``) published since then —
        an undated article counts as published when fetched. Each branch is an indexed
        lookup; the date tests filter rows the joins already read."""
        db = self._db
        since = to_db(published_since) or ""  # "": every date
        found: set[tuple[str, int, int, int]] = set()
        async with db.execute(
            "SELECT DISTINCT s.target_kind, s.target_id, a.story_id, s.id"
            " FROM articles a JOIN article_tags t ON t.article_id = a.id"
            " JOIN subscriptions s ON s.kind = t.kind AND s.value = t.value"
            " WHERE a.id BETWEEN ? AND ? AND a.scope_guild IN (0, s.guild_id)"
            # from the article row, already read (t.at would cost a lookup per tag)
            " AND coalesce(a.published_at, a.fetched_at) >= ? AND a.fetched_at >= s.created_at",
            (first_id, last_id, since),
        ) as cur:
            found.update(tuple(row) for row in await cur.fetchall())
        async with db.execute(
            "SELECT DISTINCT s.target_kind, s.target_id, a.story_id, s.id"
            f" FROM articles a {db.pick(_SOURCE_JOIN)} subscriptions s ON s.kind = 'source'"
            " AND s.value = lower(a.source) WHERE a.id BETWEEN ? AND ?"
            " AND a.scope_guild IN (0, s.guild_id)"
            " AND coalesce(a.published_at, a.fetched_at) >= ? AND a.fetched_at >= s.created_at",
            (first_id, last_id, since),
        ) as cur:
            found.update(tuple(row) for row in await cur.fetchall())
        async with db.execute(
            "SELECT DISTINCT value FROM subscriptions WHERE kind = 'keyword'"
        ) as cur:
            keywords = [row[0] for row in await cur.fetchall()]
        searches = [(k, m) for k in keywords if (m := match_param(db, k)) is not None]
        if db.dialect == "postgres" and searches:
            # One statement for every keyword: a query each cost a round trip and a plan
            # (~1 ms on PostgreSQL, more than its match) and read every new article again.
            values, matches = zip(*searches, strict=True)
            async with db.execute(_PG_KEYWORDS_MATCH, (list(values), list(matches),
                                                       first_id, last_id, since)) as cur:
                found.update(tuple(row) for row in await cur.fetchall())
            searches = []
        for keyword, match in searches:
            async with db.execute(
                "SELECT DISTINCT s.target_kind, s.target_id, a.story_id, s.id"
                " FROM articles_fts f JOIN articles a ON a.id = f.rowid"
                " JOIN subscriptions s ON s.kind = 'keyword' AND s.value = ?"
                " WHERE articles_fts MATCH ? AND f.rowid BETWEEN ? AND ?"
                " AND a.scope_guild IN (0, s.guild_id)"
                " AND coalesce(a.published_at, a.fetched_at) >= ?"
                " AND a.fetched_at >= s.created_at",
                (keyword, match, first_id, last_id, since),
            ) as cur:
                found.update(tuple(row) for row in await cur.fetchall())
        return sorted(found)


# SQLite: CROSS JOIN keeps the new articles as the outer loop (a few new articles
# against many subscriptions, each probed by its index); PostgreSQL plans joins itself.
_SOURCE_JOIN = {"sqlite": "CROSS JOIN", "postgres": "JOIN"}

# PostgreSQL: every keyword subscription's full-text match in one statement (params:
# the keywords, their match_param words, first id, last id, since), its shape fixed by
# materialised steps whatever the statistics say: the new articles by id range (never
# the GIN index, where a common word's posting list is a large share of the store), each
# tested once against each keyword, then the hits joined to the subscriptions. Each
# article's tsvector is read out of TOAST once ("|| ''": the same vector, detoasted);
# read in place, every @@ would fetch and decompress it again (~2.5 µs a test).
_PG_KEYWORDS_MATCH = (
    "WITH k AS MATERIALIZED (SELECT value, secbrief_words_query(words)"  # (postgres/023)
    " AS query FROM unnest(CAST(? AS text[]), CAST(? AS text[])) AS k (value, words)),"
    " a AS MATERIALIZED (SELECT a.story_id, a.scope_guild, a.fetched_at,"
    " f.search || ''::tsvector AS search"
    " FROM articles a JOIN article_search f ON f.id = a.id"  # (migration postgres/017)
    " WHERE a.id BETWEEN ? AND ? AND coalesce(a.published_at, a.fetched_at) >= ?),"
    " hit AS MATERIALIZED (SELECT a.story_id, a.scope_guild, a.fetched_at, k.value"
    " FROM a JOIN k ON a.search @@ k.query)"
    " SELECT DISTINCT s.target_kind, s.target_id, hit.story_id, s.id"
    " FROM hit JOIN subscriptions s ON s.kind = 'keyword' AND s.value = hit.value"
    " WHERE hit.scope_guild IN (0, s.guild_id) AND hit.fetched_at >= s.created_at"
)


def _subscription(row: Any) -> Subscription:
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
        alias=row["alias"],
    )
