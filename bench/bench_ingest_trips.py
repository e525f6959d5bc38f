"""Where ingest's store time goes, SQLite next to PostgreSQL: statements, round trips and
CPU per stored article in the ingesting process, on the same served feeds and pages.

    .venv/bin/python bench/bench_ingest_trips.py [--quick] [--feeds N] [--items N]
        [--database sqlite|postgres|both] [--top N] [--profile]

One IngestService.poll over the operator's feed list (claims included, as `secbrief
ingest --once` runs it; SECBRIEF_WORKERS=1, pages fetched, 100 ms latency) on a fresh
store of each backend. Counted per stored article:

- the calls repositories make on storage.db's Database (``execute`` / reads /
  ``executemany`` rows / transactions / pool acquires), by SQL template;
- SQLite: the statements the connection ran (its trace callback, BEGIN/COMMIT included);
- PostgreSQL: what the throw-away server (tests/pg.py, with log_min_duration_statement=0)
  logged: parses (statements prepared), simple-protocol statements (BEGIN, COMMIT, the
  pool's reset), executes; round trips = parses + simple statements + bind/executes
  (rows of one executemany travel together);
- CPU seconds of this process (every thread; the analysis worker process is not this
  process) and of the PostgreSQL server's processes (logging every statement included).

Diagnostics, not a benchmark with targets. The counts are exact and repeat run to run;
CPU per article moves with the machine's load (less than articles/s does): compare runs
made side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_ingest import HOSTS, LATENCY, Site
from bench.common import (
    bench_settings,
    catalogue_template,
    clean_environment,
    create_database,
    fresh_db,
    postgres_server,
    section,
    served,
    sql_template,
    thread_cpu,
)
from bot.services.container import open_services
from storage.db import PostgresDatabase, SqliteDatabase

_TICK = os.sysconf("SC_CLK_TCK")


class Calls:
    """Counts the Database calls of one store, by kind and SQL template, by wrapping the
    instance's methods (undone by ``restore``)."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.kinds: Counter[str] = Counter()
        self.templates: Counter[str] = Counter()
        self.many_rows = 0
        self._undo: list[str] = []
        for name in ("_run", "_read", "executemany", "fetchall"):
            if name == "fetchall" and not isinstance(db, SqliteDatabase):
                continue  # PostgreSQL's fetchall goes through _read
            self._wrap(name)
        original_tx = db.transaction

        def transaction(*a: Any, **k: Any) -> Any:
            self.kinds["transaction"] += 1
            return original_tx(*a, **k)

        db.transaction = transaction
        self._undo.append("transaction")
        if isinstance(db, PostgresDatabase):
            original_target = db._target

            def target() -> Any:
                if db._conn() is None:  # outside a transaction: a pool acquire
                    self.kinds["pool acquire"] += 1
                return original_target()

            db._target = target
            self._undo.append("_target")

    def _wrap(self, name: str) -> None:
        original = getattr(self.db, name)
        kind = {"_run": "execute", "_read": "read", "fetchall": "read"}.get(name, name)

        async def counted(sql: str, params: Any = ()) -> Any:
            self.kinds[kind] += 1
            self.templates[sql_template(sql)] += 1
            if name == "executemany":
                params = [tuple(p) for p in params]
                self.many_rows += len(params)
            return await original(sql, params)

        setattr(self.db, name, counted)
        self._undo.append(name)

    def restore(self) -> None:
        for name in self._undo:
            delattr(self.db, name)


