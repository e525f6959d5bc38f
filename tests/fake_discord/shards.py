"""Sharding, as Discord does it: a guild lives on shard ``(guild_id >> 22) % shard_count``;
a session that IDENTIFYs with ``shard: [id, count]`` is told about (READY, GUILD_CREATE)
and sent the events of those guilds only, and DMs (events with no guild) go to shard 0.
A session without ``shard`` gets everything. ``/gateway/bot`` reports ``shards``
(FakeDiscord(shards=N))."""

from __future__ import annotations

from typing import Any

_GUILD_EVENTS = ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE")


def shard_of(guild_id: int, shard_count: int) -> int:
    return (guild_id >> 22) % shard_count


def serves(shard: list[int] | None, guild_id: int | None) -> bool:
    """Whether a session identified with ``shard`` gets what happens in ``guild_id``
    (None: a DM, or an event of no guild)."""
    if not shard:
        return True
    shard_id, shard_count = int(shard[0]), int(shard[1])
    if guild_id is None:
        return shard_id == 0
    return shard_of(guild_id, shard_count) == shard_id


def event_guild(event: str, data: Any) -> int | None:
    """The guild an event belongs to (None: a DM or no guild)."""
    if not isinstance(data, dict):
        return None
    value = data.get("id") if event in _GUILD_EVENTS else data.get("guild_id")
    return int(value) if value is not None else None
