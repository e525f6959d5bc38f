"""A scheduled briefing as a digest, through the real bot and the fake Discord: one
header message (period, counts, numbered headlines linking to the stories), the cards
in a thread started from it; without Create Public Threads the cards follow in the
channel and the admins are told once."""

from __future__ import annotations

import re

from tests.conftest import Clock
from tests.e2e.conftest import STORIES, World, add_story
from tests.fake_discord.state import CREATE_PUBLIC_THREADS


async def schedule_news(world: World) -> None:
    done = await world.fake.invoke_slash(
        "briefing", subcommand="schedule", user_id=world.admin.id, guild_id=world.guild.id,
        channel_id=world.general.id,
        options={"channel": world.news, "time": "07:00", "timezone": "UTC"})
    await done.wait_message()
    assert "gets the daily briefing" in done.content, done.content


def deny_threads(world: World) -> dict:
    overwrite = {"id": world.fake.bot_user.id, "type": 1, "allow": 0,
                 "deny": CREATE_PUBLIC_THREADS}
    world.news.overwrites.append(overwrite)
    return overwrite


async def test_scheduled_briefing_posts_a_header_and_the_cards_in_its_thread(world, bot):
    fake, store = world.fake, bot.services.store
    await schedule_news(world)
    urls = {}
    for n, (title, text) in enumerate(STORIES):
        urls[title] = f"https://news.example/digest/{n}"
        await add_story(bot.services, title, text, url=urls[title],
                        source="Wire B" if n % 3 else "Wire A")
    await bot.briefing_round(world.news.id)

    (header,) = fake.channel_messages(world.news.id)
    assert header["content"] == "**Daily briefing** — 12 stories"
    (head,) = header["embeds"]
    assert head["title"] == "12 stories from 2 sources"
    lines = head["description"].split("\n")
    assert re.fullmatch(r"\*\*Covers\*\* <t:\d+:f> → <t:\d+:f>", lines[0]), lines[0]
    numbered = re.findall(r"^\*\*(\d+)\.\*\* \[(.+?)\]\((\S+?)\) — (Wire [AB])$",
                          head["description"], re.MULTILINE)
    assert [int(n) for n, *_ in numbered] == list(range(1, 11))
    assert lines[-1] == "…and 2 more stories below."

    (thread,) = fake.threads_of(world.news.id)
    assert thread.id == int(header["id"]) and thread.name.startswith("Briefing ")
    assert header["thread"]["id"] == str(thread.id)
    cards = fake.channel_messages(thread.id)
    assert [m["content"] for m in cards] == ["Stories 1–10 of 12", "Stories 11–12 of 12"]
    shown = [e for m in cards for e in m["embeds"]]
    # The header's headlines are the first ten cards, in the same order, same links.
    assert [(t, u) for _, t, u, _ in numbered] == [(e["title"], e["url"]) for e in shown[:10]]
    assert {e["url"] for e in shown} == set(urls.values())
    for embed in shown:
        assert embed["author"]["name"] in ("Wire A", "Wire B")
        assert re.search(r"<t:\d+:R>", embed["description"])
        assert all(f["value"] != "—" for f in embed.get("fields", []))
    read = [b for m in cards for row in m["components"] for b in row["components"]]
    assert [b["url"] for b in read] == [e["url"] for e in shown]
    assert all(b["style"] == 5 and b["label"].startswith("Read: ") for b in read)
    assert [m["nonce"][-2:] for m in [header, *cards]] == ["p0", "p1", "p2"]

    batch = await store.deliveries.get(1)
    assert batch is not None and batch.status == "sent" and batch.header_message_id == thread.id
    assert batch.cards_channel_id == thread.id
    assert fake.sent_to_user(world.owner.id) == []  # nothing to tell the admins
    assert fake.unhandled == []


async def test_without_thread_permission_cards_follow_in_the_channel_and_admins_hear_once(
    world, bot, clock: Clock,
):
    fake = world.fake
    await schedule_news(world)
    overwrite = deny_threads(world)
    for title, text in STORIES[:3]:
        await add_story(bot.services, title, text)
    await bot.briefing_round(world.news.id)

    header, cards = fake.channel_messages(world.news.id)
    assert header["content"] == "**Daily briefing** — 3 stories"
    assert cards["content"] == "Stories 1–3 of 3" and len(cards["embeds"]) == 3
    assert fake.threads_of(world.news.id) == []
    (notice,) = fake.sent_to_user(world.owner.id)  # the fake guild has no system channel
    assert f"<#{world.news.id}> cannot start a thread" in notice["content"]
    assert "Create Public Threads" in notice["content"]
    assert await bot.services.store.deliveries.counts() == {"sent": 1}

    clock.advance(days=1)  # the next day: still no threads, and no second notice
    await add_story(bot.services, *STORIES[3])
    await bot.briefing_round(world.news.id)
    assert len(fake.channel_messages(world.news.id)) == 4
    assert len(fake.sent_to_user(world.owner.id)) == 1

    world.news.overwrites.remove(overwrite)  # fixed: the next digest has its thread
    clock.advance(days=1)
    await add_story(bot.services, *STORIES[4])
    await bot.briefing_round(world.news.id)
    assert len(fake.channel_messages(world.news.id)) == 5
    (thread,) = fake.threads_of(world.news.id)
    assert [e["title"] for m in fake.channel_messages(thread.id) for e in m["embeds"]] == [
        STORIES[4][0]]

    deny_threads(world)  # lost again later: worth telling again, once
    for day in range(2):
        clock.advance(days=1)
        await add_story(bot.services, *STORIES[5 + day])
        await bot.briefing_round(world.news.id)
    assert len(fake.sent_to_user(world.owner.id)) == 2


async def test_briefing_preview_is_a_private_digest(world, bot):
    fake = world.fake
    for title, text in STORIES[:2]:
        await add_story(bot.services, title, text)
    preview = await fake.invoke_slash("briefing", subcommand="now", user_id=world.alice.id,
                                      guild_id=world.guild.id, channel_id=world.general.id)
    await fake.wait_for(lambda: len(preview.followups) == 2)
    header, cards = preview.followups
    assert header["content"] == "**Briefing preview** — 2 stories"
    assert header["embeds"][0]["title"] == "2 stories from 1 source"
    assert sorted(e["title"] for e in cards["embeds"]) == sorted(t for t, _ in STORIES[:2])
    assert all(m["flags"] & 64 for m in preview.followups)  # ephemeral, no thread
    assert fake.threads == {} and fake.channel_messages(world.general.id) == []


async def test_a_briefing_an_older_version_half_sent_is_finished_as_it_began(world, bot):
    """A pending batch with parts sent but no header recorded (cards only, in the
    channel, as before digests): the rest follows in the channel, no header, no thread."""
    fake, store = world.fake, bot.services.store
    await schedule_news(world)
    ids = [await add_story(bot.services, title, text) for title, text in STORIES]
    batch_id = await store.deliveries.plan("briefing", "channel", world.news.id, ids,
                                           now=bot.services.clock())
    await store.deliveries.mark_progress(batch_id, 1)  # its first 10 cards went out
    await bot.deliverer.send_pending()
    (rest,) = fake.channel_messages(world.news.id)
    assert len(rest["embeds"]) == 2 and rest["nonce"].endswith("p1")
    assert fake.threads == {} and await store.deliveries.counts() == {"sent": 1}

