"""Every payload the bot sends, with hostile strings in every untrusted field, renders
as plain text on Discord.

The real bot (in-process, discord.py against the fake Discord) is driven through each
surface — story embeds (briefing preview, scheduled briefing, alerts), the actor embed
and its pager, lookups, /cve (hostile KEV and NVD text), search, subscriptions, feed
list and status, briefing status, autocomplete, buttons and error replies — with
stories, sources, feed titles, errors and user input built from
tests/fixtures/hostile_strings.txt. Then every message the
fake recorded (channel posts, DMs, interaction responses and followups) is walked field
by field and checked against the model of Discord's rendering in
tests/render/discord_model.py. Nothing bypasses the check: it reads what discord.py
actually sent.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from bot.render.sanitise import safe_url
from bot.services.caller import Caller
from storage.vuln_models import CvssScore, KevEntry
from tests.e2e.conftest import STORIES, World, add_story, everything_posted
from tests.fake_discord import FakeInteraction
from tests.feedserver import make_rss
from tests.render.discord_model import plain_violations, violations
from tests.render.hostile import combined, hostile_strings

STORY_URL = "https://news.example/hostile/"
# Our own markup, allowed where the bot writes it: bold labels, and the bold around a
# subscription's (sanitised) name; channel mentions and timestamps it builds from ids
# and dates; feed URLs it shows as <url> (validated).
OWN_BOLD = re.compile(r"\*\*((?:\\.|[^*\\\n])+?)\*\*")
OWN = [r"<#\d{15,20}>", r"<t:\d+:[tTdDfFR]>", r"<https?://[^\s<>()]+>"]


def own_links(target: str) -> bool:
    return target.startswith(STORY_URL) and safe_url(target) == target


def check_markdown(where: str, text: str | None, problems: list[str]) -> None:
    if not text:
        return
    stripped = OWN_BOLD.sub(lambda m: f"XX{m.group(1)}XX", text)
    for problem in violations(stripped, own=OWN, link_ok=own_links):
        problems.append(f"{where}: {problem}\n    in {text[:300]!r}")


def check_plain(where: str, text: str | None, problems: list[str]) -> None:
    for problem in plain_violations(text or ""):
        problems.append(f"{where}: {problem}\n    in {(text or '')[:300]!r}")


def walk_message(message: dict[str, Any], problems: list[str]) -> int:
    """Check every text field of one message; returns how many were checked."""
    where = f"message {message.get('id')}"
    fields = 0
    check_markdown(f"{where} content", message.get("content"), problems)
    fields += 1
    for n, embed in enumerate(message.get("embeds") or []):
        at = f"{where} embed {n}"
        check_markdown(f"{at} title", embed.get("title"), problems)
        check_markdown(f"{at} description", embed.get("description"), problems)
        for field in embed.get("fields") or []:
            check_markdown(f"{at} field name", field.get("name"), problems)
            check_markdown(f"{at} field value", field.get("value"), problems)
            fields += 2
        check_plain(f"{at} footer", (embed.get("footer") or {}).get("text"), problems)
        check_plain(f"{at} author", (embed.get("author") or {}).get("name"), problems)
        if embed.get("url"):
            assert safe_url(embed["url"]) == embed["url"], embed["url"]
        fields += 5
    for row in message.get("components") or []:
        for item in row.get("components") or []:
            check_plain(f"{where} button", item.get("label"), problems)
            if item.get("url"):  # a Read link button: only a checked URL
                assert safe_url(item["url"]) == item["url"], item["url"]
            for option in item.get("options") or []:
                check_plain(f"{where} select option", option.get("label"), problems)
                check_plain(f"{where} select option", option.get("description"), problems)
            fields += 1
    return fields


async def slash(world: World, name: str, user: int | None = None, **kwargs) -> FakeInteraction:
    kwargs.setdefault("guild_id", world.guild.id)
    kwargs.setdefault("channel_id", world.general.id)
    interaction = await world.fake.invoke_slash(name, user_id=user or world.alice.id, **kwargs)
    await interaction.wait_message()
    return interaction


async def complete(world: World, command: str, option: str, current: str,
                   **kwargs) -> list[dict[str, Any]]:
    interaction = await world.fake.invoke_autocomplete(
        command, option, current, user_id=kwargs.pop("user_id", world.alice.id),
        guild_id=world.guild.id, **kwargs)
    await interaction.wait_response()
    return interaction.choices


async def add_hostile_stories(bot, count: int) -> list[int]:
    """``count`` stories naming Flax Typhoon, then the conftest's distinct stories, each
    with hostile strings in its title, source, body (so key points) and commentary."""
    strings = hostile_strings()
    stories = []
    bases = [(f"Flax Typhoon report {n}", f"Flax Typhoon ran botnet number {n}.")
             for n in range(count)] + STORIES[:4]
    for n, (title, text) in enumerate(bases):
        sentences = " ".join(
            f"{text} Item {n}.{k} says {strings[(n * 5 + k) % len(strings)]} about "
            f"{100 + n * 10 + k} devices." for k in range(6)
        )
        stories.append(await add_story(
            bot.services, f"{title} {combined(parts=3, offset=n)}"[:400], sentences,
            url=f"{STORY_URL}{n}",
            source=f"Wire {n} @everyone {strings[(n * 3) % len(strings)]}"[:120],
        ))
    return stories


HOSTILE_CVE = "CVE-2024-3400"


async def add_hostile_cve(bot) -> None:
    """A CVE whose KEV entry and NVD description are hostile, named by a story with a
    hostile title (so its card carries a badge and /cve lists it)."""
    strings, vulns, now = hostile_strings(), bot.services.store.vulns, bot.services.clock()
    await vulns.replace_kev([KevEntry(
        cve=HOSTILE_CVE, vendor=strings[0][:80], product=strings[1][:80],
        name=combined(parts=3, offset=2), date_added=date(2024, 4, 12),
        due_date=date(2024, 4, 19), required_action=combined(parts=3, offset=9),
        known_ransomware=True, description=combined(parts=6, offset=4))], now=now)
    await vulns.replace_epss([(HOSTILE_CVE, 0.94, 0.99)], score_date=date(2026, 11, 30),
                             now=now)
    await vulns.upsert_cvss([CvssScore(HOSTILE_CVE, 10.0, "CRITICAL",
                                       combined(parts=2, offset=6)[:200])], now=now)
    await add_story(bot.services, f"{HOSTILE_CVE} exploited {combined(parts=2, offset=8)}"[:300],
                    f"Attackers exploit {HOSTILE_CVE} in firewalls; {strings[3]} said the "
                    "vendor shipped hotfixes for every release.", url=f"{STORY_URL}cve",
                    source=f"Wire CVE {strings[5]}"[:120])


async def test_every_field_the_bot_sends_renders_as_plain_text(world, bot, feed_server):
    fake, store, services = world.fake, bot.services.store, bot.services
    hostile_value = "[x](http://evil.example/s) **@everyone** <@&1> `a` ||b||"
    admin = world.admin.id

    # Follow before the stories arrive, so the alert round has something to send.
    followed = await slash(world, "subscribe", options={"kind": "actor", "value": "Flax Typhoon"})
    await slash(world, "subscribe", options={"kind": "keyword", "value": hostile_value})
    await services.subscriptions.subscribe(
        Caller(user_id=admin, guild_id=world.guild.id, can_manage_guild=True),
        "actor", "Ethereal Panda", channel_id=world.alerts.id)
    clock = services.clock
    await add_hostile_stories(bot, 7)
    await add_hostile_cve(bot)
    # A row an older version stored, before anything stripped control characters.
    await store.db.execute(
        "UPDATE articles SET title = title || ?, source = source || ? WHERE url = ?",
        (" \x1b[2J\x1b]0;owned\x07 \x9b31m", " \x1b[2J\u202e", f"{STORY_URL}0"),
    )

    # Story embeds: alerts (DM with buttons, and a channel), a briefing preview, a
    # scheduled briefing.
    await bot.alerts.plan_round()
    await bot.deliverer.send_pending()
    assert fake.sent_to_user(world.alice.id) and fake.channel_messages(world.alerts.id)
    preview = await slash(world, "briefing", subcommand="now")
    assert preview.embeds
    await slash(world, "briefing", admin, subcommand="schedule", options={
        "channel": world.news, "time": "08:30", "timezone": "Europe/Paris"})
    await bot.briefing_round(world.news.id)
    (header,) = fake.channel_messages(world.news.id)  # the digest's header
    (thread,) = fake.threads_of(world.news.id)
    assert header["embeds"] and fake.channel_messages(thread.id)  # its cards, walked too

    # The actor embed, its pager, lookups of hostile names, autocomplete.
    shown = await slash(world, "actor", options={"name": "Flax Typhoon"})
    buttons = {b["label"]: b for row in shown.components for b in row["components"]}
    older = await fake.press_button(shown, buttons["Older stories"]["custom_id"],
                                    user_id=world.alice.id)
    await older.wait_message()
    assert older.embeds
    for name in ("[Flax](http://evil.example/a) @everyone", "<@123> **Typhoon**",
                 "# APT\n> 29 ||x||"):
        await slash(world, "actor", options={"name": name[:100]})
    choices = [
        *await complete(world, "actor", "name", "fla"),
        *await complete(world, "actor", "name", "[x](http://e.example) <@1> @here"),
        *await complete(world, "unsubscribe", "value", "", options={"kind": "keyword"}),
        *await complete(world, "briefing", "timezone", "europe/", subcommand="schedule",
                        user_id=admin),
    ]
    assert choices

    # Search: hits with hostile titles, sources and snippets; a hostile query.
    found = await slash(world, "search", options={"query": "Flax Typhoon routers"})
    assert found.embeds and found.embeds[0].get("description")
    for query in ("[a](http://evil.example) **b** <@1>", combined(parts=2)[:200]):
        await slash(world, "search", options={"query": query})

    # /cve: hostile KEV and NVD text, a hostile story title; hostile IDs refused with an
    # echo; autocomplete.
    await slash(world, "cve", options={"id": HOSTILE_CVE.lower()})
    for bad in ("CVE-[1](http://evil.example) @everyone", "<@1> **CVE-2024-1**"):
        await slash(world, "cve", options={"id": bad})
    choices += await complete(world, "cve", "id", "cve-2")

    # Subscriptions and error replies that echo the user's input.
    await slash(world, "subscriptions")
    await slash(world, "unsubscribe", options={"kind": "keyword", "value": hostile_value})
    for kind, value in (("cve", "CVE-[1](http://evil.example) @everyone"),
                        ("actor", "<@&99999999999999999999999> **Nobody**")):
        await slash(world, "subscribe", options={"kind": kind, "value": value})

    # Feeds: a hostile title and last error; a hostile URL refused with an echo.
    feed_server.add("/hostile.xml", make_rss(2))  # /feeds add fetches it once
    feed_url = feed_server.url("/hostile.xml")
    await slash(world, "feeds", admin, subcommand="add", options={"url": feed_url})
    (feed,) = await store.feeds.list_for_guild(world.guild.id)
    now = clock()
    await store.feeds.record_success(feed.id, now=now, next_poll_at=now + timedelta(hours=1),
                                     etag=None, last_modified=None,
                                     title=combined(parts=3, offset=11))
    await store.feeds.record_failure(feed.id, now=now, error=combined(parts=3, offset=5),
                                     next_poll_at=now + timedelta(hours=1), disable=False)
    await slash(world, "feeds", subcommand="status")
    await slash(world, "feeds", subcommand="list")
    choices += await complete(world, "feeds", "url", "", subcommand="remove", user_id=admin)
    for url in ("not a url [x](http://evil.example) @everyone", "http://x.example/<@1>"):
        await slash(world, "feeds", admin, subcommand="add", options={"url": url})

    # Briefing status with a hostile pause reason.
    await store.schedules.pause(world.news.id, combined(parts=3, offset=17))
    await slash(world, "briefing", subcommand="status")

    # The walk: every message the fake recorded, every field.
    problems: list[str] = []
    messages = everything_posted(fake)
    checked = sum(walk_message(message, problems) for message in messages)
    for choice in choices:
        check_plain("autocomplete choice", choice["name"], problems)
    assert not problems, "\n".join(problems[:20])
    assert len(messages) >= 20 and checked >= 100, (len(messages), checked)
    # The hostile text did reach the payloads (as text), so the walk checked something.
    everything = "\n".join(str(m.get("embeds")) + str(m.get("content")) for m in messages)
    assert "evil.example" in everything and "@\u200beveryone" in everything
    assert "\x1b" not in everything and "\x9b" not in everything
    assert followed.content and "Flax Typhoon" in followed.content
    cve_titles = [e["title"] for m in messages for e in m.get("embeds") or []
                  if (e.get("title") or "").startswith(f"{HOSTILE_CVE} — ")]
    assert cve_titles and "evil.example" in cve_titles[0]  # the /cve embed was walked
