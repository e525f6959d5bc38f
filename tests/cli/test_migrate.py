"""`secbrief migrate --to postgresql://…`: a real SQLite store with rows in every table
(filled through the services, and the repositories where a service would need the
network) copied by the real command in a subprocess into an empty database on the
throw-away PostgreSQL; counts verified, the same search, actor lookup and briefing on
both, and a second migrate into the now non-empty target refused."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.jsonout import actor_lookup, dumps, search_page
from bot.jsonout import briefing as briefing_json
from bot.news.analyse import RawArticle
from bot.services.alerts import AlertService
from bot.services.caller import Caller
from bot.services.container import Services, open_services
from storage.timeutil import to_db
from tests.conftest import FIXTURES, _postgres_db, make_settings

# The source of a migrate is an SQLite store (db_path, services): only their SQLite leg;
# the PostgreSQL side is pg_target.
pytestmark = pytest.mark.sqlite_only

ALICE = Caller(user_id=101, guild_id=9001)
ADMIN = Caller(user_id=102, guild_id=9001, can_manage_guild=True)
SKIPPED = ("sqlite_", "articles_fts", "headlines_fts", "schema_migrations")


@pytest.fixture
def pg_target(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database (no schema) on the throw-away PostgreSQL."""
    yield from _postgres_db(request, empty=True)


