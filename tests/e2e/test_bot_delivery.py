"""Alert delivery through the real Deliverer and discord.py against the fake's faults:
429s, 5xx, closed DMs, deleted channels, untrusted text, and a crash between Discord
accepting a message and the ledger recording it."""

from __future__ import annotations

import asyncio

import pytest

from bot.ratelimit import RateLimiter
from bot.services.caller import Caller
from tests.conftest import Clock
from tests.e2e.conftest import STORIES, World, add_story, running_bot

SECOND = ("School district ransomware attack closes classes",
          "A ransomware attack on a school district's servers closed classes for a week.")
HOSTILE = ("@everyone <@&123456789012345678> ransomware crew leaks @here hospital files",
           "A ransomware crew leaked files stolen from a hospital group, @everyone was told.")


async def follow(bot, world: World, user, kind: str = "keyword", value: str = "ransomware",
                 channel=None) -> None:
    caller = Caller(user_id=user.id, guild_id=world.guild.id,
                    can_manage_guild=channel is not None)
    await bot.services.subscriptions.subscribe(caller, kind, value,
                                               channel_id=channel.id if channel else None)


async def alert(bot):
    """One alert round as the job runs it, returning the Deliverer's figures."""
    await bot.alerts.plan_round()
    return await bot.deliverer.send_pending()


async def batches(bot) -> dict[tuple[str, int], tuple[str, int, str | None]]:
    """(target kind, id) -> (status, attempts, last error) for every batch in the ledger."""
    async with bot.services.store.db.execute(
        "SELECT target_kind, target_id, status, attempts, last_error FROM delivery_batches"
    ) as cur:
        return {(r[0], r[1]): (r[2], r[3], r[4]) for r in await cur.fetchall()}


async def test_alerts_reach_dm_and_channel_once_and_never_ping(world, bot):
    fake = world.fake
    await follow(bot, world, world.alice)
    await follow(bot, world, world.admin, channel=world.alerts)
    await add_story(bot.services, *HOSTILE)
    stats = await alert(bot)
    assert (stats.sent, stats.messages, stats.refused, stats.failed) == (2, 2, 0, 0)
    for message in (fake.sent_to_user(world.alice.id) + fake.channel_messages(world.alerts.id)):
        assert message["content"] == "**New on what you follow** — 1 story"
        (embed,) = message["embeds"]
        assert "@everyone" not in embed["title"] and "@here" not in embed["title"]
        assert "@\u200beveryone" in embed["title"]
        assert message["allowed_mentions"] == {"parse": []}
        assert message["mention_everyone"] is False and message["mention_roles"] == []
        assert message["enforce_nonce"] and message["nonce"].startswith("sb")
    assert (await alert(bot)).messages == 0  # a second round: nothing planned, nothing sent
    assert len(fake.sent_to_user(world.alice.id)) == 1
    assert len(fake.channel_messages(world.alerts.id)) == 1


async def test_429s_are_retried_and_nothing_is_lost(world, bot):
    fake = world.fake
    users = [world.alice, world.admin, world.owner]
    for user in users:
        await follow(bot, world, user)
    await add_story(bot.services, *STORIES[1])
    # Six 429s in a row on one DM outlast discord.py's own five tries, so the Deliverer's
    # retry (same nonce) has to step in; a global 429 and a route 429 hit the others.
    alice_dm = fake.world.dm_channel(world.alice.id)
    fake.fail_next(alice_dm.id, 429, count=6, retry_after=0.05)
    fake.fail_next("POST /channels/*/messages", 429, count=1, retry_after=0.05, is_global=True)
    fake.fail_next("POST /channels/*/messages", 429, count=1, retry_after=0.05)
    stats = await alert(bot)
    assert fake.stats.by_status[429] == 8 and fake.stats.injected == 8
    assert stats.retried == 1 and (stats.sent, stats.failed) == (3, 0)
    for user in users:
        assert len(fake.sent_to_user(user.id)) == 1
    assert fake.nonce_hits == 0  # a 429 was never accepted, so no repeat reached Discord
    assert {status for status, _, _ in (await batches(bot)).values()} == {"sent"}


