"""Alert fan-out to many DM subscribers through the real Deliverer, against the fake
Discord with Discord's limits (50 requests/s global, 5 messages per 5 s per channel).

The store is built directly through the repositories (one story, N keyword subscribers,
one planned alert round); then one `Deliverer.send_pending()` delivers it. A DM needs
its channel opened first (POST /users/@me/channels, once per user per process), so a
cold round costs two requests per subscriber; `--rounds 2` adds a second story and
round, which reuses the opened channels (one request per subscriber).

    .venv/bin/python bench/bench_fanout.py [--targets 10000] [--rate 45] [--rounds 1]
    .venv/bin/python bench/bench_fanout.py --processes 2 [--targets 10000] [--rate 45]
                                           [--postgres]

With ``--processes N`` the round is sent by N bot-like processes at once, each with its
own Deliverer on the same store: each claims batches in the store (a batch is sent by
one of them) and takes its send slots from the store's shared budget, so together they
stay under ``--rate`` (SECBRIEF_SEND_RATE). It prints their combined requests/s next
to the 90–100% target, 429s, duplicates and what each process sent. ``--postgres`` puts
the store on a throw-away PostgreSQL (tests/pg.py) instead of an SQLite file.

Prints, per round: wall time, requests/s and their share of the 50/s limit, 429s,
messages delivered, duplicates (0 expected) and failures. Not run by the tests
(10,000 cold DMs take about 20,000 requests, some 7-8 minutes at 45/s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import discord

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from bot.delivery import Deliverer
from bot.services.alerts import AlertService
from bot.services.briefings import BriefingService
from storage.db import Transaction
from storage.models import NewArticle
from storage.store import Store
from storage.timeutil import utcnow
from tests.fake_discord import FakeDiscord, discord_py_pointed_at

GLOBAL_LIMIT = 50


@dataclass
class RoundFigures:
    round: int
    plan_seconds: float
    seconds: float
    requests: int
    by_kind: dict[str, int]
    limited: int  # 429 answers during the round
    delivered: int  # subscribers holding this round's message
    duplicates: int  # messages beyond one per subscriber for this round
    failed: int  # batches not sent (refused / failed / still pending)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def report(self) -> str:
        share = 100 * self.per_second / GLOBAL_LIMIT
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.by_kind.items()))
        return (
            f"round {self.round}: planned in {self.plan_seconds:.2f} s; sent in "
            f"{self.seconds:.1f} s; {self.requests} requests ({kinds}) = "
            f"{self.per_second:.1f} req/s = {share:.0f}% of {GLOBAL_LIMIT}/s; "
            f"429s {self.limited}; delivered {self.delivered}; duplicates {self.duplicates}; "
            f"not sent {self.failed}"
        )


def story(n: int) -> NewArticle:
    return NewArticle(
        source="Bench Wire",
        title=f"Ransomware wave number {n} hits logistics firms",
        url=f"https://bench.example/story/{n}",
        text=f"A ransomware crew encrypted systems at logistics firms (wave {n}).",
        key_points=[f"Wave {n} hit logistics firms.", "Backups were encrypted too."],
        simhash=n * 7919,
        content_hash=f"bench-{n}",
    )


async def build_store(store: Store, user_ids: list[int]) -> None:
    now = utcnow()
    async with Transaction(store.db):
        for user_id in user_ids:
            await store.subscriptions.add(
                guild_id=1, owner_id=user_id, target_kind="user", target_id=user_id,
                kind="keyword", value="ransomware", display="ransomware", now=now)


async def run(targets: int, rate: float, rounds: int, concurrency: int) -> list[RoundFigures]:
    figures: list[RoundFigures] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "bench.db")
        async with FakeDiscord(global_limit=GLOBAL_LIMIT, message_limit=(5, 5.0),
                               echo_messages=False) as fake:
            users = [fake.add_user(f"u{n}").id for n in range(targets)]
            await build_store(store, users)
            alerts = AlertService(store, clock=utcnow)
            await alerts.plan_round()  # sets the cursor: the archive is not alerted
            with discord_py_pointed_at(fake):
                client = discord.Client(intents=discord.Intents.none())
                await client.login(fake.token)  # REST only: sending needs no gateway
                try:
                    deliverer = Deliverer(client, store, BriefingService(store, clock=utcnow),
                                          clock=utcnow, rate=rate, concurrency=concurrency)
                    for n in range(1, rounds + 1):
                        figures.append(await one_round(n, fake, store, alerts, deliverer,
                                                       users))
                finally:
                    await client.close()
        await store.close()
    return figures


async def one_round(n: int, fake: FakeDiscord, store: Store, alerts: AlertService,
                    deliverer: Deliverer, users: list[int]) -> RoundFigures:
    await store.articles.add(story(n), story_id=None, now=utcnow())
    started = time.perf_counter()
    await alerts.plan_round()
    planned = time.perf_counter() - started
    first_request = len(fake.stats.requests)
    limited_before = fake.stats.by_status[429]
    started = time.perf_counter()
    stats = await deliverer.send_pending()
    seconds = time.perf_counter() - started
    requests = fake.stats.requests[first_request:]
    by_kind: dict[str, int] = {}
    for record in requests:
        kind = "dm-open" if record.path == "/users/@me/channels" else (
            "send" if record.path.endswith("/messages") else record.path)
        by_kind[kind] = by_kind.get(kind, 0) + 1
    title = story(n).title
    counts = [sum(1 for m in fake.sent_to_user(u) if m["embeds"][0]["title"] == title)
              for u in users]
    return RoundFigures(
        round=n, plan_seconds=planned, seconds=seconds, requests=len(requests),
        by_kind=by_kind, limited=fake.stats.by_status[429] - limited_before,
        delivered=sum(1 for c in counts if c), duplicates=sum(max(c - 1, 0) for c in counts),
        failed=len(users) - stats.sent,
    )


# -- several processes ---------------------------------------------------------------


async def child(db: str, api_base: str, gateway: str, token: str, rate: float,
                concurrency: int) -> dict[str, int]:
    """One sending process: send what is pending (and not claimed by the other) until
    nothing is pending any more."""
    store = await Store.open(db)
    discord.http.Route.BASE = api_base
    client = discord.Client(intents=discord.Intents.none())
    await client.login(token)
    sent = messages = 0
    try:
        deliverer = Deliverer(client, store, BriefingService(store, clock=utcnow),
                              clock=utcnow, rate=rate, concurrency=concurrency, lease=10)
        while True:
            stats = await deliverer.send_pending()
            sent, messages = sent + stats.sent, messages + stats.messages
            if not await store.deliveries.pending(now=utcnow(), limit=1):
                break
            if stats.sent == 0:  # the rest is the other process's, in flight
                await asyncio.sleep(0.2)
    finally:
        await client.close()
        await store.close()
    return {"batches": sent, "messages": messages,
            "reservations": getattr(deliverer.limiter, "reservations", 0)}


async def run_processes(targets: int, rate: float, processes: int,
                        concurrency: int, postgres: str | None = None) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        db: Path | str = postgres or Path(tmp) / "bench.db"
        store = await Store.open(db)
        async with FakeDiscord(global_limit=GLOBAL_LIMIT, message_limit=(5, 5.0),
                               echo_messages=False) as fake:
            users = [fake.add_user(f"u{n}").id for n in range(targets)]
            await build_store(store, users)
            alerts = AlertService(store, clock=utcnow)
            await alerts.plan_round()
            await store.articles.add(story(1), story_id=None, now=utcnow())
            await alerts.plan_round()
            await store.close()
            argv = [sys.executable, __file__, "--child", "--db", str(db), "--api",
                    fake.api_base, "--gateway", fake.gateway_url, "--token", fake.token,
                    "--rate", str(rate), "--concurrency", str(concurrency)]
            started = time.perf_counter()
            procs = [await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
                     for _ in range(processes)]
            outputs = [json.loads((await p.communicate())[0] or b"{}") for p in procs]
            seconds = time.perf_counter() - started
            requests = [r for r in fake.stats.requests
                        if r.path == "/users/@me/channels" or r.path.endswith("/messages")]
            title = story(1).title
            counts = [sum(1 for m in fake.sent_to_user(u) if m["embeds"][0]["title"] == title)
                      for u in users]
    span = requests[-1].time - requests[0].time if len(requests) > 1 else seconds
    per_second = (len(requests) - 1) / span if span else 0.0
    limited = sum(1 for r in requests if r.status == 429)
    each = "; ".join(f"process {n + 1}: {o.get('batches', 0)} batches, "
                     f"{o.get('reservations', 0)} budget reservations"
                     for n, o in enumerate(outputs))
    return (
        f"{processes} processes: {len(requests)} requests in {span:.1f} s (first to last; "
        f"{seconds:.1f} s with start-up) = {per_second:.1f} req/s = "
        f"{100 * per_second / rate:.1f}% of SECBRIEF_SEND_RATE {rate:g} (target 90–100%), "
        f"{100 * per_second / GLOBAL_LIMIT:.0f}% of Discord's {GLOBAL_LIMIT}/s; 429s {limited}; "
        f"delivered {sum(1 for c in counts if c)}/{targets}; "
        f"duplicates {sum(max(c - 1, 0) for c in counts)}; {each}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=10_000, help="DM subscribers")
    parser.add_argument("--rate", type=float, default=45.0, help="Deliverer's requests/s")
    parser.add_argument("--rounds", type=int, default=1, help="alert rounds (2nd is warm)")
    parser.add_argument("--concurrency", type=int, default=25, help="targets in flight")
    parser.add_argument("--processes", type=int, default=1,
                        help="sending processes sharing the store (2: the scale-out case)")
    for hidden in ("--db", "--api", "--gateway", "--token"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--postgres", action="store_true",
                        help="the store on a throw-away PostgreSQL (with --processes)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("discord").setLevel(logging.ERROR)
    if args.child:
        result = asyncio.run(child(args.db, args.api, args.gateway, args.token, args.rate,
                                   args.concurrency))
        print(json.dumps(result), flush=True)
        return
    if args.processes > 1:
        print(f"fan-out to {args.targets} DM subscribers from {args.processes} processes "
              f"sharing SECBRIEF_SEND_RATE {args.rate:g}, fake limits {GLOBAL_LIMIT}/s "
              "global, 5 per 5 s per channel", flush=True)
        server = None
        if args.postgres:
            from tests import pg

            server, reason = pg.start()
            if server is None:
                raise SystemExit(f"no PostgreSQL: {reason}")
        try:
            print(("PostgreSQL: " if server else "SQLite: ") + asyncio.run(run_processes(
                args.targets, args.rate, args.processes, args.concurrency,
                server.dsn() if server else None)), flush=True)
        finally:
            if server is not None:
                server.stop()
        return
    print(f"fan-out to {args.targets} DM subscribers at {args.rate:g} req/s, "
          f"fake limits {GLOBAL_LIMIT}/s global, 5 per 5 s per channel", flush=True)
    for figures in asyncio.run(run(args.targets, args.rate, args.rounds, args.concurrency)):
        print(figures.report(), flush=True)


if __name__ == "__main__":
    main()