def migrate(db: Path | str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECBRIEF_")}
    env["SECBRIEF_DATABASE"] = str(db)
    return subprocess.run([sys.executable, "-m", "bot", "migrate", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def data_tables(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]
                for n in names if not n.startswith(SKIPPED)}


async def fill(services: Services) -> None:
    """Rows in every table of the store."""
    clock, store, db = services.clock, services.store, services.store.db
    alerts = AlertService(store, clock=clock)
    await services.subscriptions.subscribe(ALICE, "actor", "APT29")
    await services.subscriptions.subscribe(ALICE, "keyword", "ransomware")
    await services.subscriptions.subscribe(ADMIN, "keyword", "vpn", channel_id=555)
    await services.subscriptions.mute(ALICE, ALICE.user_id, hours=2)
    await alerts.plan_round()  # sets the cursor
    report = await services.ingest.import_files(sorted((FIXTURES / "articles").iterdir()))
    assert report.failed == 0, report.errors
    for n, (title, text) in enumerate([
            ("Ransomware hits hospitals", "A ransomware crew encrypted hospital systems."),
            ("VPN flaw exploited", "Attackers exploit CVE-2024-3400 in a VPN gateway."),
            ("Cozy Bear phishes diplomats", "APT29 sent phishing mail to embassies.")]):
        raw = RawArticle(source="Wire A", title=title, url=f"https://news.example/{n}",
                         text=text, published_at=clock())
        assert await services.ingest.store_article(await services.ingest._analyse(raw))
    assert await alerts.plan_round()  # the alert ledger: batches, deliveries, reasons
    await services.schedules.set(ADMIN, 777, "08:00", "UTC")
    schedule = await store.schedules.get(777)
    assert await services.briefings.plan_scheduled(schedule, due_at=clock(), worker="t")
    now = to_db(clock())
    await db.execute(
        "INSERT INTO feeds (url, guild_id, title, created_at, next_poll_at) VALUES (?, ?, ?, ?, ?)",
        ("https://feeds.example/rss", 0, "Example", now, now))
    await db.execute(
        "INSERT INTO kev (cve, vendor, product, name, date_added, vendor_norm, product_norm)"
        " VALUES ('CVE-2024-3400', 'Palo Alto Networks', 'PAN-OS', 'PAN-OS injection',"
        " '2024-04-12', 'palo alto networks', 'pan-os')")
    await db.execute("INSERT INTO epss (cve, score, percentile) VALUES"
                     " ('CVE-2024-3400', 0.95, 0.99)")
    await db.execute(
        "INSERT INTO cvss (cve, score, severity, fetched_at) VALUES ('CVE-2024-3400', 10.0,"
        " 'CRITICAL', ?)", (now,))
    await db.execute("INSERT INTO nvd_checked (cve, checked_at) VALUES ('CVE-2024-3400', ?)",
                     (now,))
    await db.execute("INSERT INTO vuln_sources (source, last_success, records) VALUES"
                     " ('kev', ?, 1)", (now,))
    await db.execute("INSERT INTO watchlist (guild_id, kind, name, name_norm, created_by,"
                     " created_at) VALUES (9001, 'vendor', 'Palo Alto Networks',"
                     " 'palo alto networks', 102, ?)", (now,))
    await db.execute("INSERT INTO vuln_alert_seen (event, cve, seen_at) VALUES"
                     " ('kev', 'CVE-2024-3400', ?)", (now,))
    batch = await db.insert_id(
        "INSERT INTO delivery_batches (purpose, target_kind, target_id, created_at) VALUES"
        " ('alert', 'user', 101, ?) RETURNING id", (now,))
    await db.execute("INSERT INTO vuln_deliveries (event, target_kind, target_id, cve,"
                     " batch_id) VALUES ('kev', 'user', 101, 'CVE-2024-3400', ?)", (batch,))
    await db.execute("UPDATE send_budget SET next_at = 12345.5")
    if not await db.fetchval("SELECT count(*) FROM organisations"):
        actor = await db.fetchval("SELECT id FROM actors ORDER BY id LIMIT 1")
        await db.execute("INSERT INTO organisations (name_norm, name, linked_actor_id,"
                         " linked_actor) VALUES ('example org', 'Example Org', ?, 'x')",
                         (actor,))


async def same_answers(sqlite_services: Services, pg_url: str) -> None:
    settings = make_settings(pg_url, SECBRIEF_FEEDS=sqlite_services.settings.feeds_file)
    async with open_services(settings, clock=sqlite_services.clock) as on_pg:
        assert on_pg.store.db.dialect == "postgres"
        for query in ("ransomware hospitals", "CVE-2024-3400", "vpn", "phishing diplomats"):
            want = await sqlite_services.search.page(query, limit=20)
            got = await on_pg.search.page(query, limit=20)
            assert dumps(search_page(query, got)) == dumps(search_page(query, want)), query
        assert any([await sqlite_services.search.search(q) for q in ("ransomware", "vpn")])
        for name in ("Cozy Bear", "APT29", "Lazarus"):
            want = await sqlite_services.actors.lookup(name)
            got = await on_pg.actors.lookup(name)
            assert dumps(actor_lookup(got)) == dumps(actor_lookup(want)), name
        since = sqlite_services.clock() - timedelta(days=3650)
        want_b = await sqlite_services.briefings.build(since)
        got_b = await on_pg.briefings.build(since)
        assert want_b.items
        assert dumps(briefing_json(got_b)) == dumps(briefing_json(want_b))
        # ids preserved and sequences past them: a new row gets the next id
        top = await sqlite_services.store.db.fetchval("SELECT max(id) FROM subscriptions")
        sub = await on_pg.subscriptions.subscribe(ALICE, "keyword", "botnet")
        assert sub.subscription.id == top + 1


@pytest.mark.postgres  # needs the throw-away server (pg_target)
async def test_migrate_copies_every_table_and_verifies(services: Services, pg_target: str,
                                                       db_path: Path) -> None:
    await fill(services)
    source = data_tables(db_path)
    empty = sorted(name for name, n in source.items() if n == 0)
    assert not empty, f"the test store must hold rows in every table: {empty}"

    done = migrate(db_path, "--to", pg_target, "--json", "--batch-size", "7")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verified"] is True and report["outcome"] == "committed"
    assert set(report["tables"]) == set(source)  # every table, nothing more
    for table, counts in report["tables"].items():
        assert counts == {"source": source[table], "target": source[table]}, table

    await same_answers(services, pg_target)

    again = migrate(db_path, "--to", pg_target)
    assert again.returncode == 2
    assert "Traceback" not in again.stderr
    assert "is not empty" in again.stderr and "nothing was changed" in again.stderr


@pytest.mark.parametrize("url, message", [
    ("sqlite:/tmp/x.db", "not a postgresql:// URL"),
    ("postgresql://nobody@127.0.0.1:9/none?connect_timeout=2", "cannot reach the target"),
])
def test_migrate_bad_target_exits_2(db_path: Path, url: str, message: str) -> None:
    done = migrate(db_path, "--to", url)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.postgres  # needs the throw-away server (pg_target)
def test_migrate_from_postgres_or_missing_store_exits_2(tmp_path: Path, pg_target: str) -> None:
    missing = migrate(tmp_path / "none.db", "--to", pg_target)
    assert missing.returncode == 2 and "no SQLite store" in missing.stderr
    assert not (tmp_path / "none.db").exists()
    from_pg = migrate(pg_target, "--to", pg_target)
    assert from_pg.returncode == 2 and "PostgreSQL already" in from_pg.stderr


@pytest.mark.postgres  # needs the throw-away server (pg_target)
async def test_migrate_failing_copy_rolls_back_and_exits_1(services: Services, pg_target: str,
                                                           db_path: Path) -> None:
    """A row the target refuses (here a CHECK the operator added to its feeds table)
    fails the copy: exit 1, one line naming the table, and the target keeps only the
    empty schema (a later migrate into it goes ahead)."""
    import asyncpg

    from storage.db import open_database

    now = to_db(services.clock())
    await services.store.db.execute(
        "INSERT INTO feeds (url, guild_id, created_at) VALUES ('https://f.example/rss', 0, ?)",
        (now,))
    await (await open_database(pg_target)).close()  # the schema, no rows
    conn = await asyncpg.connect(pg_target)
    try:
        await conn.execute("ALTER TABLE feeds ADD CONSTRAINT no_feeds CHECK (id < 0)")
        failed = migrate(db_path, "--to", pg_target)
        assert failed.returncode == 1, failed.stderr
        assert "Traceback" not in failed.stderr
        assert "copying table feeds failed" in failed.stderr
        assert "rolled back" in failed.stderr
        assert await conn.fetchval("SELECT count(*) FROM actors") == 0
        assert await conn.fetchval("SELECT count(*) FROM feeds") == 0
        await conn.execute("ALTER TABLE feeds DROP CONSTRAINT no_feeds")
    finally:
        await conn.close()
    done = migrate(db_path, "--to", pg_target, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verified"] is True


async def _until(conn, sql: str, what: str, process: asyncio.subprocess.Process) -> None:
    """Poll the target until ``sql`` counts a row (generous: the machine is shared)."""
    for _ in range(1200):
        if await conn.fetchval(sql):
            return
        if process.returncode is not None:
            break
        await asyncio.sleep(0.05)
    pytest.fail(f"never saw {what} (migrate exited {process.returncode})")


@pytest.mark.postgres  # needs the throw-away server (pg_target)
async def test_migrate_writer_after_commit_leaves_target_for_inspection(
        services: Services, pg_target: str, db_path: Path) -> None:
    """Another process writes to the target as migrate commits: the counts after COMMIT
    differ from the source's, so exit 1, "left for inspection", and the target keeps the
    copy (and the other process's row).

    Made to happen with locks alone, in this order: a first connection holds a lock on
    meta that migrate's LOCK TABLE … IN EXCLUSIVE MODE waits for; a second connection
    queues behind migrate a lock on meta that ANALYZE must wait for, with an INSERT to
    run as soon as it has it; the first lets go. Migrate copies and commits; its COMMIT
    hands the second its lock, so migrate's ANALYZE (before the re-count) waits until
    that INSERT is committed."""
    import asyncpg

    from storage.db import open_database

    await (await open_database(pg_target)).close()  # the schema, so meta can be locked
    source = data_tables(db_path)
    holder, writer, watcher = [await asyncpg.connect(pg_target) for _ in range(3)]
    process = None
    try:
        held = holder.transaction()
        await held.start()
        await holder.execute("LOCK TABLE meta IN ROW SHARE MODE")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SECBRIEF_")}
        env["SECBRIEF_DATABASE"] = str(db_path)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "migrate", "--to", pg_target, "--json", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        waiting = ("SELECT count(*) FROM pg_locks WHERE relation = 'meta'::regclass"
                   " AND mode = '{}' AND NOT granted")
        await _until(watcher, waiting.format("ExclusiveLock"), "migrate waiting for meta",
                     process)
        written = asyncio.create_task(writer.execute(
            "BEGIN; LOCK TABLE meta IN SHARE ROW EXCLUSIVE MODE;"
            " INSERT INTO meta (key, value) VALUES ('written_meanwhile', 'x'); COMMIT"))
        await _until(watcher, waiting.format("ShareRowExclusiveLock"),
                     "the writer queued behind migrate", process)
        await held.commit()
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=300)
        await asyncio.wait_for(written, timeout=60)

        assert process.returncode == 1, stderr.decode()
        assert "Traceback" not in stderr.decode()
        report = json.loads(stdout)
        assert report["outcome"] == "left for inspection" and report["verified"] is False
        assert "left as it is for inspection" in report["message"]
        assert report["tables"]["meta"] == {"source": source["meta"],
                                            "target": source["meta"] + 1}
        for table, counts in report["tables"].items():
            if table != "meta":
                assert counts == {"source": source[table], "target": source[table]}, table
        # the copy stays: committed, nothing rolled back or removed
        assert await watcher.fetchval("SELECT count(*) FROM actors") == source["actors"] > 0
        assert await watcher.fetchval("SELECT count(*) FROM meta") == source["meta"] + 1
        assert await watcher.fetchval(
            "SELECT value FROM meta WHERE key = 'written_meanwhile'") == "x"
    finally:
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
        for conn in (holder, writer, watcher):
            await conn.close()