async def test_a_500_is_retried_by_discord_py_and_delivered(world, bot):
    await follow(bot, world, world.alice)
    await add_story(bot.services, *STORIES[1])
    world.fake.fail_next("POST /channels/*/messages", 500)
    stats = await alert(bot)
    assert stats.messages == 1 and len(world.fake.sent_to_user(world.alice.id)) == 1
    assert world.fake.stats.by_status[500] == 1


async def test_5xx_backs_off_then_is_recorded_as_failed(world, bot, clock: Clock):
    fake, deliverer = world.fake, bot.deliverer
    await follow(bot, world, world.alice)
    await follow(bot, world, world.admin, channel=world.alerts)
    await add_story(bot.services, *STORIES[1])
    fake.fail_next(world.alerts.id, 503, count=10_000)  # the channel's shard is down

    stats = await alert(bot)
    assert (stats.sent, stats.messages) == (1, 1)  # the DM went out regardless
    status, attempts, error = (await batches(bot))["channel", world.alerts.id]
    assert (status, attempts) == ("pending", 1) and "503" in error
    sends_per_round = deliverer.retries_now + 1
    assert fake.stats.count("POST", f"/channels/{world.alerts.id}/messages") == sends_per_round

    assert (await bot.deliverer.send_pending()).messages == 0  # backing off: not due yet
    for attempt in range(2, deliverer.max_attempts + 1):
        clock.advance(seconds=deliverer.round_backoff * 2 ** (attempt - 2) + 1)
        stats = await deliverer.send_pending()
        status, attempts, error = (await batches(bot))["channel", world.alerts.id]
        assert attempts == attempt
        assert status == ("failed" if attempt == deliverer.max_attempts else "pending")
    assert stats.failed == 1 and "503" in error
    assert fake.stats.count("POST", f"/channels/{world.alerts.id}/messages", status=503) == (
        deliverer.max_attempts * sends_per_round)
    clock.advance(days=1)
    assert (await deliverer.send_pending()).messages == 0  # failed for good: not retried
    assert await bot.services.store.deliveries.counts() == {"sent": 1, "failed": 1}
    assert fake.channel_messages(world.alerts.id) == []


async def test_closed_dms_and_deleted_channels_are_refused_others_delivered(world, bot):
    fake = world.fake
    closed = fake.add_user("closed-dms", dms_closed=True)
    fake.add_member(world.guild.id, closed.id)
    gone = fake.add_text_channel(world.guild.id, "gone")
    await follow(bot, world, closed)
    await follow(bot, world, world.alice)
    await follow(bot, world, world.admin, channel=gone)
    await add_story(bot.services, *STORIES[1])
    del fake.world.channels[gone.id]  # deleted after the subscription was made
    stats = await alert(bot)
    assert (stats.sent, stats.refused, stats.failed) == (1, 2, 0)
    ledger = await batches(bot)
    assert ledger["user", closed.id][0] == "refused" and "50007" in ledger["user", closed.id][2]
    assert ledger["channel", gone.id][0] == "refused" and "10003" in ledger["channel", gone.id][2]
    assert len(fake.sent_to_user(world.alice.id)) == 1 and fake.sent_to_user(closed.id) == []

    fake.set_dms_closed(closed.id, False)  # opened again: the next story reaches them
    await add_story(bot.services, *STORIES[9], published_at=None)
    await follow(bot, world, closed, value="utility")
    await alert(bot)
    assert fake.sent_to_user(closed.id)[0]["embeds"][0]["title"] == STORIES[9][0]


