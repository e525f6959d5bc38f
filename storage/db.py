"""The store's database: one ``Database`` interface over SQLite (one aiosqlite
connection) and PostgreSQL (an asyncpg pool), with numbered migrations per dialect.

``SECBRIEF_DATABASE`` chooses: ``postgresql://…`` (or ``postgres://…``) is PostgreSQL, a
path or ``sqlite:PATH`` is SQLite (the default). Repositories take a ``Database`` and
write their SQL once with ``?`` placeholders; PostgreSQL receives them as ``$1…$n``.
Where the dialects differ, a repository keeps both forms side by side and picks one
with ``db.dialect`` (``"sqlite"`` or ``"postgres"``).

The interface, the same on both:

- ``await db.execute(sql, params)`` runs one statement (a write, or anything whose
  ``rowcount`` or ``RETURNING`` rows are wanted) and returns a ``Result``
  (``rowcount``, ``lastrowid`` on SQLite only, ``fetchone()``/``fetchall()``);
- ``async with db.execute(sql, params) as cur:`` reads: ``await cur.fetchall()``,
  ``await cur.fetchone()``;
- ``fetchall``/``fetchone``/``fetchval`` shortcuts, ``executemany``;
- ``async with db.transaction():`` one transaction. Inside it, every call the same task
  makes on the same ``Database`` runs in that transaction (SQLite: the connection's
  task-re-entrant write lock; PostgreSQL: the connection held for the task), so the
  ``*_in_transaction`` methods of the repositories need no handle passed to them.
  ``db.transaction(lock=KEY)`` also serialises it with every other transaction given
  that key, in any process (PostgreSQL: pg_advisory_xact_lock, sent with the BEGIN;
  SQLite: BEGIN IMMEDIATE serialises every writer already).

Rows are the drivers' own (``sqlite3.Row``, ``asyncpg.Record``): both support
``row["name"]``, ``row[0]``, iteration, ``len`` and ``keys()``. Expression columns are
named differently by the two drivers, so read those by index.

Migrations are ``storage/migrations/NNN_name.sql`` (SQLite) and
``storage/migrations/postgres/NNN_name.sql`` (PostgreSQL), recorded in a
``schema_migrations`` table; any number not recorded there is applied, in order, all in
one transaction. An SQLite store made before that table existed is seeded from its
``PRAGMA user_version`` once.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

Dialect = Literal["sqlite", "postgres"]
Params = Sequence[object]

_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def is_postgres_url(url: str | Path) -> bool:
    return str(url).startswith(("postgresql://", "postgres://"))


def migrations(dialect: Dialect = "sqlite") -> list[tuple[int, str, str]]:
    """(number, file name, SQL) for every bundled migration of ``dialect``, in order."""
    root = resources.files("storage.migrations")
    folder = root if dialect == "sqlite" else root / "postgres"
    found = []
    for entry in folder.iterdir():
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


# ---------------------------------------------------------------- placeholders

_TOKENS = re.compile(
    r"""
      '(?:[^']|'')*'                          # string literal ('' escapes)
    | "(?:[^"]|"")*"                          # quoted identifier
    | --[^\n]*                                # line comment
    | /\*.*?\*/                               # block comment
    | \$(?P<tag>[A-Za-z_]*)\$.*?\$(?P=tag)\$  # dollar-quoted body
    | \?                                      # the placeholder
    """,
    re.VERBOSE | re.DOTALL,
)


@lru_cache(maxsize=4096)
def to_numbered(sql: str) -> str:
    """``?`` -> ``$1, $2, …`` outside literals, quoted identifiers and comments (cached:
    the repositories' SQL texts are constants, or few variants)."""
    counter = 0

    def repl(match: re.Match[str]) -> str:
        nonlocal counter
        if match.group(0) != "?":
            return match.group(0)
        counter += 1
        return f"${counter}"

    return _TOKENS.sub(repl, sql)


# ---------------------------------------------------------------- results


class Result:
    """What ``await db.execute(…)`` returns: ``rowcount``, ``lastrowid`` (SQLite only;
    portable code uses ``RETURNING id``) and the rows a ``RETURNING`` or a query gave."""

    def __init__(self, rowcount: int, lastrowid: int | None = None,
                 rows: list[Any] | None = None) -> None:
        self.rowcount = rowcount
        self.lastrowid = lastrowid
        self._rows = rows or []

    async def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[Any]:
        return list(self._rows)


class _Statement:
    """``db.execute(...)``: awaited, it runs a statement (under the write lock on
    SQLite); used as ``async with``, it is a read yielding a cursor."""

    def __init__(self, db: Database, sql: str, params: Params) -> None:
        self._db, self._sql, self._params = db, sql, params
        self._cursor: Any = None

    def __await__(self):  # type: ignore[no-untyped-def]
        return self._db._run(self._sql, self._params).__await__()

    async def __aenter__(self) -> Any:
        self._cursor = await self._db._read(self._sql, self._params)
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        close = getattr(self._cursor, "close", None)
        if close is not None:
            await close()


class Database:
    """The interface repositories use (see the module docstring)."""

    dialect: Dialect

    def execute(self, sql: str, params: Params = ()) -> _Statement:
        return _Statement(self, sql, params)

    def pick(self, variants: dict[str, str]) -> str:
        """The SQL for this dialect out of ``{"sqlite": …, "postgres": …}``."""
        return variants[self.dialect]

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        async with self.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def fetchone(self, sql: str, params: Params = ()) -> Any:
        async with self.execute(sql, params) as cur:
            return await cur.fetchone()

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def insert_id(self, sql: str, params: Params = ()) -> int | None:
        """The id an ``INSERT … RETURNING id`` made (None when it inserted nothing)."""
        row = await (await self.execute(sql, params)).fetchone()
        return None if row is None else row[0]

    # implemented per dialect
    async def _run(self, sql: str, params: Params) -> Result: ...
    async def _read(self, sql: str, params: Params) -> Any: ...
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...
    def transaction(self, *, lock: int | None = None) -> Any: ...
    async def close(self) -> None: ...


# ---------------------------------------------------------------- SQLite


class WriteLock:
    """The connection's write lock, re-entrant within one task.

    Tasks share one connection, so a statement run while another task's transaction is
    open would become part of it (and roll back with it). Every write therefore holds
    this lock; a task already holding it (inside its own transaction) goes straight on.
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


class SqliteDatabase(Database):
    dialect: Dialect = "sqlite"

    def __init__(self, conn: Any) -> None:  # an aiosqlite.Connection
        self.conn = conn
        self.write_lock = WriteLock()

    @property
    def total_changes(self) -> int:
        return self.conn.total_changes

    async def _run(self, sql: str, params: Params) -> Any:
        async with self.write_lock:
            cur = await self.conn.execute(sql, params)
            if not _RETURNING.search(sql):
                return cur
            rows = list(await cur.fetchall())  # the statement completes as it is read
            await cur.close()
            return Result(len(rows), None, rows)

    async def _read(self, sql: str, params: Params) -> Any:
        # Read whole in one hop (as on PostgreSQL): a cursor left open across an await
        # keeps a read transaction open on the shared connection, and a write another
        # task makes meanwhile would need to upgrade it — "database is locked" at once,
        # without waiting, whenever another process has written since.
        rows = list(await self.conn.execute_fetchall(sql, params))
        return Result(len(rows), None, rows)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        return list(await self.conn.execute_fetchall(sql, params))  # one thread hop

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self.write_lock:
            await self.conn.executemany(sql, rows)

    @asynccontextmanager
    async def transaction(self, *, lock: int | None = None) -> AsyncIterator[SqliteDatabase]:
        """BEGIN IMMEDIATE … COMMIT (ROLLBACK on error) under the write lock. Not
        nestable: a task inside one calls the *_in_transaction variants. ``lock`` needs
        nothing more: BEGIN IMMEDIATE already waits for every other writer."""
        if self.write_lock.held_here:
            raise RuntimeError("nested transaction on one connection")
        async with self.write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    async def close(self) -> None:
        await self.conn.close()


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


async def _open_sqlite(path: Path) -> SqliteDatabase:
    import aiosqlite

    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(_probe, path)
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a migration or a
    # multi-statement write is exactly one transaction.
    conn = await aiosqlite.connect(path, isolation_level=None)
    db = SqliteDatabase(conn)
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=10000")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await migrate(db)
    except BaseException:
        await conn.close()
        raise
    return db


def _split_sql(script: str) -> list[str]:
    """Split an SQLite migration into statements, keeping CREATE TRIGGER … END; whole."""
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


# ---------------------------------------------------------------- PostgreSQL


def _rowcount(status: str) -> int:
    """asyncpg's command tag ('INSERT 0 1', 'UPDATE 3', 'DELETE 0') -> affected rows."""
    tail = status.rsplit(" ", 1)[-1] if status else ""
    return int(tail) if tail.isdigit() else -1


_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_RETURNS_ROWS = re.compile(r"^\s*(SELECT|WITH|VALUES|SHOW)\b|\bRETURNING\b", re.IGNORECASE)


class PostgresDatabase(Database):
    """Over an asyncpg pool. No write lock: the server isolates transactions. Inside
    ``transaction()``, the task's calls go to the connection holding it."""

    dialect: Dialect = "postgres"

    def __init__(self, pool: Any, dsn: str = "") -> None:
        self.pool = pool
        self.dsn = dsn
        self._tx: contextvars.ContextVar[tuple[Any, Any] | None] = contextvars.ContextVar(
            f"secbrief_pg_tx_{id(self)}", default=None)

    def _conn(self) -> Any:
        held = self._tx.get()
        if held is not None and held[0] is asyncio.current_task():
            return held[1]
        return None

    @asynccontextmanager
    async def _target(self) -> AsyncIterator[Any]:
        conn = self._conn()
        if conn is not None:
            yield conn
        else:
            async with self.pool.acquire() as conn:
                yield conn

    async def _run(self, sql: str, params: Params) -> Result:
        numbered = to_numbered(sql)
        async with self._target() as conn:
            if _RETURNS_ROWS.search(sql):
                rows = await conn.fetch(numbered, *params)
                return Result(len(rows), None, rows)
            return Result(_rowcount(await conn.execute(numbered, *params)))

    async def _read(self, sql: str, params: Params) -> Result:
        async with self._target() as conn:
            rows = await conn.fetch(to_numbered(sql), *params)
        return Result(len(rows), None, rows)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        rows = [tuple(r) for r in rows]
        if not rows:
            return
        async with self._target() as conn:
            await conn.executemany(to_numbered(sql), rows)

    @asynccontextmanager
    async def transaction(
        self, *, lock: int | None = None, search_plans: bool = False
    ) -> AsyncIterator[PostgresDatabase]:
        """BEGIN … COMMIT on one pooled connection; ``lock`` also takes that advisory
        lock, ``search_plans`` gives the transaction full-text search's planner settings
        (no sequential scan, a plan for each call's values: see storage/search.py), both
        in BEGIN's round trip."""
        if self._conn() is not None:
            raise RuntimeError("nested transaction on one connection")
        begin = ["BEGIN"]
        if lock is not None:
            begin.append(f"SELECT pg_advisory_xact_lock({int(lock):d})")
        if search_plans:
            begin += ["SET LOCAL enable_seqscan = off",
                      "SET LOCAL plan_cache_mode = force_custom_plan"]
        async with self.pool.acquire() as conn:
            token = self._tx.set((asyncio.current_task(), conn))
            try:
                if len(begin) == 1:
                    async with conn.transaction():
                        yield self
                else:
                    async with _begun(conn, "; ".join(begin)):
                        yield self
            finally:
                self._tx.reset(token)

    async def executescript(self, script: str) -> None:
        """A whole migration through the simple-query protocol ($$ bodies unsplit)."""
        async with self._target() as conn:
            await conn.execute(script)

    async def close(self) -> None:
        await self.pool.close()


@asynccontextmanager
async def _begun(conn: Any, begin: str) -> AsyncIterator[None]:
    """``begin`` (BEGIN and what the transaction starts with, as one simple-protocol
    query: one round trip, so values are formatted in — ints and fixed words only), …
    COMMIT; ROLLBACK on any error, cancellation included (an aborted BEGIN's
    transaction too)."""
    try:
        await conn.execute(begin)
        yield
    except BaseException:
        if not conn.is_closed() and conn.is_in_transaction():
            await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")


async def _keep_session(conn: Any) -> None:
    """The pool's reset of a released connection: nothing beyond asyncpg's own (an open
    transaction is rolled back, listeners dropped). Its default reset query (release
    session advisory locks, CLOSE ALL, UNLISTEN *, RESET ALL) would be one more round
    trip after every statement run outside a transaction (a third of ingest's), undoing
    state secbrief never leaves on a connection: its advisory locks and settings are
    transaction-scoped (pg_advisory_xact_lock, set_config(…, true))."""


async def _open_postgres(dsn: str, *, min_size: int = 1, max_size: int = 10) -> PostgresDatabase:
    import asyncpg

    try:
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                         reset=_keep_session)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise StoreOpenError(
            f"cannot open the PostgreSQL store: {type(exc).__name__}: {exc}; check "
            "SECBRIEF_DATABASE (postgresql://user@host/database)") from exc
    db = PostgresDatabase(pool, dsn)
    try:
        await migrate(db)
    except BaseException:
        await pool.close()
        raise
    return db


