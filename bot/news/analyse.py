"""The CPU-bound part of ingestion for one article, as a plain function.

``analyse`` turns a raw article (page HTML and/or feed content, or an imported file's
text) into a ``NewArticle``: extracted and cleaned text, actors, CVEs, vendors, key
points and fingerprints. It runs in worker processes; the actor tagger is built once
per worker by ``init_worker``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Protocol

from bot.intel.cves import find_cves
from bot.intel.fingerprint import content_hash, simhash
from bot.intel.keypoints import MIN_POINTS, key_points, top_up
from bot.intel.story_terms import StoryTerms, article_terms
from bot.intel.vendors import find_vendors
from bot.news.clean import html_to_text, plain_text, strip_debris, strip_invisible
from bot.news.extract import extract_article_text
from storage.models import NewArticle

MAX_TEXT = 60_000  # characters kept per article; the rest is rarely news


class Tagger(Protocol):
    def tag(self, text: str) -> list[str]: ...


@dataclass(slots=True)
class RawArticle:
    source: str
    title: str
    url: str | None = None
    guid: str | None = None
    feed_id: int | None = None
    published_at: datetime | None = None
    page_html: bytes | None = None  # the article page, when fetched
    feed_html: str = ""  # the feed's own content or summary
    text: str | None = None  # plain text, for imported files
    lead: str = ""
    key_points: list[str] = field(default_factory=list)  # kept when given (imports)
    commentary: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    import_key: str | None = None
    scope_guild: int = 0  # the guild whose own feed carried it; 0 for public


_tagger: Tagger | None = None


def init_worker(tagger: Tagger | None) -> None:
    """Process-pool initializer: keep the actor tagger for every job of this worker."""
    global _tagger
    _tagger = tagger


def body_text(raw: RawArticle) -> str:
    text = raw.text
    if text is None and raw.page_html:
        text = extract_article_text(raw.page_html, url=raw.url)
    if not text and raw.feed_html:
        text = html_to_text(raw.feed_html)
    return strip_invisible(strip_debris(text or ""))[:MAX_TEXT]


def first_paragraph(text: str) -> str:
    for paragraph in text.split("\n"):
        if len(paragraph.strip()) >= 60:
            return paragraph.strip()
    return text.strip()[:500]


def scrubbed(raw: RawArticle) -> RawArticle:
    """The raw article with terminal escapes, control characters and invisible
    characters removed from every text field (page HTML is extracted, then cleaned).

    This is the one place where feed, page and imported text becomes storable, so
    ingest and import alike store none of them."""
    changes: dict[str, object] = {}
    for spec in fields(raw):
        value = getattr(raw, spec.name)
        if isinstance(value, str):
            changes[spec.name] = strip_invisible(value)
        elif isinstance(value, list):
            changes[spec.name] = [strip_invisible(v) if isinstance(v, str) else v
                                  for v in value]
    return replace(raw, **changes)


def analyse(raw: RawArticle, tagger: Tagger | None = None) -> NewArticle:
    tagger = tagger or _tagger
    raw = scrubbed(raw)
    title = plain_text(raw.title) or "(untitled)"
    text = body_text(raw)
    lead = strip_invisible(raw.lead) or first_paragraph(text)
    everything = f"{title}\n{lead}\n{text}\n" + "\n".join(raw.key_points)
    actors = tagger.tag(everything) if tagger else []
    cves = find_cves(everything)
    points = [p for p in (strip_invisible(p).strip() for p in raw.key_points) if p]
    if len(points) < MIN_POINTS:  # none given, or an author's list of one or two
        extracted = key_points(title, text, lead=lead, boost_terms=[*actors, *cves])
        points = top_up(points, extracted) if points else extracted
    return NewArticle(
        source=plain_text(raw.source) or "unknown",
        title=title[:500],
        url=raw.url,
        guid=raw.guid,
        import_key=raw.import_key,
        feed_id=raw.feed_id,
        lead=lead,
        text=text,
        published_at=raw.published_at,
        key_points=points,
        commentary=[strip_invisible(c) for c in raw.commentary],
        references=raw.references,
        actors=actors,
        cves=cves,
        vendors=find_vendors(everything),
        simhash=simhash(text or title),
        content_hash=content_hash(text or title),
        scope_guild=raw.scope_guild,
    )


def analyse_with_terms(
    raw: RawArticle, tagger: Tagger | None = None
) -> tuple[NewArticle, StoryTerms]:
    """``analyse`` plus the article's story terms (for commentary), both in the worker."""
    article = analyse(raw, tagger)
    return article, article_terms(article.title, article.text, article.key_points)
