"""What a reader sees: a small scenario run by the real bot against the fake Discord (an
alert DM, a scheduled digest briefing with its thread), and a renderer that turns the
payloads the fake recorded into text the way Discord's client shows them — masked links
as their text, timestamps in UTC and relative to the scenario's clock, bold and escapes
resolved, embeds as a bar with their colour, buttons in brackets.

`bench/render_examples.py` prints it for the README; `test_reader_view.py` checks it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config import Settings
from tests.conftest import Clock
from tests.e2e.conftest import add_story, build_world, running_bot
from tests.fake_discord import FakeDiscord

NOW = datetime(2025, 1, 7, 7, 0, tzinfo=UTC)

COLOUR_NAMES = {0xE5484D: "red", 0x8E4EC6: "purple", 0xF76B15: "orange", 0x11806A: "teal"}

# (source, title, text, hours before NOW): written for this project.
ARTICLES = [
    ("Wire A", "APT29 phishes diplomats with fake wine tastings",
     "APT29 sent embassy staff invitations to wine tastings that delivered a loader, a "
     "security firm reported on Tuesday. The invitations came from a compromised "
     "ministry mailbox and carried a link to a ZIP archive. Opening the archive ran "
     "a loader that the firm calls WINELOADER, which fetched a second stage from a "
     "hacked wine-club site.", 5),
    ("Wire A", "Browser update fixes actively exploited sandbox escape",
     "A browser maker shipped an emergency update for CVE-2025-40111, a sandbox escape "
     "that it said was exploited in the wild in targeted attacks. The flaw lets a "
     "malicious page break out of the renderer sandbox. Users should restart the browser "
     "to apply version 131.0.2.", 3),
    ("Wire B", "Browser update fixes actively exploited sandbox escape",
     "A browser maker shipped an emergency update for CVE-2025-40111, a sandbox escape "
     "that it said was exploited in the wild in targeted attacks. The flaw lets a "
     "malicious page break out of the renderer sandbox. Users should restart the browser "
     "to apply version 131.0.2.", 2),
    ("Wire C", "Quillbyte exposes customer records in open bucket",
     "Quillbyte left a storage bucket with customer names and invoices readable by anyone "
     "for three months before a researcher reported it. The company said it closed the "
     "bucket within an hour of the report and is notifying 41,000 customers.", 8),
]


@dataclass
class Recorded:
    alert: dict[str, Any]  # the alert DM
    header: dict[str, Any]  # the digest's header in the channel
    cards: list[dict[str, Any]]  # the messages in its thread
    thread_name: str


async def run_scenario(settings: Settings) -> Recorded:
    """Alice follows Cozy Bear; an admin schedules a briefing; four articles arrive (two
    outlets on one story); one alert round, one briefing round."""
    clock = Clock(NOW)
    async with FakeDiscord(message_limit=(5, 1.0)) as fake:
        world = build_world(fake)
        dev = settings.model_copy(update={"dev_guild_id": world.guild.id})
        async with running_bot(fake, dev, clock=clock) as bot:
            follow = await fake.invoke_slash(
                "subscribe", user_id=world.alice.id, guild_id=world.guild.id,
                channel_id=world.general.id, options={"kind": "actor", "value": "Cozy Bear"})
            await follow.wait_message()
            schedule = await fake.invoke_slash(
                "briefing", subcommand="schedule", user_id=world.admin.id,
                guild_id=world.guild.id, channel_id=world.general.id,
                options={"channel": world.news, "time": "08:00", "timezone": "Europe/Paris"})
            await schedule.wait_message()
            for n, (source, title, text, hours) in enumerate(ARTICLES):
                await add_story(bot.services, title, text, source=source,
                                url=f"https://{source.split()[-1].lower()}.example/{n}",
                                published_at=NOW - timedelta(hours=hours))
            await bot.alerts.plan_round()
            await bot.deliverer.send_pending()
            await bot.briefing_round(world.news.id)
        (alert,) = fake.sent_to_user(world.alice.id)
        (header,) = fake.channel_messages(world.news.id)
        (thread,) = fake.threads_of(world.news.id)
        return Recorded(alert, header, fake.channel_messages(thread.id), thread.name or "")


# -- rendering ------------------------------------------------------------------------------

_STAMP = re.compile(r"<t:(\d+):([fR])>")
_LINK = re.compile(r"\[((?:\\.|[^\]\\])*)\]\((\S+?)\)")


def relative(then: datetime, now: datetime) -> str:
    hours = round((now - then).total_seconds() / 3600)
    if hours >= 48:
        return f"{hours // 24} days ago"
    return "now" if hours == 0 else f"{hours} hour{'s' if hours != 1 else ''} ago"


def shown(text: str, now: datetime = NOW) -> str:
    """Markdown as Discord's client renders it, to plain text."""
    def stamp(match: re.Match[str]) -> str:
        when = datetime.fromtimestamp(int(match.group(1)), UTC)
        return (f"{when.day} {when:%B %Y %H:%M}" if match.group(2) == "f"
                else relative(when, now))

    text = _STAMP.sub(stamp, text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = text.replace("**", "")
    return re.sub(r"\\(.)", r"\1", text)


def render_embed(embed: dict[str, Any], now: datetime = NOW) -> list[str]:
    colour = COLOUR_NAMES.get(embed.get("color") or 0, f"#{embed.get('color') or 0:06X}")
    lines = [f"({colour} bar)"]
    if author := (embed.get("author") or {}).get("name"):
        lines.append(author)
    if title := embed.get("title"):
        lines.append(shown(title, now) + ("  ↗" if embed.get("url") else ""))
    lines += shown(embed.get("description") or "", now).split("\n")
    for field in embed.get("fields") or []:
        lines.append(f"{field['name']}: {shown(field['value'], now)}")
    if footer := (embed.get("footer") or {}).get("text"):
        lines.append(footer)
    return ["┃ " + line if line else "┃" for line in lines]


def render_message(message: dict[str, Any], now: datetime = NOW) -> str:
    lines = [shown(message["content"], now)] if message.get("content") else []
    for embed in message.get("embeds") or []:
        lines += render_embed(embed, now)
    buttons = [f"[{b['label']}]" for row in message.get("components") or []
               for b in row["components"]]
    if buttons:
        lines.append(" ".join(buttons))
    return "\n".join(lines)


def render_examples(recorded: Recorded, now: datetime = NOW) -> str:
    """The three examples for the README: the digest header, one card of its thread, one
    alert."""
    first_card = {**recorded.cards[0], "embeds": recorded.cards[0]["embeds"][:1],
                  "components": [{"components": [
                      b for row in recorded.cards[0]["components"]
                      for b in row["components"]][:1]}]}
    return "\n\n".join([
        "— the briefing's header, in the channel —",
        render_message(recorded.header, now),
        f"— the thread under it, “{recorded.thread_name}”: the first card —",
        render_message(first_card, now),
        "— an alert, by DM —",
        render_message(recorded.alert, now),
    ])
