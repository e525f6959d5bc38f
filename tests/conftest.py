"""Shared fixtures: a real SQLite store per test (copied from a template that already
holds the actor catalogue), settings that never read the host's environment, and a
controllable clock."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.services.catalogue import ensure_catalogue
from bot.services.container import Services, open_services
from storage.store import Store
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


def make_settings(db: Path, **overrides) -> Settings:
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


@pytest.fixture
def db_path(tmp_path: Path, template_db: Path) -> Path:
    path = tmp_path / "secbrief.db"
    shutil.copyfile(template_db, path)
    return path


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(db_path: Path, tmp_path: Path) -> Settings:
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
