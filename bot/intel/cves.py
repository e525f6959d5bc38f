"""Find CVE IDs (and, separately, vendor advisory IDs) in free text.

Strict on purpose: a malformed token such as ``CVE-2021-2021-22893`` yields nothing rather
than a guess, because a wrong CVE tag would alert the wrong subscribers.
"""

from __future__ import annotations

import re

# Hyphen look-alikes that copy-pasted advisories and word processors produce.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d"
_DASH_TABLE = str.maketrans(dict.fromkeys(_DASHES, "-"))

# Year 1999-2099, then 4-7 digits. Not glued to a word or number on either side, and not
# followed by "-<digit>" (which would make it part of a longer, malformed ID).
_CVE_RE = re.compile(
    r"(?<![A-Za-z0-9_])CVE-(1999|20\d\d)-(\d{4,7})(?![A-Za-z0-9_])(?!-\d)",
    re.IGNORECASE,
)
# Quick pre-check: most texts contain no CVE at all.
_HAS_CVE = re.compile(r"cve", re.IGNORECASE)

_B = r"(?<![A-Za-z0-9_-])"
_E = r"(?![A-Za-z0-9_])(?!-\d)"
_ADVISORY_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # GitHub Security Advisory: GHSA-xxxx-xxxx-xxxx (lower-case id after the prefix).
    (re.compile(_B + r"GHSA(-[0-9a-z]{4}){3}" + _E, re.IGNORECASE), "ghsa"),
    # Microsoft security bulletins: MS23-045.
    (re.compile(_B + r"MS\d{2}-\d{3}" + _E), "upper"),
    # Red Hat errata: RHSA-2024:1234 (also RHBA / RHEA).
    (re.compile(_B + r"RH[SBE]A-\d{4}:\d{4,6}" + _E, re.IGNORECASE), "upper"),
    # Zero Day Initiative: ZDI-24-123 and ZDI-CAN-12345.
    (re.compile(_B + r"ZDI-(?:CAN-\d{4,6}|\d{2}-\d{3,5})" + _E, re.IGNORECASE), "upper"),
    # VMware: VMSA-2024-0001.
    (re.compile(_B + r"VMSA-\d{4}-\d{4}(?:\.\d+)?" + _E, re.IGNORECASE), "upper"),
    # CISA ICS advisories: ICSA-24-123-01.
    (re.compile(_B + r"ICSA-\d{2}-\d{3}-\d{2}" + _E, re.IGNORECASE), "upper"),
    # Ubuntu / Debian: USN-1234-1, DSA-5555-1, DLA-3456-1.
    (re.compile(_B + r"(?:USN|DSA|DLA)-\d{3,5}-\d{1,2}" + _E), "upper"),
    # Cisco: cisco-sa-<slug>.
    (re.compile(_B + r"cisco-sa-[a-z0-9]+(?:-[a-z0-9]+)*", re.IGNORECASE), "lower"),
)


def normalise_dashes(text: str) -> str:
    """Replace en-dashes, non-breaking hyphens and similar with an ASCII hyphen."""
    return text.translate(_DASH_TABLE)


def find_cves(text: str) -> list[str]:
    """CVE IDs in ``text``, upper-cased and deduplicated in first-seen order."""
    if not text or not _HAS_CVE.search(text):
        return []
    seen: dict[str, None] = {}
    for m in _CVE_RE.finditer(normalise_dashes(text)):
        seen.setdefault(f"CVE-{m.group(1)}-{m.group(2)}", None)
    return list(seen)


def is_cve(value: str) -> bool:
    """True when ``value`` is exactly one well-formed CVE ID (surrounding spaces allowed)."""
    value = normalise_dashes(value.strip())
    m = _CVE_RE.fullmatch(value)
    return m is not None


def normalise_cve(value: str) -> str | None:
    """Canonical form of a single CVE ID (for subscription input), or None if malformed."""
    value = normalise_dashes(value.strip())
    m = _CVE_RE.fullmatch(value)
    return f"CVE-{m.group(1)}-{m.group(2)}" if m else None


def find_advisories(text: str) -> list[str]:
    """Vendor advisory IDs (GHSA, MSyy-nnn, RHSA, ZDI, VMSA, ICSA, USN/DSA/DLA, cisco-sa),
    deduplicated in first-seen order. These are never CVEs."""
    if not text:
        return []
    text = normalise_dashes(text)
    found: list[tuple[int, str]] = []
    for pattern, style in _ADVISORY_PATTERNS:
        for m in pattern.finditer(text):
            raw = m.group(0)
            if style == "ghsa":
                value = "GHSA" + raw[4:].lower()
            elif style == "lower":
                value = raw.lower()
            else:
                value = raw.upper()
            found.append((m.start(), value))
    found.sort()
    return list(dict.fromkeys(v for _, v in found))
