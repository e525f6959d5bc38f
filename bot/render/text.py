"""Plain-text rendering for the terminal shell and the CLI.

Everything these functions return, and everything the shell and the CLI print, goes
through ``printable``: stored data from older versions or input echoed back may carry
terminal escapes (``ESC[2J`` clears the screen, ``ESC]0;…BEL`` retitles the window),
and a terminal must never receive them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import ParamSpec

from bot.news.controls import strip_invisible
from bot.render.common import (
    MAX_POINTS,
    day,
    listing,
    plural,
    related_names,
    scheme_name,
    shorten,
)
from bot.render.cve import (
    any_known,
    cve_words,
    cvss_text,
    epss_text,
    kev_lines,
    known,
    vendor_product,
)
from bot.render.stack import stack_text
from bot.render.story import (
    LABELS,
    TOP_HEADLINES,
    also_reported,
    kind_counts,
    lead_source,
    story_kind,
)
from bot.services.actors import ActorLookup, ActorProfile
from bot.services.briefings import Briefing, BriefingItem
from bot.services.cves import CveLookup
from storage.models import SearchHit

P = ParamSpec("P")


def printable(text: str) -> str:
    """``text`` without terminal escape sequences, C0/C1 control characters (tab and
    newline kept), zero-width or bidi characters: safe to write to a terminal."""
    return strip_invisible(text)


class PrintableFormatter(logging.Formatter):
    """Log lines (message, arguments and traceback) through ``printable``: they quote
    feed titles, errors and input, and go to a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def _printed(render: Callable[P, str]) -> Callable[P, str]:
    @wraps(render)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> str:
        return printable(render(*args, **kwargs))

    return wrapper


def when_text(value: datetime | None) -> str:
    return f"{day(value)} {value:%H:%M} UTC" if value else "undated"


@_printed
def story_text(item: BriefingItem) -> str:
    """The story card's facts as text: kind and title, link, lead source and time, at
    most 6 key points, why it matters, then only the non-empty lists."""
    lines = [f"[{LABELS[story_kind(item)]}] {item.title}"]
    if item.url:
        lines.append(f"  {item.url}")
    lines.append(f"{lead_source(item)} · {when_text(item.published_at)}")
    lines += [f"• {shorten(point, 300)}" for point in item.key_points[:MAX_POINTS]]
    if item.why_it_matters:
        lines.append("Why it matters: " + " ".join(item.why_it_matters))
    cves = item.cves
    if any_known(item.cve_context):  # each CVE on its own line, with what is known
        lines += [f"CVE: {cve_words(c)}" for c in item.cve_context[:8]]
        cves = []
    named = [f"{name}: {listing(values)}" for name, values in (
        ("Actors", item.actors), ("CVEs", cves), ("Vendors", item.vendors)) if values]
    if named:
        lines.append("   ".join(named))
    others = also_reported(item)
    if others:
        lines.append("Also reported by: " + ", ".join(
            f"{s['source']} <{s['url']}>" for s in others[:8])
            + (f" and {len(others) - 8} more" if len(others) > 8 else ""))
    return "\n".join(lines)


@_printed
def briefing_text(briefing: Briefing) -> str:
    """The digest as text: the period, counts and numbered headlines, then every card."""
    if not briefing.items:
        return (
            f"No new stories since {briefing.since:%Y-%m-%d %H:%M} UTC. "
            "Run `secbrief ingest --once` or `secbrief import PATH` to add some."
        )
    items = briefing.items
    count = plural(len(items), "story", "stories")
    sources = plural(len({s for item in items for s in item.sources}), "source")
    header = [
        f"Briefing — {count} from {sources}, {briefing.since:%Y-%m-%d %H:%M} to "
        f"{briefing.generated_at:%Y-%m-%d %H:%M} UTC",
        kind_counts(items),
        "Top headlines:",
        *(f"  {n}. {item.title} — {lead_source(item)}"
          for n, item in enumerate(items[:TOP_HEADLINES], start=1)),
    ]
    if len(items) > TOP_HEADLINES:
        header.append(f"  …and {len(items) - TOP_HEADLINES} more below.")
    stack = stack_text(briefing.your_stack)  # what touches the watchlist, first
    return "\n\n".join([*([stack] if stack else []), "\n".join(header),
                        *(story_text(item) for item in items)])


