"""Text on PostgreSQL compares bytes, as on SQLite, whatever the database's collation
(migration postgres/020_c_collation.sql): on a database created with an ICU en-US
collation, autocomplete, prefix ranges and alphabetical lists give SQLite's answers, and
the ranges and orderings still go through the indexes.

This machine's libc has no en_US locale, so the database is ICU-collated: the session's
throw-away server when its binaries have ICU (pgserver's wheel has not), else a second
throw-away server from the system's PostgreSQL binaries (Debian's are built with ICU);
skipped, with the reason, when neither has ICU."""

from __future__ import annotations

import asyncio
import glob
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.intel.vendors import vendor_key
from storage.actors import Actor
from storage.models import NewArticle
from storage.store import Store
from tests import pg

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

# Names that C (byte) order and en-US order disagree on: case ("APT28" < "Axiom" <
# "apt29" in bytes, "APT28" < "apt29" < "Axiom" in en-US), letters outside ASCII ("ł",
# "ø", "æ" after "z" in bytes, beside "l", "o", "a" in en-US), "_" and digits.
ACTOR_NAMES = [
    ("APT28", ["Fancy Bear", "Łuna Moth"]),
    ("apt29", ["Cozy Bear", "luna_2"]),
    ("Axiom", ["Æther Group", "lzz"]),
    ("Øresund Team", ["Ozone Spider", "l0ki"]),
    ("_Underscore Crew", ["10x Gang", "Émilie"]),
]
VENDORS = ["Microsoft", "microsoft", "Micro Focus", "MICROS", "Micro_Tik", "Émilie",
           "Zyxel", "apple", "ASUS", "_under", "10x", "Æon"]


def _bytes_order(values: list[str]) -> list[str]:
    return sorted(values, key=lambda v: v.encode())


# ---------------------------------------------------------------- an ICU server

_ICU_DATABASE = ("CREATE DATABASE \"{}\" TEMPLATE template0 LOCALE_PROVIDER icu"
                 " ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")


async def _admin(server: pg.ThrowawayPostgres, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server.dsn())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _icu_refused(server: pg.ThrowawayPostgres) -> str | None:
    """Why the server cannot create an ICU en-US database, or None when it can
    (PostgreSQL 16 lists an ICU collation in pg_collation even when built without ICU,
    so the probe is creating one)."""
    import asyncpg

    name = f"icu_probe_{os.getpid()}"
    try:
        await _admin(server, _ICU_DATABASE.format(name))
    except asyncpg.PostgresError as exc:
        return f"{type(exc).__name__}: {exc}"
    await _admin(server, f'DROP DATABASE "{name}"')
    return None


@pytest.fixture(scope="module")
def icu_server(pg_server) -> Iterator[pg.ThrowawayPostgres]:
    """A PostgreSQL server built with ICU: the session's, or one from the system."""
    session, reason = pg_server
    if session is not None:
        reason = asyncio.run(_icu_refused(session))
        if reason is None:
            yield session
            return
    tried = [f"the session's server: {reason}"]
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if not Path(bindir, "postgres").exists():
            continue
        with pytest.MonkeyPatch.context() as mp:  # pg.start() on these binaries
            mp.delenv("SECBRIEF_TEST_POSTGRES_URL", raising=False)
            mp.setenv("SECBRIEF_TEST_PG_BINDIR", bindir)
            server, why = pg.start()
        if server is None:
            tried.append(f"{bindir}: {why}")
            continue
        why = asyncio.run(_icu_refused(server))
        if why is None:
            try:
                yield server
            finally:
                server.stop()
            return
        server.stop()
        tried.append(f"{bindir}: {why}")
    pytest.skip("no PostgreSQL that can create an ICU en-US database: " + "; ".join(tried))


_names = itertools.count()