async def test_crash_after_discord_accepted_does_not_post_twice(world, bot, monkeypatch):
    """The duplicate window: Discord accepted a message but the process died before the
    ledger recorded it. The restart resends with the same nonce, which Discord answers with
    the existing message — as long as it comes within Discord's nonce window (a few
    minutes). A restart later than that posts the message a second time (shown below with
    the window shrunk to nothing); every other crash point is covered by the ledger alone."""
    fake, deliveries = world.fake, bot.services.store.deliveries
    await follow(bot, world, world.alice)
    await add_story(bot.services, *STORIES[1])
    await bot.alerts.plan_round()

    stuck = asyncio.Event()

    async def die_before_recording(batch_id: int, sent_parts: int) -> None:
        stuck.set()
        await asyncio.Event().wait()  # "killed" here: never returns

    with monkeypatch.context() as patch:
        patch.setattr(deliveries, "mark_progress", die_before_recording)
        round_ = asyncio.create_task(bot.deliverer.send_pending())
        await asyncio.wait_for(stuck.wait(), 5)
        round_.cancel()
        with pytest.raises(asyncio.CancelledError):
            await round_
    assert len(fake.sent_to_user(world.alice.id)) == 1
    assert (await batches(bot))["user", world.alice.id][0] == "pending"

    stats = await bot.deliverer.send_pending()  # the "restarted" round
    assert stats.sent == 1 and fake.nonce_hits == 1
    assert len(fake.sent_to_user(world.alice.id)) == 1
    assert (await batches(bot))["user", world.alice.id][0] == "sent"

    # Past the nonce window the same crash costs one duplicate.
    fake.nonce_window = 0.0
    await add_story(bot.services, *SECOND)
    await bot.alerts.plan_round()
    with monkeypatch.context() as patch:
        stuck.clear()
        patch.setattr(deliveries, "mark_progress", die_before_recording)
        round_ = asyncio.create_task(bot.deliverer.send_pending())
        await asyncio.wait_for(stuck.wait(), 5)
        round_.cancel()
        with pytest.raises(asyncio.CancelledError):
            await round_
    await bot.deliverer.send_pending()
    titles = [m["embeds"][0]["title"] for m in fake.sent_to_user(world.alice.id)]
    assert titles == [STORIES[1][0], SECOND[0], SECOND[0]]


async def test_every_request_of_a_fan_out_is_paced(world, bot):
    """DM channels are opened once per user (then cached) and every request, not only the
    sends, takes a slot from the global limiter: the fake's global limit never trips."""
    fake = world.fake
    fake.global_limiter.limit = 32  # per second
    bot.deliverer.limiter = RateLimiter(30)
    users = [fake.add_user(f"u{n}") for n in range(16)]
    for user in users:
        fake.add_member(world.guild.id, user.id)
        await follow(bot, world, user)
    await add_story(bot.services, *STORIES[1])
    stats = await alert(bot)
    assert stats.messages == 16 and fake.stats.global_429 == 0
    assert fake.stats.count("POST", "/users/@me/channels") == 16
    assert fake.stats.count("GET", "/users/[0-9]*") == 0  # no user fetches
    await add_story(bot.services, *SECOND)
    await alert(bot)
    assert fake.stats.count("POST", "/users/@me/channels") == 16  # cached DM channels
    assert all(len(fake.sent_to_user(u.id)) == 2 for u in users)


async def test_the_alert_job_runs_on_its_own(world, settings, clock: Clock):
    """No test-driven round here: the scheduler's alerts job must be running (APScheduler 3
    adds a job with next_run_time=None paused, which once left alerts unsent)."""
    quick = settings.model_copy(update={"dev_guild_id": world.guild.id, "alert_interval": 1})
    async with running_bot(world.fake, quick, clock=clock) as bot:
        job = bot.jobs.scheduler.get_job("alerts")
        assert job is not None and job.next_run_time is not None
        compact = bot.jobs.scheduler.get_job("compact")  # the daily search-index upkeep
        assert compact is not None and compact.next_run_time is not None
        await bot.compact_round()  # runs against the live store without error
        await follow(bot, world, world.alice)
        await add_story(bot.services, *STORIES[1])
        await world.fake.wait_for(lambda: len(world.fake.sent_to_user(world.alice.id)) == 1, 5)
