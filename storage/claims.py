"""Work that must happen once when several processes share the store, claimed in it.

- **Batches being sent.** A process claims the pending delivery batches it is about to
  send: ``claimed_by`` (its process id) and ``claimed_until`` (now + the lease). Another
  process skips a batch while its claim is live; the holder renews its claims while it
  sends, and a process that dies leaves them to be taken over once the lease runs out.
  The takeover resends with the same nonces, so Discord drops a message the dead process
  had got accepted but not recorded.
- **Scheduled briefings.** The run of a schedule at one due time is recorded
  (``briefing_runs``) in the transaction that plans it: one process plans each.
- **Feeds being polled.** An ingest worker claims the due feeds it will poll
  (``claim_due``); the others skip them. Polling moves the feed's next poll time on and
  the claim is released; a worker that dies loses only its lease.
- **Vulnerability sources being refreshed.** A process claims a due refresh of KEV,
  EPSS or NVD (``claim_source``) before fetching it; the refresh moves the source's next
  refresh time on and the claim is released, so a process whose refresh fell due at the
  same moment finds it claimed (or no longer due). A process that dies mid-refresh loses
  only its lease.
- **Discord's global limit.** One budget row (``send_budget``) hands out send slots to
  every process: a reservation of ``count`` slots moves the row's next free moment on by
  ``count`` intervals, so all processes together stay under the rate.

The SQL is the same on SQLite and PostgreSQL (a conditional ``UPDATE … RETURNING``),
except that PostgreSQL claims rows through ``FOR UPDATE SKIP LOCKED``, so a claim never
waits behind another process's.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from storage.db import execute_write
from storage.timeutil import from_db, to_db

CHUNK = 500  # ids per statement
DISCORD_BUDGET = "discord"  # the send_budget row every bot process shares


def process_id() -> str:
    """Who holds a claim: host, pid and a random tag (a restarted process with a reused
    pid is someone else)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    ordered = sorted(set(ids))
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


def _marks(n: int) -> str:
    return ",".join("?" * n)


# (claimed_by, claimed_until, ids…, worker, now) in every claim statement
_CLAIM_BATCHES = {
    "sqlite": (
        "UPDATE delivery_batches SET claimed_by = ?, claimed_until = ?"
        " WHERE id IN ({ids}) AND status = 'pending'"
        " AND (claimed_by IS NULL OR claimed_by = ? OR claimed_until < ?) RETURNING id"
    ),
    "postgres": (
        "UPDATE delivery_batches SET claimed_by = ?, claimed_until = ?"
        " WHERE id IN (SELECT id FROM delivery_batches WHERE id IN ({ids})"
        " AND status = 'pending'"
        " AND (claimed_by IS NULL OR claimed_by = ? OR claimed_until < ?)"
        " FOR UPDATE SKIP LOCKED) RETURNING id"
    ),
}
_CLAIM_FEEDS = {
    "sqlite": (
        "UPDATE feeds SET claimed_by = ?, claimed_until = ?"
        " WHERE id IN ({ids}) AND disabled = 0 AND (next_poll_at IS NULL OR next_poll_at <= ?)"
        " AND (claimed_by IS NULL OR claimed_by = ? OR claimed_until < ?) RETURNING id"
    ),
    "postgres": (
        "UPDATE feeds SET claimed_by = ?, claimed_until = ?"
        " WHERE id IN (SELECT id FROM feeds WHERE id IN ({ids}) AND disabled = 0"
        " AND (next_poll_at IS NULL OR next_poll_at <= ?)"
        " AND (claimed_by IS NULL OR claimed_by = ? OR claimed_until < ?)"
        " FOR UPDATE SKIP LOCKED) RETURNING id"
    ),
}
# (source) then (worker, until, source, due_by, due_by, worker, now)
_CLAIM_SOURCE = {
    "sqlite": (
        "UPDATE vuln_sources SET claimed_by = ?, claimed_until = ? WHERE source = ?"
        " AND (CAST(? AS TEXT) IS NULL OR next_refresh IS NULL OR next_refresh <= ?)"
        " AND (claimed_by IS NULL OR claimed_by = ? OR claimed_until < ?) RETURNING source"
    ),
    "postgres": (
        "UPDATE vuln_sources SET claimed_by = ?, claimed_until = ?"
        " WHERE source IN (SELECT source FROM vuln_sources WHERE source = ?"
        " AND (CAST(? AS TEXT) IS NULL OR next_refresh IS NULL OR next_refresh <= ?)"
        " AND (claimed_by IS NULL OR claimed_by = ? OR claimed_until < ?)"
        " FOR UPDATE SKIP LOCKED) RETURNING source"
    ),
}