@pytest.fixture
def icu_url(icu_server: pg.ThrowawayPostgres) -> Iterator[str]:
    """A new database whose default collation is ICU en-US (not C)."""
    name = f"icu_{os.getpid()}_{next(_names)}"
    asyncio.run(_admin(icu_server, _ICU_DATABASE.format(name)))
    yield icu_server.dsn(name)
    asyncio.run(_admin(icu_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# ---------------------------------------------------------------- the stores

async def _filled(url: str | Path) -> Store:
    """A store holding the names above as actors, vendor tags, KEV rows and a watchlist,
    all written through the repositories' shared SQL."""
    store = await Store.open(url)
    actors = [Actor(id=None, name=name, aliases=aliases, country=None, description="",
                    refs=[], related=[], mitre_id=None, origin="catalogue")
              for name, aliases in ACTOR_NAMES]
    await store.actors.replace_catalogue(actors, version="collation")
    for n, vendor in enumerate(VENDORS):
        stored = await store.articles.add(
            NewArticle(source="Wire", title=f"Story {n}", url=f"https://news.example/{n}",
                       text=f"About {vendor}.", published_at=NOW, vendors=[vendor],
                       content_hash=f"h{n}"),
            story_id=None, now=NOW)
        assert stored is not None
        await store.db.execute(
            "INSERT INTO kev (cve, vendor, product, name, date_added) VALUES (?, ?, ?, ?, ?)",
            (f"CVE-2026-{1000 + n}", vendor, f"P{n:02d}", "flaw", "2026-11-30"))
        await store.watchlist.add(guild_id=7, kind="vendor", name=vendor,
                                  name_norm=vendor_key(vendor) or vendor, created_by=1,
                                  now=NOW)
    return store


async def _answers(store: Store) -> dict[str, object]:
    """Every answer that depends on how text compares."""
    actors, articles = store.actors, store.articles
    found: dict[str, object] = {
        "autocomplete ''": await actors.autocomplete(""),
        "all_alias_names": await actors.all_alias_names(),
        "alias_pairs": await actors.alias_pairs(),
        "alias_index": list(await actors.alias_index()),
        "vendor_tags": await store.watchlist.vendor_tags(),
        "kev_vendors_products": await store.vulns.kev_vendors_products(),
        "watchlist": [e.name for e in await store.watchlist.for_guild(7)],
    }
    for prefix in ("l", "lu", "a", "ap", "o", "1", "e", "z"):
        found[f"autocomplete {prefix!r}"] = await actors.autocomplete(prefix)
    for prefix in ("Micro", "micro", "M", "A", "_", "1", "É", "Z"):
        found[f"tag_values_starting {prefix!r}"] = await articles.tag_values_starting(
            "vendor", prefix)
    return found


@pytest.fixture
async def sqlite_answers(tmp_path: Path) -> dict[str, object]:
    store = await _filled(tmp_path / "secbrief.db")
    try:
        return await _answers(store)
    finally:
        await store.close()


@pytest.fixture
async def icu_store(icu_url: str) -> AsyncIterator[Store]:
    store = await _filled(icu_url)
    yield store
    await store.close()


# ---------------------------------------------------------------- tests

async def test_the_database_itself_does_not_order_bytes(icu_store: Store) -> None:
    """The premise: this database's own collation disagrees with byte order on these
    names (else the test below could not fail)."""
    db = icu_store.db
    assert await db.fetchval("SELECT CAST('a' AS text) < 'B'") is True  # C: 'B' < 'a'
    names = [n for name, aliases in ACTOR_NAMES for n in (name, *aliases)] + VENDORS
    rows = await db.fetchall("SELECT v FROM unnest(CAST(? AS text[])) AS v ORDER BY v",
                             (names,))
    assert [r[0] for r in rows] != _bytes_order(names)
    assert await db.fetchval("SELECT lower('ÉMILIE')") == "émilie"


async def test_answers_match_sqlite_on_an_en_us_database(
    icu_store: Store, sqlite_answers: dict[str, object]
) -> None:
    got = await _answers(icu_store)
    assert got.keys() == sqlite_answers.keys()
    for name, want in sqlite_answers.items():
        assert got[name] == want, name
    # and SQLite's answers are byte order (so "the same" means the right thing)
    assert sqlite_answers["all_alias_names"] == _bytes_order(
        [n for name, aliases in ACTOR_NAMES for n in (name, *aliases)])
    assert sqlite_answers["vendor_tags"] == _bytes_order(VENDORS)
    assert sqlite_answers["tag_values_starting 'Micro'"] == ["Microsoft", "Micro_Tik",
                                                             "Micro Focus"]
    assert sqlite_answers["autocomplete 'l'"] == [
        ("l0ki", "Øresund Team"), ("luna_2", "apt29"), ("lzz", "Axiom")]


async def test_every_text_column_is_c_but_the_search_sources(icu_store: Store) -> None:
    """Every text column of the schema compares bytes — a later migration's new text
    column needs COLLATE "C" — except the three the generated tsvector columns read
    (PostgreSQL cannot alter those; nothing orders or compares them)."""
    rows = await icu_store.db.fetchall(
        "SELECT table_name, column_name, collation_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND data_type = 'text'"
        " ORDER BY table_name, column_name")
    assert len(rows) > 50
    not_c = sorted(f"{r[0]}.{r[1]}" for r in rows if r[2] != "C")
    assert not_c == ["articles.key_points", "articles.text", "articles.title"]


async def _plan(store: Store, sql: str, params: tuple) -> str:
    """EXPLAIN with sequential and bitmap scans and sorts off: the tables are small, the
    point is whether an index *can* serve the range and the order (an index in another
    collation could not: the plan would filter or sort all the same)."""
    async with store.db.transaction():
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            await store.db.execute(f"SET LOCAL {setting} = off")
        rows = await store.db.fetchall("EXPLAIN " + sql, params)
    return "\n".join(r[0] for r in rows)


async def test_ranges_and_orderings_still_use_the_indexes(icu_store: Store) -> None:
    # the shapes of ActorRepository.autocomplete and tag_values_starting / vendor_tags
    plan = await _plan(
        icu_store,
        "SELECT al.alias, a.name FROM actor_aliases AS al JOIN actors AS a"
        " ON a.id = al.actor_id WHERE al.alias_norm >= ? AND al.alias_norm < ?"
        " ORDER BY al.alias_norm, a.name_norm LIMIT ?", ("lu", "lv", 25))
    assert "actor_aliases_pkey" in plan and "Index Cond: ((alias_norm >= " in plan, plan
    plan = await _plan(
        icu_store,
        "SELECT DISTINCT t.value FROM tag_day_counts t WHERE t.kind = ? AND t.value >= ?"
        " AND t.value < ? ORDER BY t.value DESC LIMIT ?", ("vendor", "Micro", "Micrp", 25))
    assert "Index Only Scan Backward using tag_day_counts_pkey" in plan, plan
    assert "(value >= " in plan and "Sort" not in plan, plan
    plan = await _plan(
        icu_store,
        "SELECT DISTINCT value FROM tag_day_counts WHERE kind = 'vendor' ORDER BY value", ())
    assert "tag_day_counts_pkey" in plan and "Sort" not in plan, plan
