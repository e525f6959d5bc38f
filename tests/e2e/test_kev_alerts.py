"""A CVE entering KEV, end to end: the real bot against the fake Discord alerts a CVE
subscriber and a vendor subscriber by DM and a watching server in its briefing channel,
exactly once — the next round, a reload and a restart send nothing more; and /watchlist
refuses a member without Manage Server, changing nothing."""

from __future__ import annotations

from datetime import date

from bot.services.caller import Caller
from storage.vuln_models import KevEntry
from tests.conftest import Clock
from tests.e2e.conftest import World, running_bot
from tests.snapshot import snapshot

OLD = KevEntry("CVE-2021-44228", "Apache", "Log4j2", "Apache Log4j2 RCE",
               date(2021, 12, 10), date(2021, 12, 24), "Apply updates.", True)
PANOS = KevEntry("CVE-2024-3400", "Palo Alto Networks", "PAN-OS",
                 "Palo Alto Networks PAN-OS command injection", date(2024, 4, 12),
                 date(2024, 4, 19), "Apply mitigations per vendor instructions.", False)


async def slash(world: World, user: int, subcommand: str, **options):
    interaction = await world.fake.invoke_slash(
        "watchlist", user_id=user, guild_id=world.guild.id, channel_id=world.general.id,
        subcommand=subcommand, options=options)
    await interaction.wait_message()
    return interaction


async def test_kev_addition_alerts_each_follower_once(world: World, settings, clock: Clock):
    fake = world.fake
    dev = settings.model_copy(update={"dev_guild_id": world.guild.id})
    async with running_bot(fake, dev, clock=clock) as bot:
        services = bot.services
        await services.store.vulns.replace_kev([OLD], now=clock())
        await bot.alert_round()  # the first look: nobody
        alice = Caller(user_id=world.alice.id, guild_id=world.guild.id)
        owner = Caller(user_id=world.owner.id, guild_id=world.guild.id)
        await services.subscriptions.subscribe(alice, "cve", "CVE-2024-3400")
        await services.subscriptions.subscribe(owner, "vendor", "palo alto")

        before = await snapshot(services.store)
        refused = await slash(world, world.alice.id, "add", kind="vendor", name="Palo Alto")
        assert refused.ephemeral and "needs the Manage Server permission" in refused.content
        assert await snapshot(services.store) == before
        added = await slash(world, world.admin.id, "add", kind="product", name="pan-os")
        assert added.ephemeral and "Now watching product **PAN-OS**" in added.content
        listed = await slash(world, world.alice.id, "list")
        assert "product: **PAN-OS**" in listed.content
        await services.store.schedules.upsert(
            channel_id=world.news.id, guild_id=world.guild.id, local_time="08:00",
            timezone="UTC", created_by=world.admin.id, now=clock())

        await services.store.vulns.replace_kev([OLD, PANOS], now=clock())
        await bot.alert_round()
        (dm,) = fake.sent_to_user(world.alice.id)
        assert dm["content"] == "**Newly exploited** on what you follow — 1 CVE"
        (card,) = dm["embeds"]
        assert card["title"] == "Newly exploited: CVE-2024-3400 (Palo Alto Networks PAN-OS)"
        assert card["description"].startswith("**Matched:** cve: CVE-2024-3400\n")
        (owner_dm,) = fake.sent_to_user(world.owner.id)
        assert owner_dm["embeds"][0]["description"].startswith(
            "**Matched:** vendor: Palo Alto Networks — you follow palo alto\n")
        (post,) = fake.channel_messages(world.news.id)
        assert post["embeds"][0]["description"].startswith(
            "**Matched:** product PAN-OS — your watchlist\n")
        assert not post.get("components")  # a channel alert has no personal buttons

        await bot.alert_round()
        await services.store.vulns.replace_kev([OLD, PANOS], now=clock())
        await bot.alert_round()

    async with running_bot(fake, dev, clock=clock) as bot:  # a restart, same store
        await bot.alert_round()
    assert len(fake.sent_to_user(world.alice.id)) == 1
    assert len(fake.sent_to_user(world.owner.id)) == 1
    assert len(fake.channel_messages(world.news.id)) == 1
