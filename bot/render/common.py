"""Small formatting helpers shared by every surface."""

from __future__ import annotations

from datetime import datetime

from bot.services.briefings import BriefingItem

MAX_POINTS = 6


def day(value: datetime | None) -> str:
    return f"{value.day} {value:%b %Y}" if value else "undated"


def byline(item: BriefingItem) -> str:
    parts = [item.sources[0] if item.sources else "unknown source", day(item.published_at)]
    others = len(item.sources) - 1
    if others:
        parts.append(f"also reported by {', '.join(item.sources[1:4])}"
                     + (f" and {others - 3} more" if others > 3 else ""))
    return " · ".join(parts)


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def listing(values: list[str], *, empty: str = "—", most: int = 8) -> str:
    if not values:
        return empty
    shown = ", ".join(values[:most])
    return shown + (f" (+{len(values) - most})" if len(values) > most else "")


def shorten(text: str, limit: int) -> str:
    """Cut at a word boundary with an ellipsis; never longer than ``limit``."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"
