"""Daily briefing schedules: a local time in an IANA zone, per channel."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.services.caller import Caller
from bot.services.errors import UserError
from storage.models import Schedule
from storage.store import Store

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_time(value: str) -> str:
    match = _TIME.match(value.strip())
    if not match:
        raise UserError(f"“{value[:20]}” is not a time: use 24-hour HH:MM, e.g. 08:30.")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


@cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def parse_zone(value: str) -> str:
    name = value.strip()
    if name and len(name) <= 64 and name in _zones():
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    lowered = {z.lower(): z for z in _zones()}
    if name.lower() in lowered:
        return lowered[name.lower()]
    hints = zone_suggestions(name)[:3]
    hint = f" Did you mean {', '.join(hints)}?" if hints else ""
    raise UserError(f"Unknown timezone “{name[:40]}”: use an IANA name like Europe/Paris.{hint}")


def zone_suggestions(prefix: str, limit: int = 25) -> list[str]:
    prefix = prefix.strip().lower().replace(" ", "_")
    starts = [z for z in _zones() if z.lower().startswith(prefix)]
    contains = [z for z in _zones() if prefix in z.lower() and z not in starts]
    return (starts + contains)[:limit]


class ScheduleService:
    def __init__(self, store: Store, *, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    async def set(self, caller: Caller, channel_id: int, time: str, timezone: str) -> Schedule:
        guild_id = caller.require_manage("Scheduling a briefing")
        local_time, zone = parse_time(time), parse_zone(timezone)
        existing = await self._store.schedules.get(channel_id)
        if existing and existing.guild_id != guild_id:
            raise UserError("That channel is not in this server.")
        return await self._store.schedules.upsert(
            channel_id=channel_id, guild_id=guild_id, local_time=local_time, timezone=zone,
            created_by=caller.user_id, now=self._clock(),
        )

    async def off(self, caller: Caller, channel_id: int) -> None:
        guild_id = caller.require_manage("Stopping a briefing")
        if not await self._store.schedules.remove(channel_id, guild_id=guild_id):
            raise UserError("That channel has no scheduled briefing.")

    async def status(self, caller: Caller) -> list[Schedule]:
        return await self._store.schedules.for_guild(caller.require_guild("Briefing status"))
