"""One aiosqlite connection per process, with numbered SQL migrations.

Migrations are ``storage/migrations/NNN_name.sql``; every file whose number is above
``PRAGMA user_version`` runs inside one transaction, then the version is bumped.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) for every bundled migration, in order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"two migrations share a number: {[n for _, n, _ in found]}")
    return found


class StoreOpenError(Exception):
    """The store cannot be opened; the message says why and what to do."""


async def open_db(path: str | Path) -> aiosqlite.Connection:
    """Open (creating if needed) the store at ``path`` and bring its schema up to date.
    Raises StoreOpenError when the file or its directory cannot be used."""
    path = Path(path)
    try:
        return await _open_db(path)
    except (OSError, sqlite3.DatabaseError) as exc:
        raise StoreOpenError(open_failure(path, exc)) from exc


def open_failure(path: Path, exc: BaseException) -> str:
    """One line: what is wrong with the store at ``path``, and what to do."""
    detail = getattr(exc, "strerror", None) or str(exc)
    text = str(exc).lower()
    if isinstance(exc, OSError):
        reason = f"cannot create its directory {path.parent} ({detail})"
    elif "not a database" in text or "malformed" in text:
        reason = "the file is not a secbrief store (not SQLite, or damaged)"
    elif "readonly" in text or "read-only" in text:
        reason = "the file or its directory is read-only"
    elif "unable to open" in text:
        reason = "the file cannot be opened or created (a missing or read-only directory?)"
    elif "locked" in text or "busy" in text:
        reason = "another process holds it locked; try again"
    else:
        reason = detail
    return (f"cannot open the store {path}: {reason}; set SECBRIEF_DATABASE to a writable "
            "file path (a new file is created)")


def _probe(path: Path) -> None:
    """Open the file with plain sqlite3 and read its header, so that a file that cannot
    be opened or is not SQLite fails here (aiosqlite's worker thread, failing to
    connect, would outlive the event loop and print a traceback at exit)."""
    probe = sqlite3.connect(path)
    try:
        probe.execute("PRAGMA schema_version").fetchone()
    finally:
        probe.close()


async def _open_db(path: Path) -> aiosqlite.Connection:
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(_probe, path)
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a migration or a
    # multi-statement write is exactly one transaction.
    db = await aiosqlite.connect(path, isolation_level=None)
    try:
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA busy_timeout=10000")
        await db.execute("PRAGMA synchronous=NORMAL")
        await migrate(db)
    except BaseException:
        await db.close()
        raise
    _locks.pop(id(db), None)  # a new connection may reuse a closed one's id
    return db


async def schema_version(db: aiosqlite.Connection) -> int:
    async with db.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    return int(row[0])


async def migrate(db: aiosqlite.Connection) -> int:
    """Apply pending migrations; returns the resulting schema version."""
    # BEGIN IMMEDIATE takes the write lock first, so two processes starting at once
    # cannot both apply the same migration.
    await db.execute("BEGIN IMMEDIATE")
    try:
        current = await schema_version(db)
        for number, name, sql in migrations():
            if number <= current:
                continue
            log.info("applying migration %s", name)
            for statement in _split_sql(sql):
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {number:d}")
            current = number
        await db.execute("COMMIT")
    except BaseException:
        await db.execute("ROLLBACK")
        raise
    return current


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping CREATE TRIGGER ... END; bodies whole."""
    statements: list[str] = []
    buffer: list[str] = []
    for line in script.splitlines():
        stripped = line.strip()
        if not buffer and (not stripped or stripped.startswith("--")):
            continue
        buffer.append(line)
        candidate = "\n".join(buffer)
        if stripped.endswith(";") and sqlite3.complete_statement(candidate):
            statements.append(candidate)
            buffer = []
    if "".join(buffer).strip():
        statements.append("\n".join(buffer))
    return statements


class WriteLock:
    """The connection's write lock, re-entrant within one task.

    Tasks share one connection, so a statement run while another task's transaction is
    open would become part of it (and roll back with it). Every write therefore holds
    this lock; a task already holding it (inside its own Transaction) goes straight on.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task | None = None
        self._depth = 0

    @property
    def held_here(self) -> bool:
        return self._owner is not None and self._owner is asyncio.current_task()

    async def __aenter__(self) -> None:
        if self.held_here:
            self._depth += 1
            return
        await self._lock.acquire()
        self._owner, self._depth = asyncio.current_task(), 1

    async def __aexit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()


_locks: dict[int, WriteLock] = {}


def write_lock(db: aiosqlite.Connection) -> WriteLock:
    return _locks.setdefault(id(db), WriteLock())


async def execute_write(
    db: aiosqlite.Connection, sql: str, params: Sequence[object] = ()
) -> aiosqlite.Cursor:
    """One write statement, never inside another task's open transaction."""
    async with write_lock(db):
        return await db.execute(sql, params)


async def executemany_write(
    db: aiosqlite.Connection, sql: str, rows: Iterable[Sequence[object]]
) -> aiosqlite.Cursor:
    async with write_lock(db):
        return await db.executemany(sql, rows)


class Transaction:
    """``async with Transaction(db):`` — BEGIN IMMEDIATE … COMMIT, ROLLBACK on error.
    Not nestable: a task inside one calls the *_in_transaction variants."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        self._lock = write_lock(db)

    async def __aenter__(self) -> aiosqlite.Connection:
        if self._lock.held_here:
            raise RuntimeError("nested Transaction on one connection")
        await self._lock.__aenter__()
        try:
            await self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            await self._lock.__aexit__()
            raise
        return self._db

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            await self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            await self._lock.__aexit__()
