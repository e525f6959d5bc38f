"""Shared helpers for the benchmarks: figures with targets, timing and percentiles, RSS,
a cached catalogue template and a cached N-article store, and a feed server that answers
on many loopback addresses from a child process.

Benchmarks are scripts, not tests: they print "figure … target … PASS/MISS" lines and a
summary table, and exit 0 whatever the figures (a MISS is information, not a crash).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web

from bot.config import Settings
from bot.intel.catalogue import catalogue_version
from bot.intel.fingerprint import content_hash, simhash
from bot.intel.vendors import canonical_vendor
from bot.services.catalogue import ensure_catalogue
from bot.services.commentary import CommentaryService
from bot.services.maintenance import compact_search_index
from storage.db import Transaction, migrations
from storage.models import NewArticle
from storage.store import Store
from tests.conftest import make_settings
from tests.feedserver import FeedServer
from tests.fixtures.make_corpus import make_articles

# One cache directory per checkout (the first 12 hex digits of the sha256 of its root
# path): the stale-store cleanup below stays inside it, so a checkout with another
# schema never deletes another checkout's cached stores.
REPO = Path(__file__).resolve().parents[1]
CACHE = (Path(tempfile.gettempdir()) / "secbrief-bench"
         / hashlib.sha256(str(REPO).encode()).hexdigest()[:12])
BUILD_FORMAT = 3  # bump when build_store changes what it writes


@asynccontextmanager
async def postgres_server() -> AsyncIterator[Any]:
    """The tests' throw-away PostgreSQL (tests/pg.py) for one benchmark, stopped after
    it; exits with the reason when none can start."""
    from tests import pg

    server, reason = await asyncio.to_thread(pg.start)
    if server is None:
        raise SystemExit(f"no PostgreSQL: {reason}")
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def create_database(server: Any, name: str, *setup: str) -> str:
    """A new database ``name`` on ``server`` (after which each ``setup`` statement runs
    on the server's admin connection); its URL."""
    import asyncpg

    admin = await asyncpg.connect(server.dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        for statement in setup:
            await admin.execute(statement)
    finally:
        await admin.close()
    return server.dsn(name)


def describe_built(built: BuiltStore) -> str:
    """The cached store's line: path, size, and cached or how long its build took."""
    return (f"    {built.path} ({built.size_mb:,.0f} MB; "
            f"{'cached' if built.cached else f'built in {built.build_seconds:.0f} s'})")


def clean_environment() -> None:
    """Benchmarks run on the defaults: drop SECBRIEF_* variables the shell may set."""
    dropped = sorted(k for k in os.environ if k.startswith("SECBRIEF_"))
    for name in dropped:
        del os.environ[name]
    if dropped:
        print(f"(ignoring {', '.join(dropped)} from the environment)")


def bench_settings(db: Path, **overrides: object) -> Settings:
    """Settings for a benchmark store: tests' make_settings (no .env, private feeds
    allowed, threads unless SECBRIEF_WORKERS says otherwise) plus overrides."""
    return make_settings(db, **overrides)


# -- figures -------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    value: str
    target: str = ""
    ok: bool | None = None  # None: informational, no target

    @property
    def verdict(self) -> str:
        return "" if self.ok is None else ("PASS" if self.ok else "MISS")


@dataclass
class Report:
    title: str
    figures: list[Figure] = field(default_factory=list)

    def check(self, name: str, value: str, target: str, ok: bool) -> Figure:
        return self._add(Figure(name, value, target, ok))

    def info(self, name: str, value: str) -> Figure:
        return self._add(Figure(name, value))

    def _add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        target = f"target {figure.target}" if figure.target else ""
        print(f"  {figure.name:<52} {figure.value:>16}  {target:<18} {figure.verdict}",
              flush=True)
        return figure

    def summary(self) -> None:
        checked = [f for f in self.figures if f.ok is not None]
        rows = self.figures
        width = max(len(f.name) for f in rows)
        value_w = max(len(f.value) for f in rows)
        target_w = max([len(f.target) for f in rows] + [6])
        print(f"\n== summary: {self.title} ==")
        print(f"{'figure':<{width}}  {'value':>{value_w}}  {'target':<{target_w}}  verdict")
        for f in rows:
            print(f"{f.name:<{width}}  {f.value:>{value_w}}  {f.target:<{target_w}}  {f.verdict}")
        misses = sum(f.ok is False for f in checked)
        if checked:
            print(f"{len(checked) - misses} PASS, {misses} MISS")
        else:
            print("(no targets: figures only)")


def section(title: str) -> None:
    print(f"\n-- {title}", flush=True)


# -- timing --------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), linear between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


async def time_calls(fn: Callable[..., object], inputs: Sequence[object], *,
                     rounds: int = 3) -> list[float]:
    """Seconds per call of ``await fn(x)`` for every input, ``rounds`` times over
    (the first round warms SQLite's page cache like a bot that has been running)."""
    times: list[float] = []
    for _ in range(rounds):
        for x in inputs:
            start = time.perf_counter()
            await fn(x)  # type: ignore[misc]
            times.append(time.perf_counter() - start)
    return times


def _proc_status(key: str) -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024  # kB → MB
    return math.nan


def rss_mb() -> float:
    """Resident memory of this process now (VmRSS), in MB."""
    return _proc_status("VmRSS")


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM), in MB."""
    return _proc_status("VmHWM")


_TICK = os.sysconf("SC_CLK_TCK")


def thread_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of every live thread of this process, by native id."""
    found: dict[int, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        found[int(task.name)] = (int(fields[11]) + int(fields[12])) / _TICK
    return found


def cpu_times() -> tuple[float, float]:
    """(CPU seconds of this process, all threads; of waited-for children)."""
    t = os.times()
    return t.user + t.system, t.children_user + t.children_system


# -- cached stores ---------------------------------------------------------------------


def _schema_key() -> str:
    digest = hashlib.sha256()
    for number, name, sql in migrations():
        digest.update(f"{number}{name}{sql}".encode())
    digest.update(catalogue_version().encode())
    digest.update(str(BUILD_FORMAT).encode())
    return digest.hexdigest()[:12]


async def catalogue_template() -> Path:
    """A store holding only the actor catalogue, built once per schema/catalogue."""
    path = CACHE / f"catalogue-{_schema_key()}.db"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    for stale in CACHE.glob("catalogue-*.db"):  # built for an older schema or catalogue
        stale.unlink(missing_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    store = await Store.open(tmp)
    try:
        await ensure_catalogue(store, bench_settings(tmp))
        await store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await store.close()
    os.replace(tmp, path)
    return path


async def fresh_db(directory: Path, name: str = "secbrief.db") -> Path:
    """A new store file in ``directory``: a copy of the catalogue template."""
    path = directory / name
    _copy_db(await catalogue_template(), path)
    return path


def copy_store(source: Path, directory: Path, name: str = "secbrief.db") -> Path:
    """A private copy of a cached store (benchmarks that write must not touch the cache)."""
    path = directory / name
    _copy_db(source, path)
    return path


def _copy_db(source: Path, path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, path)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def cheap_key_points(lead: str, text: str) -> list[str]:
    """Four sentences after the lead: realistic size for stored key points, without
    running the key-point ranker 100,000 times (bench_store times the real one)."""
    sentences = [s for s in _SENTENCE_END.split(text.replace("\n", " ")) if s and s != lead]
    return sentences[:4]


@dataclass
class BuiltStore:
    path: Path
    n: int
    seed: int
    build_seconds: float  # when the cache was built
    insert_seconds: float  # of which: inserting the articles
    commentary_seconds: float  # of which: commentary for the newest stories
    cached: bool
    now: str  # ISO time just after the held-out articles: the clock for services
    briefing_since: str  # ISO time from which BRIEFING_STORIES stories were first stored
    briefing_stories: int
    stories: int
    size_mb: float
    actor_names: dict[str, str]  # corpus actor name -> canonical catalogue name

    @property
    def clock_now(self) -> datetime:
        return datetime.fromisoformat(self.now)

    @property
    def since(self) -> datetime:
        return datetime.fromisoformat(self.briefing_since)

    def holdout(self) -> list[dict]:
        """The HOLDOUT newest corpus articles, kept out of the store: the news that
        arrives next (about a day of it; republications refer to recent originals)."""
        return sorted_corpus(self.n + HOLDOUT, self.seed)[self.n :]


def sorted_corpus(n: int, seed: int = 0) -> list[dict]:
    """make_articles(n, seed) in publication order (so ids grow with time, as they do
    when a bot ingests news as it appears; a republication follows its original)."""
    articles = make_articles(n, seed)
    articles.sort(key=lambda a: (a["published_at"], a["id"]))
    return articles


async def resolve_actor_names(store: Store, names: Sequence[str]) -> dict[str, str]:
    """Corpus actor names -> canonical catalogue names (what the tagger would store);
    names the catalogue does not know or finds ambiguous are left out."""
    found: dict[str, str] = {}
    for name in sorted(set(names)):
        matches = await store.actors.resolve(name)
        if len(matches) == 1:
            found[name] = matches[0].name
    return found


def new_article(a: dict, actor_names: dict[str, str]) -> NewArticle:
    """A corpus article as ingestion would store it: canonical actor names, catalogue
    vendors only, real fingerprints; key points cheap (see cheap_key_points)."""
    vendors = [v for v in (canonical_vendor(x) for x in a["vendors"]) if v]
    return NewArticle(
        source=a["source"], title=a["title"], url=a["url"], lead=a["lead"], text=a["text"],
        published_at=a["published_at"], key_points=cheap_key_points(a["lead"], a["text"]),
        actors=[actor_names[x] for x in a["actors"] if x in actor_names], cves=list(a["cves"]),
        vendors=vendors, simhash=simhash(a["text"]), content_hash=content_hash(a["text"]),
    )


FETCH_DELAY = timedelta(minutes=5)  # simulated time between publication and ingestion
BRIEFING_STORIES = 1000
COMMENTED_STORIES = 1100  # newest stories given real grounded commentary
HOLDOUT = 1000  # newest corpus articles kept out of the store (see BuiltStore.holdout)
BATCH = 500  # articles per transaction while building


async def build_store(n: int, seed: int = 0, *, quiet: bool = False) -> BuiltStore:
    """A store with the catalogue and the n oldest of n + HOLDOUT corpus articles
    (cached by n, seed and schema).

    Articles go in through the repository's own insert, in batches, "fetched" five
    minutes after publication; republications join their original's story (the
    corpus' ground truth, so the store does not depend on the clustering code under
    test). The newest COMMENTED_STORIES stories get their commentary through the real
    CommentaryService, as ingestion would have given them.
    """
    key = f"store-{n}-{seed}-{_schema_key()}"
    path = CACHE / f"{key}.db"
    meta_path = CACHE / f"{key}.json"
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        return BuiltStore(path=path, cached=True, **meta)
    CACHE.mkdir(parents=True, exist_ok=True)
    for stale in CACHE.glob(f"store-{n}-{seed}-*"):  # built for an older schema
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    _copy_db(await catalogue_template(), tmp)
    everything = sorted_corpus(n + HOLDOUT, seed)
    corpus, later = everything[:n], everything[n:]
    store = await Store.open(tmp)
    try:
        actor_names = await resolve_actor_names(
            store, [x for a in everything[:2000] for x in a["actors"]]
        )
        story_of: dict[int, int] = {}  # corpus story index -> story id
        first_seen: dict[int, datetime] = {}  # story id -> first_seen
        step = max(BATCH, n // 10 // BATCH * BATCH)
        repo = store.articles
        for start in range(0, n, BATCH):
            batch = corpus[start : start + BATCH]
            rows = [new_article(a, actor_names) for a in batch]
            # One transaction per BATCH articles: the statements add() runs, without a
            # commit per article (2.5x faster; ingestion's path is timed in bench_store).
            async with Transaction(store.db):
                for a, row in zip(batch, rows, strict=True):
                    now = a["published_at"] + FETCH_DELAY
                    stored = await repo._insert(row, story_id=story_of.get(a["story"]), now=now)
                    assert stored is not None, a["url"]
                    story_of.setdefault(a["story"], stored[1])
                    first_seen.setdefault(stored[1], now)
            done = start + len(batch)
            if not quiet and (done % step == 0 or done == n):
                rate = done / (time.perf_counter() - started)
                print(f"    building the {n:,}-article store: {done:,} ({rate:,.0f}/s)",
                      flush=True)
        inserted = time.perf_counter()
        newest = sorted(first_seen.items(), key=lambda kv: kv[1], reverse=True)
        clock_now = (later[-1]["published_at"] if later else newest[0][1]) + timedelta(hours=1)
        commentary = CommentaryService(store, clock=lambda: clock_now)
        if not quiet:
            print(f"    commentary for the newest {COMMENTED_STORIES:,} stories…", flush=True)
        for story_id, _ in newest[:COMMENTED_STORIES]:
            await commentary.refresh(story_id)
        commented = time.perf_counter()
        # stories first stored at or after `cut` whose news is not older: the
        # BRIEFING_STORIES newest (published_at = first_seen - FETCH_DELAY for originals)
        cut = newest[min(BRIEFING_STORIES, len(newest)) - 1][1] - FETCH_DELAY
        window = len(await store.articles.story_ids_since(cut, limit=10 * BRIEFING_STORIES))
        # The bot's daily upkeep (bot.services.maintenance): the store as a running bot
        # keeps it, not as a bulk load leaves it.
        compact_started = time.perf_counter()
        steps = await compact_search_index(store, pause=0)
        if not quiet:
            print(f"    search index compacted: {steps} steps, "
                  f"{time.perf_counter() - compact_started:.1f} s", flush=True)
        await store.db.execute("PRAGMA optimize")
        await store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await store.close()
    os.replace(tmp, path)
    meta = {
        "n": n, "seed": seed, "build_seconds": round(time.perf_counter() - started, 1),
        "insert_seconds": round(inserted - started, 1),
        "commentary_seconds": round(commented - inserted, 1),
        "now": clock_now.isoformat(), "briefing_since": cut.isoformat(),
        "briefing_stories": window, "stories": len(first_seen),
        "size_mb": round(path.stat().st_size / 1e6, 1), "actor_names": actor_names,
    }
    meta_path.write_text(json.dumps(meta, indent=1))
    return BuiltStore(path=path, cached=False, **meta)


# -- a feed server on many loopback addresses, in its own process -----------------------


@dataclass(frozen=True)
class Route:
    body: bytes
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None


class LoopbackFeedServer(FeedServer):
    """tests.feedserver.FeedServer answering on 127.0.0.1 and on 127.0.0.2 … 127.0.0.N
    at the same port: one aiohttp site per address (the whole 127/8 is loopback on
    Linux, but a socket bound to 127.0.0.1 answers only there; binding 0.0.0.0 would
    expose the port). Each address is a separate host for the fetcher's per-host limit."""

    def __init__(self, *, hosts: int, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.hosts = hosts

    async def start(self) -> None:
        for _attempt in range(5):
            await super().start()
            try:
                for n in range(2, self.hosts + 1):
                    await web.TCPSite(self._runner, f"127.0.0.{n}", self.port).start()
                return
            except OSError:  # the port was taken on another address: try a new one
                await self.close()
        raise RuntimeError("could not bind the same port on every loopback address")


def host_url(host: int, port: int, path: str) -> str:
    """URL of ``path`` on loopback host 127.0.0.<host>."""
    return f"http://127.0.0.{host}:{port}{path}"


Routes = Callable[[int], dict[str, Route]]  # port -> {path: route}


def _serve(build: Routes, hosts: int, latency: float, conn) -> None:
    async def main() -> None:
        server = LoopbackFeedServer(hosts=hosts, latency=latency)
        await server.start()
        for path, route in build(server.port).items():
            server.add(path, route.body, content_type=route.content_type, etag=route.etag)
        conn.send(server.port)
        loop = asyncio.get_running_loop()
        while await loop.run_in_executor(None, conn.recv) == "cpu":
            t = os.times()
            conn.send(t.user + t.system)
        conn.send(sum(server.hits.values()))  # "stop"
        await server.close()

    asyncio.run(main())


@dataclass
class ServedSite:
    port: int
    _conn: object

    def cpu(self) -> float:
        """CPU seconds the server process has used so far."""
        self._conn.send("cpu")  # type: ignore[attr-defined]
        return self._conn.recv()  # type: ignore[attr-defined]


@contextmanager
def served(build: Routes, *, hosts: int, latency: float) -> Iterator[ServedSite]:
    """Serve the routes ``build(port)`` returns from a child process (forked, so
    ``build`` may be a closure) on 127.0.0.1 … 127.0.0.<hosts>. A child process keeps
    the server's own work off the event loop under test (a real feed server is another
    machine). Start it before opening any store: forking copies no thread."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_serve, args=(build, hosts, latency, child), daemon=True)
    process.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("feed server did not start")
        yield ServedSite(parent.recv(), parent)
    finally:
        try:
            parent.send("stop")
            if parent.poll(10):
                parent.recv()
        except (BrokenPipeError, EOFError, OSError):
            pass
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join()


# -- where the time goes: SQL statements and Python functions of one operation ------------

_LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")
_LIST = re.compile(r"\?(?:\s*,\s*\?)+")


def sql_template(sql: str) -> str:
    """A statement with its literals (and IN lists) folded, to group repeats."""
    return " ".join(_LIST.sub("?…", _LITERAL.sub("?", sql)).split())


@dataclass
class StatementCost:
    template: str
    count: int = 0
    seconds: float = 0.0  # re-run time of the SELECTs (writes are only counted)
    rows: int = 0  # rows the SELECTs returned
    plan: list[str] = field(default_factory=list)


def sql_costs(db_path: Path, statements: Sequence[str]) -> tuple[list[StatementCost], int]:
    """Re-run every SELECT the operation ran on a read-only connection to the same file,
    timing each and taking its EXPLAIN QUERY PLAN. Returns (costs, most expensive first;
    the number of FTS5-internal statements, which SQLite traces with a leading "--")."""
    import sqlite3

    costs: dict[str, StatementCost] = {}
    internal = 0
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        for sql in statements:
            if sql.startswith("--"):
                internal += 1
                continue
            key = sql_template(sql)
            cost = costs.setdefault(key, StatementCost(key))
            cost.count += 1
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            start = time.perf_counter()
            cost.rows += len(con.execute(sql).fetchall())
            cost.seconds += time.perf_counter() - start
            if not cost.plan:
                cost.plan = [row[3] for row in con.execute("EXPLAIN QUERY PLAN " + sql)]
    finally:
        con.close()
    return sorted(costs.values(), key=lambda c: c.seconds, reverse=True), internal


class SqlRecorder:
    """``async with SqlRecorder(store.db) as rec:`` — the SQL the connection ran
    (as SQLite expands it, with values), in order."""

    def __init__(self, db) -> None:
        self._db = db
        self.statements: list[str] = []

    async def __aenter__(self) -> SqlRecorder:
        await self._db.set_trace_callback(self.statements.append)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._db.set_trace_callback(None)


async def explain(label: str, db, db_path: Path, op: Callable[[], object], *,
                  statements: int = 4, functions: int = 6) -> None:
    """Run ``await op()`` once more under an SQL trace and a CPU profile of this thread,
    and print where its time goes: wall, event-loop CPU, the SQL statements by re-run
    time (with their query plans), and the Python functions by own CPU time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile(time.thread_time)
    async with SqlRecorder(db) as rec:
        cpu0 = time.thread_time()
        start = time.perf_counter()
        profiler.enable()
        await op()  # type: ignore[misc]
        profiler.disable()
        wall = time.perf_counter() - start
        cpu = time.thread_time() - cpu0
    costs, internal = sql_costs(db_path, rec.statements)
    sql_total = sum(c.seconds for c in costs)
    print(f"    where the time goes — {label}: {wall * 1000:.1f} ms wall, event-loop CPU "
          f"{cpu * 1000:.1f} ms (profiled), {len(rec.statements) - internal} statements "
          f"(+{internal} FTS5-internal reads), SELECTs re-run alone {sql_total * 1000:.1f} ms")
    for cost in costs[:statements]:
        print(f"      {cost.count:4d}× {cost.seconds * 1000:7.2f} ms {cost.rows:7d} rows  "
              f"{cost.template[:100]}")
        for line in cost.plan:
            print(f"{'':24}{line}")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
    shown = 0
    for (filename, line, name), (_cc, calls, own, _cum, _callers) in rows:
        if name.startswith("<method 'poll'"):
            continue
        where = f"{Path(filename).name}:{line}({name})" if line else name
        print(f"      py {own * 1000:7.2f} ms own CPU  {calls:6d}×  {where[:90]}")
        shown += 1
        if shown == functions:
            break
