"""Facts about a story that every surface shows alike: its kind (for the card's colour
and label), its lead source and the other sources that reported it.

One rule, in order: **exploited** when one of its CVEs is on CISA's KEV list, or its
title or key points say a flaw is being exploited (in the wild, actively, a zero-day,
in the KEV catalogue) and do not deny it;
else **actor** when it names a threat actor; else **breach** when it reports a breach,
leak, theft of data, ransomware or extortion at a victim; else **other**."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from enum import StrEnum

from bot.services.briefings import BriefingItem


class Kind(StrEnum):
    EXPLOITED = "exploited"
    ACTOR = "actor"
    BREACH = "breach"
    OTHER = "other"


TOP_HEADLINES = 10  # numbered at the top of a briefing; every story has its card below

LABELS = {
    Kind.EXPLOITED: "Actively exploited",
    Kind.ACTOR: "Threat actor",
    Kind.BREACH: "Breach",
    Kind.OTHER: "News",
}

_EXPLOITED = re.compile(
    r"\b(?:exploited\s+in\s+the\s+wild|in[-\s]the[-\s]wild\s+exploit\w*"
    r"|actively\s+exploit\w*|zero[-\s]?days?|0[-\s]?days?"
    r"|known\s+exploited\s+vulnerabilit\w*|exploited\s+in\s+(?:targeted\s+|real[-\s]world\s+)?"
    r"attacks|under\s+active\s+exploitation|exploitation\s+in\s+the\s+wild)\b",
    re.IGNORECASE,
)
# "has not been exploited in the wild", "no evidence of exploitation in the wild".
_DENIED = re.compile(r"\b(?:not|no|never|n't|without|nor)\b(?:\W+\w+){0,4}\W*$", re.IGNORECASE)
_BREACH = re.compile(
    r"\b(?:breach\w*|leak\w*|stolen|steal\w*|exfiltrat\w*|exposed?s?|exposing"
    r"|ransomware|extortion|ransom|data\s+theft|hacked|compromised\s+(?:customer|user)s?)\b",
    re.IGNORECASE,
)


def says_exploited(text: str) -> bool:
    """Whether ``text`` says, without denying it, that something is being exploited."""
    return any(not _DENIED.search(text[: m.start()][-60:]) for m in _EXPLOITED.finditer(text))


def story_kind(item: BriefingItem) -> Kind:
    texts = [item.title, *item.key_points]
    if any(c.kev for c in item.cve_context) or any(says_exploited(t) for t in texts):
        return Kind.EXPLOITED
    if item.actors:
        return Kind.ACTOR
    if any(_BREACH.search(t) for t in texts):
        return Kind.BREACH
    return Kind.OTHER


def lead_source(item: BriefingItem) -> str:
    """The source of the item's own link (the lead article), else its first source."""
    for source in item.links:
        if source["url"] == item.url:
            return source["source"]
    return item.sources[0] if item.sources else "unknown source"


def also_reported(item: BriefingItem) -> list[dict[str, str]]:
    """The other sources' links, one per source, the lead's left out (each surface
    checks the URL it shows)."""
    seen, others = {lead_source(item)}, []
    for source in item.links:
        if source["source"] in seen or source["url"] == item.url:
            continue
        seen.add(source["source"])
        others.append(source)
    return others


def kind_counts(items: Sequence[BriefingItem]) -> str:
    """ "2 actively exploited · 3 threat actor · 1 breach · 4 news" (the kinds present)."""
    counts = Counter(story_kind(item) for item in items)
    return " · ".join(f"{counts[kind]} {LABELS[kind].lower()}" for kind in Kind if counts[kind])
