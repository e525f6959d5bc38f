"""Story clustering: which existing story, if any, a new article belongs to."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.intel.fingerprint import StoryKey, same_story
from storage.models import NewArticle
from storage.store import Store

WINDOW = timedelta(days=3)


async def find_story(store: Store, article: NewArticle, *, now: datetime) -> int | None:
    """The story of a stored article that reports the same event, or None."""
    if article.content_hash:
        exact = await store.articles.find_by_content_hash(article.content_hash)
        if exact is not None:
            return exact
    when = article.published_at or now
    key = StoryKey(
        title=article.title,
        simhash=article.simhash,
        cves=frozenset(article.cves),
        actors=frozenset(article.actors),
        published_at=article.published_at,
    )
    candidates = await store.articles.cluster_candidates(
        since=when - WINDOW, actors=article.actors, cves=article.cves, simhash=article.simhash
    )
    for candidate in candidates:
        other = StoryKey(
            title=candidate.title,
            simhash=candidate.simhash,
            cves=frozenset(candidate.cves),
            actors=frozenset(candidate.actors),
            published_at=candidate.published_at,
        )
        if same_story(key, other):
            return candidate.story_id
    return None
