"""Small formatting helpers shared by every surface."""

from __future__ import annotations

from datetime import datetime

MAX_POINTS = 6
MAX_RELATED = 10  # related actors (an umbrella's sub-groups) named on a profile

# How each naming scheme reads to a person (keys are bot.intel.aliases.SCHEMES).
SCHEME_NAMES = {
    "microsoft": "Microsoft",
    "crowdstrike": "CrowdStrike",
    "mandiant": "Mandiant",
    "secureworks": "Secureworks",
    "unit42": "Unit 42",
    "mitre": "MITRE ATT&CK",
    "proofpoint": "Proofpoint",
    "recorded_future": "Recorded Future",
    "trend_micro": "Trend Micro",
    "ibm": "IBM X-Force",
    "cert_ua": "CERT-UA",
    "other": "Other names",
}


def scheme_name(scheme: str) -> str:
    return SCHEME_NAMES.get(scheme, scheme.replace("_", " ").title())


def day(value: datetime | None) -> str:
    return f"{value.day} {value:%b %Y}" if value else "undated"


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def listing(values: list[str], *, empty: str = "—", most: int = 8) -> str:
    if not values:
        return empty
    shown = ", ".join(values[:most])
    return shown + (f" (+{len(values) - most})" if len(values) > most else "")


def related_names(related: list[str]) -> str:
    """The actors a profile says are related (an umbrella's sub-groups, overlapping
    clusters) by their canonical, best-known names; "" when there are none."""
    return listing(related, empty="", most=MAX_RELATED)


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary with an ellipsis; never longer than ``limit``."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"
