"""``secbrief migrate --to postgresql://…``: copy an SQLite store into an empty
PostgreSQL database and verify it.

1. The target must be reachable and empty: no row in any table of its schema except
   what the migrations themselves insert (the ``send_budget`` seed row) and
   ``schema_migrations``. A non-empty target is refused before anything is changed.
2. The target is migrated (storage/migrations/postgres/), then every table is copied in
   one transaction on the target, in foreign-key order, in batches (binary COPY), with
   ids preserved. The tables' own triggers are off during the copy, so the per-day tag
   counts are copied as they are rather than counted again; the full-text index (the
   article_search table and its GIN indexes, which the articles trigger keeps) is built
   once after the copy, by the migration's own secbrief_index_all_articles(). Identity
   sequences are then set past the highest id copied.
3. Before COMMIT, every table's row count on the target is compared with the source's
   (read in one snapshot): a mismatch rolls the whole copy back. After COMMIT the
   counts are read again on a new connection and reported; a mismatch there (someone
   wrote to the target meanwhile) leaves the target as it is, for inspection.

The SQL is here and in the PostgreSQL catalog queries below; the schemas themselves are
the migrations'.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from storage.db import PostgresDatabase, StoreOpenError, is_postgres_url, open_database

# SQLite tables that are not data to copy: its own, the FTS5 indexes and their shadow
# tables (rebuilt on the target as the article_search table), the migration record (the
# target keeps its own).
_SKIP_PREFIXES = ("sqlite_", "articles_fts", "headlines_fts")
# Target tables that are not copied: the migration record, and the full-text index
# derived from articles (rebuilt after the copy; empty whenever articles is).
_NOT_COPIED = {"schema_migrations", "article_search"}
# Rows the PostgreSQL migrations insert: allowed in an "empty" target, replaced by the
# source's rows during the copy.
_SEEDED = {"send_budget"}

DEFAULT_BATCH = 1000


class MigrateError(Exception):
    """The migration cannot go ahead; ``code`` is the exit code (2: bad input)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class TableCount:
    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


@dataclass
class MigrationReport:
    source: str
    target: str
    tables: list[TableCount] = field(default_factory=list)
    verified: bool = False
    outcome: str = ""          # "committed", "rolled back" or "left for inspection"
    message: str = ""
    seconds: float = 0.0
    sequences: dict[str, int] = field(default_factory=dict)
    copying: str = ""           # the table being copied (for an error message)

    @property
    def rows(self) -> int:
        return sum(t.source for t in self.tables)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "verified": self.verified,
            "outcome": self.outcome,
            "message": self.message,
            "seconds": round(self.seconds, 2),
            "rows": self.rows,
            "tables": {t.table: {"source": t.source, "target": t.target}
                       for t in self.tables},
            "sequences": self.sequences,
        }

    def text(self) -> str:
        width = max((len(t.table) for t in self.tables), default=5)
        lines = [f"{'table':<{width}}  {'source':>9}  {'target':>9}"]
        for t in self.tables:
            mark = "" if t.ok else "  MISMATCH"
            lines.append(f"{t.table:<{width}}  {t.source:>9,}  {t.target:>9,}{mark}")
        state = "verified" if self.verified else "NOT verified"
        lines.append(f"{self.rows:,} rows in {len(self.tables)} tables from {self.source} to "
                     f"{self.target} in {self.seconds:.1f} s: {state}, {self.outcome}.")
        if self.message:
            lines.append(self.message)
        return "\n".join(lines)


