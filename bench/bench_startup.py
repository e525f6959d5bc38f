"""Start-up: the wall time of a fresh `secbrief` process that answers one lookup.

    .venv/bin/python bench/bench_startup.py [--quick] [--runs N] [--articles N] [--tree DIR]

A store of N corpus articles (build_store, cached; 5,000 by default) is copied once and
prepared by one untimed run of each command (that run writes the catalogue stamp a
new store lacks). Then each command runs N times (10 by default) as its own process,
as a user runs it: `secbrief actor "Flax Typhoon" --json`, `secbrief search ransomware
--json`, and the text forms, next to `python -c pass` (the interpreter alone) and
`python -c "import bot.cli"` (the imports alone). Reported: the median wall time and
the median CPU time (user + system) of each; the CPU figure is what the machine's load
cannot inflate. "Cold" means a new interpreter every run; the OS file cache is warm, as
it is for a user who runs a few commands in a row, and compiled modules are kept as an
installed secbrief keeps them (PYTHONDONTWRITEBYTECODE, if set, is dropped and the
bytecode goes to the bench cache). `--tree DIR` runs another checkout (e.g. `git archive`
of an older commit) for a before/after figure. Target: the median wall of `actor --json`
and of `search --json` under 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import CACHE, Report, build_store, clean_environment, copy_store, section

TARGET = 0.5  # seconds, median wall of a cold actor or search command
HEAVY = ("aiohttp", "trafilatura", "lxml", "feedparser", "discord", "matplotlib",
         "pymispgalaxies", "rich")


def secbrief_command() -> list[str]:
    script = Path(sys.executable).with_name("secbrief")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def timed_run(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one process run to completion. Run from the
    temporary directory: from the source tree, `python -c` would import that tree's
    code whatever PYTHONPATH says."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False,
                          cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{argv} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def heavy_modules(env: dict[str, str], args: list[str], cwd: str) -> list[str]:
    """The heavy packages a command's process imported (from -X importtime)."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "bot", *args], env=env,
                          capture_output=True, text=True, check=False,
                          cwd=cwd)
    names = {line.rsplit("|", 1)[-1].strip().split(".")[0]
             for line in done.stderr.splitlines() if line.startswith("import time:")}
    return [m for m in HEAVY if m in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs each")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--tree", type=Path, help="run another checkout (e.g. git archive "
                        "of an older commit) instead of this one")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    clean_environment()
    built = asyncio.run(build_store(args.articles))
    report = Report(f"start-up, median of {runs} cold runs")
    with tempfile.TemporaryDirectory() as tmp:
        db = copy_store(built.path, Path(tmp))
        env = {**os.environ, "SECBRIEF_DATABASE": str(db)}
        if env.pop("PYTHONDONTWRITEBYTECODE", None):
            # As installed, Python keeps compiled modules; here they go to the bench
            # cache, not into the source tree.
            env["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")
            print("(PYTHONDONTWRITEBYTECODE ignored: bytecode cached under "
                  f"{env['PYTHONPYCACHEPREFIX']}, as an installed secbrief keeps it)")
        if args.tree:  # another checkout of secbrief, e.g. an older commit, to compare
            env["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(args.tree.resolve()), env.get("PYTHONPATH")]))
            print(f"(running the code in {args.tree})")
        cli = secbrief_command()
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            'python -c "import bot.cli"': [sys.executable, "-c", "import bot.cli"],
            'secbrief actor "Flax Typhoon" --json': [*cli, "actor", "Flax Typhoon", "--json"],
            "secbrief search ransomware --json": [*cli, "search", "ransomware", "--json"],
            'secbrief actor "Flax Typhoon"': [*cli, "actor", "Flax Typhoon"],
            "secbrief search ransomware": [*cli, "search", "ransomware"],
        }
        targets = {'secbrief actor "Flax Typhoon" --json', "secbrief search ransomware --json"}
        for argv in commands.values():  # prepare the store (and the file cache) once
            timed_run(argv, env, tmp)
        section(f"{built.n:,} articles; {os.cpu_count()} cores; load average "
                f"{os.getloadavg()[0]:.2f} at the start")
        for name, argv in commands.items():
            results = [timed_run(argv, env, tmp) for _ in range(runs)]
            wall = statistics.median(w for w, _ in results)
            cpu = statistics.median(c for _, c in results)
            value = f"{wall:.3f} s (cpu {cpu:.3f} s)"
            if name in targets:
                report.check(name, value, f"< {TARGET} s", wall < TARGET)
            else:
                report.info(name, value)
        section("heavy packages imported (none expected for a lookup)")
        for label, cmd in (("actor --json", ["actor", "Flax Typhoon", "--json"]),
                           ("search --json", ["search", "ransomware", "--json"])):
            found = heavy_modules(env, cmd, tmp)
            report.info(f"{label}: heavy imports", ", ".join(found) or "none")
        print(f"  (load average {os.getloadavg()[0]:.2f} at the end)")
    report.summary()


if __name__ == "__main__":
    main()
