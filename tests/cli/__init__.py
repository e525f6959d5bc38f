"""Running the real `secbrief` entry point in a subprocess, for every test that does."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

TIMEOUT = 120.0  # seconds: generous, a busy 2-core machine starts Python slowly


def command(*args: str) -> list[str]:
    """The `secbrief` command line (the entry point is `python -m bot`)."""
    return [sys.executable, "-m", "bot", *args]


def cli_env(db_path: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
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