# ---------------------------------------------------------------- opening and migrations


async def open_database(url: str | Path) -> Database:
    """Open (creating if needed) the store ``url`` names and bring its schema up to date:
    ``postgresql://…`` is PostgreSQL, a path or ``sqlite:PATH`` SQLite. Raises
    StoreOpenError when it cannot be used."""
    if is_postgres_url(url):
        return await _open_postgres(str(url))
    path = Path(str(url).removeprefix("sqlite:")) if isinstance(url, str) else url
    try:
        return await _open_sqlite(path)
    except (OSError, sqlite3.DatabaseError) as exc:
        raise StoreOpenError(open_failure(path, exc)) from exc


# Kept for callers that open an SQLite file directly (tests, benchmarks).
open_db = open_database

# Migrations whose effect a legacy store may lack although its user_version is past them:
# 010 landed after 011 and 012, so a store migrated to 12 before 010 existed skipped it.
_LEGACY_PROBES = {10: "SELECT meta FROM actors LIMIT 0"}
_PG_MIGRATION_LOCK = 0x5ECB1EF  # advisory lock key: one migrating process at a time


async def schema_version(db: Database) -> int:
    """The highest migration applied."""
    return int(await db.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations"))


# A migration's statement that cannot run inside a transaction (VACUUM), run after the
# migrations commit: a line "-- after commit: STATEMENT" in its file.
_AFTER_COMMIT = re.compile(r"^-- after commit: (.+)$", re.MULTILINE)


async def migrate(db: Database) -> int:
    """Apply every bundled migration not recorded in ``schema_migrations``, in order,
    in one transaction (which first takes the write lock: BEGIN IMMEDIATE on SQLite, an
    advisory lock on PostgreSQL), so two processes starting together apply each once.
    Returns the resulting schema version."""
    files = migrations(db.dialect)
    after: list[str] = []
    async with db.transaction():
        if db.dialect == "postgres":
            await db.execute("SELECT pg_advisory_xact_lock(?)", (_PG_MIGRATION_LOCK,))
        await db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
            " name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        applied = {r[0] for r in await db.fetchall("SELECT version FROM schema_migrations")}
        if db.dialect == "sqlite" and not applied:
            applied = await _seed_from_user_version(db, files)
        for number, name, sql in files:
            if number in applied:
                continue
            log.info("applying migration %s", name)
            if isinstance(db, PostgresDatabase):
                await db.executescript(sql)
            else:
                for statement in _split_sql(sql):
                    await db.execute(statement)
            await db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (number, name, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")))
            applied.add(number)
            after += _AFTER_COMMIT.findall(sql)
        if db.dialect == "sqlite" and applied:
            # what older secbrief versions read
            await db.execute(f"PRAGMA user_version = {max(applied):d}")
    for statement in after:  # (a process that dies first leaves them to autovacuum)
        await db.execute(statement)
    return max(applied, default=0)


async def _seed_from_user_version(db: Database, files: list[tuple[int, str, str]]) -> set[int]:
    """Record the migrations a store made before ``schema_migrations`` existed already
    has: those numbered up to its ``PRAGMA user_version`` (except one whose effect is
    missing, see _LEGACY_PROBES)."""
    legacy = int(await db.fetchval("PRAGMA user_version"))
    seeded: set[int] = set()
    for number, name, _ in files:
        if number > legacy:
            continue
        probe = _LEGACY_PROBES.get(number)
        if probe is not None:
            try:
                await db.fetchall(probe)
            except sqlite3.OperationalError:
                log.info("migration %s is missing from this store; applying it", name)
                continue
        await db.execute("INSERT INTO schema_migrations VALUES (?, ?, 'legacy')", (number, name))
        seeded.add(number)
    return seeded


# ---------------------------------------------------------------- compatibility names

def Transaction(db: Database) -> Any:
    """``async with Transaction(db):`` is ``async with db.transaction():``."""
    return db.transaction()


def write_lock(db: Database) -> Any:
    """SQLite: the connection's write lock (held across a few statements that must not
    interleave with another task's transaction); PostgreSQL: nothing to hold."""
    if isinstance(db, SqliteDatabase):
        return db.write_lock
    return _NoLock()


class _NoLock:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


async def execute_write(db: Database, sql: str, params: Params = ()) -> Any:
    """One write statement, never inside another task's open transaction."""
    return await db.execute(sql, params)


async def executemany_write(db: Database, sql: str, rows: Iterable[Sequence[object]]) -> None:
    await db.executemany(sql, rows)
