"""Stack watchlists: the vendors and products a server (guild 0: the operator) runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Database, execute_write, write_lock
from storage.timeutil import to_db

OPERATOR_GUILD = 0  # the operator's own list (the shell and the CLI)


@dataclass(frozen=True, slots=True)
class WatchEntry:
    id: int
    guild_id: int
    kind: str  # vendor | product
    name: str  # as shown
    name_norm: str  # bot.intel.vendors.vendor_key(name)


def _entry(row: Sequence[object]) -> WatchEntry:
    return WatchEntry(int(row[0]), int(row[1]), str(row[2]), str(row[3]), str(row[4]))


_COLUMNS = "id, guild_id, kind, name, name_norm"


class WatchlistRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self, *, guild_id: int, kind: str, name: str, name_norm: str, created_by: int,
        now: datetime,
    ) -> tuple[WatchEntry, bool]:
        """Returns (entry, created); an entry with the same key is returned as it is."""
        cur = await execute_write(self._db,
            "INSERT INTO watchlist (guild_id, kind, name, name_norm, created_by,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (guild_id, kind, name, name_norm, created_by, to_db(now)),
        )
        async with self._db.execute(
            f"SELECT {_COLUMNS} FROM watchlist WHERE guild_id = ? AND kind = ?"
            " AND name_norm = ?", (guild_id, kind, name_norm),
        ) as c:
            row = await c.fetchone()
        return _entry(row), cur.rowcount == 1

    async def remove(self, *, guild_id: int, kind: str, name_norm: str) -> WatchEntry | None:
        """Remove one entry; returns it, or None when the list has no such entry."""
        async with write_lock(self._db), self._db.execute(
            f"DELETE FROM watchlist WHERE guild_id = ? AND kind = ? AND name_norm = ?"
            f" RETURNING {_COLUMNS}", (guild_id, kind, name_norm),
        ) as cur:
            row = await cur.fetchone()
        return _entry(row) if row else None

    async def for_guild(self, guild_id: int) -> list[WatchEntry]:
        async with self._db.execute(
            f"SELECT {_COLUMNS} FROM watchlist WHERE guild_id = ?"
            " ORDER BY kind DESC, lower(name)", (guild_id,),
        ) as cur:
            return [_entry(row) for row in await cur.fetchall()]

    async def count(self, guild_id: int) -> int:
        async with self._db.execute(
            "SELECT count(*) FROM watchlist WHERE guild_id = ?", (guild_id,)
        ) as cur:
            return (await cur.fetchone())[0]

    async def watching(
        self, *, vendors: Sequence[str], products: Sequence[str]
    ) -> list[WatchEntry]:
        """Every guild's entries naming one of these vendor keys (kind vendor) or
        product keys (kind product), through the (kind, name_norm) index."""
        found: list[WatchEntry] = []
        for kind, keys in (("vendor", vendors), ("product", products)):
            keys = sorted(set(keys) - {""})
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                async with self._db.execute(
                    f"SELECT {_COLUMNS} FROM watchlist WHERE kind = ?"
                    f" AND name_norm IN ({','.join('?' * len(chunk))})"
                    " ORDER BY guild_id, id", (kind, *chunk),
                ) as cur:
                    found += [_entry(row) for row in await cur.fetchall()]
        return found

    async def vendor_tags(self) -> list[str]:
        """The vendor and product names the store's articles are tagged with (from the
        per-day tag counts: one row per name and day, not per article)."""
        async with self._db.execute(
            "SELECT DISTINCT value FROM tag_day_counts WHERE kind = 'vendor' ORDER BY value"
        ) as cur:
            return [row[0] for row in await cur.fetchall()]
