"""Running the real `secbrief` entry point in a subprocess, for every test that does."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from storage.db import Database, open_database

T = TypeVar("T")

TIMEOUT = 120.0  # seconds: generous, a busy 2-core machine starts Python slowly


def command(*args: str) -> list[str]:
    """The `secbrief` command line (the entry point is `python -m bot`)."""
    return [sys.executable, "-m", "bot", *args]


def cli_env(db_path: Path | str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment without any SECBRIEF_* setting or token of its own:
    the store at ``db_path``, an empty feed list, no worker processes, plus ``extra``."""
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("")
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("SECBRIEF_") and k != "DISCORD_TOKEN"}
    return {**base, "SECBRIEF_DATABASE": str(db_path), "SECBRIEF_FEEDS": str(feeds),
            "SECBRIEF_WORKERS": "0", **extra}


def secbrief(
    env: dict[str, str], *args: str, stdin: str | None = None, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(*args), env=env, input=stdin, capture_output=True,
                          text=True, timeout=timeout, check=False)


async def asecbrief(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """As secbrief(), without blocking the event loop (for tests that serve feeds)."""
    proc = await asyncio.create_subprocess_exec(
        *command(*args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _read(db: Path | str, read: Callable[[Database], Awaitable[T]]) -> T:
    """``read(database)`` on a connection of its own to the store at ``db`` (a path or a
    postgresql:// URL), as another process would see it."""
    async def run() -> T:
        database = await open_database(db)
        try:
            return await read(database)
        finally:
            await database.close()

    with ThreadPoolExecutor(1) as pool:  # a loop of its own: callable from async tests too
        return pool.submit(asyncio.run, run()).result()


def count(db: Path | str, table: str) -> int:
    """Rows in ``table`` of the store at ``db``."""
    async def read(database: Database) -> int:
        return int(await database.fetchval(f"SELECT count(*) FROM {table}"))

    return _read(db, read)


def store_state(db: Path | str) -> bytes | dict[str, list[str]]:
    """All the store holds, to compare before and after a command: an SQLite file's bytes
    (any write at all shows), else every row of every table in the PostgreSQL schema."""
    if isinstance(db, Path):
        return db.read_bytes()

    async def read(database: Database) -> dict[str, list[str]]:
        tables = [r[0] for r in await database.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema ="
            " current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name")]
        return {table: sorted(repr(tuple(row)) for row in await database.fetchall(
            f'SELECT * FROM "{table}"')) for table in tables}

    return _read(db, read)
