"""Shared fixtures: a real store per test (copied from a template that already holds the
actor catalogue), settings that never read the host's environment, and a controllable
clock.

Every test that uses a store (``db_path``, ``empty_db``, ``settings``, ``services``,
``store``, or ``backend`` itself) runs twice, ``[sqlite]`` and ``[postgres]``; a test
about SQLite itself is marked ``sqlite_only`` and its PostgreSQL leg skipped. The
PostgreSQL leg uses a throw-away server (tests/pg.py) started
once per session, or SECBRIEF_TEST_POSTGRES_URL, and a database per test created from a
migrated template (CREATE DATABASE … TEMPLATE). When no server can start, each
PostgreSQL test is skipped with the reason and the summary says so in one line;
SECBRIEF_TEST_REQUIRE_POSTGRES=1 makes that an error instead."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.services.catalogue import ensure_catalogue
from bot.services.container import Services, open_services
from storage.store import Store
from tests import pg
from tests.feedserver import FeedServer

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


class Clock:
    """A clock tests move by hand; services call it like utcnow()."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def make_settings(db: Path | str, **overrides) -> Settings:
    values = {
        "SECBRIEF_DATABASE": db,
        "SECBRIEF_WORKERS": 0,
        "SECBRIEF_ALLOW_PRIVATE_FEEDS": True,  # test servers live on 127.0.0.1
        "SECBRIEF_FETCH_TIMEOUT": 5,
        # the vulnerability sources are off unless a test points them at 127.0.0.1
        "SECBRIEF_KEV_URL": "",
        "SECBRIEF_EPSS_URL": "",
        "SECBRIEF_NVD_URL": "",
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SECBRIEF_TEST_"):
            continue  # the harness's own (SECBRIEF_TEST_POSTGRES_URL, …), not settings
        if name.startswith("SECBRIEF_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        store = await Store.open(path)
        try:
            await ensure_catalogue(store, make_settings(path))
            await store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            await store.close()

    asyncio.run(build())
    return path


# The engines every test that uses a store runs on.
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The store's engine: each test that (transitively) asks for it runs twice."""
    return request.param


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: the PostgreSQL leg of a test that uses a store")
    config.addinivalue_line("markers", "sqlite_only: the test is about SQLite itself")


_PG_LEG: dict[str, object] = {"reason": None, "tests": 0, "start": None, "where": ""}


@pytest.fixture(scope="session")
def pg_server() -> Iterator[tuple[pg.ThrowawayPostgres | None, str | None]]:
    started = time.perf_counter()
    server, reason = pg.start()
    _PG_LEG["start"] = time.perf_counter() - started
    _PG_LEG["reason"] = reason
    _PG_LEG["where"] = ("SECBRIEF_TEST_POSTGRES_URL" if server is not None and server.external
                        else "a throw-away server")
    yield server, reason
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server) -> str:
    """A migrated PostgreSQL database holding the catalogue, copied for each test."""
    server, _ = pg_server
    assert server is not None
    name = f"secbrief_template_{os.getpid()}"

    async def build() -> None:
        import asyncpg

        admin = await asyncpg.connect(server.dsn())
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        store = await Store.open(server.dsn(name))
        try:
            await ensure_catalogue(store, make_settings(server.dsn(name)))
        finally:
            await store.close()

    asyncio.run(build())
    return name


_databases = itertools.count()


def _postgres_db(request: pytest.FixtureRequest, *, empty: bool = False) -> Iterator[str]:
    """A database for one test: a copy of the template, or (``empty``) a new one that
    the store's first open migrates."""
    server, reason = request.getfixturevalue("pg_server")
    if server is None:
        message = f"PostgreSQL leg skipped: {reason}"
        if os.environ.get("SECBRIEF_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    template = "template1" if empty else request.getfixturevalue("pg_template")
    name = f"t_{os.getpid()}_{next(_databases)}"

    async def admin(sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(server.dsn())
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY'))
    _PG_LEG["tests"] = int(_PG_LEG["tests"]) + 1  # type: ignore[call-overload]
    yield server.dsn(name)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def db_path(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[Path | str]:
    """The test's store: an SQLite file path, or a postgresql:// URL (each a copy of the
    template holding the catalogue)."""
    if request.node.get_closest_marker("sqlite_only") and backend != "sqlite":
        pytest.skip("about SQLite itself")
    if backend == "postgres":
        yield from _postgres_db(request)
        return
    path = tmp_path / "secbrief.db"
    shutil.copyfile(request.getfixturevalue("template_db"), path)
    yield path


@pytest.fixture
def empty_db(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[Path | str]:
    """A store that does not exist yet (no schema, no catalogue): a path or a URL."""
    if request.node.get_closest_marker("sqlite_only") and backend != "sqlite":
        pytest.skip("about SQLite itself")
    if backend == "postgres":
        yield from _postgres_db(request, empty=True)
        return
    yield tmp_path / "empty.db"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _PG_LEG["start"] is None:
        return
    if _PG_LEG["reason"]:
        terminalreporter.write_line(f"PostgreSQL leg SKIPPED: {_PG_LEG['reason']}", red=True)
    else:
        terminalreporter.write_line(
            f"PostgreSQL leg: {_PG_LEG['tests']} tests on {_PG_LEG['where']} "
            f"(ready in {float(_PG_LEG['start']):.1f} s)")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(db_path: Path | str, tmp_path: Path) -> Settings:
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("# no operator feeds in tests unless a test adds some\n")
    return make_settings(db_path, SECBRIEF_FEEDS=feeds)


@pytest.fixture
async def services(settings: Settings, clock: Clock) -> AsyncIterator[Services]:
    async with open_services(settings, clock=clock) as opened:
        yield opened


@pytest.fixture
async def store(services: Services) -> Store:
    return services.store


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server
