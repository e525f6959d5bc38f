"""SQLite and PostgreSQL side by side: actor lookup and search on an N-article store, and
alert planning for 10,000 subscriptions × 500 stories.

    .venv/bin/python bench/bench_backends.py [--quick] [--articles N]
                                             [--subscriptions N] [--new N] [--no-alerts]

Takes bench_store's cached store of N articles (built on first use: ~6 min at 100,000),
copies it, and moves the copy to a throw-away PostgreSQL (tests/pg.py) with the real
``secbrief migrate`` code (storage/migrate.py; its time is a figure too). Then, on each
backend through open_services, with the same clock:

- actor lookup (bench_store's 20 names and aliases) and search (its 20 queries), 3
  rounds: p50 / p95 per call → PostgreSQL target p95 < 15 ms (SQLite's, bench_store's,
  < 10 ms); and the lookup of 3 names no actor has that stored articles mention (no
  target: a phrase count over every mention);
- alert planning as bench_alert_match does it: 10,000 subscriptions added, the cursor
  moved to the store's end, 500 held-out articles stored, then
  SubscriptionRepository.matches (median of 5) and AlertService.plan_round (no target).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_alert_match import SEED, add_subscriptions
from bench.bench_store import LOOKUPS, SEARCHES
from bench.common import (
    BuiltStore,
    Report,
    bench_settings,
    build_store,
    clean_environment,
    copy_store,
    create_database,
    describe_built,
    ms,
    new_article,
    percentile,
    postgres_server,
    section,
    time_calls,
)
from bot.services.alerts import AlertService
from bot.services.container import open_services
from storage.migrate import migrate_store

TARGET_P95 = {"SQLite": 0.010, "PostgreSQL": 0.015}
# Names no catalogue actor has that the corpus mentions (a vendor, a product, a made-up
# crew): their lookup also counts the stored articles holding the name as a phrase and
# the stories and actors of the newest of them ("appears in N stored stories, with …").
MENTIONED = ("Kestrel Systems", "NightCrane", "SecureGate")


def p50_p95(times: list[float]) -> str:
    return f"{percentile(times, 50) * 1000:.2f} / {percentile(times, 95) * 1000:.2f} ms"


async def reads(label: str, db: Path | str, built: BuiltStore, report: Report) -> None:
    target = TARGET_P95[label]
    async with open_services(bench_settings(db), clock=lambda: built.clock_now) as services:
        section(f"{label}: actor lookup ({len(LOOKUPS)} names) and search "
                f"({len(SEARCHES)} queries), 3 rounds")
        found = sum([bool((await services.actors.lookup(n)).profile) for n in LOOKUPS])
        hits = [len(await services.search.search(q)) for q in SEARCHES]
        print(f"    {found}/{len(LOOKUPS)} actors found; {sum(h == 10 for h in hits)}/"
              f"{len(SEARCHES)} queries with 10 hits")
        times = await time_calls(services.actors.lookup, LOOKUPS)
        report.check(f"{label}: actor lookup p50 / p95", p50_p95(times),
                     f"p95 < {target * 1000:.0f} ms", percentile(times, 95) < target)
        times = await time_calls(services.search.search, SEARCHES)
        report.check(f"{label}: search p50 / p95", p50_p95(times),
                     f"p95 < {target * 1000:.0f} ms", percentile(times, 95) < target)
        mentions = [(await services.actors.lookup(n)).mentions for n in MENTIONED]
        print(f"    names that are no actor: {', '.join(map(str, mentions))} articles")
        times = await time_calls(services.actors.lookup, MENTIONED)
        report.info(f"{label}: lookup of a name no actor has, p50 / p95", p50_p95(times))


async def alerts(label: str, db: Path | str, built: BuiltStore, report: Report, *,
                 subs: int, new: int) -> None:
    holdout = built.holdout()
    fresh = holdout[:new]
    async with open_services(bench_settings(db), clock=lambda: built.clock_now) as services:
        store = services.store
        section(f"{label}: {subs:,} subscriptions × {new} new stories")
        corpus_cves = sorted({c for a in holdout[new:] for c in a["cves"]})
        corpus_cves += [f"CVE-2024-{1000 + i * 37}" for i in range(300)]
        start = time.perf_counter()
        await add_subscriptions(
            services, subs, corpus_actors=sorted(set(built.actor_names.values())),
            corpus_cves=corpus_cves, new_cves=sorted({c for a in fresh for c in a["cves"]}))
        print(f"    subscriptions added in {time.perf_counter() - start:.1f} s")
        oldest = min(a["published_at"] for a in fresh)
        max_age = max(timedelta(hours=48), built.clock_now - oldest + timedelta(minutes=1))
        service = AlertService(store, clock=lambda: built.clock_now, max_age=max_age)
        assert await service.plan_round() == []  # first round: the cursor to the end
        first = await store.articles.max_id() + 1
        for a in fresh:
            assert await store.articles.add(new_article(a, built.actor_names),
                                            story_id=None, now=built.clock_now)
        last = await store.articles.max_id()
        since = built.clock_now - service.max_age
        found = await store.subscriptions.matches(first, last, published_since=since)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            await store.subscriptions.matches(first, last, published_since=since)
            times.append(time.perf_counter() - start)
        print(f"    {len(found):,} (target, story, subscription) matches")
        report.info(f"{label}: matches(), {subs:,} subs × {new} stories (median of 5)",
                    ms(percentile(times, 50)))
        start = time.perf_counter()
        batches = await service.plan_round()
        report.info(f"{label}: plan_round(), {len(batches):,} targets",
                    ms(time.perf_counter() - start))


async def run(args: argparse.Namespace, report: Report) -> None:
    n = args.articles or (5_000 if args.quick else 100_000)
    subs = args.subscriptions or (2_000 if args.quick else 10_000)
    new = args.new or (100 if args.quick else 500)
    section(f"store of {n:,} articles (shared with bench_store)")
    built = await build_store(n, SEED)
    print(describe_built(built))
    async with postgres_server() as server:
        url = await create_database(server, "bench")
        with tempfile.TemporaryDirectory(prefix="bench-backends-") as tmp:
            db = copy_store(built.path, Path(tmp))
            section("secbrief migrate: the SQLite copy into the empty PostgreSQL database")
            moved = await migrate_store(db, url)
            print(f"    {moved.rows:,} rows in {len(moved.tables)} tables, verified "
                  f"{moved.verified}")
            report.info(f"secbrief migrate, {n:,} articles ({moved.rows:,} rows)",
                        f"{moved.seconds:.1f} s")
            await reads("SQLite", db, built, report)
            await reads("PostgreSQL", url, built, report)
            if not args.no_alerts:
                await alerts("SQLite", db, built, report, subs=subs, new=new)
                await alerts("PostgreSQL", url, built, report, subs=subs, new=new)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="5,000 articles, 2,000 subscriptions, 100 new stories")
    parser.add_argument("--articles", type=int, help="store size (default 100,000)")
    parser.add_argument("--subscriptions", type=int, help="default 10,000")
    parser.add_argument("--new", type=int, help="new stories (default 500)")
    parser.add_argument("--no-alerts", action="store_true", help="only lookups and search")
    args = parser.parse_args(argv)
    clean_environment()
    report = Report("bench_backends")
    asyncio.run(run(args, report))
    report.summary()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
