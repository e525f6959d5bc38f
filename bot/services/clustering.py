"""Story clustering: which existing story, if any, a new article belongs to."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.intel.fingerprint import StoryKey, same_story
from storage.models import ClusterCandidate, NewArticle
from storage.store import Store

WINDOW = timedelta(days=3)


def story_key(article: NewArticle | ClusterCandidate) -> StoryKey:
    return StoryKey(
        title=article.title,
        simhash=article.simhash,
        cves=frozenset(article.cves),
        actors=frozenset(article.actors),
        published_at=article.published_at,
    )


async def find_story(store: Store, article: NewArticle, *, now: datetime) -> int | None:
    """The story of a stored article that reports the same event, or None."""
    if article.content_hash:
        exact = await store.articles.find_by_content_hash(article.content_hash)
        if exact is not None:
            return exact
    key = story_key(article)
    candidates = await store.articles.cluster_candidates(
        since=(article.published_at or now) - WINDOW,
        actors=article.actors,
        cves=article.cves,
        simhash=article.simhash,
    )
    for candidate in candidates:
        if same_story(key, story_key(candidate)):
            return candidate.story_id
    return None
