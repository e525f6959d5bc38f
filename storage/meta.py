"""Small key/value settings kept in the store (cursors, versions)."""

from __future__ import annotations

from storage.db import Database, execute_write


class MetaRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, key: str) -> str | None:
        async with self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def get_for_update(self, key: str) -> str | None:
        """``get`` inside a transaction, holding the row until it ends (PostgreSQL:
        FOR UPDATE, so a second process re-reading a cursor waits for this one's
        commit; SQLite's BEGIN IMMEDIATE holds the whole store already)."""
        sql = self._db.pick({
            "sqlite": "SELECT value FROM meta WHERE key = ?",
            "postgres": "SELECT value FROM meta WHERE key = ? FOR UPDATE",
        })
        return await self._db.fetchval(sql, (key,))

    async def set(self, key: str, value: str) -> None:
        await execute_write(self._db,
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