def redact(url: str) -> str:
    """The URL without its password (for reports and messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


# ---------------------------------------------------------------- PostgreSQL catalog

_PG_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY c.relname
"""
_PG_COLUMNS = """
SELECT table_name, column_name, data_type, is_identity = 'YES' AS identity
FROM information_schema.columns
WHERE table_schema = current_schema() AND is_generated = 'NEVER'
ORDER BY table_name, ordinal_position
"""
_PG_FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
JOIN pg_namespace n ON n.oid = c.connamespace
WHERE c.contype = 'f' AND n.nspname = current_schema()
"""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _nonempty_tables(conn: Any) -> list[str]:
    """Tables of the target holding rows a fresh migration does not put there."""
    found = []
    for row in await conn.fetch(_PG_TABLES):
        table = row[0]
        if table in _NOT_COPIED:
            continue
        if table == "send_budget":
            extra = await conn.fetchval(
                "SELECT count(*) FROM send_budget WHERE NOT (name = 'discord' AND next_at = 0)")
            if extra:
                found.append(table)
            continue
        if await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM {_quote(table)})"):
            found.append(table)
    return found


def _copy_order(tables: Iterable[str], edges: Iterable[tuple[str, str]]) -> list[str]:
    """Tables with each referenced table before the tables referencing it."""
    names = sorted(tables)
    needs: dict[str, set[str]] = {t: set() for t in names}
    for child, parent in edges:
        child, parent = child.strip('"'), parent.strip('"')
        if child in needs and parent in needs and child != parent:
            needs[child].add(parent)
    order: list[str] = []
    while needs:
        ready = sorted(t for t, deps in needs.items() if not deps - set(order))
        if not ready:
            raise MigrateError(f"foreign keys form a cycle among {sorted(needs)}", code=1)
        for table in ready:
            order.append(table)
            del needs[table]
    return order


# ---------------------------------------------------------------- values

def _coercer(data_type: str) -> Any:
    """SQLite is loosely typed, asyncpg's COPY strictly: each value to the target type."""
    if data_type in ("bigint", "integer", "smallint"):
        def to_int(v: object) -> object:
            return v if v is None or type(v) is int else int(v)  # type: ignore[call-overload]
        return to_int
    if data_type in ("double precision", "real", "numeric"):
        def to_float(v: object) -> object:
            return v if v is None or type(v) is float else float(v)  # type: ignore[arg-type]
        return to_float
    if data_type == "boolean":
        return lambda v: v if v is None else bool(v)

    def to_text(v: object) -> object:
        if v is None or type(v) is str:
            return v
        if isinstance(v, bytes):
            return v.decode("utf-8", "replace")
        return str(v)
    return to_text


# ---------------------------------------------------------------- the source

class _Source:
    """The SQLite store read in one snapshot (a read transaction on its own connection),
    in batches, on a worker thread."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self.conn.execute("BEGIN")  # deferred: the snapshot starts with the first read

    def tables(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
        return [r[0] for r in rows if not r[0].startswith(_SKIP_PREFIXES)
                and r[0] not in _NOT_COPIED]

    def columns(self, table: str) -> list[str]:
        return [r[1] for r in self.conn.execute(f"PRAGMA table_info({_quote(table)})")]

    def count(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()[0])

    def sequence(self, table: str) -> int:
        """sqlite_sequence's high-water mark (AUTOINCREMENT tables only; else 0)."""
        try:
            row = self.conn.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0]) if row else 0

    def cursor(self, table: str, columns: list[str]) -> sqlite3.Cursor:
        cols = ", ".join(_quote(c) for c in columns)
        return self.conn.execute(f"SELECT {cols} FROM {_quote(table)}")

    def close(self) -> None:
        self.conn.close()


# ---------------------------------------------------------------- the migration

