"""Date-line parsing for imported articles: the many formats outlets print, to aware UTC."""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime

__all__ = ["date_in_line", "parse_date"]

_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for m in names
}
_DATE_PREFIX = re.compile(
    r"^(?:(?:published|posted|updated|last\s+updated|date|dated|released)(?:\s+on)?\s*:?\s*)",
    re.IGNORECASE,
)
_WEEKDAY = re.compile(
    r"^(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE
)
_TIME = r"(?:,?\s+(?:at\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?(?:\s*(?:utc|gmt|z))?)?"
_MDY = re.compile(
    r"^([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})" + _TIME + r"$", re.IGNORECASE
)
_DMY = re.compile(
    r"^(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,9})\.?,?\s+(\d{4})" + _TIME + r"$",
    re.IGNORECASE,
)
_YMD_SLASH = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_NUMERIC = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def _mk(year: int, month: int, day: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime | None:
    if not 1990 <= year <= 2100:
        return None
    try:
        return datetime(year, month, day, hh, mm, ss, tzinfo=UTC)
    except ValueError:
        return None


def _clock(m: re.Match[str], first: int) -> tuple[int, int, int]:
    hh, mm, ss, ampm = m.group(first), m.group(first + 1), m.group(first + 2), m.group(first + 3)
    if hh is None:
        return 0, 0, 0
    h = int(hh)
    if ampm:
        pm = ampm.lower().startswith("p")
        h = (h % 12) + (12 if pm else 0)
    return h, int(mm), int(ss or 0)


def parse_date(value: str) -> datetime | None:
    """Parse a date line ("2025-01-07", "January 7, 2025", "7 Jan 2025", "2025/01/07",
    "Tue, 07 Jan 2025 10:00:00 GMT", ISO 8601 with zone, "Published: …") to aware UTC.

    All-numeric "01/07/2025" is read month-first unless the first number exceeds 12.
    Returns None for anything that isn't entirely a date.
    """
    s = (value or "").strip().strip("*_`").strip()
    s = _DATE_PREFIX.sub("", s).strip()
    if not s or len(s) > 60:
        return None
    iso = s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s
    if re.match(r"^\d{4}-\d{2}-\d{2}", iso):
        try:
            dt = datetime.fromisoformat(iso)
        except ValueError:
            dt = None
        if dt is not None:
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            dt = dt.astimezone(UTC)
            return dt if 1990 <= dt.year <= 2100 else None
    if m := _YMD_SLASH.match(s):
        return _mk(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _NUMERIC.match(s):
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        month, day = (b, a) if a > 12 else (a, b)
        return _mk(year, month, day)
    if re.search(r"\d{1,2}:\d{2}:\d{2}\s*(?:[+-]\d{4}|gmt|utc|[a-z]{3})$", s, re.IGNORECASE):
        try:
            dt = email.utils.parsedate_to_datetime(s)
        except (TypeError, ValueError, IndexError):
            dt = None
        if dt is not None:
            dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
            return dt if 1990 <= dt.year <= 2100 else None
    s = _WEEKDAY.sub("", s)
    if m := _MDY.match(s):
        month = _MONTHS.get(m.group(1).lower())
        if month:
            return _mk(int(m.group(3)), month, int(m.group(2)), *_clock(m, 4))
    if m := _DMY.match(s):
        month = _MONTHS.get(m.group(2).lower())
        if month:
            return _mk(int(m.group(3)), month, int(m.group(1)), *_clock(m, 4))
    return None


def date_in_line(line: str) -> datetime | None:
    """A date line may carry a byline: "January 7, 2025 | By Jane Doe"."""
    if len(line) > 100:
        return None
    for part in re.split(r"\s+[|\u00b7\u2022]\s+|\s+[-\u2013\u2014]\s+", line):
        dt = parse_date(part)
        if dt:
            return dt
    return None
