"""Daily briefing schedules, one per channel."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from storage.db import Database, execute_write
from storage.models import Schedule
from storage.timeutil import from_db, to_db


class ScheduleRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(
        self,
        *,
        channel_id: int,
        guild_id: int,
        local_time: str,
        timezone: str,
        created_by: int,
        now: datetime,
        filters: dict | None = None,
    ) -> Schedule:
        """Create or replace the channel's schedule (keeps last_sent_at; unpauses)."""
        await execute_write(self._db,
            "INSERT INTO schedules (channel_id, guild_id, local_time, timezone, filters,"
            " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (channel_id) DO UPDATE SET local_time = excluded.local_time,"
            " timezone = excluded.timezone, filters = excluded.filters,"
            " created_by = excluded.created_by, paused = 0, paused_reason = NULL"
            " WHERE schedules.guild_id = excluded.guild_id",
            (channel_id, guild_id, local_time, timezone, json.dumps(filters or {}), created_by,
             to_db(now)),
        )
        schedule = await self.get(channel_id)
        assert schedule is not None
        return schedule

    async def get(self, channel_id: int) -> Schedule | None:
        async with self._db.execute(
            "SELECT * FROM schedules WHERE channel_id = ?", (channel_id,)
        ) as cur:
            row = await cur.fetchone()
        return _schedule(row) if row else None

    async def remove(self, channel_id: int, *, guild_id: int) -> bool:
        cur = await execute_write(self._db,
            "DELETE FROM schedules WHERE channel_id = ? AND guild_id = ?", (channel_id, guild_id)
        )
        return cur.rowcount > 0

    async def for_guild(self, guild_id: int) -> list[Schedule]:
        async with self._db.execute(
            "SELECT * FROM schedules WHERE guild_id = ? ORDER BY channel_id", (guild_id,)
        ) as cur:
            return [_schedule(row) for row in await cur.fetchall()]

    async def all(self) -> list[Schedule]:
        async with self._db.execute("SELECT * FROM schedules ORDER BY channel_id") as cur:
            return [_schedule(row) for row in await cur.fetchall()]

    async def mark_sent(self, channel_id: int, when: datetime) -> None:
        await execute_write(self._db,
            "UPDATE schedules SET last_sent_at = ? WHERE channel_id = ?", (to_db(when), channel_id)
        )

    async def pause(self, channel_id: int, reason: str) -> None:
        await execute_write(self._db,
            "UPDATE schedules SET paused = 1, paused_reason = ? WHERE channel_id = ?",
            (reason[:300], channel_id),
        )


def _schedule(row: Any) -> Schedule:
    return Schedule(
        channel_id=row["channel_id"],
        guild_id=row["guild_id"],
        local_time=row["local_time"],
        timezone=row["timezone"],
        filters=json.loads(row["filters"]),
        created_by=row["created_by"],
        last_sent_at=from_db(row["last_sent_at"]),
        paused=bool(row["paused"]),
        paused_reason=row["paused_reason"],
        created_at=from_db(row["created_at"]),
    )
