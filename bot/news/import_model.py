"""The importer's result type (``ImportedArticle``) and its error (``ImportFormatError``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["ImportFormatError", "ImportedArticle"]


@dataclass(slots=True)
class ImportedArticle:
    title: str
    published_at: datetime | None  # aware, UTC
    lead: str
    text: str  # all prose in reading order (lead, body, key points, commentary), no debris
    key_points: list[str] = field(default_factory=list)  # empty when the file has none
    commentary: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    source: str | None = None
    url: str | None = None
    format: str = "text"  # "text" | "markdown" | "html"


class ImportFormatError(ValueError):
    """The file can't be imported; the message says what is missing or wrong."""
