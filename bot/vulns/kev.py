"""CISA's Known Exploited Vulnerabilities catalogue (JSON) → KevEntry records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.vulns import CVE_ID, VulnFormatError, vulnerabilities_doc
from storage.vuln_models import KevEntry


@dataclass(frozen=True, slots=True)
class KevCatalogue:
    entries: list[KevEntry]
    version: str  # catalogVersion, e.g. 2026.02.27
    released: date | None  # dateReleased


def _day(value: object, field: str, cve: str) -> date:
    if not isinstance(value, str):
        raise VulnFormatError(f"KEV entry {cve}: {field} missing")
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise VulnFormatError(f"KEV entry {cve}: {field} {value[:20]!r} is not a date") from None


def _text(item: dict, key: str) -> str:
    value = item.get(key)
    return value.strip() if isinstance(value, str) else ""


def parse_kev(body: bytes) -> KevCatalogue:
    """The catalogue in ``body``; raises VulnFormatError for anything else (HTML, a
    truncated document, entries without a CVE ID or date, an empty catalogue)."""
    doc = vulnerabilities_doc(body, what="KEV", name="the KEV catalogue")
    entries: list[KevEntry] = []
    for n, item in enumerate(doc["vulnerabilities"], start=1):
        if not isinstance(item, dict):
            raise VulnFormatError(f"KEV entry {n} is not an object")
        cve = _text(item, "cveID").upper()
        if not CVE_ID.fullmatch(cve):
            raise VulnFormatError(f"KEV entry {n}: cveID {cve[:20]!r} is not a CVE ID")
        due = item.get("dueDate")
        entries.append(KevEntry(
            cve=cve,
            vendor=_text(item, "vendorProject"),
            product=_text(item, "product"),
            name=_text(item, "vulnerabilityName"),
            date_added=_day(item.get("dateAdded"), "dateAdded", cve),
            due_date=_day(due, "dueDate", cve) if due else None,
            required_action=_text(item, "requiredAction"),
            known_ransomware=_text(item, "knownRansomwareCampaignUse").lower() == "known",
            description=_text(item, "shortDescription"),
        ))
    if not entries:
        raise VulnFormatError("the KEV catalogue lists no vulnerabilities")
    return KevCatalogue(entries=entries, version=str(doc.get("catalogVersion") or ""),
                        released=_released(doc.get("dateReleased")))


def _released(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