@_printed
def actor_text(lookup: ActorLookup, *, search_command: str = "secbrief search") -> str:
    if lookup.profile:
        return profile_text(lookup.profile)
    if lookup.candidates:
        names = "\n".join(
            f"  • {a.name} ({a.country or 'country unknown'})" for a in lookup.candidates
        )
        return f"“{lookup.query}” is a name used for several actors:\n{names}\nAsk for one by name."
    lines = [f"No actor called “{lookup.query}” in the catalogue."]
    if lookup.organisation:
        org, linked = lookup.organisation
        lines.append(f"{org} is an organisation" + (f" linked to {linked}." if linked else "."))
    if lookup.mentions:
        lines.append(f"{mention_sentence(lookup)} Try: {search_command} {lookup.query}")
    if lookup.suggestions:
        lines.append("Did you mean: " + ", ".join(lookup.suggestions) + "?")
    return "\n".join(lines)


def mention_sentence(lookup: ActorLookup) -> str:
    """“X” appears in 1 stored story, with Flax Typhoon. (every surface's wording)"""
    stories = lookup.mention_stories or lookup.mentions
    sentence = f"“{lookup.query}” appears in {plural(stories, 'stored story', 'stored stories')}"
    if lookup.mention_actors:
        sentence += ", with " + _and(lookup.mention_actors)
    return sentence + "."


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@_printed
def profile_text(profile: ActorProfile) -> str:
    actor = profile.actor
    lines = [f"{actor.name}" + (f" ({actor.country})" if actor.country else "")]
    for scheme, names in actor.schemes.items():
        if names:
            lines.append(f"  {scheme_name(scheme)}: {', '.join(names)}")
    if actor.related:
        lines.append(f"Related: {related_names(actor.related)}")
    if actor.description:
        lines.append(shorten(actor.description, 700))
    if actor.refs:
        lines.append(f"Reference: {actor.refs[0]}")
    if profile.total:
        lines.append(
            f"In the store: {plural(profile.total, 'story', 'stories')}, "
            f"first seen {day(profile.first_seen)}, "
            f"last seen {day(profile.last_seen)}"
        )
        lines += [f"  • {a.title} — {a.source}, {day(a.published_at)}"
                  + (f" <{a.url}>" if a.url else "") for a in profile.articles]
        counts = " ".join(str(n) for _, n in profile.weekly)
        lines.append(f"Weekly mentions (last {len(profile.weekly)} weeks): {counts}")
    else:
        lines.append("In the store: no stories yet.")
    return "\n".join(lines)


@_printed
def search_text(query: str, hits: list[SearchHit], *, total: int | None = None) -> str:
    if not hits:
        return f"Nothing in the store matches “{query}”."
    total = max(total or 0, len(hits))
    shown = f" (the newest {len(hits)} shown)" if total > len(hits) else ""
    lines = [f"{plural(total, 'result')} for “{query}”{shown}, newest first:"]
    for hit in hits:
        a = hit.article
        lines.append(f"• {a.title} — {a.source}, {day(a.published_at)}")
        if a.url:
            lines.append(f"  {a.url}")
        lines += [f"  {cve_words(c)}" for c in known(hit.cve_context)]
        if hit.snippet:
            lines.append(f"  {shorten(hit.snippet, 200)}")
    return "\n".join(lines)


@_printed
def cve_text(lookup: CveLookup) -> str:
    """The /cve lookup as text: every part spelled out, "unknown" where nothing is known."""
    ctx = lookup.context
    lines = [lookup.id + (f" — {lookup.name}" if lookup.name else "")]
    if lookup.description:
        lines.append(shorten(lookup.description, 700))
    lines.append(f"CVSS: {cvss_text(ctx.cvss)}"
                 + (f" ({ctx.cvss.vector})" if ctx.cvss and ctx.cvss.vector else ""))
    lines.append(f"EPSS: {epss_text(ctx.epss)}")
    kev = kev_lines(ctx.kev, loaded=lookup.kev_loaded)
    lines.append("Known exploited: " + "; ".join(kev))
    lines.append(f"Vendor · product: {vendor_product(ctx.kev)}")
    if lookup.stories:
        lines.append(f"In the store: {plural(lookup.stored_articles, 'article')}, "
                     f"first seen {day(lookup.first_seen)}, last seen {day(lookup.last_seen)}")
        lines += [f"  • {a.title} — {a.source}, {day(a.published_at)}"
                  + (f" <{a.url}>" if a.url else "") for a in lookup.stories]
    else:
        lines.append("In the store: no stories name it.")
    return "\n".join(lines)
