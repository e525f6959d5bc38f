"""The /actor weekly chart as the fake Discord receives it: a transparent PNG when the
chart's weeks have mentions, and no attachment and no image at all when every week is
zero (the actor's stories are older than the chart)."""

from __future__ import annotations

import io
from datetime import timedelta

from tests.e2e.conftest import add_story


async def actor(world, name: str):
    shown = await world.fake.invoke_slash("actor", user_id=world.alice.id,
                                          guild_id=world.guild.id, channel_id=world.general.id,
                                          options={"name": name})
    await shown.wait_message()
    return shown


async def test_chart_is_attached_transparent_and_skipped_when_every_week_is_zero(world, bot):
    from matplotlib import image

    old = bot.services.clock() - timedelta(days=400)
    for n in range(6):
        await add_story(bot.services, f"Volt Typhoon archive story {n} about pipelines {n * 7}",
                        f"Volt Typhoon kept access to pipeline operator {n} for months.",
                        published_at=old - timedelta(days=n))
    shown = await actor(world, "Volt Typhoon")
    (embed,) = shown.embeds
    assert embed["title"].startswith("Volt Typhoon")
    assert "image" not in embed and shown.message["attachments"] == []
    buttons = {b["label"]: b for row in shown.components for b in row["components"]}
    older = await world.fake.press_button(shown, buttons["Older stories"]["custom_id"],
                                          user_id=world.alice.id)
    await older.wait_message()
    assert "image" not in older.embeds[0] and older.message["attachments"] == []

    await add_story(bot.services, "Volt Typhoon returns to a water utility",
                    "Volt Typhoon kept access to a water utility's network for nine months.")
    shown = await actor(world, "Volt Typhoon")
    assert shown.embeds[0]["image"]["url"] == "attachment://weekly.png"
    (attachment,) = shown.message["attachments"]
    png = world.fake.attachments[int(attachment["id"])]
    pixels = image.imread(io.BytesIO(png), format="png")
    assert pixels.shape[2] == 4 and pixels[0, 0, 3] == 0  # see-through on either theme
