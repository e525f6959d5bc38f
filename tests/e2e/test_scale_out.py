"""Proof under concurrency (issue 13 part 4): two `secbrief run` processes (shards 0 and
1 of 2) and two `secbrief ingest` workers on one store, against the fake Discord.

New stories arrive through four feeds; subscribers in guilds on both shards follow them
by DM and in a channel of each guild; both guilds' scheduled briefings are due at the
same minute. Mid-round, the ingest worker holding one feed (its fetch held by the feed
server) and the bot process for shard 0 (a channel alert held by the fake Discord) are
killed with SIGKILL, then restarted. Each target gets each story exactly once, and each
briefing is posted once. The scenario runs three times in a row, each on a new store.

Every wait is for a condition (a request held, a claim run out, a message seen), with
generous deadlines; nothing sleeps to synchronise.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.config import Settings
from bot.services.alerts import CURSOR
from bot.services.container import open_services
from storage.claims import ClaimRepository
from storage.store import Store
from storage.timeutil import to_db, utcnow
from tests import conftest as root
from tests.conftest import make_settings
from tests.e2e.conftest import STORIES, BotProcess, add_story, assert_nothing_pings, bot_env
from tests.fake_discord import FakeDiscord
from tests.feedserver import FeedServer

DEADLINE = 90.0  # per condition: the tests wait for conditions, so load slows them only
RUNS = 3
WORD = "scaletest"  # every new story says it; every subscription follows it
FEEDS = 4  # two stories each
NEWS = STORIES[:2 * FEEDS]
ARCHIVE = STORIES[2 * FEEDS : 2 * FEEDS + 2]  # stored before the bots start: briefings only


@pytest.fixture
def stores(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path,
) -> Iterator[list[Path | str]]:
    """A fresh store per run, made before the test's event loop starts: a copy of the
    catalogue template (SQLite) or a database made from the migrated template
    (PostgreSQL), dropped afterwards."""
    made: list[Path | str] = []
    cleanups: list[Iterator[str]] = []
    for run in range(RUNS):
        if backend == "postgres":
            databases = root._postgres_db(request)
            cleanups.append(databases)
            made.append(next(databases))
        else:
            path = tmp_path / f"run{run}.db"
            shutil.copyfile(request.getfixturevalue("template_db"), path)
            made.append(path)
    yield made
    for databases in cleanups:
        next(databases, None)  # drops the database


def rss(items: list[tuple[str, str]], feed: int, run: int) -> str:
    when = format_datetime(datetime.now(UTC), usegmt=True)
    entries = "".join(
        f"<item><title>{title}</title><link>https://wire{feed}.example/r{run}/{n}</link>"
        f"<guid>wire{feed}-r{run}-{n}</guid><pubDate>{when}</pubDate>"
        f"<description>{text} ({WORD})</description></item>"
        for n, (title, text) in enumerate(items)
    )
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Wire {feed}</title><link>https://wire{feed}.example/</link>{entries}"
            "</channel></rss>")


class HeldFeed:
    """A feed whose first fetch is kept waiting until released (the worker fetching it
    is then mid-round at an observed point)."""

    def __init__(self, body: str) -> None:
        self.body = body
        self.arrived = asyncio.Event()
        self.released = asyncio.Event()
        self.fetches = 0

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        self.fetches += 1
        if self.fetches == 1:
            self.arrived.set()
            await self.released.wait()
        return web.Response(text=self.body, content_type="application/rss+xml")


def titles(messages: list[dict[str, Any]]) -> Counter[str]:
    return Counter(e.get("title") for m in messages for e in m.get("embeds", ()))


async def wait(predicate: Callable[[], Any], what: str, logs: list[Path]) -> None:
    """Until ``predicate()`` (sync or async) is true, or fail saying what was awaited."""
    try:
        async with asyncio.timeout(DEADLINE):
            while True:
                result = predicate()
                if asyncio.iscoroutine(result):
                    result = await result
                if result:
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        tail = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}"
                         for p in logs if p.exists())
        raise AssertionError(f"not within {DEADLINE:.0f} s: {what}\n{tail}") from None


async def read(database: Path | str, fn: Callable[[Store], Any]) -> Any:
    store = await Store.open(database)
    try:
        return await fn(store)
    finally:
        await store.close()


def run_dir(tmp: Path) -> Path:
    """The run's directory, with the bots' (empty) operator feed list in it."""
    tmp.mkdir()
    feeds_file = tmp / "operator_feeds.txt"
    feeds_file.write_text("# the bots poll nothing; the ingest workers poll the wires\n")
    return feeds_file


async def one_run(run: int, database: Path | str, tmp: Path) -> dict[str, int]:
    feeds_file = run_dir(tmp)
    settings: Settings = make_settings(database, SECBRIEF_FEEDS=feeds_file)
    logs = {name: tmp / f"{name}.log" for name in ("bot0", "bot1", "worker1", "worker2")}
    log_list = list(logs.values())

    async with FakeDiscord(shards=2, interaction_timeout=DEADLINE,
                           message_limit=(5, 1.0)) as fake, FeedServer() as wires:
        # One guild on each shard ((id >> 22) % 2), each with a briefing channel and an
        # alerts channel, two DM subscribers each.
        guilds = [fake.add_guild(f"g{n}", guild_id=(4_000 + 2 * run + n) << 22,
                                 channels=("news", "alerts")) for n in range(2)]
        news = [fake.text_channels(g.id)[0] for g in guilds]
        alerts = [fake.text_channels(g.id)[1] for g in guilds]
        readers = []
        for guild in guilds:
            for k in range(2):
                user = fake.add_user(f"{guild.name}-reader{k}")
                fake.add_member(guild.id, user.id)
                readers.append((guild, user))
        due = (datetime.now(UTC) - timedelta(minutes=2)).strftime("%H:%M")  # both guilds

        async with open_services(settings, clock=utcnow) as services:
            store = services.store
            for guild, channel in zip(guilds, news, strict=True):
                await store.schedules.upsert(channel_id=channel.id, guild_id=guild.id,
                                             local_time=due, timezone="UTC",
                                             created_by=fake.app_owner.id,
                                             # scheduled before it was due (see missed())
                                             now=utcnow() - timedelta(minutes=4))
            for guild, channel in zip(guilds, alerts, strict=True):
                await store.subscriptions.add(
                    guild_id=guild.id, owner_id=fake.app_owner.id, target_kind="channel",
                    target_id=channel.id, kind="keyword", value=WORD, display=WORD,
                    now=utcnow())
            for guild, user in readers:
                await store.subscriptions.add(
                    guild_id=guild.id, owner_id=user.id, target_kind="user",
                    target_id=user.id, kind="keyword", value=WORD, display=WORD,
                    now=utcnow())
            for title, text in ARCHIVE:
                await add_story(services, title, text)

        urls = []
        held = HeldFeed(rss(NEWS[0:2], 0, run))
        wires.handler("/wire0.xml", held)
        urls.append(wires.url("/wire0.xml"))
        for feed in range(1, FEEDS):
            wires.add(f"/wire{feed}.xml", rss(NEWS[2 * feed : 2 * feed + 2], feed, run))
            urls.append(wires.url(f"/wire{feed}.xml"))
        worker_feeds = tmp / "wires.txt"
        worker_feeds.write_text("\n".join(urls) + "\n")

        offline = {"SECBRIEF_KEV_URL": "", "SECBRIEF_EPSS_URL": "", "SECBRIEF_NVD_URL": ""}

        def bot_env_for(shard: int) -> dict[str, str]:
            return bot_env(fake, settings, SECBRIEF_SHARD_COUNT="2",
                           SECBRIEF_SHARD_IDS=str(shard), **offline)

        worker_env = bot_env(fake, settings, **offline)
        worker_env["SECBRIEF_FEEDS"] = str(worker_feeds)
        # The first alert to shard 0's alerts channel is kept in flight: bot 0 is killed
        # mid-round while it waits.
        in_flight = fake.hold(f"POST /channels/{alerts[0].id}/messages")

        processes: list[BotProcess] = []

        async def start(env: dict[str, str], log: str | Path, *args: str) -> BotProcess:
            path = log if isinstance(log, Path) else logs[log]
            process = await BotProcess(env, path, *args).start()
            processes.append(process)
            return process

        try:
            bot0 = await start(bot_env_for(0), "bot0")
            await start(bot_env_for(1), "bot1")
            await wait(lambda: fake.gateway.stats.identifies >= 2, "both shards connected",
                       log_list)
            await wait(lambda: read(database, lambda s: s.meta.get(CURSOR)),
                       "the alert cursor set", log_list)
            # Both briefings (due at the same minute) go out at start, one per guild.
            await wait(lambda: all(fake.channel_messages(c.id) for c in news),
                       "both briefings posted", log_list)

            workers = [await start(worker_env, "worker1", "ingest"),
                       await start(worker_env, "worker2", "ingest")]
            await wait(held.arrived.is_set, "a worker fetching the held feed", log_list)
            feed_id = (await read(database, lambda s: s.feeds.with_url(urls[0])))[0].id

            async def holder() -> str | None:
                claims = await read(database, lambda s: ClaimRepository(s.db)
                                    .feed_claims([feed_id]))
                return claims[feed_id][0]

            holding = await holder()
            assert holding is not None, "the held feed is not claimed"
            (victim,) = [w for w in workers if holding.split(":")[1] == str(w.proc.pid)]
            await victim.kill()  # mid-round: its claim on the held feed stays behind
            held.released.set()

            async def lease_ran_out() -> bool:
                claims = await read(database, lambda s: ClaimRepository(s.db)
                                    .feed_claims([feed_id]))
                until = claims[feed_id][1]
                return until is None or until < to_db(utcnow())

            await wait(lease_ran_out, "the dead worker's lease run out", log_list)
            await start(worker_env, victim.log_path, "ingest")  # polls what it held

            await wait(lambda: in_flight.waiting >= 1, "shard 0's channel alert in flight",
                       log_list)
            await bot0.kill()
            in_flight.release()  # what bot 0 had in flight reaches Discord, unrecorded
            await wait(lambda: in_flight.answered == in_flight.held_total,
                       "the held alert answered", log_list)
            await start(bot_env_for(0), "bot0")

            expected = Counter({title: 1 for title, _ in NEWS})

            def everyone_has_everything() -> bool:
                return all(set(titles(m)) >= set(expected) for m in [
                    *(fake.sent_to_user(u.id) for _, u in readers),
                    *(fake.channel_messages(c.id) for c in alerts)])

            await wait(everyone_has_everything, "every target given every story", log_list)
            await wait(lambda: _all_sent(database), "the ledger settled", log_list)
        finally:
            for process in processes:
                await process.stop()
            held.released.set()

        for guild, user in readers:
            assert titles(fake.sent_to_user(user.id)) == expected, (guild.name, user.username)
        for channel in alerts:
            assert titles(fake.channel_messages(channel.id)) == expected, channel.id
        for channel in news:  # one briefing each: a header in the channel, cards in its thread
            headers = [m for m in fake.channel_messages(channel.id)
                       if m["content"].startswith("**Daily briefing**")]
            assert len(headers) == 1, fake.channel_messages(channel.id)
            (thread,) = fake.threads_of(channel.id)
            assert titles(fake.channel_messages(thread.id)) == Counter(
                {title: 1 for title, _ in ARCHIVE})
        assert held.fetches == 2  # the dead worker's fetch, and the restarted one's
        # each story stored once, whoever polled its feed (a feed the dead worker was
        # still storing is polled again after its lease: its articles are duplicates)
        assert await read(database, lambda s: s.articles.count()) == len(NEWS) + len(ARCHIVE)
        assert fake.stats.by_status.get(500, 0) == 0
        assert_nothing_pings(fake)
        for log in log_list:
            assert "Traceback" not in log.read_text(errors="replace"), log.read_text()[-3000:]
        return {"nonce_hits": fake.nonce_hits}


async def _all_sent(database: Path | str) -> bool:
    counts = await read(database, lambda s: s.deliveries.counts())
    return set(counts) == {"sent"}


async def test_two_shards_two_workers_kill_9_and_restart_each_story_once(
    stores: list[Path | str], tmp_path: Path,
):
    figures = []
    for run, database in enumerate(stores):  # three times in a row, each on a new store
        figures.append(await one_run(run, database, tmp_path / f"run{run}"))
    # Each run, the alert shard 0 had in flight when it died was accepted by Discord and
    # sent again by the restart with the same nonce: Discord dropped the repeat.
    assert all(f["nonce_hits"] >= 1 for f in figures), figures
