"""The `/cve` embed: "CVE-… — name" as the title, the description from KEV or NVD, fields
CVSS / EPSS / Known exploited / Vendor · product, and the stories naming it as links.
Every piece of stored or fetched text goes through ``bot.render.sanitise``."""

from __future__ import annotations

import discord

from bot.render.common import day, plural
from bot.render.cve import cvss_text, epss_text, kev_lines, vendor_product
from bot.render.embeds import (
    COLOUR,
    FIELD_VALUE,
    KIND_COLOURS,
    TITLE,
    article_line,
    fit,
)
from bot.render.sanitise import discord_text, fit_lines
from bot.render.story import Kind
from bot.services.cves import CveLookup

DESCRIPTION = 1500


def cve_embed(lookup: CveLookup) -> discord.Embed:
    ctx = lookup.context
    title = lookup.id + (f" — {lookup.name}" if lookup.name else "")
    description = lookup.description or (
        "Nothing is known about this CVE yet." if not lookup.known
        else "No description from CISA or NVD.")
    embed = discord.Embed(
        title=discord_text(title, TITLE),
        description=discord_text(description, DESCRIPTION),
        colour=KIND_COLOURS[Kind.EXPLOITED] if ctx.kev else COLOUR,
    )
    cvss = discord_text(cvss_text(ctx.cvss), 100)
    if ctx.cvss and ctx.cvss.vector:
        cvss += "\n" + discord_text(ctx.cvss.vector, 200)
    embed.add_field(name="CVSS", value=cvss, inline=True)
    embed.add_field(name="EPSS", value=discord_text(epss_text(ctx.epss), FIELD_VALUE),
                    inline=True)
    kev = [discord_text(line, 400) for line in kev_lines(ctx.kev, loaded=lookup.kev_loaded)]
    embed.add_field(name="Known exploited", value=fit_lines(kev, FIELD_VALUE), inline=False)
    embed.add_field(name="Vendor · product",
                    value=discord_text(vendor_product(ctx.kev), FIELD_VALUE), inline=False)
    if lookup.stories:
        heading = (f"In the store: {plural(lookup.stored_articles, 'article')}, "
                   f"last seen {day(lookup.last_seen)}")
        embed.add_field(name=discord_text(heading, 256),
                        value=fit_lines([article_line(a) for a in lookup.stories],
                                        FIELD_VALUE) or "—",
                        inline=False)
    else:
        embed.add_field(name="In the store", value="No stories name it.", inline=False)
    return fit(embed)
