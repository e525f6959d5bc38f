"""storage/db.py itself: placeholders, migrations tracked in schema_migrations (both
backends), the seeding of a legacy SQLite store from PRAGMA user_version, and the
transaction a task's calls join."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage.db import migrations, open_database, schema_version, to_numbered


def test_placeholders_are_numbered_outside_literals_and_comments() -> None:
    sql = "SELECT '?', \"a?\", ? -- ?\n, /* ? */ ?, $$ ? $$, ?"
    assert to_numbered(sql) == "SELECT '?', \"a?\", $1 -- ?\n, /* ? */ $2, $$ ? $$, $3"
    assert to_numbered("VALUES ('it''s ?', ?)") == "VALUES ('it''s ?', $1)"


async def test_every_migration_is_recorded_once(empty_db: Path | str, backend: str) -> None:
    db = await open_database(empty_db)
    try:
        assert db.dialect == backend
        rows = await db.fetchall("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [(r[0], r[1]) for r in rows] == [(n, name) for n, name, _ in migrations(backend)]
        assert await schema_version(db) == migrations(backend)[-1][0]
    finally:
        await db.close()
    db = await open_database(empty_db)  # reopening applies nothing
    try:
        count = await db.fetchval("SELECT count(*) FROM schema_migrations")
        assert count == len(migrations(backend))
    finally:
        await db.close()


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_statements_a_migration_runs_after_commit(empty_db: str) -> None:
    """VACUUM cannot run in the migrations' transaction: a migration's "-- after
    commit:" lines run once it has committed (022 vacuums the table it rewrote)."""
    assert "-- after commit: VACUUM (ANALYZE) article_search" in dict(
        (n, sql) for n, _, sql in migrations("postgres"))[22]
    db = await open_database(empty_db)
    try:
        assert await db.fetchval("SELECT vacuum_count FROM pg_stat_user_tables"
                                 " WHERE relname = 'article_search'") == 1
    finally:
        await db.close()
    db = await open_database(empty_db)  # nothing is applied again, nor run after it
    try:
        assert await db.fetchval("SELECT vacuum_count FROM pg_stat_user_tables"
                                 " WHERE relname = 'article_search'") == 1
    finally:
        await db.close()


def _legacy_store(path: Path, *, numbers: list[int], user_version: int) -> None:
    """A store as the old runner left it: some migrations run, user_version set."""
    old = sqlite3.connect(path)
    for number, _name, sql in migrations():
        if number in numbers:
            old.executescript(sql)
    old.execute(f"PRAGMA user_version = {user_version}")
    old.commit()
    old.close()


async def test_a_legacy_store_is_seeded_from_user_version(tmp_path: Path) -> None:
    path = tmp_path / "legacy.db"
    _legacy_store(path, numbers=list(range(1, 13)), user_version=12)
    db = await open_database(path)
    try:
        legacy = await db.fetchall(
            "SELECT version FROM schema_migrations WHERE applied_at = 'legacy' ORDER BY 1")
        assert [r[0] for r in legacy] == list(range(1, 13))
        assert await schema_version(db) == migrations()[-1][0]  # 013 onwards applied
    finally:
        await db.close()


async def test_a_missing_number_below_the_newest_is_applied(tmp_path: Path) -> None:
    # 010 landed after 011 and 012: a store migrated to 12 before it existed lacks it.
    path = tmp_path / "no010.db"
    _legacy_store(path, numbers=[n for n in range(1, 13) if n != 10], user_version=12)
    db = await open_database(path)
    try:
        recorded = {r[0]: r[1] for r in await db.fetchall(
            "SELECT version, applied_at FROM schema_migrations")}
        assert recorded[10] != "legacy" and recorded[11] == "legacy"
        assert await db.fetchall("SELECT meta FROM actors LIMIT 1") == []  # the column exists
    finally:
        await db.close()


async def test_a_task_inside_a_transaction_sees_its_writes_others_wait(
    empty_db: Path | str,
) -> None:
    db = await open_database(empty_db)
    try:
        async with db.transaction():
            await db.execute("INSERT INTO meta (key, value) VALUES ('k', '1')")
            assert await db.fetchval("SELECT value FROM meta WHERE key = 'k'") == "1"
        with pytest.raises(RuntimeError, match="rollback"):
            async with db.transaction():
                await db.execute("UPDATE meta SET value = '2' WHERE key = 'k'")
                raise RuntimeError("rollback")
        assert await db.fetchval("SELECT value FROM meta WHERE key = 'k'") == "1"

        async def other_task() -> None:
            async with db.transaction():
                await db.execute("UPDATE meta SET value = value || 'b' WHERE key = 'k'")

        async with db.transaction():
            await db.execute("UPDATE meta SET value = value || 'a' WHERE key = 'k'")
            task = asyncio.create_task(other_task())
            await asyncio.sleep(0.05)
            assert not task.done()  # waits for this transaction
        await task
        assert await db.fetchval("SELECT value FROM meta WHERE key = 'k'") == "1ab"
    finally:
        await db.close()


async def test_discord_sized_ids_round_trip(empty_db: Path | str) -> None:
    db = await open_database(empty_db)
    try:
        snowflake = 1_234_567_890_123_456_789
        await db.execute("INSERT INTO alert_mutes (user_id, until) VALUES (?, ?)",
                         (snowflake, "2030-01-01T00:00:00.000000Z"))
        assert await db.fetchval("SELECT user_id FROM alert_mutes") == snowflake
    finally:
        await db.close()
