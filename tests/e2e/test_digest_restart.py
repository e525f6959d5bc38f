"""`python -m bot run` killed with SIGKILL in the middle of a digest briefing, then
restarted: the digest carries on in the same thread, with one header, one thread and
each card message once — whether the kill came while a card message was in flight
(Discord accepts it, the bot never records it) or while the thread was being started
(Discord makes it, the bot never records it: the restart is told 160004 and uses it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from storage.store import Store
from tests.conftest import Clock
from tests.e2e.conftest import (
    STORIES,
    assert_nothing_pings,
    bot_env,
    bot_process,
    build_world,
    schedule_overdue_briefing,
)
from tests.e2e.test_bot_process import DEADLINE, wait_for_ledger
from tests.fake_discord import FakeDiscord


async def batch_of(db: Path | str):
    store = await Store.open(db)
    try:
        return await store.deliveries.get(1)
    finally:
        await store.close()


@pytest.mark.parametrize(("held", "after"), [
    ("POST /channels/*/messages", 2),  # header and the first cards through, then held
    ("POST /channels/*/messages/*/threads", 0),  # the header through, the thread held
], ids=["card-in-flight", "thread-in-flight"])
async def test_kill_9_mid_digest_resumes_in_the_same_thread(
    settings: Settings, clock: Clock, tmp_path: Path, held: str, after: int,
):
    async with FakeDiscord(interaction_timeout=DEADLINE) as fake:
        hold = fake.hold(held, after=after)
        world = build_world(fake)
        await schedule_overdue_briefing(settings, clock, world)

        env = bot_env(fake, settings)
        log = tmp_path / "bot.log"
        async with bot_process(env, log) as first:
            await fake.wait_until_connected(DEADLINE)
            await fake.wait_for(lambda: hold.waiting >= 1, DEADLINE)
            await first.kill()
        assert len(fake.channel_messages(world.news.id)) == 1  # the header, before the kill
        hold.release()  # what the dead bot had in flight reaches Discord now
        card_held = held.endswith("/messages")
        # Released is not yet handled: wait until the fake has stored what was in flight.
        await fake.wait_for(lambda: len(fake.threads) == 1 and len(
            fake.channel_messages(next(iter(fake.threads)))) == (2 if card_held else 0),
            DEADLINE)
        (thread,) = fake.threads_of(world.news.id)
        before = len(fake.channel_messages(thread.id))

        async with bot_process(env, log):
            await fake.wait_for(lambda: len(fake.channel_messages(thread.id)) >= 2, DEADLINE)
            await wait_for_ledger(settings.database, {"sent": 1})

        (header,) = fake.channel_messages(world.news.id)
        assert fake.threads_of(world.news.id) == [thread] and thread.id == int(header["id"])
        cards = fake.channel_messages(thread.id)
        assert [m["content"] for m in cards] == ["Stories 1–10 of 12", "Stories 11–12 of 12"]
        assert sorted(e["title"] for m in cards for e in m["embeds"]) == sorted(
            t for t, _ in STORIES)
        batch = await batch_of(settings.database)
        assert batch.cards_channel_id == thread.id and batch.header_message_id == thread.id
        if card_held:
            # The card message accepted after the kill was sent again with its nonce and
            # dropped by Discord.
            assert before == 2 and fake.nonce_hits >= 1
        else:
            assert before == 0  # the restart found the thread made before the kill
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
        assert_nothing_pings(fake)
