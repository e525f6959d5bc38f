"""NVD's CVE API 2.0: one CVE's answer → its CVSS base score and description.

Metrics are read from cvssMetricV40, then V31, V30, V2 — the newest CVSS version the
answer has wins, and within it NVD's own ("Primary") metric before a CNA's
("Secondary").
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.vulns import CVE_ID, VulnFormatError, vulnerabilities_doc
from storage.vuln_models import CvssScore

METRIC_KEYS = ("cvssMetricV40", "cvssMetricV31", "cvssMetricV30", "cvssMetricV2")
SEVERITIES = frozenset({"NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL"})


@dataclass(frozen=True, slots=True)
class NvdRecord:
    cve: str
    cvss: CvssScore | None  # None: NVD has no score for it yet (e.g. awaiting analysis)
    description: str


def severity_for(score: float) -> str:
    """CVSS v3/v4 qualitative rating of a base score (v2 answers carry their own)."""
    if score == 0:
        return "NONE"
    if score < 4:
        return "LOW"
    if score < 7:
        return "MEDIUM"
    if score < 9:
        return "HIGH"
    return "CRITICAL"


def _metric(metrics: dict, cve: str, description: str) -> CvssScore | None:
    for key in METRIC_KEYS:
        found = [m for m in metrics.get(key) or [] if isinstance(m, dict)]
        found.sort(key=lambda m: m.get("type") != "Primary")  # stable: Primary first
        for metric in found:
            data = metric.get("cvssData")
            if not isinstance(data, dict):
                continue
            score = data.get("baseScore")
            if not isinstance(score, int | float) or not 0 <= score <= 10:
                continue
            severity = str(data.get("baseSeverity") or metric.get("baseSeverity") or "").upper()
            if severity not in SEVERITIES:
                severity = severity_for(float(score))
            return CvssScore(cve=cve, score=float(score), severity=severity,
                             vector=str(data.get("vectorString") or ""), source="nvd",
                             description=description)
    return None


def parse_nvd(body: bytes, cve: str) -> NvdRecord:
    """The record for ``cve`` in an API answer (``cvss`` None when NVD has no score or
    does not know the CVE); raises VulnFormatError when the body is not an answer."""
    doc = vulnerabilities_doc(body, what="NVD", name="an NVD CVE API answer")
    for item in doc["vulnerabilities"]:
        record = item.get("cve") if isinstance(item, dict) else None
        if not isinstance(record, dict) or str(record.get("id", "")).upper() != cve:
            continue
        description = next(
            (d.get("value", "").strip() for d in record.get("descriptions") or []
             if isinstance(d, dict) and d.get("lang") == "en"), "")
        metrics = record.get("metrics")
        cvss = _metric(metrics, cve, description) if isinstance(metrics, dict) else None
        return NvdRecord(cve=cve, cvss=cvss, description=description)
    if not CVE_ID.fullmatch(cve):
        raise VulnFormatError(f"{cve[:20]!r} is not a CVE ID")
    return NvdRecord(cve=cve, cvss=None, description="")