def _proc_cpu(pid: int) -> tuple[float, float, int]:
    """(own CPU s, waited-for children's CPU s, parent pid) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return ((int(fields[11]) + int(fields[12])) / _TICK,
            (int(fields[13]) + int(fields[14])) / _TICK, int(fields[1]))


def server_cpu(postmaster: int) -> float:
    """CPU seconds of the PostgreSQL server: the postmaster, its live children and the
    children it has reaped."""
    own, reaped, _ = _proc_cpu(postmaster)
    total = own + reaped
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cpu, _, parent = _proc_cpu(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
        if parent == postmaster:
            total += cpu
    return total


_LOGGED = re.compile(r"duration: ([\d.]+) ms\s+(parse|bind|execute|statement)\b[^:]*:\s?(.*)")


def logged(text: str) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """(counts by step, parses by SQL template, server ms by SQL template) of the server
    log lines."""
    steps: Counter[str] = Counter()
    parses: Counter[str] = Counter()
    spent: Counter[str] = Counter()
    for line in text.splitlines():
        match = _LOGGED.search(line)
        if match:
            ms, step, sql = float(match.group(1)), match.group(2), match.group(3)
            steps[step] += 1
            template = sql_template(sql)
            if step == "parse":
                parses[template] += 1
            if step == "statement":
                parses["(simple) " + template] += 1
            spent[template] += ms  # type: ignore[assignment]
    return steps, parses, spent


async def measure(kind: str, db: Path | str, urls: list[str], *, pg: Any, top: int,
                  profile: bool = False, server_log: bool = True) -> None:
    settings = bench_settings(db, SECBRIEF_WORKERS=1, SECBRIEF_FETCH_PAGES=True)
    async with open_services(settings) as services:
        executor = getattr(services.ingest, "_executor", None)
        if executor is not None:  # the worker process started before the clock
            await asyncio.get_running_loop().run_in_executor(executor, int)
        store_db = services.store.db
        statements: list[str] = []
        if isinstance(store_db, SqliteDatabase):
            await store_db.conn.set_trace_callback(statements.append)
        log = Path(pg.tmp) / "server.log" if pg is not None and server_log else None
        postmaster = (int((Path(pg.tmp) / "data" / "postmaster.pid").read_text().split()[0])
                      if pg is not None else 0)
        log_start = log.stat().st_size if log else 0
        server0 = server_cpu(postmaster) if pg is not None else 0.0
        calls = Calls(store_db)
        main_tid = threading.main_thread().native_id
        threads0 = thread_cpu()
        t0 = os.times()
        profiler = cProfile.Profile(time.thread_time) if profile else None
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        try:
            report = await services.ingest.poll(operator_urls=urls)
        finally:
            if profiler:
                profiler.disable()
            calls.restore()
        wall = time.perf_counter() - start
        t1 = os.times()
        threads1 = thread_cpu()
        if isinstance(store_db, SqliteDatabase):
            await store_db.conn.set_trace_callback(None)
        await asyncio.sleep(0.5)  # the server's log catches up
        server1 = server_cpu(postmaster) if pg is not None else 0.0
    n = max(report.added, 1)
    cpu = (t1.user + t1.system) - (t0.user + t0.system)
    loop_cpu = threads1.get(main_tid, 0.0) - threads0.get(main_tid, 0.0)
    print(f"    {kind}: {report.added} added, {report.duplicates} duplicates, "
          f"{report.failed} failed, {report.claimed_elsewhere} claimed elsewhere; "
          f"{wall:.2f} s wall = {report.added / wall:.0f} art/s")
    print(f"    CPU of this process {cpu:.2f} s = {cpu / n * 1000:.2f} ms/article "
          f"(event-loop thread {loop_cpu / n * 1000:.2f} ms/article)")
    api = sum(v for k, v in calls.kinds.items() if k in ("execute", "read", "executemany"))
    kinds = ", ".join(f"{k} {v / n:.2f}" for k, v in sorted(calls.kinds.items()))
    print(f"    Database calls per article: {api / n:.2f} statements ({kinds}; "
          f"executemany rows {calls.many_rows / n:.2f})")
    if statements:
        internal = sum(1 for s in statements if s.startswith("--"))
        print(f"    SQLite ran {(len(statements) - internal) / n:.2f} statements/article "
              f"(+{internal / n:.2f} trigger statements)")
    if log is not None:
        with log.open("rb") as fh:
            fh.seek(log_start)
            steps, parses, spent = logged(fh.read().decode("utf-8", "replace"))
        rows_extra = calls.many_rows - calls.kinds["executemany"]
        trips = steps["parse"] + steps["statement"] + steps["execute"] - rows_extra
        print(f"    server: parses {steps['parse'] / n:.2f}, simple statements "
              f"{steps['statement'] / n:.2f}, executes {steps['execute'] / n:.2f} per "
              f"article -> ~{trips / n:.2f} round trips/article; server CPU "
              f"{(server1 - server0) / n * 1000:.2f} ms/article (statement logging on)")
        print(f"    most parsed (prepared) statements, per article, top {top}:")
        for template, count in parses.most_common(top):
            print(f"      {count / n:6.2f}  {template[:140]}")
        print(f"    server time by statement (parse + bind + execute), ms per article, "
              f"top {top} of {sum(spent.values()) / n:.2f}:")
        for template, ms in spent.most_common(top):
            print(f"      {ms / n:6.3f}  {template[:140]}")
    elif pg is not None:
        print(f"    server CPU {(server1 - server0) / n * 1000:.2f} ms/article (no statement log)")
    print(f"    most called statements, per article, top {top}:")
    for template, count in calls.templates.most_common(top):
        print(f"      {count / n:6.2f}  {template[:140]}")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
        print("    cProfile of the event-loop thread (CPU, profiled: slower), by own time:")
        print("\n".join("      " + line[:160] for line in out.getvalue().splitlines()[-top - 3:]))


async def main_async(args: argparse.Namespace, site: Site, port: int) -> None:
    await catalogue_template()
    urls = [site.feed_url(port, f) for f in range(site.feeds)]
    section(f"IngestService.poll over the feed list, {site.feeds} feeds × {site.items} "
            "items, pages fetched, SECBRIEF_WORKERS=1")
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="bench-trips-") as tmp:
            await measure("SQLite", await fresh_db(Path(tmp)), urls, pg=None, top=args.top,
                          profile=args.profile)
    if args.database in ("postgres", "both"):
        async with postgres_server() as server:
            log_all = ("ALTER SYSTEM SET log_min_duration_statement = 0",
                       "SELECT pg_reload_conf()")
            url = await create_database(server, "trips", *(log_all if args.server_log else ()))
            await measure("PostgreSQL", url, urls, pg=server, top=args.top,
                          profile=args.profile, server_log=args.server_log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 feeds × 25 items")
    parser.add_argument("--feeds", type=int)
    parser.add_argument("--items", type=int)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--top", type=int, default=12, help="statement templates listed")
    parser.add_argument("--no-server-log", dest="server_log", action="store_false",
                        help="PostgreSQL: no statement log (server CPU without its cost; "
                             "no parse/execute counts)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the event-loop thread (its CPU figures then inflated)")
    args = parser.parse_args(argv)
    clean_environment()
    site = Site(args.feeds or (4 if args.quick else 10), args.items or (25 if args.quick else 100))
    assert threading.active_count() == 1  # the server process is forked first
    with served(site.routes, hosts=HOSTS, latency=LATENCY) as server:
        asyncio.run(main_async(args, site, server.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
