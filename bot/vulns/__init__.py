"""Vulnerability data sources (issue 12): pure parsers for CISA's KEV catalogue, FIRST's
EPSS scores and NVD's CVE API answers, and offline scoring of a printed CVSS vector.
Fetching and scheduling live in bot/services/vulns.py."""

from __future__ import annotations

import re


class VulnFormatError(ValueError):
    """A response that is not what its source publishes (wrong format, malformed,
    truncated, too large once decompressed); the message says what was wrong."""


CVE_ID = re.compile(r"CVE-\d{4}-\d{4,7}")


def body_hint(body: bytes) -> str:
    """A few printable characters of a refused body, for the error message."""
    head = body[:40].decode("utf-8", "replace")
    head = "".join(ch if ch.isprintable() else "?" for ch in head).strip()
    return repr(head[:30]) if head else "an empty body"
