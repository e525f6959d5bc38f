"""A poll of unchanged feeds: every feed answers 304 Not Modified to a conditional GET.

    .venv/bin/python bench/bench_poll.py [--quick] [--feeds N] [--hosts N]

200 feeds on 100 loopback hosts (127.0.0.2 … 127.0.0.101, served from a child process),
two feeds a host. A first poll stores every feed's ETag; the timed poll is the bot's
scheduled round 16 minutes later (IngestService.poll(operator_urls=…): ensure each
operator feed, pick the due ones, fetch conditionally, record success). Run with 0 ms
and 100 ms server latency, and at 100 ms once more with SECBRIEF_FETCH_CONCURRENCY=64
(the default 16 bounds a round to ceil(200/16) × latency). Target: < 1 s wall. The 0 ms
case also prints where a round's time goes (SQL statements, Python functions).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    Report,
    Route,
    bench_settings,
    catalogue_template,
    clean_environment,
    explain,
    fresh_db,
    host_url,
    section,
    served,
)
from bot.services.container import open_services
from tests.feedserver import make_rss

TARGET = 1.0  # seconds for a round of unchanged feeds


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def feed_path(i: int) -> str:
    return f"/feeds/{i}.xml"


def feed_url(port: int, i: int, hosts: int) -> str:
    return host_url(2 + i % hosts, port, feed_path(i))


def routes(feeds: int, hosts: int):
    def build(port: int) -> dict[str, Route]:
        return {
            feed_path(i): Route(
                make_rss(3, base=host_url(2 + i % hosts, port, f"/site{i}/"),
                         title_prefix=f"Feed {i} story"),
                etag=f'"feed-{i}-v1"',
            )
            for i in range(feeds)
        }

    return build


async def measure(port: int, feeds: int, hosts: int, concurrency: int | None, *,
                  show: bool = False) -> tuple[float, float, dict[str, int]]:
    """(first poll seconds, timed 304 round seconds, outcome counts of the timed round).
    ``show``: run one more 304 round and print where its time goes."""
    urls = [feed_url(port, i, hosts) for i in range(feeds)]
    clock = Clock()
    with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp:
        db = await fresh_db(Path(tmp))
        overrides: dict[str, object] = {"SECBRIEF_FETCH_PAGES": False}
        if concurrency:
            overrides["SECBRIEF_FETCH_CONCURRENCY"] = concurrency
        async with open_services(bench_settings(db, **overrides), clock=clock) as services:
            start = time.perf_counter()
            first = await services.ingest.poll(operator_urls=urls)
            first_s = time.perf_counter() - start
            assert first.added == 3 * feeds, (first.added, first.errors[:3])
            clock.now += timedelta(minutes=16)  # every feed is due again
            start = time.perf_counter()
            again = await services.ingest.poll(operator_urls=urls)
            round_s = time.perf_counter() - start
            if show:
                async def another_round() -> None:
                    clock.now += timedelta(minutes=16)
                    await services.ingest.poll(operator_urls=urls)

                await explain("another 304 round", services.store.db, db, another_round,
                              statements=3, functions=8)
    counts: dict[str, int] = {}
    for outcome in again.feeds:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    if counts.get("not_modified") != feeds:
        print(f"    WARNING: expected {feeds} not_modified, got {counts}; "
              f"errors: {again.errors[:3]}")
    return first_s, round_s, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="40 feeds on 20 hosts")
    parser.add_argument("--feeds", type=int, help="feeds (default 200)")
    parser.add_argument("--hosts", type=int, help="loopback hosts (default feeds / 2)")
    args = parser.parse_args(argv)
    clean_environment()
    feeds = args.feeds or (40 if args.quick else 200)
    hosts = args.hosts or max(1, feeds // 2)
    if hosts > 250:
        parser.error("at most 250 hosts (127.0.0.2 … 127.0.0.251)")
    asyncio.run(catalogue_template())  # cached store template; built outside the timing
    report = Report("bench_poll")
    print(f"{feeds} unchanged feeds on {hosts} loopback hosts; a first poll stores ETags, "
          "then a scheduled round gets 304 from each")
    for latency, concurrency in ((0.0, None), (0.1, None), (0.1, 64)):
        limit = concurrency or 16
        label = f"{latency * 1000:.0f} ms latency, concurrency {limit}"
        section(label)
        floor = math.ceil(feeds / limit) * latency
        print(f"    network floor: ceil({feeds}/{limit}) × {latency * 1000:.0f} ms = "
              f"{floor:.2f} s")
        assert threading.active_count() == 1  # fork the server before any thread exists
        with served(routes(feeds, hosts), hosts=hosts + 1, latency=latency) as site:
            first_s, round_s, counts = asyncio.run(
                measure(site.port, feeds, hosts, concurrency, show=latency == 0))
        print(f"    first poll (200s, {3 * feeds} articles stored): {first_s:.2f} s; "
              f"304 round: {counts}")
        report.check(f"304 round of {feeds} feeds, {label}", f"{round_s * 1000:.0f} ms",
                     f"< {TARGET * 1000:.0f} ms", round_s < TARGET)
        report.info("  … per feed", f"{round_s / feeds * 1000:.2f} ms")
    report.summary()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
