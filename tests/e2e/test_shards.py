"""Sharding against the fake Discord: a bot process started with SECBRIEF_SHARD_COUNT=2
and SECBRIEF_SHARD_IDS=0 identifies as shard 0 of 2, is told only about shard 0's
guilds, schedules only their briefings and sends only their channel alerts (DMs it
sends, each batch once); the process with shard 1 sends the rest."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.sharding import ShardPlan, shard_of
from tests.conftest import Clock, make_settings
from tests.e2e.conftest import add_story, running_bot
from tests.fake_discord import FakeDiscord

# Guild ids whose shard (of 2) is known: (id >> 22) % 2.
GUILD_ON_0, GUILD_ON_1 = 1_000 << 22, 1_001 << 22


def test_shard_plan_owns_the_guilds_discord_puts_on_its_shards():
    assert shard_of(GUILD_ON_0, 2) == 0 and shard_of(GUILD_ON_1, 2) == 1
    plan = ShardPlan.of(2, [0])
    assert plan.owns(GUILD_ON_0) and not plan.owns(GUILD_ON_1)
    assert plan.owns(0)  # the operator's guild 0: shard 0
    assert ShardPlan.of(2, [0, 1]).everything and ShardPlan().owns(GUILD_ON_1)
    assert ShardPlan.of(2, None).everything
    assert ShardPlan.of(4, [1, 3]).describe() == "shards 1, 3 of 4"


def test_shard_settings_are_checked(tmp_path: Path):
    db = tmp_path / "x.db"
    settings = make_settings(db, SECBRIEF_SHARD_COUNT=4, SECBRIEF_SHARD_IDS=" 3, 1,1")
    assert settings.shard_count == 4 and settings.shard_id_list == [1, 3]
    assert make_settings(db).shard_id_list is None
    for count, ids, says in [(None, "0", "needs SECBRIEF_SHARD_COUNT"),
                             (2, "2", "must be below"), (2, "a,b", "comma-separated")]:
        extra = {"SECBRIEF_SHARD_IDS": ids}
        if count is not None:
            extra["SECBRIEF_SHARD_COUNT"] = count
        try:
            make_settings(db, **extra)
        except ValueError as exc:
            assert says in str(exc), exc
        else:
            raise AssertionError(f"accepted {extra}")


def sharded(settings: Settings, shard: int) -> Settings:
    return make_settings(settings.database, SECBRIEF_FEEDS=settings.feeds_file,
                         SECBRIEF_SHARD_COUNT=2, SECBRIEF_SHARD_IDS=str(shard))


async def test_each_shard_process_serves_its_own_guilds(settings: Settings, clock: Clock):
    async with FakeDiscord(shards=2, message_limit=(5, 1.0)) as fake:
        guilds = [fake.add_guild(f"g{n}", guild_id=gid, channels=("news", "alerts"))
                  for n, gid in enumerate((GUILD_ON_0, GUILD_ON_1))]
        news = [fake.text_channels(g.id)[0] for g in guilds]
        alerts = [fake.text_channels(g.id)[1] for g in guilds]
        reader = fake.add_user("reader")
        for guild in guilds:
            fake.add_member(guild.id, reader.id)

        async with running_bot(fake, sharded(settings, 0), clock=clock) as bot:
            assert fake.gateway.stats.last_identify["shard"] == [0, 2]
            assert [g.id for g in bot.guilds] == [GUILD_ON_0]
            store = bot.services.store
            for guild, channel in zip(guilds, news, strict=True):
                await store.schedules.upsert(channel_id=channel.id, guild_id=guild.id,
                                             local_time="07:00", timezone="UTC",
                                             created_by=reader.id, now=clock())
                await bot.reschedule(channel.id)
            # shard 1's briefing is not this process's to schedule, nor to run
            assert bot.jobs.next_briefing(news[0].id) is not None
            assert bot.jobs.next_briefing(news[1].id) is None
            for guild, channel in zip(guilds, alerts, strict=True):
                await store.subscriptions.add(
                    guild_id=guild.id, owner_id=reader.id, target_kind="channel",
                    target_id=channel.id, kind="keyword", value="ransomware",
                    display="ransomware", now=clock())
            await store.subscriptions.add(
                guild_id=GUILD_ON_1, owner_id=reader.id, target_kind="user",
                target_id=reader.id, kind="keyword", value="ransomware",
                display="ransomware", now=clock())
            await add_story(bot.services, "Ransomware gang hits port operator",
                            "A ransomware gang encrypted a port operator's booking systems.")
            await bot.alerts.plan_round()
            stats = await bot.deliverer.send_pending()
            assert stats.sent == 2  # its guild's channel, and the DM (any process's)
            assert len(fake.channel_messages(alerts[0].id)) == 1
            assert fake.channel_messages(alerts[1].id) == []
            assert len(fake.sent_to_user(reader.id)) == 1
            await bot.briefing_round(news[1].id)
            assert await store.deliveries.counts() == {"sent": 2, "pending": 1}

        async with running_bot(fake, sharded(settings, 1), clock=clock) as bot:
            assert fake.gateway.stats.last_identify["shard"] == [1, 2]
            assert [g.id for g in bot.guilds] == [GUILD_ON_1]
            assert bot.jobs.next_briefing(news[1].id) is not None
            assert bot.jobs.next_briefing(news[0].id) is None
            await bot.deliverer.send_pending()
            assert len(fake.channel_messages(alerts[1].id)) == 1
            assert len(fake.sent_to_user(reader.id)) == 1  # the DM went once
            assert await bot.services.store.deliveries.counts() == {"sent": 3}


async def test_fake_gateway_hands_each_shard_its_guilds_and_interactions(
    settings: Settings, clock: Clock,
):
    async with FakeDiscord(shards=2) as fake:
        guilds = [fake.add_guild(f"g{n}", guild_id=gid)
                  for n, gid in enumerate((GUILD_ON_0, GUILD_ON_1))]
        user = fake.add_user("u")
        fake.add_member(guilds[1].id, user.id)
        bots = []
        async with running_bot(fake, sharded(settings, 0), clock=clock) as first, \
                running_bot(fake, sharded(settings, 1), clock=clock) as second:
            bots = [first, second]
            assert [[g.id for g in b.guilds] for b in bots] == [[GUILD_ON_0], [GUILD_ON_1]]
            # a command in shard 1's guild reaches shard 1's session only
            it = await fake.invoke_slash("subscriptions", user_id=user.id,
                                         guild_id=guilds[1].id)
            await it.wait_message(10)
            assert it.ephemeral
        sessions = {tuple(s.shard): s for s in fake.gateway.sessions.values()}
        seen = {key: [e["d"].get("id") for e in s.log if e["t"] == "GUILD_CREATE"]
                for key, s in sessions.items()}
        assert seen == {(0, 2): [str(GUILD_ON_0)], (1, 2): [str(GUILD_ON_1)]}
        interactions = {key: sum(e["t"] == "INTERACTION_CREATE" for e in s.log)
                        for key, s in sessions.items()}
        assert interactions == {(0, 2): 0, (1, 2): 1}
