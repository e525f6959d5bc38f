"""The /actor and /search pagers, unknown-actor replies and autocomplete, through the
real bot against the fake Discord: pages edit their own message, each message keeps
its own place, buttons go grey when the pager expires, a typo gets a private reply
with "Did you mean" buttons."""

from __future__ import annotations

import random
from datetime import timedelta

import cogs._common
from tests.e2e.conftest import World, add_story
from tests.fake_discord import FakeInteraction
from tests.feedserver import make_rss

FLAX = ("Flax Typhoon, a China-based group, compromised routers and IoT devices to build "
        "a botnet, the FBI said.")
UPDATE_MESSAGE = 7


async def slash(world: World, name: str, user: int | None = None, **kwargs) -> FakeInteraction:
    kwargs.setdefault("guild_id", world.guild.id)
    kwargs.setdefault("channel_id", world.general.id)
    interaction = await world.fake.invoke_slash(name, user_id=user or world.alice.id, **kwargs)
    await interaction.wait_message()
    return interaction


def buttons_of(message: dict) -> dict[str, dict]:
    return {b["label"]: b for row in message.get("components") or []
            for b in row["components"]}


async def press(world: World, message: dict, label: str, user: int) -> FakeInteraction:
    pressed = await world.fake.press_button(message, buttons_of(message)[label]["custom_id"],
                                            user_id=user)
    await pressed.wait_response()
    return pressed


def stories_field(message: dict) -> dict:
    (embed,) = message["embeds"]
    return next(f for f in embed["fields"] if f["name"].startswith(("Stories", "Recent")))


async def add_flax_stories(bot, count: int) -> None:
    for n in range(count):
        await add_story(bot.services, f"Flax Typhoon campaign update {n}: routers {n * 11}",
                        f"{FLAX} Update number {n} concerned {n * 13} more devices.",
                        published_at=bot.services.clock() - timedelta(hours=n))


async def test_actor_pager_edits_its_own_message_and_keeps_its_own_place(world, bot):
    await add_flax_stories(bot, 12)
    first = await slash(world, "actor", options={"name": "Flax Typhoon"})
    second = await slash(world, "actor", options={"name": "Ethereal Panda"})
    a, b = first.message, second.message
    assert not first.ephemeral and a["id"] != b["id"]
    assert buttons_of(a)["Newer stories"]["disabled"]

    older = await press(world, a, "Older stories", world.alice.id)
    assert older.response_type == UPDATE_MESSAGE and older.message["id"] == a["id"]
    assert stories_field(a)["name"] == "Stories 6–10 of 12"
    assert not buttons_of(a)["Newer stories"].get("disabled")  # on the public message
    assert a["embeds"][0]["image"]["url"] == "attachment://weekly.png"  # the chart stays
    await press(world, a, "Older stories", world.alice.id)
    assert stories_field(a)["name"] == "Stories 11–12 of 12"
    assert buttons_of(a)["Older stories"]["disabled"]

    # The second message has its own place: its first click shows stories 6–10.
    await press(world, b, "Older stories", world.alice.id)
    assert stories_field(b)["name"] == "Stories 6–10 of 12"
    await press(world, a, "Newer stories", world.alice.id)
    assert stories_field(a)["name"] == "Stories 6–10 of 12"

    # Someone else's click is refused privately and moves nothing.
    stranger = await press(world, a, "Older stories", world.admin.id)
    assert stranger.ephemeral and "yourself" in stranger.content
    assert stories_field(a)["name"] == "Stories 6–10 of 12"
    posted = [m["id"] for m in world.fake.channel_messages(world.general.id)]
    assert posted == [a["id"], b["id"]]  # the two replies, no message per click


async def test_pager_buttons_are_disabled_when_it_expires(world, bot, monkeypatch):
    monkeypatch.setattr(cogs._common, "PAGER_TIMEOUT", 0.5)
    await add_flax_stories(bot, 7)
    shown = await slash(world, "actor", options={"name": "Flax Typhoon"})
    message = shown.message
    assert not buttons_of(message)["Older stories"].get("disabled")
    await world.fake.wait_for(
        lambda: all(b.get("disabled") for b in buttons_of(message).values()), timeout=10)
    assert stories_field(message)["name"] == "Stories 1–5 of 7"  # content untouched


async def test_search_pages_newest_first_with_a_count(world, bot):
    ages = list(range(12))
    random.Random(3).shuffle(ages)
    for n, age in enumerate(ages):
        await add_story(bot.services, f"Harbour {n} ransomware outbreak at plant {n * 7}",
                        f"A ransomware crew encrypted {n + 4} servers at plant {n * 7} in "
                        f"harbour district {n}.",
                        published_at=bot.services.clock() - timedelta(days=age))
    found = await slash(world, "search", options={"query": "ransomware"})
    assert found.ephemeral
    (embed,) = found.embeds
    assert embed["title"] == "12 results for “ransomware”"
    assert embed["footer"]["text"].startswith("Results 1–5 of 12")
    message = found.message
    pages = [embed["description"]]
    older = await press(world, message, "Older results", world.alice.id)
    assert older.response_type == UPDATE_MESSAGE and older.message["id"] == message["id"]
    pages.append(message["embeds"][0]["description"])
    await press(world, message, "Older results", world.alice.id)
    pages.append(message["embeds"][0]["description"])
    assert message["embeds"][0]["footer"]["text"].startswith("Results 11–12 of 12")
    assert buttons_of(message)["Older results"]["disabled"]
    # newest first across the pages: plant numbers in order of ascending age
    order = [f"plant {ages.index(age) * 7}" for age in range(12)]
    text = "\n".join(pages)
    positions = [text.index(f"at {plant}](") for plant in order]  # in the title's link
    assert positions == sorted(positions)


