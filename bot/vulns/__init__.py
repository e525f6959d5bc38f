"""Vulnerability data sources (issue 12): pure parsers for CISA's KEV catalogue, FIRST's
EPSS scores and NVD's CVE API answers, and offline scoring of a printed CVSS vector.
Fetching and scheduling live in bot/services/vulns.py."""

from __future__ import annotations

import json
import re
from typing import Any


class VulnFormatError(ValueError):
    """A response that is not what its source publishes (wrong format, malformed,
    truncated, too large once decompressed); the message says what was wrong."""


CVE_ID = re.compile(r"CVE-\d{4}-\d{4,7}")


def vulnerabilities_doc(body: bytes, *, what: str, name: str) -> dict[str, Any]:
    """A KEV or NVD JSON document with its ``vulnerabilities`` list (``what``: "KEV",
    "NVD"; ``name``: what the document should be, for the error); VulnFormatError
    when ``body`` is not such a document."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VulnFormatError(f"not {what} JSON ({exc.__class__.__name__} near "
                              f"{body_hint(body)})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("vulnerabilities"), list):
        raise VulnFormatError(f"not {name}: no 'vulnerabilities' list")
    return doc


def body_hint(body: bytes) -> str:
    """A few printable characters of a refused body, for the error message."""
    head = body[:40].decode("utf-8", "replace")
    head = "".join(ch if ch.isprintable() else "?" for ch in head).strip()
    return repr(head[:30]) if head else "an empty body"
