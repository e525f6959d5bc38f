"""Discord embeds. Untrusted text is escaped and every field kept within Discord's limits
(title 256, description 4096, field name 256 / value 1024, footer 2048, 25 fields,
6000 characters per message) — by truncating, never by failing."""

from __future__ import annotations

import discord

from bot.render.common import (
    MAX_POINTS,
    byline,
    day,
    listing,
    plural,
    scheme_name,
    shorten,
)
from bot.services.actors import ActorLookup, ActorProfile
from bot.services.briefings import BriefingItem
from storage.models import ArticleRef, SearchHit

TITLE = 256
DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
FIELDS = 25
TOTAL = 6000
EMBEDS_PER_MESSAGE = 10
COLOUR = discord.Colour.dark_teal()


def safe(text: str, limit: int) -> str:
    """Escape markdown and mentions, then cut to ``limit`` (escaping first, so the cut
    can never leave a dangling escape longer than the limit)."""
    escaped = discord.utils.escape_mentions(discord.utils.escape_markdown(text or ""))
    return shorten(escaped, limit)


def safe_url(url: str | None) -> str | None:
    if url and url.startswith(("http://", "https://")) and len(url) <= 2000:
        return url
    return None


def story_embed(item: BriefingItem) -> discord.Embed:
    points = "\n".join(f"• {safe(p, 300)}" for p in item.key_points[:MAX_POINTS])
    why = " ".join(item.why_it_matters)
    description = points + (f"\n\n**Why it matters:** {safe(why, 1200)}" if why else "")
    embed = discord.Embed(
        title=safe(item.title, TITLE),
        url=safe_url(item.url),
        description=shorten(description, DESCRIPTION),
        colour=COLOUR,
        timestamp=item.published_at,
    )
    embed.add_field(name="Actors", value=safe(listing(item.actors), FIELD_VALUE), inline=True)
    embed.add_field(name="CVEs", value=safe(listing(item.cves), FIELD_VALUE), inline=True)
    if len(item.links) > 1:
        links = "\n".join(
            f"[{safe(link['source'], 80)}]({link['url']})"
            for link in item.links[:8]
            if safe_url(link["url"])
        )
        embed.add_field(name="Sources", value=shorten(links, FIELD_VALUE), inline=False)
    embed.set_footer(text=shorten(byline(item), FOOTER))
    return _fit(embed)


def _fit(embed: discord.Embed) -> discord.Embed:
    """Shrink the description until the whole embed is within 6000 characters."""
    while len(embed) > TOTAL and embed.description:
        keep = len(embed.description) - (len(embed) - TOTAL) - 1
        embed.description = shorten(embed.description, max(keep, 0))
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
    title = safe(article.title, 150)
    link = f"[{title}]({article.url})" if safe_url(article.url) else title
    return f"• {link} — {safe(article.source, 60)}, {day(article.published_at)}"


def actor_embed(profile: ActorProfile, *, chart_file: str | None = None) -> discord.Embed:
    actor = profile.actor
    title = actor.name + (f" ({actor.country})" if actor.country else "")
    embed = discord.Embed(
        title=safe(title, TITLE),
        description=safe(actor.description or "No description in the catalogue.", 1500),
        colour=COLOUR,
    )
    for scheme, names in list(actor.schemes.items())[: FIELDS - 4]:
        if names:
            embed.add_field(name=safe(scheme_name(scheme), FIELD_NAME),
                            value=safe(", ".join(names), FIELD_VALUE), inline=True)
    if profile.total:
        stored = (f"{plural(profile.total, 'story', 'stories')}, "
                  f"first seen {day(profile.first_seen)}, "
                  f"last seen {day(profile.last_seen)}")
        lines = "\n".join(article_line(a) for a in profile.articles)
        embed.add_field(name="In the store", value=safe(stored, FIELD_VALUE), inline=False)
        embed.add_field(name="Recent stories", value=shorten(lines, FIELD_VALUE), inline=False)
    else:
        embed.add_field(name="In the store", value="No stories yet.", inline=False)
    if actor.refs and safe_url(actor.refs[0]):
        embed.add_field(name="Reference", value=shorten(actor.refs[0], FIELD_VALUE), inline=False)
    if chart_file:
        embed.set_image(url=f"attachment://{chart_file}")
    return _fit(embed)


def stories_page_embed(actor_name: str, articles: list[ArticleRef], offset: int) -> discord.Embed:
    lines = "\n".join(article_line(a) for a in articles) or "No older stories."
    return discord.Embed(
        title=safe(f"{actor_name} — stories {offset + 1}–{offset + len(articles)}", TITLE),
        description=shorten(lines, DESCRIPTION),
        colour=COLOUR,
    )


def lookup_message(lookup: ActorLookup) -> str:
    """The reply for an ambiguous or unknown name (plain text, escaped)."""
    from bot.render.text import actor_text

    return safe(actor_text(lookup), 1900)


def search_embed(query: str, hits: list[SearchHit]) -> discord.Embed:
    if not hits:
        return discord.Embed(title=safe(f"Nothing matches “{query}”", TITLE), colour=COLOUR)
    lines = []
    for hit in hits:
        lines.append(article_line(hit.article))
        if hit.snippet:
            lines.append(f"  {safe(hit.snippet, 200)}")
    return discord.Embed(
        title=safe(f"Search: {query}", TITLE),
        description=shorten("\n".join(lines), DESCRIPTION),
        colour=COLOUR,
    )