async def test_unknown_actor_is_a_private_reply_with_did_you_mean_buttons(world, bot):
    typo = await slash(world, "actor", options={"name": "Flax Typhon"})
    assert typo.ephemeral and "No actor called" in typo.content
    labels = list(buttons_of(typo.message))
    assert labels and labels[0] == "Flax Typhoon" and len(labels) <= 5
    chosen = await press(world, typo.message, "Flax Typhoon", world.alice.id)
    await chosen.wait_message()
    assert chosen.embeds[0]["title"].startswith("Flax Typhoon")


async def test_organisation_named_in_stories_says_with_whom_and_suggests_no_junk(world, bot):
    await add_story(bot.services, "Treasury sanctions Integrity Technology Group",
                    "The Treasury sanctioned Integrity Technology Group, a Beijing firm, "
                    "for supporting Flax Typhoon's botnet of hijacked routers.")
    reply = await slash(world, "actor", options={"name": "Integrity Technology Group"})
    assert reply.ephemeral
    assert "appears in 1 stored story, with Flax Typhoon" in reply.content
    assert "`/search Integrity Technology Group`" in reply.content
    assert "\\`" not in reply.content  # the hint's backticks are not escaped
    assert not any("Group" in name for name in buttons_of(reply.message))


async def test_actor_autocomplete_matches_word_starts_in_natural_order(world, bot):
    async def complete(text: str) -> list[str]:
        it = await world.fake.invoke_autocomplete("actor", "name", text,
                                                  user_id=world.alice.id,
                                                  guild_id=world.guild.id)
        await it.wait_response()
        return [c["value"] for c in it.choices]

    typh = await complete("typh")
    assert "Flax Typhoon" in typh and len(typh) <= 25
    apt = await complete("apt")
    assert len(apt) == 25
    wanted = [name for name in ("APT1", "APT3", "APT10", "APT29") if name in apt]
    assert [apt.index(n) for n in wanted] == sorted(apt.index(n) for n in wanted)
    assert apt.index("APT3") < apt.index("APT10")


async def test_feeds_add_checks_the_url_and_status_says_pending_then_retry(world, bot,
                                                                        feed_server):
    store = bot.services.store
    feed_server.add("/gone.xml", "not here", status=404)
    gone = await slash(world, "feeds", world.admin.id, subcommand="add",
                       options={"url": feed_server.url("/gone.xml")})
    assert gone.ephemeral and "HTTP 404" in gone.content and "Nothing was added" in gone.content
    assert await store.feeds.list_for_guild(world.guild.id) == []

    feed_server.add("/feed.xml", make_rss(2))
    await slash(world, "feeds", world.admin.id, subcommand="add",
                options={"url": feed_server.url("/feed.xml")})
    pending = await slash(world, "feeds", subcommand="status")
    assert "pending" in pending.embeds[0]["fields"][0]["value"]

    (feed,) = await store.feeds.list_for_guild(world.guild.id)
    now = bot.services.clock()
    retry = now + timedelta(minutes=40)
    await store.feeds.record_failure(feed.id, now=now, error="HTTP 503", next_poll_at=retry,
                                     disable=False)
    failing = await slash(world, "feeds", subcommand="status")
    value = failing.embeds[0]["fields"][0]["value"]
    assert value.startswith("failing") and f"next try <t:{int(retry.timestamp())}:R>" in value


async def test_unsubscribe_suggestions_follow_the_kind_and_an_alias_names_the_actor(world,
                                                                                   bot):
    await slash(world, "subscribe", options={"kind": "actor", "value": "Cozy Bear"})
    await slash(world, "subscribe", options={"kind": "keyword", "value": "bear market"})

    async def own(kind: str, typed: str) -> list[str]:
        it = await world.fake.invoke_autocomplete("unsubscribe", "value", typed,
                                                  options={"kind": kind},
                                                  user_id=world.alice.id,
                                                  guild_id=world.guild.id)
        await it.wait_response()
        return [c["value"] for c in it.choices]

    assert await own("actor", "") == ["APT29"]
    assert await own("keyword", "") == ["bear market"]
    assert await own("cve", "") == []
    gone = await slash(world, "unsubscribe", options={"kind": "actor", "value": "Cozy Bear"})
    assert gone.ephemeral
    assert gone.content == "Removed: actor **APT29** (you typed Cozy Bear)."
    assert [s.kind for s in await bot.services.store.subscriptions.for_owner(
        world.alice.id, guild_id=world.guild.id)] == ["keyword"]
