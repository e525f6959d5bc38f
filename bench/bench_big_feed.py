"""One huge feed in one poll: the big variant of tests/services/test_hostile_feeds.py::
test_huge_feed_lands_whole (which polls 1,500 items so it stays quick on a busy machine).

    .venv/bin/python bench/bench_big_feed.py [--quick] [--items N] [--workers N]

A single RSS feed of N items (default 10,000, ~3.7 MB, under the 5 MB body cap) served
from a child process on 127.0.0.1, polled once by the real IngestService with
SECBRIEF_FETCH_PAGES=0 into a fresh store, in the default worker mode (one worker
process). Figures: every item lands (added = N, none failed), the rate (target ≥ 100
articles/s, as for the 1,000-item feed in bench_ingest.py), wall time and the peak
resident memory of the bot's process.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    Report,
    Route,
    bench_settings,
    catalogue_template,
    clean_environment,
    fresh_db,
    host_url,
    peak_rss_mb,
    section,
    served,
)
from bot.services.container import open_services
from tests.feedserver import make_rss

TARGET_RATE = 100.0  # articles/s
PATH = "/huge.xml"


async def poll_once(port: int, items: int, workers: int) -> tuple[int, int, int, float]:
    """(added, failed, stored, wall seconds) of one poll of the huge feed."""
    with tempfile.TemporaryDirectory(prefix="secbrief-bigfeed-") as tmp:
        db = await fresh_db(Path(tmp))
        feeds = Path(tmp) / "feeds.txt"
        feeds.write_text("")
        settings = bench_settings(db, SECBRIEF_FEEDS=feeds, SECBRIEF_WORKERS=workers,
                                  SECBRIEF_FETCH_PAGES=False)
        async with open_services(settings) as services:
            start = time.perf_counter()
            report = await services.ingest.poll([host_url(1, port, PATH)])
            wall = time.perf_counter() - start
            stored = await services.store.articles.count()
    if report.errors:
        print(f"    errors: {report.errors[:3]}")
    return report.added, report.failed, stored, wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,500 items (the test's size)")
    parser.add_argument("--items", type=int, help="items in the feed (default 10,000)")
    parser.add_argument("--workers", type=int, default=1,
                        help="SECBRIEF_WORKERS (default 1, the product's default)")
    args = parser.parse_args(argv)
    clean_environment()
    items = args.items or (1500 if args.quick else 10_000)
    body = make_rss(items, base="http://127.0.0.1/")
    asyncio.run(catalogue_template())  # cached store template; built outside the timing
    report = Report("bench_big_feed")
    section(f"one feed of {items:,} items ({len(body) / 1e6:.1f} MB), FETCH_PAGES=0, "
            f"WORKERS={args.workers}")
    assert threading.active_count() == 1  # fork the server before any thread exists
    with served(lambda port: {PATH: Route(body)}, hosts=1, latency=0.0) as site:
        added, failed, stored, wall = asyncio.run(poll_once(site.port, items, args.workers))
    rate = added / wall if wall else 0.0
    report.check("items landed (added / stored, failed)", f"{added} / {stored}, {failed}",
                 f"{items} / {items}, 0", added == stored == items and failed == 0)
    report.check("rate", f"{rate:.0f} art/s", f"≥ {TARGET_RATE:.0f} art/s",
                 rate >= TARGET_RATE)
    report.info("wall time", f"{wall:.2f} s")
    report.info("peak RSS of this process", f"{peak_rss_mb():.0f} MB")
    report.summary()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
