"""Discord embeds. Every untrusted string goes through ``bot.render.sanitise`` (markdown
surfaces through ``discord_text``, footers through ``label``, our links through
``link``), and every field is kept within Discord's limits (title 256, description
4096, field name 256 / value 1024, footer 2048, 25 fields, 6000 characters per
message) — by cutting whole tokens or lines, never by failing."""

from __future__ import annotations

from datetime import datetime

import discord

from bot.render.common import (
    MAX_POINTS,
    day,
    listing,
    plural,
    related_names,
    scheme_name,
)
from bot.render.cve import any_known, cve_badge, known
from bot.render.sanitise import code_text, discord_text, fit_lines, label, link, safe_url
from bot.render.story import LABELS, Kind, also_reported, lead_source, story_kind
from bot.render.text import mention_sentence
from bot.services.actors import ActorLookup, ActorProfile
from bot.services.briefings import BriefingItem
from storage.models import ArticleRef, SearchPage
from storage.vuln_models import CveContext

TITLE = 256
DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
FIELDS = 25
TOTAL = 6000
EMBEDS_PER_MESSAGE = 10
COLOUR = discord.Colour.dark_teal()
MAX_COMPONENTS = 25  # buttons a message may carry (5 rows of 5)


KIND_COLOURS = {
    Kind.EXPLOITED: discord.Colour(0xE5484D),  # red
    Kind.ACTOR: discord.Colour(0x8E4EC6),  # purple
    Kind.BREACH: discord.Colour(0xF76B15),  # orange
    Kind.OTHER: COLOUR,
}
READ_LABEL = 40  # a Read button's label, kept short (Discord allows 80)


def stamp(value: datetime, style: str = "f") -> str:
    """A Discord timestamp, shown in each reader's own time zone and language: "f" the
    date and time, "R" relative ("3 hours ago")."""
    return f"<t:{int(value.timestamp())}:{style}>"


def when(value: datetime | None) -> str:
    """"<t:…:f> (<t:…:R>)", or "" for an undated story."""
    return f"{stamp(value)} ({stamp(value, 'R')})" if value is not None else ""


def story_embed(item: BriefingItem) -> discord.Embed:
    """The story card: the source as author, the title linked, kind and publication
    time, at most 6 key points, why it matters, then only the fields that have
    something to say (actors, CVEs, vendors, other sources)."""
    kind = story_kind(item)
    head = f"**{LABELS[kind]}**" + (f" · {when(item.published_at)}" if item.published_at else "")
    lines = [head, *(f"• {discord_text(p, 300)}" for p in item.key_points[:MAX_POINTS])]
    why = " ".join(item.why_it_matters)
    if why:
        lines += ["", f"**Why it matters:** {discord_text(why, 1200)}"]
    embed = discord.Embed(
        title=discord_text(item.title, TITLE),
        url=safe_url(item.url),
        description=fit_lines(lines, DESCRIPTION),
        colour=KIND_COLOURS[kind],
    )
    embed.set_author(name=label(lead_source(item), 256))
    for name, values in (("Actors", item.actors), ("CVEs", item.cves),
                         ("Vendors", item.vendors)):
        if name == "CVEs" and any_known(item.cve_context):
            embed.add_field(name=name, value=cve_badges(item.cve_context), inline=False)
        elif values:
            embed.add_field(name=name, value=discord_text(listing(values), FIELD_VALUE),
                            inline=True)
    others = [s for s in also_reported(item) if safe_url(s["url"])]
    if others:
        embed.add_field(name="Also reported by", value=joined_links(others, FIELD_VALUE),
                        inline=False)
    return fit(embed)


def cve_badges(contexts: list[CveContext], limit: int = FIELD_VALUE, most: int = 8) -> str:
    """A badge a line ("CVE-2024-3400 · ⚠ Known exploited since 12 Apr 2024 · EPSS 94th
    pct · CVSS 10.0"), whole lines as fit, then how many more."""
    lines = [discord_text(cve_badge(c), 200) for c in contexts[:most]]
    if len(contexts) > most:
        lines.append(f"…and {len(contexts) - most} more")
    return fit_lines(lines, limit)


def read_button(item: BriefingItem, *, titled: bool) -> discord.ui.Button | None:
    """A link button to the story — "Read", or "Read: <title>" (``titled``) when a
    message carries several cards — or None without a usable URL."""
    url = safe_url(item.url)
    if url is None:
        return None
    text = label(f"Read: {item.title}", READ_LABEL) if titled else "Read"
    return discord.ui.Button(style=discord.ButtonStyle.link, url=url, label=text)


def add_read_buttons(view: discord.ui.View, items: list[BriefingItem]) -> discord.ui.View:
    """Read buttons for the cards of one message, as many as fit beside what ``view``
    already holds (25 a message)."""
    for item in items:
        if len(view.children) >= MAX_COMPONENTS:
            break
        button = read_button(item, titled=len(items) > 1)
        if button is not None:
            view.add_item(button)
    return view


def read_view(items: list[BriefingItem]) -> discord.ui.View | None:
    """A view of only Read buttons (link buttons: nothing to dispatch, nothing kept),
    or None when no card has a link."""
    view = add_read_buttons(discord.ui.View(timeout=None), items)
    return view if view.children else None


def joined_links(sources: list[dict[str, str]], limit: int) -> str:
    """"[A](url) · [B](url)" with as many whole links as fit in ``limit``, then "and N
    more" — a link is never cut in the middle."""
    shown: list[str] = []
    for n, source in enumerate(sources):
        piece = link(source["source"], source["url"], 80)
        rest = len(sources) - n - 1
        tail = f" and {rest} more" if rest else ""
        if len(" · ".join([*shown, piece])) + len(tail) > limit:
            more = len(sources) - n
            return " · ".join(shown) + f" and {more} more"
        shown.append(piece)
    return " · ".join(shown)