async def check_target(url: str) -> None:
    """Exit-2 problems with the target, found before anything is changed."""
    import asyncpg

    if not is_postgres_url(url):
        raise MigrateError(f"--to {url!r} is not a postgresql:// URL "
                           "(postgresql://user@host/database)")
    try:
        conn = await asyncpg.connect(url, timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise MigrateError(f"cannot reach the target {redact(url)}: "
                           f"{type(exc).__name__}: {exc}") from exc
    try:
        busy = await _nonempty_tables(conn)
    finally:
        await conn.close()
    if busy:
        shown = ", ".join(busy[:8]) + (" …" if len(busy) > 8 else "")
        raise MigrateError(f"the target {redact(url)} is not empty ({len(busy)} tables hold "
                           f"rows: {shown}); migrate copies into an empty database only — "
                           "create a new one (createdb) and give its URL; nothing was changed")


async def migrate_store(source: Path | str, target: str, *,
                        batch: int = DEFAULT_BATCH) -> MigrationReport:
    """Copy the SQLite store ``source`` into the empty PostgreSQL database ``target``
    and verify the counts (see the module docstring). Raises MigrateError for bad
    input; returns the report otherwise (``verified`` False: exit 1)."""
    if is_postgres_url(source):
        raise MigrateError("the configured store (SECBRIEF_DATABASE) is PostgreSQL already; "
                           "migrate copies an SQLite store: point SECBRIEF_DATABASE at its file")
    path = Path(str(source).removeprefix("sqlite:"))
    if not await asyncio.to_thread(path.is_file):
        raise MigrateError(f"no SQLite store at {path} (SECBRIEF_DATABASE) to copy")
    if batch < 1:
        raise MigrateError(f"--batch-size must be at least 1, not {batch}")
    await check_target(target)
    started = time.perf_counter()
    report = MigrationReport(source=str(path), target=redact(target))

    # Bring the source's schema up to date (as any secbrief command opening it would),
    # then create the target's.
    try:
        await (await open_database(path)).close()
        db = await open_database(target)
    except StoreOpenError as exc:
        raise MigrateError(str(exc)) from exc
    assert isinstance(db, PostgresDatabase)
    src = await asyncio.to_thread(_Source, path)
    try:
        import asyncpg

        try:
            await _copy(db, src, report, batch)
        except (asyncpg.PostgresError, asyncpg.DataError) as exc:
            table = report.copying or "?"
            raise MigrateError(
                f"copying table {table} failed ({type(exc).__name__}: {exc}); the copy was "
                "rolled back: the target holds the empty schema only", code=1) from exc
        except _Mismatch:
            report.outcome = "rolled back"
            report.message = ("the row counts differ (above): the copy was rolled back, "
                              "the target holds the empty schema only")
            return report
        report.outcome = "committed"
        async with db.pool.acquire() as conn:
            # Planner statistics for the copied tables, and their visibility maps set,
            # which lets a search count its matches without reading the heap.
            await conn.execute("VACUUM (ANALYZE)")
            for entry in report.tables:
                entry.target = int(await conn.fetchval(
                    f"SELECT count(*) FROM {_quote(entry.table)}"))
        report.verified = all(t.ok for t in report.tables)
        if not report.verified:
            report.outcome = "left for inspection"
            report.message = ("the counts matched before COMMIT but differ now (another "
                              "process writing to the target?): the target is left as it is "
                              "for inspection")
    finally:
        await asyncio.to_thread(src.close)
        await db.close()
        report.seconds = time.perf_counter() - started
    return report


class _Mismatch(Exception):
    """Raised inside the target transaction to roll it back."""


async def _copy(db: PostgresDatabase, src: _Source, report: MigrationReport,
                batch: int) -> None:
    async with db.pool.acquire() as conn, conn.transaction():
        # Empty still? (another migrate may have started meanwhile); then hold the
        # tables until COMMIT.
        busy = await _nonempty_tables(conn)
        if busy:
            raise MigrateError(f"the target {report.target} is not empty "
                               f"({', '.join(busy)}); nothing was changed")
        target_tables = [r[0] for r in await conn.fetch(_PG_TABLES)
                         if r[0] not in _NOT_COPIED]
        source_tables = await asyncio.to_thread(src.tables)
        missing = sorted(set(source_tables) - set(target_tables))
        if missing:
            raise MigrateError(f"the PostgreSQL schema lacks tables the SQLite store has: "
                               f"{', '.join(missing)} (a newer store than this secbrief?)",
                               code=1)
        columns: dict[str, list[tuple[str, str, bool]]] = {}
        for row in await conn.fetch(_PG_COLUMNS):
            columns.setdefault(row[0], []).append((row[1], row[2], bool(row[3])))
        order = _copy_order(target_tables, [(r[0], r[1]) for r in
                                            await conn.fetch(_PG_FOREIGN_KEYS)])
        quoted = ", ".join(_quote(t) for t in order)
        await conn.execute(f"LOCK TABLE {quoted} IN EXCLUSIVE MODE")
        for table in order:
            await conn.execute(f"ALTER TABLE {_quote(table)} DISABLE TRIGGER USER")
        for table in _SEEDED & set(order):
            await conn.execute(f"DELETE FROM {_quote(table)}")

        for table in order:
            report.copying = table
            if table not in source_tables:
                report.tables.append(TableCount(table, 0, 0))
                continue
            have = set(await asyncio.to_thread(src.columns, table))
            cols = [(name, kind) for name, kind, _ in columns.get(table, []) if name in have]
            names = [name for name, _ in cols]
            coerce = [_coercer(kind) for _, kind in cols]
            cursor = await asyncio.to_thread(src.cursor, table, names)
            while True:
                rows = await asyncio.to_thread(cursor.fetchmany, batch)
                if not rows:
                    break
                records = [tuple(f(v) for f, v in zip(coerce, row, strict=True))
                           for row in rows]
                await conn.copy_records_to_table(table, records=records, columns=names)
            cursor.close()
            source_count = await asyncio.to_thread(src.count, table)
            target_count = int(await conn.fetchval(f"SELECT count(*) FROM {_quote(table)}"))
            report.tables.append(TableCount(table, source_count, target_count))

        for table in order:
            await conn.execute(f"ALTER TABLE {_quote(table)} ENABLE TRIGGER USER")
        report.copying = "article_search"
        await conn.execute("SELECT secbrief_index_all_articles()")
        for table in order:
            for name, _, identity in columns.get(table, []):
                if not identity:
                    continue
                high = max(int(await conn.fetchval(
                    f"SELECT coalesce(max({_quote(name)}), 0) FROM {_quote(table)}")),
                    await asyncio.to_thread(src.sequence, table))
                sequence = await conn.fetchval(
                    "SELECT pg_get_serial_sequence($1, $2)", _quote(table), name)
                if high > 0:
                    await conn.execute("SELECT setval($1, $2, true)", sequence, high)
                else:
                    await conn.execute("SELECT setval($1, 1, false)", sequence)
                report.sequences[table] = high + 1
        if not all(t.ok for t in report.tables):
            raise _Mismatch
