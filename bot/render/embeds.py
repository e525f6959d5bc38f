"""Discord embeds. Every untrusted string goes through ``bot.render.sanitise`` (markdown
surfaces through ``discord_text``, footers through ``label``, our links through
``link``), and every field is kept within Discord's limits (title 256, description
4096, field name 256 / value 1024, footer 2048, 25 fields, 6000 characters per
message) — by cutting whole tokens or lines, never by failing."""

from __future__ import annotations

import discord

from bot.render.common import (
    MAX_POINTS,
    byline,
    day,
    listing,
    plural,
    scheme_name,
)
from bot.render.sanitise import discord_text, fit_lines, label, link, safe_url
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


def story_embed(item: BriefingItem) -> discord.Embed:
    lines = [f"• {discord_text(p, 300)}" for p in item.key_points[:MAX_POINTS]]
    why = " ".join(item.why_it_matters)
    if why:
        lines += ["", f"**Why it matters:** {discord_text(why, 1200)}"]
    embed = discord.Embed(
        title=discord_text(item.title, TITLE),
        url=safe_url(item.url),
        description=fit_lines(lines, DESCRIPTION),
        colour=COLOUR,
        timestamp=item.published_at,
    )
    embed.add_field(name="Actors", value=discord_text(listing(item.actors), FIELD_VALUE),
                    inline=True)
    embed.add_field(name="CVEs", value=discord_text(listing(item.cves), FIELD_VALUE),
                    inline=True)
    if len(item.links) > 1:
        links = [link(source["source"], source["url"], 80)
                 for source in item.links[:8] if safe_url(source["url"])]
        embed.add_field(name="Sources", value=fit_lines(links, FIELD_VALUE), inline=False)
    embed.set_footer(text=label(byline(item), FOOTER))
    return _fit(embed)


def _fit(embed: discord.Embed) -> discord.Embed:
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


def actor_embed(profile: ActorProfile, *, chart_file: str | None = None) -> discord.Embed:
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
    if profile.total:
        stored = (f"{plural(profile.total, 'story', 'stories')}, "
                  f"first seen {day(profile.first_seen)}, "
                  f"last seen {day(profile.last_seen)}")
        lines = [article_line(a) for a in profile.articles]
        embed.add_field(name="In the store", value=discord_text(stored, FIELD_VALUE),
                        inline=False)
        embed.add_field(name="Recent stories", value=fit_lines(lines, FIELD_VALUE) or "—",
                        inline=False)
    else:
        embed.add_field(name="In the store", value="No stories yet.", inline=False)
    reference = safe_url(actor.refs[0]) if actor.refs else None
    if reference:
        embed.add_field(name="Reference", value=discord_text(reference, FIELD_VALUE) or "—",
                        inline=False)
    if chart_file:
        embed.set_image(url=f"attachment://{chart_file}")
    return _fit(embed)


def stories_page_embed(actor_name: str, articles: list[ArticleRef], offset: int) -> discord.Embed:
    lines = [article_line(a) for a in articles] or ["No older stories."]
    return discord.Embed(
        title=discord_text(f"{actor_name} — stories {offset + 1}–{offset + len(articles)}",
                           TITLE),
        description=fit_lines(lines, DESCRIPTION),
        colour=COLOUR,
    )


def lookup_message(lookup: ActorLookup) -> str:
    """The reply for an ambiguous or unknown name (plain text, escaped)."""
    from bot.render.text import actor_text

    return discord_text(actor_text(lookup), 1900)


def search_embed(query: str, hits: list[SearchHit]) -> discord.Embed:
    if not hits:
        return discord.Embed(title=discord_text(f"Nothing matches “{query}”", TITLE),
                             colour=COLOUR)
    lines = []
    for hit in hits:
        lines.append(article_line(hit.article))
        if hit.snippet:
            lines.append(f"  {discord_text(hit.snippet, 200)}")
    return discord.Embed(
        title=discord_text(f"Search: {query}", TITLE),
        description=fit_lines(lines, DESCRIPTION),
        colour=COLOUR,
    )
