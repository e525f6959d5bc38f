"""Which guilds this process serves when the bot runs as several processes.

Discord puts a guild on shard ``(guild_id >> 22) % shard_count``. A process started with
``SECBRIEF_SHARD_COUNT`` and ``SECBRIEF_SHARD_IDS`` connects those shards only, so it
sees those guilds only; scheduled briefings and channel alerts for the other guilds are
left to the process that has them. DMs belong to no guild: any process may send them
(each batch once, through its claim in the store).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord puts ``guild_id`` on."""
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True, slots=True)
class ShardPlan:
    """``count`` shards in all, of which this process runs ``ids``. ``count`` None: one
    process runs every shard (Discord's recommended count), so it owns every guild."""

    count: int | None = None
    ids: frozenset[int] | None = None

    @classmethod
    def of(cls, count: int | None, ids: Iterable[int] | None) -> ShardPlan:
        return cls(count, None if ids is None else frozenset(ids))

    @property
    def everything(self) -> bool:
        return self.count is None or self.ids is None or len(self.ids) >= self.count

    def owns(self, guild_id: int) -> bool:
        """Whether this process serves ``guild_id`` (the operator's guild 0: shard 0)."""
        if self.everything:
            return True
        assert self.count is not None and self.ids is not None
        return shard_of(guild_id, self.count) in self.ids

    def describe(self) -> str:
        if self.count is None:
            return "every shard"
        if self.ids is None:
            return f"all {self.count} shards"
        return f"shards {', '.join(map(str, sorted(self.ids)))} of {self.count}"
