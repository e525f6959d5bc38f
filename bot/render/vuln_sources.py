"""`secbrief vulns refresh|status`: the sources' reports as text and as JSON."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.render.common import plural

if TYPE_CHECKING:
    from bot.services.vulns import SourceReport
    from storage.vuln_models import VulnSourceStatus

NAMES = {"kev": "CISA KEV", "epss": "FIRST EPSS", "nvd": "NVD CVSS"}
UNITS = {"kev": ("entry", "entries"), "epss": ("score", None), "nvd": ("score", None)}


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def _day(value: date | None) -> str:
    return value.isoformat() if value else "unknown"


def _records(source: str, count: int) -> str:
    word, words = UNITS[source]
    return plural(count, word, words)


def report_json(report: SourceReport) -> dict:
    data: dict = {
        "source": report.source,
        "enabled": report.enabled,
        "outcome": report.outcome,
        "records": report.records,
        "data_date": report.data_date.isoformat() if report.data_date else None,
        "error": report.error,
        "next_refresh": report.next_refresh.isoformat() if report.next_refresh else None,
    }
    if report.outcome == "claimed_elsewhere":
        data["claimed_by"] = report.claimed_by
        data["claimed_until"] = report.claimed_until.isoformat() if report.claimed_until else None
    if report.source == "nvd":
        data["asked"] = report.asked
    if report.kev is not None:
        data["kev_added"] = [e.cve for e in report.kev.added]
        data["kev_removed"] = report.kev.removed
        data["first_load"] = report.kev.first_load
    if report.epss is not None:
        data["epss_crossed"] = [s.cve for s in report.epss.crossed]
    return data


def refresh_json(reports: list[SourceReport]) -> dict:
    return {"sources": [report_json(r) for r in reports]}


def refresh_text(reports: list[SourceReport]) -> str:
    lines = []
    for r in reports:
        name = NAMES[r.source]
        if r.outcome == "off":
            lines.append(f"{name}: off (its URL is empty)")
            continue
        held = f"{_records(r.source, r.records)}, data of {_day(r.data_date)}"
        if r.outcome == "failed":
            lines.append(f"{name}: failed — {r.error}; kept {held}; "
                         f"next try {_when(r.next_refresh)}")
        elif r.outcome == "not_due":
            lines.append(f"{name}: not due until {_when(r.next_refresh)} ({held}; "
                         "--force refreshes now)")
        elif r.outcome == "claimed_elsewhere":
            lines.append(f"{name}: being refreshed by another process ({r.claimed_by}, lease "
                         f"until {_when(r.claimed_until)}); not fetched here ({held}; "
                         "--force does not take over a live claim)")
        elif r.outcome == "not_modified":
            extra = "nothing to ask" if r.source == "nvd" else "not modified"
            lines.append(f"{name}: {extra} ({held})")
        else:
            detail = held
            if r.kev is not None and not r.kev.first_load:
                detail += f"; {len(r.kev.added)} new, {len(r.kev.removed)} removed"
            if r.source == "nvd":
                detail = f"asked about {plural(r.asked, 'CVE')}; {_records(r.source, r.records)}"
            lines.append(f"{name}: updated — {detail}")
    return "\n".join(lines)


def status_json(statuses: list[VulnSourceStatus]) -> dict:
    return {"sources": [{
        "source": s.source,
        "enabled": s.enabled,
        "url": s.url,
        "last_success": s.last_success.isoformat() if s.last_success else None,
        "last_attempt": s.last_attempt.isoformat() if s.last_attempt else None,
        "last_error": s.last_error,
        "failures": s.failures,
        "data_date": s.data_date.isoformat() if s.data_date else None,
        "next_refresh": s.next_refresh.isoformat() if s.next_refresh else None,
        "records": s.records,
    } for s in statuses]}


def status_text(statuses: list[VulnSourceStatus]) -> str:
    lines = []
    for s in statuses:
        name = NAMES[s.source]
        if not s.enabled:
            lines.append(f"{name}: off (its URL is empty)")
            continue
        line = (f"{name}: {_records(s.source, s.records)}, data of {_day(s.data_date)}; "
                f"last success {_when(s.last_success)}; next refresh "
                f"{_when(s.next_refresh) if s.next_refresh else 'at the next round'}")
        if s.last_error:
            line += f"; failing ({plural(s.failures, 'time')}): {s.last_error}"
        lines.append(line)
    return "\n".join(lines)
