"""Score a CVSS vector printed in an article, offline, with the ``cvss`` package."""

from __future__ import annotations

import re

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from bot.vulns.nvd import SEVERITIES, severity_for
from storage.vuln_models import CvssScore

# CVSS:3.x/… and CVSS:4.0/… carry their prefix; a v2 vector is bare metrics
# (AV:N/AC:L/Au:N/C:P/I:P/A:P), recognised by its Au: metric.
_V3_V4 = re.compile(r"CVSS:(?:3\.[01]|4\.0)(?:/[A-Za-z]{1,3}:[A-Za-z])+")
_V2 = re.compile(r"(?<![A-Za-z:/])(?:\(?)AV:[LAN]/AC:[HML]/Au:[MSN]/C:[NPC]/I:[NPC]/A:[NPC]"
                 r"(?:/[A-Za-z]{1,3}:[A-Za-z]{1,3})*")


def find_vector(text: str) -> str | None:
    """The first CVSS vector in ``text`` (v3.x / v4.0 before a bare v2 one)."""
    if "AV:" not in text:
        return None
    if m := _V3_V4.search(text):
        return m.group(0)
    if m := _V2.search(text):
        return m.group(0).lstrip("(")
    return None


def score_vector(text: str, cve: str = "") -> CvssScore | None:
    """The base score of the first valid CVSS vector in ``text`` (source 'article'),
    or None when there is none or it does not parse."""
    vector = find_vector(text)
    if vector is None:
        return None
    try:
        if vector.startswith("CVSS:4.0"):
            v4 = CVSS4(vector)
            score, severity, clean = float(v4.base_score), str(v4.severity), v4.clean_vector()
        elif vector.startswith("CVSS:3"):
            v3 = CVSS3(vector)
            score, severity = float(v3.scores()[0]), str(v3.severities()[0])
            clean = v3.clean_vector()
        else:
            v2 = CVSS2(vector)
            score, severity = float(v2.scores()[0]), str(v2.severities()[0])
            clean = v2.clean_vector()
    except (CVSSError, ValueError, KeyError):
        return None
    severity = severity.upper()
    if severity not in SEVERITIES:
        severity = severity_for(score)
    return CvssScore(cve=cve.upper(), score=score, severity=severity, vector=clean,
                     source="article")
