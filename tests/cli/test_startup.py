"""Start-up: a lookup or a search in a fresh process imports none of the ingest side
(HTTP client, feed parser, page extractor, Discord, charts) and builds no actor tagger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("aiohttp", "trafilatura", "lxml", "feedparser", "discord", "matplotlib",
         "pymispgalaxies", "rich")
# Runs one command through bot.cli.main, then reports what the process imported.
PROBE = """
import contextlib, io, json, sys
import bot.cli
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = bot.cli.main(sys.argv[1:])
print(json.dumps({"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def probe(db_path: Path | str, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECBRIEF_")}
    env["SECBRIEF_DATABASE"] = str(db_path)
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def heavy(modules: list[str]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules} & set(HEAVY))


@pytest.mark.parametrize(
    "args",
    [
        ("actor", "Flax Typhoon", "--json"),
        ("actor", "Flax Typhoon"),
        ("search", "sanctions", "--json"),
        ("briefing", "--json"),
        ("cve", "CVE-2024-3400", "--json"),
    ],
)
def test_read_commands_import_nothing_heavy(db_path: Path | str, args: tuple[str, ...]) -> None:
    result = probe(db_path, *args)
    assert result["code"] == 0
    assert heavy(result["modules"]) == []
    # The tagger (only ingest and import tag text) is never built for a lookup.
    assert "bot.intel.actor_tagging" not in result["modules"]
    if args[0] == "actor":
        assert "Flax Typhoon" in result["out"]


def test_importing_the_cli_alone_imports_nothing_heavy() -> None:
    code = ("import json, sys, bot.cli, bot.services.container, bot.shell;"
            " print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert heavy(json.loads(done.stdout)) == []


def test_the_probe_sees_heavy_imports_when_a_command_makes_them(tmp_path: Path,
                                                                db_path: Path | str) -> None:
    # The same probe on an import (which parses HTML with lxml) reports them: the
    # checks above could fail.
    article = tmp_path / "a.md"
    article.write_text("# Probe article\n\n" + "The probe article has enough prose. " * 30)
    result = probe(db_path, "import", str(article), "--json")
    assert result["code"] == 0
    assert "lxml" in heavy(result["modules"])
