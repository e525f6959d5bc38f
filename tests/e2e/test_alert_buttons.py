"""Alert DMs say why and carry buttons that survive a restart: the real bot, twice over
one store, against the fake Discord. Unsubscribe removes the presser's own subscription
(anyone else is refused and nothing changes); Mute holds alerts back for 24 hours on the
injectable clock."""

from __future__ import annotations

from bot.services.caller import Caller
from tests.conftest import Clock
from tests.e2e.conftest import World, add_story, running_bot
from tests.snapshot import snapshot

APT29 = ("APT29 phishes diplomats with fake wine tastings",
         "APT29 sent embassy staff invitations to wine tastings that delivered a loader, a "
         "security firm reported on Tuesday.")
RANSOM = [
    ("Hospital chain hit by ransomware, surgeries postponed",
     "A ransomware crew encrypted scheduling systems at a regional hospital chain."),
    ("School district ransomware attack closes classes",
     "A ransomware attack on a school district's servers closed classes for a week."),
    ("Ransomware gang wipes logistics firm's backups",
     "A ransomware gang deleted a logistics firm's backups before encrypting its servers."),
]


def buttons(message: dict) -> dict[str, str]:
    """label -> custom_id of every button on a message (Read links have none)."""
    return {b["label"]: b["custom_id"] for row in message["components"]
            for b in row["components"] if "custom_id" in b}


async def press(world: World, message: dict, custom_id: str, user) -> tuple[str, bool]:
    clicked = await world.fake.press_button(message, custom_id, user_id=user.id)
    await clicked.wait_message()
    return clicked.content or "", clicked.ephemeral


async def alert_round(bot) -> None:
    await bot.alerts.plan_round()
    await bot.deliverer.send_pending()


async def test_alert_says_why_and_its_buttons_work_after_a_restart(world, settings,
                                                                   clock: Clock):
    fake, alice, admin = world.fake, world.alice, world.admin
    dev = settings.model_copy(update={"dev_guild_id": world.guild.id})
    caller = Caller(user_id=alice.id, guild_id=world.guild.id)
    async with running_bot(fake, dev, clock=clock) as bot:
        subs = bot.services.subscriptions
        cozy = (await subs.subscribe(caller, "actor", "Cozy Bear")).subscription
        await subs.subscribe(caller, "keyword", "ransomware")
        await add_story(bot.services, *APT29)
        await alert_round(bot)
        (dm,) = fake.sent_to_user(alice.id)
        (embed,) = dm["embeds"]
        assert embed["title"] == APT29[0]
        assert embed["description"].startswith(
            "**Matched:** actor APT29 — you follow Cozy Bear\n\n")
        assert buttons(dm) == {"Unsubscribe from APT29": f"sb:unsub:{cozy.id}",
                               "Mute alerts for 24 h": f"sb:mute:{alice.id}"}

    async with running_bot(fake, dev, clock=clock) as bot:  # a new process, same store
        store = bot.services.store
        before = await snapshot(store)
        text, ephemeral = await press(world, dm, f"sb:unsub:{cozy.id}", admin)
        assert ephemeral and "someone else" in text
        text, ephemeral = await press(world, dm, f"sb:mute:{alice.id}", admin)
        assert ephemeral and "someone else" in text
        assert await snapshot(store) == before  # refused: nothing changed

        text, ephemeral = await press(world, dm, f"sb:unsub:{cozy.id}", alice)
        assert ephemeral and text == "Unsubscribed: you no longer follow actor **APT29**."
        assert [s.kind for s in await store.subscriptions.for_owner(alice.id)] == ["keyword"]

        text, ephemeral = await press(world, dm, f"sb:mute:{alice.id}", alice)
        assert ephemeral and text.startswith("Alerts muted until <t:")
        await add_story(bot.services, *RANSOM[0])
        await alert_round(bot)
        assert len(fake.sent_to_user(alice.id)) == 1  # muted: nothing new

        clock.advance(hours=23)
        await add_story(bot.services, *RANSOM[1])
        await alert_round(bot)
        assert len(fake.sent_to_user(alice.id)) == 1  # still muted

        clock.advance(hours=1, seconds=1)
        await add_story(bot.services, *RANSOM[2])
        await alert_round(bot)
        latest = fake.sent_to_user(alice.id)[-1]
        assert len(fake.sent_to_user(alice.id)) == 2
        assert latest["embeds"][0]["title"] == RANSOM[2][0]
        assert latest["embeds"][0]["description"].startswith("**Matched:** keyword: ransomware")
        counts = await store.deliveries.counts()
        assert counts == {"sent": 2, "refused": 2}  # the muted rounds, kept in the ledger
