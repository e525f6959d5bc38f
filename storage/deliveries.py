"""The delivery ledger: (purpose, target, story) once, grouped into outbound batches.

A batch is one message. Planning a batch and recording its stories happen in one
transaction; sending happens after, and a batch is marked sent only once Discord has
accepted it. A crash between the two leaves the batch pending, and the resend carries
the same nonce, which Discord deduplicates for a few minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage.db import Database, Transaction, execute_write
from storage.models import Batch, MatchReason
from storage.timeutil import from_db, to_db

# The terminal shell's operator (Discord ids are never 0): its alert batches wait in the
# ledger for the shell to show (pending_for_terminal, claim); the bot never sends them.
TERMINAL_USER = 0


# The rows plan_many_in_transaction writes: on SQLite one statement per row (executemany,
# in-process and cheap); on PostgreSQL one statement in all, each column one array
# parameter (unnest), since asyncpg's executemany has the server run each row as its own
# statement — about 30 µs a row, a third of a second for 10,000 rows.
_INSERT_BATCHES = {
    "sqlite": "INSERT INTO delivery_batches (id, purpose, target_kind, target_id, created_at,"
              " status, last_error) VALUES (?, ?, ?, ?, ?, ?, ?)",
    "postgres": "INSERT INTO delivery_batches (id, purpose, target_kind, target_id, created_at,"
                " status, last_error) SELECT * FROM unnest(CAST(? AS bigint[]),"
                " CAST(? AS text[]), CAST(? AS text[]), CAST(? AS bigint[]), CAST(? AS text[]),"
                " CAST(? AS text[]), CAST(? AS text[]))",
}
# A reason names the subscription as it is now; one removed meanwhile records nothing.
_INSERT_REASONS = {
    "sqlite": "INSERT INTO alert_reasons (batch_id, story_id, subscription_id, kind,"
              " display, alias) SELECT ?, ?, id, kind, display, alias FROM subscriptions"
              " WHERE id = ? ON CONFLICT DO NOTHING",
    "postgres": "INSERT INTO alert_reasons (batch_id, story_id, subscription_id, kind,"
                " display, alias) SELECT r.batch_id, r.story_id, s.id, s.kind, s.display,"
                " s.alias FROM unnest(CAST(? AS bigint[]), CAST(? AS bigint[]),"
                " CAST(? AS bigint[])) AS r (batch_id, story_id, subscription_id)"
                " JOIN subscriptions s ON s.id = r.subscription_id ON CONFLICT DO NOTHING",
}
_INSERT_DELIVERIES = {
    "sqlite": "INSERT INTO deliveries (purpose, target_kind, target_id, story_id, batch_id,"
              " position) VALUES (?, ?, ?, ?, ?, ?)",
    "postgres": "INSERT INTO deliveries (purpose, target_kind, target_id, story_id, batch_id,"
                " position) SELECT * FROM unnest(CAST(? AS text[]), CAST(? AS text[]),"
                " CAST(? AS bigint[]), CAST(? AS bigint[]), CAST(? AS bigint[]),"
                " CAST(? AS integer[]))",
}


async def _insert_all(db: Database, sql: dict[str, str], rows: list[tuple]) -> None:
    """Run ``sql`` (see _INSERT_BATCHES) for every row of ``rows``."""
    if not rows:
        return
    if db.dialect == "postgres":
        await db.execute(db.pick(sql), [list(column) for column in zip(*rows, strict=True)])
    else:
        await db.executemany(db.pick(sql), rows)


class DeliveryRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def undelivered(
        self, purpose: str, target_kind: str, target_id: int, story_ids: Sequence[int]
    ) -> list[int]:
        """The story ids, in order, that this target has not been given yet."""
        if not story_ids:
            return []
        done: set[int] = set()
        for start in range(0, len(story_ids), 500):
            chunk = list(story_ids[start : start + 500])
            async with self._db.execute(
                "SELECT story_id FROM deliveries WHERE purpose = ? AND target_kind = ?"
                f" AND target_id = ? AND story_id IN ({','.join('?' * len(chunk))})",
                (purpose, target_kind, target_id, *chunk),
            ) as cur:
                done.update(row[0] for row in await cur.fetchall())
        return [s for s in story_ids if s not in done]

    async def plan(
        self, purpose: str, target_kind: str, target_id: int, story_ids: Sequence[int], *,
        now: datetime,
    ) -> int | None:
        """Record a batch of the stories this target has not been given yet, in one
        transaction. Returns its id, or None when nothing is left to send."""
        async with Transaction(self._db):
            return await self.plan_in_transaction(
                purpose, target_kind, target_id, story_ids, now=now
            )

    async def plan_in_transaction(
        self, purpose: str, target_kind: str, target_id: int, story_ids: Sequence[int], *,
        now: datetime, period_start: datetime | None = None,
    ) -> int | None:
        """As plan(), for a caller that holds a Transaction already. ``period_start``:
        the start of the time a briefing covers (it ends ``now``)."""
        fresh = await self.undelivered(purpose, target_kind, target_id, story_ids)
        if not fresh:
            return None
        batch_id = await self._db.insert_id(
            "INSERT INTO delivery_batches (purpose, target_kind, target_id, created_at,"
            " period_start) VALUES (?, ?, ?, ?, ?) RETURNING id",
            (purpose, target_kind, target_id, to_db(now), to_db(period_start)),
        )
        await self._db.executemany(
            "INSERT INTO deliveries (purpose, target_kind, target_id, story_id,"
            " batch_id, position) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [
                (purpose, target_kind, target_id, story_id, batch_id, position)
                for position, story_id in enumerate(fresh)
            ],
        )
        return batch_id

    async def plan_many_in_transaction(
        self, purpose: str, plans: dict[tuple[str, int], list[int]], *, now: datetime,
        reasons: dict[tuple[str, int, int], list[int]] | None = None,
        refused: dict[tuple[str, int], str] | None = None,
    ) -> list[int]:
        """Plan one batch per target at once — (target_kind, target_id) → story ids —
        leaving out what the ledger already holds. Set-based: a handful of statements
        whatever the number of targets. The caller holds a Transaction.

        ``reasons``: (target_kind, target_id, story_id) → the ids of the subscriptions
        that matched, recorded with the batch as they are now. ``refused``: targets whose
        batch is recorded as refused with that reason instead of pending (a muted user):
        the ledger keeps the stories, so they are never sent later either. Returns the
        ids of the batches to send (the pending ones)."""
        refused = refused or {}
        story_ids = sorted({s for ids in plans.values() for s in ids})
        done: set[tuple[str, int, int]] = set()
        for start in range(0, len(story_ids), 500):
            chunk = story_ids[start : start + 500]
            async with self._db.execute(
                "SELECT target_kind, target_id, story_id FROM deliveries"
                f" WHERE story_id IN ({','.join('?' * len(chunk))}) AND purpose = ?",
                (*chunk, purpose),
            ) as cur:
                done.update((row[0], row[1], row[2]) for row in await cur.fetchall())
        planned: list[tuple[str, int, list[int]]] = []
        for (target_kind, target_id), ids in sorted(plans.items()):
            fresh = [s for s in dict.fromkeys(ids) if (target_kind, target_id, s) not in done]
            if fresh:
                planned.append((target_kind, target_id, fresh))
        batch_ids = await self._new_batch_ids(len(planned))
        batches: list[tuple] = []
        ledger: list[tuple] = []
        why: list[tuple[int, int, int]] = []
        for batch_id, (target_kind, target_id, fresh) in zip(batch_ids, planned, strict=True):
            reason = refused.get((target_kind, target_id))
            batches.append((batch_id, purpose, target_kind, target_id, to_db(now),
                            "pending" if reason is None else "refused", reason))
            ledger.extend(
                (purpose, target_kind, target_id, story_id, batch_id, position)
                for position, story_id in enumerate(fresh)
            )
            if reasons:
                why.extend(
                    (batch_id, story_id, subscription_id)
                    for story_id in fresh
                    for subscription_id in reasons.get((target_kind, target_id, story_id), ())
                )
        await _insert_all(self._db, _INSERT_BATCHES, batches)
        await _insert_all(self._db, _INSERT_REASONS, why)
        await _insert_all(self._db, _INSERT_DELIVERIES, ledger)
        return [row[0] for row in batches if row[5] == "pending"]

    async def _new_batch_ids(self, count: int) -> list[int]:
        """``count`` unused delivery_batches ids, ascending. PostgreSQL: from the id
        column's identity sequence, which then stays ahead of them (ids taken past it
        would make the next default id, a briefing's, a duplicate); SQLite: after the
        highest, which the caller's write transaction keeps to itself."""
        if count == 0:
            return []
        if self._db.dialect == "postgres":
            rows = await self._db.fetchall(
                "SELECT nextval(pg_get_serial_sequence('delivery_batches', 'id'))"
                " FROM generate_series(1, ?)", (count,))
            return sorted(row[0] for row in rows)
        async with self._db.execute("SELECT coalesce(max(id), 0) FROM delivery_batches") as cur:
            first = (await cur.fetchone())[0] + 1
        return list(range(first, first + count))

    async def pending(
        self, *, now: datetime, purpose: str | None = None, limit: int = 10_000
    ) -> list[Batch]:
        """Batches waiting to be sent whose retry time has come, oldest first (the
        terminal user's excepted: those are the shell's to show)."""
        async with self._db.execute(
            "SELECT * FROM delivery_batches WHERE status = 'pending'"
            " AND (next_try_at IS NULL OR next_try_at <= ?)"
            " AND (CAST(? AS TEXT) IS NULL OR purpose = ?)"
            " AND NOT (target_kind = 'user' AND target_id = ?)"
            " ORDER BY id LIMIT ?",
            (to_db(now), purpose, purpose, TERMINAL_USER, limit),
        ) as cur:
            rows = await cur.fetchall()
        return await self._with_stories(rows)

    async def pending_for_terminal(self, *, limit: int = 1000) -> list[Batch]:
        """The terminal user's alert batches not shown yet, oldest first."""
        async with self._db.execute(
            "SELECT * FROM delivery_batches WHERE status = 'pending' AND purpose = 'alert'"
            " AND target_kind = 'user' AND target_id = ? ORDER BY id LIMIT ?",
            (TERMINAL_USER, limit),
        ) as cur:
            rows = await cur.fetchall()
        return await self._with_stories(rows)

    async def claim(self, batch_id: int, *, now: datetime) -> bool:
        """Mark a pending batch sent; False when it was not pending any more (another
        process showed it), so two shells on one store never both show it."""
        cur = await execute_write(self._db,
            "UPDATE delivery_batches SET status = 'sent', sent_at = ?, attempts = attempts + 1"
            " WHERE id = ? AND status = 'pending'",
            (to_db(now), batch_id),
        )
        return cur.rowcount == 1

    async def get(self, batch_id: int) -> Batch | None:
        async with self._db.execute(
            "SELECT * FROM delivery_batches WHERE id = ?", (batch_id,)
        ) as cur:
            rows = await cur.fetchall()
        batches = await self._with_stories(rows)
        return batches[0] if batches else None

    async def _with_stories(self, rows: Sequence[Any]) -> list[Batch]:
        batches = {
            row["id"]: Batch(
                id=row["id"],
                purpose=row["purpose"],
                target_kind=row["target_kind"],
                target_id=row["target_id"],
                status=row["status"],
                attempts=row["attempts"],
                sent_parts=row["sent_parts"],
                story_ids=[],
                last_error=row["last_error"],
                message_id=row["message_id"],
                created_at=from_db(row["created_at"]),
                period_start=from_db(row["period_start"]),
                header_message_id=row["header_message_id"],
                cards_channel_id=row["cards_channel_id"],
            )
            for row in rows
        }
        ids = list(batches)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            async with self._db.execute(
                "SELECT batch_id, story_id FROM deliveries"
                f" WHERE batch_id IN ({','.join('?' * len(chunk))})"
                " ORDER BY batch_id, position",
                chunk,
            ) as cur:
                for batch_id, story_id in await cur.fetchall():
                    batches[batch_id].story_ids.append(story_id)
        return list(batches.values())

    async def reasons(self, batch_id: int) -> dict[int, list[MatchReason]]:
        """story id -> the subscriptions that matched it in this batch, in id order."""
        found: dict[int, list[MatchReason]] = {}
        async with self._db.execute(
            "SELECT story_id, subscription_id, kind, display, alias FROM alert_reasons"
            " WHERE batch_id = ? ORDER BY story_id, subscription_id",
            (batch_id,),
        ) as cur:
            for story_id, subscription_id, kind, display, alias in await cur.fetchall():
                found.setdefault(story_id, []).append(
                    MatchReason(subscription_id, kind, display, alias))
        return found

    async def mark_sent(self, batch_id: int, *, message_id: int | None, now: datetime) -> None:
        await execute_write(self._db,
            "UPDATE delivery_batches SET status = 'sent', message_id = ?, sent_at = ?,"
            " attempts = attempts + 1, last_error = NULL WHERE id = ?",
            (message_id, to_db(now), batch_id),
        )

    async def mark_progress(self, batch_id: int, sent_parts: int) -> None:
        """Record that the first ``sent_parts`` messages of a batch were accepted."""
        await execute_write(self._db,
            "UPDATE delivery_batches SET sent_parts = ? WHERE id = ?", (sent_parts, batch_id)
        )

    async def mark_header(self, batch_id: int, message_id: int) -> None:
        """Record a digest's accepted header (its first part) and its message id."""
        await execute_write(self._db,
            "UPDATE delivery_batches"
            " SET sent_parts = CASE WHEN sent_parts > 1 THEN sent_parts ELSE 1 END,"
            " header_message_id = ? WHERE id = ?", (message_id, batch_id),
        )

    async def mark_cards_channel(self, batch_id: int, channel_id: int) -> None:
        """Record where a digest's cards go (its thread, or the channel itself)."""
        await execute_write(self._db,
            "UPDATE delivery_batches SET cards_channel_id = ? WHERE id = ?",
            (channel_id, batch_id),
        )

    async def mark_retry(self, batch_id: int, *, error: str, next_try_at: datetime) -> None:
        await execute_write(self._db,
            "UPDATE delivery_batches SET attempts = attempts + 1, last_error = ?,"
            " next_try_at = ? WHERE id = ?",
            (error[:500], to_db(next_try_at), batch_id),
        )

    async def mark_final(self, batch_id: int, *, status: str, error: str) -> None:
        """Give up on a batch: 'failed' (kept retrying, never accepted) or 'refused'
        (the target will not take messages, e.g. closed DMs). The stories stay in the
        ledger so later rounds do not retry them forever; the record shows why."""
        assert status in ("failed", "refused")
        await execute_write(self._db,
            "UPDATE delivery_batches SET status = ?, attempts = attempts + 1, last_error = ?"
            " WHERE id = ?",
            (status, error[:500], batch_id),
        )

    async def counts(self) -> dict[str, int]:
        async with self._db.execute(
            "SELECT status, count(*) FROM delivery_batches GROUP BY status"
        ) as cur:
            return {row[0]: row[1] for row in await cur.fetchall()}

    async def delivered_story_ids(
        self, purpose: str, target_kind: str, target_id: int
    ) -> list[int]:
        async with self._db.execute(
            "SELECT d.story_id FROM deliveries d JOIN delivery_batches b ON b.id = d.batch_id"
            " WHERE d.purpose = ? AND d.target_kind = ? AND d.target_id = ? AND b.status = 'sent'"
            " ORDER BY d.story_id",
            (purpose, target_kind, target_id),
        ) as cur:
            return [row[0] for row in await cur.fetchall()]
