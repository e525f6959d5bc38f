"""`python -m bot run` as a real process against the fake Discord: a subscription made by
slash command, a story ingested by a separate `secbrief ingest --once` process into the
same store, alerts that survive a gateway drop, and a `kill -9` in the middle of a
fan-out followed by a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from email.utils import format_datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.services.alerts import CURSOR, AlertService
from bot.services.caller import Caller
from bot.services.container import open_services
from storage.store import Store
from tests.conftest import Clock
from tests.e2e.conftest import (
    World,
    add_story,
    assert_nothing_pings,
    bot_env,
    bot_process,
    build_world,
    run_secbrief,
)
from tests.fake_discord import FakeDiscord
from tests.feedserver import FeedServer

# How long a condition may take to come true. Generous on purpose: the tests wait for
# conditions, never for durations, so a busy machine makes them slower, not flaky.
DEADLINE = 60.0

ITEMS = [
    ("Flax Typhoon hijacks home routers for a new botnet",
     "Flax Typhoon, the China-based group, took over thousands of home routers and cameras "
     "and used them to hide its traffic, investigators said on Wednesday."),
    ("Ethereal Panda returns with a fresh set of exploits",
     "Ethereal Panda exploited newly found flaws in video recorders to regain access to "
     "networks that had evicted it in the spring."),
]
# A later story for another subscriber: its alert proves alert rounds ran after the ones
# before it (instead of sleeping for "a few rounds").
CANARY = ("Lighthouse keepers' union reports a phishing wave",
          "A phishing wave aimed at members of the lighthouse keepers' union used fake "
          "pension letters, the union's officials said.")


def rss(clock: Clock, items: list[tuple[str, str]]) -> str:
    when = format_datetime(clock.now, usegmt=True)
    entries = "".join(
        f"<item><title>{title}</title><link>https://wire.example/story/{n}</link>"
        f"<guid>wire-story-{n}</guid><pubDate>{when}</pubDate>"
        f"<description>{text}</description></item>"
        for n, (title, text) in enumerate(items)
    )
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Threat Wire</title><link>https://wire.example/</link>{entries}"
            "</channel></rss>")


async def cursor_of(db: Path | str) -> str | None:
    store = await Store.open(db)
    try:
        return await store.meta.get(CURSOR)
    finally:
        await store.close()


async def wait_for_cursor(db: Path | str, timeout: float = DEADLINE) -> None:
    """Until the bot's first alert round has set the alert cursor (stories stored before
    that are the archive, never alerted)."""
    async with asyncio.timeout(timeout):
        while await cursor_of(db) is None:
            await asyncio.sleep(0.05)


async def ledger_of(db: Path | str) -> dict[str, int]:
    store = await Store.open(db)
    try:
        return await store.deliveries.counts()
    finally:
        await store.close()


async def wait_for_ledger(db: Path | str, expected: dict[str, int],
                          timeout: float = DEADLINE) -> None:
    """Until the delivery ledger holds ``expected`` (a message Discord has accepted is
    recorded a moment later, by the bot)."""
    async with asyncio.timeout(timeout):
        while await ledger_of(db) != expected:
            await asyncio.sleep(0.05)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    # Discord's 3 s to answer an interaction is not what these tests are about: on a busy
    # machine the bot process may take longer, so the fake waits as long as the tests do.
    async with FakeDiscord(interaction_timeout=DEADLINE) as fake:
        yield build_world(fake)
        assert_nothing_pings(fake)


async def test_subscribe_then_separate_ingest_process_alerts_once(
    world: World, settings: Settings, clock: Clock, tmp_path: Path, feed_server: FeedServer,
):
    fake = world.fake
    env = bot_env(fake, settings, SECBRIEF_DEV_GUILD_ID=str(world.guild.id))
    log = tmp_path / "bot.log"
    feed_server.add("/wire.xml", rss(clock, ITEMS[:1]))
    feed = feed_server.url("/wire.xml")

    async with bot_process(env, log) as bot:
        await fake.wait_until_connected(DEADLINE)
        await fake.wait_for(lambda: fake.guild_syncs[world.guild.id] == 1, DEADLINE)
        assert fake.global_syncs == 0
        await wait_for_cursor(settings.database)

        done = await fake.invoke_slash("subscribe", user_id=world.alice.id,
                                       guild_id=world.guild.id, channel_id=world.general.id,
                                       options={"kind": "actor", "value": "Ethereal Panda"})
        await done.wait_message(DEADLINE)
        assert done.ephemeral and "**Flax Typhoon**" in done.content, done.content
        canary = await fake.invoke_slash("subscribe", user_id=world.admin.id,
                                         guild_id=world.guild.id, channel_id=world.general.id,
                                         options={"kind": "keyword", "value": "lighthouse"})
        await canary.wait_message(DEADLINE)
        assert canary.ephemeral and "lighthouse" in canary.content, canary.content

        assert await run_secbrief(env, log, "ingest", "--once", "--feed", feed) == 0
        dms = lambda: fake.sent_to_user(world.alice.id)  # noqa: E731
        await fake.wait_for(lambda: len(dms()) >= 1, DEADLINE)

        # The gateway drops (TCP abort): the bot resumes, the slash command sent while it
        # was away is replayed, and alerts carry on.
        assert await fake.disconnect_gateway(None) == 1
        while_away = await fake.invoke_slash("subscriptions", user_id=world.alice.id,
                                             guild_id=world.guild.id)
        await fake.wait_for(lambda: fake.gateway.stats.resumes == 1, DEADLINE)
        await while_away.wait_message(DEADLINE)
        assert "Flax Typhoon" in while_away.content

        feed_server.add("/wire.xml", rss(clock, ITEMS))  # the feed gains a second story
        assert await run_secbrief(env, log, "ingest", "--once", "--feed", feed) == 0
        await fake.wait_for(lambda: len(dms()) >= 2, DEADLINE)
        # More rounds run before the canary's alert goes out; none may alert alice again.
        feed_server.add("/wire.xml", rss(clock, [*ITEMS, CANARY]))
        assert await run_secbrief(env, log, "ingest", "--once", "--feed", feed) == 0
        admin_dms = lambda: fake.sent_to_user(world.admin.id)  # noqa: E731
        await fake.wait_for(lambda: len(admin_dms()) >= 1, DEADLINE)
        await bot.stop()  # SIGTERM: a clean shutdown, not a crash
        assert bot.proc.returncode == 0
        assert "SIGTERM received: shutting down" in log.read_text()

    titles = [m["embeds"][0]["title"] for m in dms()]
    assert titles == [ITEMS[0][0], ITEMS[1][0]], log.read_text()[-3000:]
    assert [m["embeds"][0]["title"] for m in admin_dms()] == [CANARY[0]]
    assert all(m["content"] == "**New on what you follow** — 1 story" for m in dms())
    assert fake.gateway.stats.identifies == 1  # resumed, never re-identified
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


async def test_kill_9_mid_fan_out_then_restart_delivers_each_story_once(
    settings: Settings, clock: Clock, tmp_path: Path,
):
    """40 subscribers, two stories each, through a fake allowing 20 requests/s: the bot is
    killed with SIGKILL part-way through and restarted. Every subscriber ends with exactly
    one message holding both stories: the ledger skips what was recorded, and the nonce
    makes Discord drop the one message that may have been accepted but not recorded.
    (The remaining duplicate window — a restart later than Discord's nonce window — is
    shown in test_bot_delivery.test_crash_after_discord_accepted_does_not_post_twice.)"""
    subscribers = 40
    async with FakeDiscord(global_limit=20, message_limit=(5, 5.0)) as fake:
        # Ten messages go through, then the next ones are held unanswered: the kill comes
        # while the bot has messages in flight, whatever the machine's load.
        hold = fake.hold("POST /channels/*/messages", after=subscribers // 4)
        world = build_world(fake)
        users = [fake.add_user(f"sub{n}") for n in range(subscribers)]
        async with open_services(settings, clock=clock) as services:
            for user in users:
                caller = Caller(user_id=user.id, guild_id=world.guild.id)
                await services.subscriptions.subscribe(caller, "keyword", "ransomware")
            await AlertService(services.store, clock=clock).plan_round()  # the cursor
            await add_story(services, "Ransomware gang hits port operator",
                            "A ransomware gang encrypted a port operator's booking systems.")
            await add_story(services, "Ransomware negotiators under scrutiny",
                            "Regulators asked whether ransomware negotiators break sanctions.")

        env = bot_env(fake, settings, SECBRIEF_SEND_RATE="20")
        log = tmp_path / "bot.log"

        def delivered() -> int:
            return sum(1 for u in users if fake.sent_to_user(u.id))

        async def until(predicate: Callable[[], bool], what: str) -> None:
            try:
                await fake.wait_for(predicate, DEADLINE)
            except TimeoutError:
                raise AssertionError(
                    f"not within {DEADLINE:.0f} s: {what} (delivered {delivered()}, held "
                    f"{hold.waiting}/{hold.held_total}, answered {hold.answered}, nonce hits "
                    f"{fake.nonce_hits})\n{log.read_text()[-3000:]}") from None

        async with bot_process(env, log) as first:
            await fake.wait_until_connected(DEADLINE)
            await until(lambda: hold.waiting >= 1 and delivered() >= 1, "a send held")
            await first.kill()
        at_kill = delivered()
        assert 0 < at_kill <= subscribers // 4, "the kill came too late to be mid fan-out"
        # What the dead bot had in flight reaches Discord now (accepted, never recorded):
        # the restart sends those batches again with the same nonces, and they are dropped.
        hold.release()
        await until(lambda: hold.answered == hold.held_total, "held sends answered")
        accepted_after_kill = delivered() - at_kill

        async with bot_process(env, log):
            await until(lambda: delivered() == subscribers, "every subscriber delivered")
            await until(lambda: fake.gateway.stats.identifies == 2, "the restart connected")
            await until(lambda: fake.nonce_hits >= accepted_after_kill, "repeats dropped")
            await wait_for_ledger(settings.database, {"sent": subscribers})

        for user in users:
            (message,) = fake.sent_to_user(user.id)
            assert [e["title"] for e in message["embeds"]] == [
                "Ransomware gang hits port operator", "Ransomware negotiators under scrutiny"]
        assert fake.stats.by_status.get(500, 0) == 0
        assert await ledger_of(settings.database) == {"sent": subscribers}
        assert_nothing_pings(fake)