class ClaimRepository:
    def __init__(self, db: Any) -> None:  # a storage.db.Database
        self._db = db

    @property
    def _dialect(self) -> str:
        return getattr(self._db, "dialect", "sqlite")

    async def _ids(self, sql: str, params: Sequence[object]) -> set[int]:
        cur = await execute_write(self._db, sql, params)
        return {int(row[0]) for row in await cur.fetchall()}

    # -- delivery batches ------------------------------------------------------------

    async def claim_batches(
        self, worker: str, batch_ids: Iterable[int], *, now: datetime, lease: float
    ) -> set[int]:
        """Claim (or renew) the pending batches among ``batch_ids`` that no other live
        claim holds; returns the ids now held by ``worker``."""
        until = to_db(now + timedelta(seconds=lease))
        held: set[int] = set()
        for chunk in _chunks(batch_ids):
            sql = _CLAIM_BATCHES[self._dialect].format(ids=_marks(len(chunk)))
            held |= await self._ids(sql, (worker, until, *chunk, worker, to_db(now)))
        return held

    async def renew_batches(
        self, worker: str, batch_ids: Iterable[int], *, now: datetime, lease: float
    ) -> set[int]:
        """Extend ``worker``'s claims on these batches; returns those it still holds (a
        claim that ran out and was taken over is not returned)."""
        until = to_db(now + timedelta(seconds=lease))
        held: set[int] = set()
        for chunk in _chunks(batch_ids):
            held |= await self._ids(
                "UPDATE delivery_batches SET claimed_until = ?"
                f" WHERE id IN ({_marks(len(chunk))}) AND claimed_by = ? RETURNING id",
                (until, *chunk, worker))
        return held

    async def release_batches(self, worker: str, batch_ids: Iterable[int]) -> None:
        """Give up ``worker``'s claims (a batch sent, refused, or put off to later)."""
        for chunk in _chunks(batch_ids):
            await execute_write(self._db,
                "UPDATE delivery_batches SET claimed_by = NULL, claimed_until = NULL"
                f" WHERE id IN ({_marks(len(chunk))}) AND claimed_by = ?", (*chunk, worker))

    async def batch_holders(self, batch_ids: Iterable[int]) -> dict[int, str | None]:
        """batch id -> the process holding its claim (None: unclaimed). For tests."""
        found: dict[int, str | None] = {}
        for chunk in _chunks(batch_ids):
            async with self._db.execute(
                f"SELECT id, claimed_by FROM delivery_batches WHERE id IN ({_marks(len(chunk))})",
                chunk,
            ) as cur:
                found.update({int(r[0]): r[1] for r in await cur.fetchall()})
        return found

    async def channel_guilds(self, channel_ids: Iterable[int]) -> dict[int, int]:
        """channel id -> its guild, as the store knows it (a briefing schedule or a
        channel subscription there). Channels it does not know are left out."""
        found: dict[int, int] = {}
        for chunk in _chunks(channel_ids):
            marks = _marks(len(chunk))
            async with self._db.execute(
                f"SELECT channel_id, guild_id FROM schedules WHERE channel_id IN ({marks})"
                " UNION SELECT target_id, guild_id FROM subscriptions"
                f" WHERE target_kind = 'channel' AND target_id IN ({marks})",
                (*chunk, *chunk),
            ) as cur:
                for channel_id, guild_id in await cur.fetchall():
                    found.setdefault(int(channel_id), int(guild_id))
        return found

    # -- scheduled briefings -----------------------------------------------------------

    async def claim_briefing_run_in_transaction(
        self, channel_id: int, due_at: datetime, *, worker: str, now: datetime
    ) -> bool:
        """Record that ``worker`` runs the briefing of ``channel_id`` due at ``due_at``;
        False when another process did already — unless what that run planned was
        refused or failed for good (the channel was fixed and the briefing scheduled
        again: it may run again). Call it inside the transaction that plans the briefing,
        so a crash before the commit leaves the run unclaimed."""
        cur = await self._db.execute(
            "INSERT INTO briefing_runs (channel_id, due_at, claimed_by, claimed_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (channel_id, due_at) DO UPDATE"
            " SET claimed_by = excluded.claimed_by, claimed_at = excluded.claimed_at,"
            " batch_id = NULL WHERE briefing_runs.batch_id IN"
            " (SELECT id FROM delivery_batches WHERE status IN ('refused', 'failed'))",
            (channel_id, to_db(due_at), worker, to_db(now)),
        )
        return cur.rowcount == 1

    async def record_briefing_run_in_transaction(
        self, channel_id: int, due_at: datetime, batch_id: int | None
    ) -> None:
        """What the run planned (inside the same transaction as the claim)."""
        await self._db.execute(
            "UPDATE briefing_runs SET batch_id = ? WHERE channel_id = ? AND due_at = ?",
            (batch_id, channel_id, to_db(due_at)),
        )

    async def briefing_runs(self, channel_id: int) -> list[tuple[str, str]]:
        """(due_at, claimed_by) of every recorded run of a channel's briefing, oldest first."""
        async with self._db.execute(
            "SELECT due_at, claimed_by FROM briefing_runs WHERE channel_id = ? ORDER BY due_at",
            (channel_id,),
        ) as cur:
            return [(r[0], r[1]) for r in await cur.fetchall()]

    # -- feeds ------------------------------------------------------------------------

    async def claim_due(
        self, worker: str, *, now: datetime, lease: float, feed_ids: Iterable[int]
    ) -> set[int]:
        """Claim the feeds among ``feed_ids`` that are still due (enabled, next poll time
        come) and held by no other live claim; returns the ids ``worker`` now holds."""
        until = to_db(now + timedelta(seconds=lease))
        held: set[int] = set()
        for chunk in _chunks(feed_ids):
            sql = _CLAIM_FEEDS[self._dialect].format(ids=_marks(len(chunk)))
            held |= await self._ids(
                sql, (worker, until, *chunk, to_db(now), worker, to_db(now)))
        return held

    async def renew_feeds(
        self, worker: str, feed_ids: Iterable[int], *, now: datetime, lease: float
    ) -> set[int]:
        until = to_db(now + timedelta(seconds=lease))
        held: set[int] = set()
        for chunk in _chunks(feed_ids):
            held |= await self._ids(
                "UPDATE feeds SET claimed_until = ?"
                f" WHERE id IN ({_marks(len(chunk))}) AND claimed_by = ? RETURNING id",
                (until, *chunk, worker))
        return held

    async def feed_claims(
        self, feed_ids: Iterable[int]
    ) -> dict[int, tuple[str | None, str | None]]:
        """feed id -> (claimed_by, claimed_until as stored). For tests and status."""
        found: dict[int, tuple[str | None, str | None]] = {}
        for chunk in _chunks(feed_ids):
            async with self._db.execute(
                "SELECT id, claimed_by, claimed_until FROM feeds"
                f" WHERE id IN ({_marks(len(chunk))})", chunk,
            ) as cur:
                found.update({int(r[0]): (r[1], r[2]) for r in await cur.fetchall()})
        return found

    async def release_feeds(self, worker: str, feed_ids: Iterable[int]) -> None:
        for chunk in _chunks(feed_ids):
            await execute_write(self._db,
                "UPDATE feeds SET claimed_by = NULL, claimed_until = NULL"
                f" WHERE id IN ({_marks(len(chunk))}) AND claimed_by = ?", (*chunk, worker))

    # -- vulnerability sources -------------------------------------------------------

    async def claim_source(
        self, worker: str, source: str, *, now: datetime, lease: float,
        due_by: datetime | None,
    ) -> bool:
        """Claim the refresh of ``source`` (kev, epss, nvd) for ``worker``: True when no
        other live claim holds it and it is still due — its next refresh not after
        ``due_by`` (None: due or not, as ``--force`` asks)."""
        await execute_write(self._db,
            "INSERT INTO vuln_sources (source) VALUES (?) ON CONFLICT (source) DO NOTHING",
            (source,))
        due = to_db(due_by) if due_by is not None else None
        cur = await execute_write(self._db, self._db.pick(_CLAIM_SOURCE), (
            worker, to_db(now + timedelta(seconds=lease)), source, due, due, worker,
            to_db(now)))
        return bool(await cur.fetchall())

    async def renew_sources(
        self, worker: str, sources: Iterable[str], *, now: datetime, lease: float
    ) -> set[str]:
        """Extend ``worker``'s claims on these sources; returns those it still holds."""
        wanted = sorted(set(sources))
        if not wanted:
            return set()
        cur = await execute_write(self._db,
            "UPDATE vuln_sources SET claimed_until = ?"
            f" WHERE source IN ({_marks(len(wanted))}) AND claimed_by = ? RETURNING source",
            (to_db(now + timedelta(seconds=lease)), *wanted, worker))
        return {str(row[0]) for row in await cur.fetchall()}

    async def release_source(self, worker: str, source: str) -> None:
        await execute_write(self._db,
            "UPDATE vuln_sources SET claimed_by = NULL, claimed_until = NULL"
            " WHERE source = ? AND claimed_by = ?", (source, worker))

    async def source_claim(self, source: str) -> tuple[str | None, datetime | None]:
        """(claimed_by, claimed_until) of a source's refresh; (None, None) unclaimed.
        A claim whose lease has run out is still returned: the caller compares."""
        row = await self._db.fetchone(
            "SELECT claimed_by, claimed_until FROM vuln_sources WHERE source = ?", (source,))
        if row is None or row[0] is None:
            return None, None
        return row[0], from_db(row[1])

    # -- the shared send budget -------------------------------------------------------

    async def reserve_sends(
        self, count: int, *, interval: float, now: float, name: str = DISCORD_BUDGET
    ) -> float:
        """Reserve ``count`` consecutive send slots ``interval`` seconds apart; returns
        the moment (seconds since the epoch) of the first. The budget's next free
        moment moves on by ``count`` intervals, from now if it lay in the past."""
        cur = await execute_write(self._db,
            "UPDATE send_budget SET next_at = CASE WHEN next_at > ? THEN next_at ELSE ? END + ?"
            " WHERE name = ? RETURNING next_at",
            (now, now, count * interval, name),
        )
        row = await cur.fetchone()
        if row is None:  # a budget not made by the migration: start it now
            await execute_write(self._db,
                "INSERT INTO send_budget (name, next_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (name, now))
            return await self.reserve_sends(count, interval=interval, now=now, name=name)
        return float(row[0]) - count * interval

    async def hold_sends(self, until: float, *, name: str = DISCORD_BUDGET) -> None:
        """No slot before ``until`` for anyone (Discord answered a global 429)."""
        await execute_write(self._db,
            "UPDATE send_budget SET next_at = ? WHERE name = ? AND next_at < ?",
            (until, name, until))
