"""A digest whose thread the bot may start but not post in (the channel denies Send
Messages in Threads: Discord makes the thread, then answers 403 / 50013 to the first card):
the cards follow in the channel, each once, the admins are told once, naming the missing
permission, and the unused thread is deleted when the bot has Manage Threads (else left
and logged once). A restart after the fallback — the bot killed with SIGKILL while a card
in the channel, or the thread's deletion, was in flight — posts no card a second time."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.config import Settings
from tests.conftest import Clock
from tests.e2e.conftest import (
    STORIES,
    World,
    add_story,
    assert_nothing_pings,
    bot_env,
    bot_process,
    build_world,
    schedule_overdue_briefing,
)
from tests.e2e.test_bot_process import DEADLINE, wait_for_ledger
from tests.e2e.test_digest_briefings import schedule_news
from tests.e2e.test_digest_restart import batch_of
from tests.fake_discord import FakeDiscord
from tests.fake_discord.state import MANAGE_THREADS, SEND_MESSAGES_IN_THREADS

NOTICE = "can start its thread but may not post in it"


def card_titles(messages: list[dict]) -> list[str]:
    return sorted(e["title"] for m in messages[1:] for e in m["embeds"])


def thread_posts(fake: FakeDiscord, thread_id: int) -> list[int]:
    """Statuses of every post the bot tried in the thread."""
    return [r.status for r in fake.stats.requests
            if r.method == "POST" and r.path == f"/channels/{thread_id}/messages"]


@pytest.mark.parametrize("may_delete", [True, False], ids=["manage-threads", "no-manage"])
async def test_a_thread_refusing_the_cards_gives_way_to_the_channel(
    world: World, bot, clock: Clock, caplog: pytest.LogCaptureFixture, may_delete: bool,
):
    fake, store = world.fake, bot.services.store
    await schedule_news(world)
    fake.set_bot_overwrite(world.news.id, deny=SEND_MESSAGES_IN_THREADS,
                           allow=MANAGE_THREADS if may_delete else 0)
    for title, text in STORIES[:3]:
        await add_story(bot.services, title, text)
    caplog.set_level(logging.INFO, logger="bot.delivery")
    await bot.briefing_round(world.news.id)

    header, cards = fake.channel_messages(world.news.id)
    assert header["content"] == "**Daily briefing** — 3 stories"
    assert cards["content"] == "Stories 1–3 of 3"
    assert card_titles([header, cards]) == sorted(t for t, _ in STORIES[:3])
    thread_id = int(header["id"])  # a thread started from a message has its id
    assert thread_posts(fake, thread_id) == [403]  # tried once, refused, not retried
    if may_delete:
        assert fake.threads_of(world.news.id) == []
        assert [t.id for t in fake.deleted_threads] == [thread_id]
        assert "thread" not in header
    else:
        (thread,) = fake.threads_of(world.news.id)
        assert thread.id == thread_id and fake.channel_messages(thread.id) == []
        assert fake.deleted_threads == []
    (notice,) = fake.sent_to_user(world.owner.id)
    assert f"<#{world.news.id}> {NOTICE}" in notice["content"]
    assert "Give the bot Send Messages in Threads there" in notice["content"]
    assert "Create Public Threads" not in notice["content"]
    batch = await store.deliveries.get(1)
    assert batch is not None and batch.status == "sent"
    assert batch.header_message_id == thread_id and batch.cards_channel_id == world.news.id
    schedule = await store.schedules.get(world.news.id)
    assert schedule is not None and not schedule.paused  # a fallback, not a refusal

    clock.advance(days=1)  # the next day: the same, and no second notice
    await add_story(bot.services, *STORIES[3])
    await bot.briefing_round(world.news.id)
    assert [m["content"] for m in fake.channel_messages(world.news.id)[2:]] == [
        "**Daily briefing** — 1 story", "Story 1 of 1"]
    assert len(fake.sent_to_user(world.owner.id)) == 1
    assert len(fake.threads_of(world.news.id)) == (0 if may_delete else 2)
    left = [r for r in caplog.records if "cannot delete the briefing thread" in r.message]
    assert len(left) == (0 if may_delete else 1)  # logged once, not every day

    fake.set_bot_overwrite(world.news.id)  # fixed: the next digest's cards are in its thread
    clock.advance(days=1)
    await add_story(bot.services, *STORIES[4])
    await bot.briefing_round(world.news.id)
    header = fake.channel_messages(world.news.id)[-1]
    assert header["content"] == "**Daily briefing** — 1 story"
    assert card_titles([header, *fake.channel_messages(int(header["id"]))]) == [STORIES[4][0]]

    fake.set_bot_overwrite(world.news.id, deny=SEND_MESSAGES_IN_THREADS)  # lost again:
    clock.advance(days=1)  # worth telling again, once
    await add_story(bot.services, *STORIES[5])
    await bot.briefing_round(world.news.id)
    assert len(fake.sent_to_user(world.owner.id)) == 2
    assert await store.deliveries.counts() == {"sent": 4}
    assert fake.unhandled == []


async def test_a_thread_refusing_its_second_card_message_keeps_the_first(
    world: World, bot,
):
    """Sends in the thread taken away between the first card message and the second: the
    second follows in the channel; the thread, with the first in it, stays."""
    fake = world.fake
    await schedule_news(world)
    for title, text in STORIES:
        await add_story(bot.services, title, text)
    hold = fake.hold("POST /channels/*/messages", after=2)  # header, first card message
    round_ = asyncio.create_task(bot.briefing_round(world.news.id))
    await fake.wait_for(lambda: hold.waiting >= 1, DEADLINE)
    fake.set_bot_overwrite(world.news.id, deny=SEND_MESSAGES_IN_THREADS)
    hold.release()
    await asyncio.wait_for(round_, DEADLINE)

    header, rest = fake.channel_messages(world.news.id)
    (thread,) = fake.threads_of(world.news.id)
    (first,) = fake.channel_messages(thread.id)
    assert [first["content"], rest["content"]] == ["Stories 1–10 of 12", "Stories 11–12 of 12"]
    assert card_titles([header, first, rest]) == sorted(t for t, _ in STORIES)
    assert fake.deleted_threads == []
    assert NOTICE in fake.sent_to_user(world.owner.id)[0]["content"]
    batch = await bot.services.store.deliveries.get(1)
    assert batch is not None and batch.status == "sent" and batch.sent_parts == 3
    assert batch.cards_channel_id == world.news.id


@pytest.mark.parametrize("held", ["card", "delete"], ids=["card-in-flight",
                                                           "delete-in-flight"])
async def test_kill_9_after_the_fallback_posts_no_card_twice(
    settings: Settings, clock: Clock, tmp_path: Path, held: str,
):
    """Killed while the first card message in the channel was in flight (Discord accepts
    it, the bot never records it: the restart sends it again with its nonce, Discord
    drops the repeat), or while the unused thread was being deleted (the restart is told
    404 by the deleted thread and goes to the channel): either way the channel ends with
    the header and each card message once, no thread and one notice."""
    async with FakeDiscord(interaction_timeout=DEADLINE) as fake:
        world = build_world(fake)
        fake.set_bot_overwrite(world.news.id, deny=SEND_MESSAGES_IN_THREADS,
                               allow=MANAGE_THREADS)
        hold = (fake.hold(f"POST /channels/{world.news.id}/messages", after=1)
                if held == "card" else fake.hold("DELETE /channels/*"))
        await schedule_overdue_briefing(settings, clock, world)

        env = bot_env(fake, settings)
        log = tmp_path / "bot.log"
        async with bot_process(env, log) as first:
            await fake.wait_until_connected(DEADLINE)
            await fake.wait_for(lambda: hold.waiting >= 1, DEADLINE)
            await first.kill()
        (header,) = fake.channel_messages(world.news.id)
        thread_id = int(header["id"])
        hold.release()  # what the dead bot had in flight reaches Discord now
        if held == "card":
            await fake.wait_for(
                lambda: len(fake.channel_messages(world.news.id)) == 2, DEADLINE)
        else:
            await fake.wait_for(lambda: fake.threads == {}, DEADLINE)
        before = len(fake.channel_messages(world.news.id))

        async with bot_process(env, log):
            await wait_for_ledger(settings.database, {"sent": 1})

        messages = fake.channel_messages(world.news.id)
        assert [m["content"] for m in messages] == [
            "**Daily briefing** — 12 stories", "Stories 1–10 of 12", "Stories 11–12 of 12"]
        assert messages[0] is header
        assert card_titles(messages) == sorted(t for t, _ in STORIES)
        assert fake.threads == {} and [t.id for t in fake.deleted_threads] == [thread_id]
        assert thread_posts(fake, thread_id)[0] == 403
        if held == "card":
            assert before == 2 and fake.nonce_hits >= 1
        else:  # the restart's try in the deleted thread: 404, then the channel
            assert before == 1 and thread_posts(fake, thread_id) == [403, 404]
        (notice,) = fake.sent_to_user(world.owner.id)
        assert NOTICE in notice["content"]
        batch = await batch_of(settings.database)
        assert batch.status == "sent" and batch.cards_channel_id == world.news.id
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
        assert_nothing_pings(fake)
