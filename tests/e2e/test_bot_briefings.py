"""Scheduled briefings: the cron trigger's instants, a briefing fired by the real
APScheduler job, catch-up after downtime (exactly once, however often READY comes), and
a channel that refuses the post (paused, admins told)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.scheduling import CATCH_UP, job_id, last_fire_before, missed, trigger_for
from storage.models import Schedule
from tests.conftest import Clock
from tests.e2e.conftest import STORIES, World, add_story, running_bot
from tests.fake_discord import SEND_MESSAGES

PARIS = ZoneInfo("Europe/Paris")


def paris_0830(**changes) -> Schedule:
    values = dict(channel_id=1, guild_id=2, local_time="08:30", timezone="Europe/Paris",
                  filters={}, created_by=3, last_sent_at=None, paused=False, paused_reason=None)
    return Schedule(**{**values, **changes})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- the trigger ----------------------------------------------------------------------------


def test_trigger_fires_at_local_time_across_daylight_saving():
    trigger = trigger_for(paris_0830())
    assert isinstance(trigger, CronTrigger) and str(trigger.timezone) == "Europe/Paris"
    winter = trigger.get_next_fire_time(None, utc(2025, 1, 6, 0, 0))
    summer = trigger.get_next_fire_time(None, utc(2025, 7, 1, 0, 0))
    assert winter == utc(2025, 1, 6, 7, 30)  # CET, UTC+1
    assert summer == utc(2025, 7, 1, 6, 30)  # CEST, UTC+2
    # The days the clocks change: 08:30 local is after the switch (02:00 / 03:00).
    assert trigger.get_next_fire_time(None, utc(2025, 3, 30, 0, 0)) == utc(2025, 3, 30, 6, 30)
    assert trigger.get_next_fire_time(None, utc(2025, 10, 26, 0, 0)) == utc(2025, 10, 26, 7, 30)
    assert winter.astimezone(PARIS).strftime("%H:%M") == "08:30"


def test_last_fire_before_and_missed():
    schedule = paris_0830()
    assert last_fire_before(schedule, utc(2025, 1, 6, 7, 29)) == utc(2025, 1, 5, 7, 30)
    assert last_fire_before(schedule, utc(2025, 1, 6, 7, 30)) == utc(2025, 1, 6, 7, 30)
    assert last_fire_before(schedule, utc(2025, 3, 30, 7, 0)) == utc(2025, 3, 30, 6, 30)

    due = utc(2025, 1, 6, 7, 30)
    assert missed(schedule, due + timedelta(minutes=40))  # down at 08:30, back at 09:10
    assert not missed(schedule, due + CATCH_UP + timedelta(minutes=1))  # too stale now
    assert not missed(schedule, due - timedelta(minutes=1))  # yesterday's was sent below
    sent_today = paris_0830(last_sent_at=due + timedelta(seconds=2))
    assert not missed(sent_today, due + timedelta(minutes=40))
    sent_yesterday = paris_0830(last_sent_at=due - timedelta(days=1))
    assert missed(sent_yesterday, due + timedelta(minutes=40))
    assert not missed(paris_0830(paused=True), due + timedelta(minutes=40))
    # A schedule made after today's time had nothing due yet: its first is tomorrow's.
    assert not missed(paris_0830(created_at=due + timedelta(minutes=5)),
                      due + timedelta(minutes=40))
    assert missed(paris_0830(created_at=due - timedelta(days=3)), due + timedelta(minutes=40))


# -- the bot ----------------------------------------------------------------------------------


async def schedule_news(world: World, bot, time: str = "08:30", zone: str = "Europe/Paris"):
    done = await world.fake.invoke_slash(
        "briefing", subcommand="schedule", user_id=world.admin.id, guild_id=world.guild.id,
        channel_id=world.general.id,
        options={"channel": world.news, "time": time, "timezone": zone})
    await done.wait_message()
    assert "gets the daily briefing" in done.content, done.content


async def test_briefing_job_posts_every_story_once_in_order(world, settings, clock: Clock):
    clock.now = utc(2025, 1, 6, 7, 30, 5)  # 08:30:05 in Paris
    dev = settings.model_copy(update={"dev_guild_id": world.guild.id})
    async with running_bot(world.fake, dev, clock=clock) as bot:
        await schedule_news(world, bot)
        for title, text in STORIES:
            await add_story(bot.services, title, text, published_at=clock.now - timedelta(hours=3))
        job = bot.jobs.scheduler.get_job(job_id(world.news.id))
        assert job.trigger.get_next_fire_time(None, clock.now - timedelta(minutes=1)) == utc(
            2025, 1, 6, 7, 30)
        assert job.next_run_time.astimezone(PARIS).strftime("%H:%M") == "08:30"

        job.modify(next_run_time=datetime.now(UTC))  # let APScheduler fire it now
        fake = world.fake
        await fake.wait_for(lambda: bool(fake.threads_of(world.news.id))
                            and len(fake.channel_messages(fake.threads_of(world.news.id)[0].id))
                            == 2)
        posted = world.fake.channel_messages(world.news.id)  # the digest's header only
        (thread,) = fake.threads_of(world.news.id)
        cards = fake.channel_messages(thread.id)
        assert [m["content"] for m in posted] == ["**Daily briefing** — 12 stories"]
        assert [m["content"] for m in cards] == ["Stories 1–10 of 12", "Stories 11–12 of 12"]
        titles = [e["title"] for m in cards for e in m["embeds"]]
        assert sorted(titles) == sorted(t for t, _ in STORIES)
        assert [len(m["embeds"]) for m in cards] == [10, 2]
        # The last card is in the fake before the job records the batch as sent.
        async with asyncio.timeout(10):
            while await bot.services.store.deliveries.counts() != {"sent": 1}:
                await asyncio.sleep(0.02)
        nonces = [m["nonce"] for m in posted + cards]  # one batch, a nonce per part
        assert nonces == [nonces[0][:-1] + str(n) for n in range(3)]
        assert nonces[0].endswith("p0")
        assert all(m["enforce_nonce"] for m in posted + cards)
        schedule = await bot.services.store.schedules.get(world.news.id)
        assert schedule.last_sent_at == clock.now
        assert job.next_run_time.astimezone(PARIS).strftime("%H:%M") == "08:30"

        clock.advance(days=1)  # the next day: only what is new since
        await add_story(bot.services, "Fresh story after the briefing about a CVE-2025-50001",
                        "A vendor fixed CVE-2025-50001 in its mail gateway on Tuesday.")
        await bot.briefing_round(world.news.id)
        assert len(posted) == 2 and posted[1]["content"] == "**Daily briefing** — 1 story"
        assert len(fake.threads_of(world.news.id)) == 2  # each digest has its own thread


async def test_missed_briefing_is_sent_once_after_downtime(world, settings, clock: Clock):
    dev = settings.model_copy(update={"dev_guild_id": world.guild.id})

    def posted() -> list[dict]:
        return world.fake.channel_messages(world.news.id)

    clock.now = utc(2025, 1, 6, 6, 0)  # 07:00 in Paris
    async with running_bot(world.fake, dev, clock=clock) as bot:
        await schedule_news(world, bot)
        for title, text in STORIES[:3]:
            await add_story(bot.services, title, text)
    # The bot is down from 07:00 to 09:10 Paris time: it misses the 08:30 briefing.
    clock.now = utc(2025, 1, 6, 8, 10)
    catch_ups = []
    async with running_bot(world.fake, dev, clock=clock) as bot:
        await world.fake.wait_for(lambda: len(posted()) == 1)
        assert posted()[0]["content"] == "**Daily briefing** — 3 stories"
        await bot.deliverer.send_pending()  # until the digest's cards are in (the lock)

        # READY again (a new session after an invalidated one): the catch-up runs again
        # and finds nothing to do.
        original = bot.catch_up_briefings

        async def counted() -> None:
            await original()
            catch_ups.append(clock.now)

        async def identify_now(shard_id: int | None, *, initial: bool = False) -> None:
            pass  # discord.py waits 5 s before re-identifying; nothing to test in that

        bot.catch_up_briefings = counted
        bot.before_identify_hook = identify_now
        await world.fake.invalidate_session()
        await world.fake.wait_for(lambda: len(catch_ups) == 1)
        assert world.fake.gateway.stats.identifies == 3
    async with running_bot(world.fake, dev, clock=clock):  # and a plain restart
        await world.fake.wait_for(lambda: world.fake.gateway.stats.identifies == 4)
    assert len(posted()) == 1


async def test_refused_channel_pauses_the_schedule_and_tells_the_owner(world, bot, clock):
    fake, store = world.fake, bot.services.store
    await schedule_news(world, bot, time="07:00", zone="UTC")
    await add_story(bot.services, *STORIES[0])
    world.news.overwrites.append(  # someone took Send Messages from the bot there
        {"id": fake.bot_user.id, "type": 1, "allow": 0, "deny": SEND_MESSAGES})
    await bot.briefing_round(world.news.id)

    schedule = await store.schedules.get(world.news.id)
    assert schedule.paused and "50013" in schedule.paused_reason
    assert bot.jobs.next_briefing(world.news.id) is None
    assert await store.deliveries.counts() == {"refused": 1}
    assert fake.channel_messages(world.news.id) == []
    (notice,) = fake.sent_to_user(world.owner.id)  # the fake guild has no system channel
    assert f"<#{world.news.id}> is paused" in notice["content"]
    status = await fake.invoke_slash("briefing", subcommand="status", user_id=world.alice.id,
                                     guild_id=world.guild.id)
    await status.wait_message()
    assert "paused: channel refused" in status.content

    world.news.overwrites.clear()  # fixed; scheduling again unpauses it
    await schedule_news(world, bot, time="07:00", zone="UTC")
    assert bot.jobs.next_briefing(world.news.id) is not None
    clock.advance(minutes=5)
    await add_story(bot.services, *STORIES[1])
    await bot.briefing_round(world.news.id)
    (header,) = fake.channel_messages(world.news.id)
    assert header["content"] == "**Daily briefing** — 1 story"
    (thread,) = fake.threads_of(world.news.id)
    assert thread.id == int(header["id"])  # started from the header
    (card,) = fake.channel_messages(thread.id)
    assert [e["title"] for e in card["embeds"]] == [STORIES[1][0]]
