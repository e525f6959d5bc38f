"""Durations typed by people: 90m, 24h, 7d, 2w."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d{1,7})\s*([mhdw])\s*$", re.I)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"“{text}” is not a duration: write it like 90m, 24h, 7d or 2w")
    amount, unit = int(match.group(1)), match.group(2).lower()
    try:
        return timedelta(**{_UNITS[unit]: amount})
    except OverflowError as exc:
        raise ValueError(f"“{text}” is too long a duration") from exc
