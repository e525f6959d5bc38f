"""How a CVE's vulnerability context reads, on every surface alike (plain text: each
surface sanitises it its own way).

A badge, next to a CVE in story cards, alerts and search results:
"CVE-2024-3400 · ⚠ Known exploited since 12 Apr 2024 · EPSS 94th pct · CVSS 10.0";
the terminal says the same in words. Only what is known is shown: a CVE no source
knows is its ID alone. The `/cve` lookup (embed and text) spells every part out and
says "unknown" for what is missing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.intel.commentary import percentile_words
from storage.vuln_models import CveContext, CvssScore, EpssScore, KevEntry

UNKNOWN = "unknown"
EXPLOITED_MARK = "⚠"


def long_date(value: date | None) -> str:
    return f"{value.day} {value:%b %Y}" if value else UNKNOWN


def short_percentile(percentile: float) -> str:
    """0.942 → "94th pct" (rounded down, as in the commentary)."""
    return percentile_words(percentile).replace(" percentile", " pct")


def badge_parts(context: CveContext) -> list[str]:
    parts = []
    if context.kev:
        parts.append(f"{EXPLOITED_MARK} Known exploited since {long_date(context.kev.date_added)}")
    if context.epss:
        parts.append(f"EPSS {short_percentile(context.epss.percentile)}")
    if context.cvss:
        parts.append(f"CVSS {context.cvss.score:.1f}")
    return parts


def cve_badge(context: CveContext) -> str:
    """ "CVE-2024-3400 · ⚠ Known exploited since 12 Apr 2024 · EPSS 94th pct · CVSS 10.0" """
    return " · ".join([context.id, *badge_parts(context)])


def cve_words(context: CveContext) -> str:
    """The badge in words, for the terminal: "CVE-2024-3400 (known exploited since 12 Apr
    2024, EPSS 94th percentile, CVSS 10.0 critical)"."""
    words = []
    if context.kev:
        words.append(f"known exploited since {long_date(context.kev.date_added)}")
    if context.epss:
        words.append(f"EPSS {percentile_words(context.epss.percentile)}")
    if context.cvss:
        words.append(f"CVSS {cvss_text(context.cvss)}")
    return context.id + (f" ({', '.join(words)})" if words else "")


def any_known(contexts: Sequence[CveContext]) -> bool:
    return any(c.kev or c.epss or c.cvss for c in contexts)


def known(contexts: Sequence[CveContext], most: int = 3) -> list[CveContext]:
    """The CVEs some source knows, at most ``most`` (a search hit's badges)."""
    return [c for c in contexts if c.kev or c.epss or c.cvss][:most]


# -- the /cve lookup's parts, spelled out --------------------------------------------------


def cvss_text(cvss: CvssScore | None) -> str:
    """ "9.8 critical" (no vector: the lookups show it on its own line)."""
    if cvss is None:
        return UNKNOWN
    return f"{cvss.score:.1f} {cvss.severity.lower()}".strip()


def epss_text(epss: EpssScore | None) -> str:
    """ "94th percentile: a 12.3% chance of exploitation activity in the next 30 days (scores
    of 1 Dec 2026)" """
    if epss is None:
        return UNKNOWN
    return (f"{percentile_words(epss.percentile)}: a {epss.score:.1%} chance of "
            f"exploitation activity in the next 30 days (scores of {long_date(epss.date)})")


def kev_lines(kev: KevEntry | None, *, loaded: bool) -> list[str]:
    """What CISA's KEV catalogue says, one fact a line; one line when it is not listed
    (``loaded``: the catalogue is in the store, else whether it is listed is unknown)."""
    if kev is None:
        return ["Not on CISA's KEV list" if loaded
                else "unknown (CISA's KEV list is not loaded)"]
    return [
        f"On CISA's KEV list since {long_date(kev.date_added)}",
        f"Due date for federal agencies: {long_date(kev.due_date)}",
        f"Required action: {kev.required_action or UNKNOWN}",
        "Known use in ransomware campaigns: " + ("yes" if kev.known_ransomware else "not known"),
    ]


def vendor_product(kev: KevEntry | None) -> str:
    if kev is None or not (kev.vendor or kev.product):
        return UNKNOWN
    return " · ".join(part for part in (kev.vendor, kev.product) if part)
