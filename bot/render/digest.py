"""A briefing as a digest: one header message (the period covered, counts, the numbered
top headlines as links), then the full story cards — in a thread started from the
header when the channel allows it, as follow-up messages otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import discord

from bot.render.alerts import Outgoing
from bot.render.common import day, plural
from bot.render.embeds import COLOUR, DESCRIPTION, pack, read_view, stamp, story_embed
from bot.render.sanitise import discord_text, fit_lines, link
from bot.render.stack import stack_lines
from bot.render.story import TOP_HEADLINES, kind_counts, lead_source
from bot.services.briefings import BriefingItem
from bot.services.your_stack import YourStack

THREAD_NAME = 100  # Discord's limit for a thread name


def source_count(items: Sequence[BriefingItem]) -> int:
    return len({source for item in items for source in item.sources})


def headline(number: int, item: BriefingItem) -> str:
    # A bold number, not a Markdown list: the line renders the same in every client.
    source = discord_text(lead_source(item), 60)
    return f"**{number}.** {link(item.title, item.url, 150)} — {source}"


def header_embed(
    items: Sequence[BriefingItem], *, start: datetime | None, end: datetime | None,
    top: int = TOP_HEADLINES, stack: YourStack | None = None,
) -> discord.Embed:
    """The digest's header card. ``start``/``end``: the period covered (shown as
    Discord timestamps, so each reader sees their own time zone). ``stack``: the
    server's "Your stack" section, first."""
    title = (f"{plural(len(items), 'story', 'stories')} from "
             f"{plural(source_count(items), 'source')}")
    lines = stack_lines(stack) if stack is not None else []
    if start is not None and end is not None:
        lines.append(f"**Covers** {stamp(start)} → {stamp(end)}")
    lines += [kind_counts(items), "", "**Top headlines**"]
    lines += [headline(n, item) for n, item in enumerate(items[:top], start=1)]
    rest = len(items) - top
    if rest > 0:
        lines.append(f"…and {plural(rest, 'more story', 'more stories')} below.")
    embed = discord.Embed(title=title, description=fit_lines(lines, DESCRIPTION),
                          colour=COLOUR)
    embed.set_footer(text="Every story's full card follows below.")
    return embed


def header_content(count: int, *, preview: bool = False) -> str:
    what = "Briefing preview" if preview else "Daily briefing"
    return f"**{what}** — {plural(count, 'story', 'stories')}"


def card_messages(items: Sequence[BriefingItem]) -> list[Outgoing]:
    """The full cards, 10 embeds / 6,000 characters a message, each message with a
    Read button per card and a line saying which stories it holds."""
    embeds = [story_embed(item) for item in items]
    parts: list[Outgoing] = []
    start = 0
    for message in pack(embeds):
        shown = list(items[start : start + len(message)])
        first, start = start + 1, start + len(message)
        content = (f"Story {first} of {len(items)}" if len(message) == 1
                   else f"Stories {first}–{start} of {len(items)}")
        parts.append(Outgoing(message, read_view(shown), content=content))
    return parts


def digest_messages(
    items: Sequence[BriefingItem], *, start: datetime | None, end: datetime | None,
    preview: bool = False, stack: YourStack | None = None,
) -> list[Outgoing]:
    """The header, then the card messages: part 0 is the header (a thread is started
    from it), parts 1… the cards."""
    header = Outgoing([header_embed(items, start=start, end=end, stack=stack)],
                      content=header_content(len(items), preview=preview))
    return [header, *card_messages(items)]


def thread_name(end: datetime | None, count: int) -> str:
    return f"Briefing {day(end)} — {plural(count, 'story', 'stories')}"[:THREAD_NAME]