def fit(embed: discord.Embed) -> discord.Embed:
    """Drop description lines from the end until the whole embed is within 6000
    characters."""
    if len(embed) > TOTAL and embed.description:
        keep = len(embed.description) - (len(embed) - TOTAL)
        embed.description = fit_lines(embed.description.split("\n"), max(keep, 0))
    return embed


def pack(embeds: list[discord.Embed]) -> list[list[discord.Embed]]:
    """Split embeds into messages of at most 10 embeds and 6000 characters each,
    keeping every story rather than truncating any away."""
    messages: list[list[discord.Embed]] = []
    current: list[discord.Embed] = []
    size = 0
    for embed in embeds:
        length = len(embed)
        if current and (len(current) == EMBEDS_PER_MESSAGE or size + length > TOTAL):
            messages.append(current)
            current, size = [], 0
        current.append(embed)
        size += length
    if current:
        messages.append(current)
    return messages


def article_line(article: ArticleRef) -> str:
    return (f"• {link(article.title, article.url, 150)} — "
            f"{discord_text(article.source, 60)}, {day(article.published_at)}")


def actor_embed(
    profile: ActorProfile, *, chart_file: str | None = None,
    stories: list[ArticleRef] | None = None, offset: int = 0,
) -> discord.Embed:
    """The profile; ``stories`` (from ``offset``) replace the newest ones when a pager
    shows older stories, in the same message."""
    actor = profile.actor
    title = actor.name + (f" ({actor.country})" if actor.country else "")
    embed = discord.Embed(
        title=discord_text(title, TITLE),
        description=discord_text(actor.description or "No description in the catalogue.",
                                 1500),
        colour=COLOUR,
    )
    for scheme, names in list(actor.schemes.items())[: FIELDS - 4]:
        if names:
            embed.add_field(name=discord_text(scheme_name(scheme), FIELD_NAME),
                            value=discord_text(", ".join(names), FIELD_VALUE), inline=True)
    if actor.related:
        embed.add_field(name="Related", inline=False,
                        value=discord_text(related_names(actor.related), FIELD_VALUE))
    if profile.total:
        stored = (f"{plural(profile.total, 'story', 'stories')}, "
                  f"first seen {day(profile.first_seen)}, "
                  f"last seen {day(profile.last_seen)}")
        shown = profile.articles if stories is None else stories
        lines = [article_line(a) for a in shown]
        heading = "Recent stories"
        if profile.total > len(shown) or offset:
            heading = (f"Stories {offset + 1}–{offset + len(shown)} of {profile.total}"
                       if shown else "No older stories")
        embed.add_field(name="In the store", value=discord_text(stored, FIELD_VALUE),
                        inline=False)
        embed.add_field(name=heading, value=fit_lines(lines, FIELD_VALUE) or "—",
                        inline=False)
    else:
        embed.add_field(name="In the store", value="No stories yet.", inline=False)
    reference = safe_url(actor.refs[0]) if actor.refs else None
    if reference:
        embed.add_field(name="Reference", value=discord_text(reference, FIELD_VALUE) or "—",
                        inline=False)
    if chart_file:
        embed.set_image(url=f"attachment://{chart_file}")
    return fit(embed)


def lookup_message(lookup: ActorLookup) -> str:
    """The reply for an ambiguous or unknown name: every piece of text sanitised, our
    own markup (the bold name, the `/search` hint as inline code) added around it."""
    query = discord_text(lookup.query, 100)
    if lookup.candidates:
        names = [f"• **{discord_text(a.name, 100)}** ({discord_text(a.country, 40) or '?'})"
                 for a in lookup.candidates[:10]]
        return fit_lines([f"“{query}” is a name used for several actors:", *names,
                          "Ask for one by name."], 1900)
    lines = [f"No actor called “{query}” in the catalogue."]
    if lookup.organisation:
        org, linked = lookup.organisation
        lines.append(f"{discord_text(org, 100)} is an organisation"
                     + (f" linked to **{discord_text(linked, 100)}**." if linked else "."))
    if lookup.mentions:
        hint = code_text(f"/search {lookup.query}", 120)
        lines.append(f"{discord_text(mention_sentence(lookup), 600)} Try {hint}.")
    if lookup.suggestions:
        names = ", ".join(f"**{discord_text(n, 100)}**" for n in lookup.suggestions[:5])
        lines.append(f"Did you mean {names}?")
    return fit_lines(lines, 1900)


def search_embed(query: str, found: SearchPage, *, page_size: int) -> discord.Embed:
    """One page of results: the count and query in the title, each hit as a link with
    its source, date and snippet, and where this page is in the footer."""
    if not found.hits:
        title = (f"Nothing matches “{query}”" if not found.total
                 else f"No results past {found.total} for “{query}”")
        return discord.Embed(title=discord_text(title, TITLE), colour=COLOUR)
    lines = []
    for hit in found.hits:
        lines.append(article_line(hit.article))
        lines += [f"  {discord_text(cve_badge(c), 200)}" for c in known(hit.cve_context)]
        if hit.snippet:
            lines.append(f"  {discord_text(hit.snippet, 220)}")
    embed = discord.Embed(
        title=discord_text(f"{plural(found.total, 'result')} for “{query}”", TITLE),
        description=fit_lines(lines, DESCRIPTION),
        colour=COLOUR,
    )
    first, last = found.offset + 1, found.offset + len(found.hits)
    pages = -(-found.total // page_size)
    embed.set_footer(text=f"Results {first}–{last} of {found.total} · newest first"
                     + (f" · page {found.offset // page_size + 1} of {pages}" if pages > 1
                        else ""))
    return embed
