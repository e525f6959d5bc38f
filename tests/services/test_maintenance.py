"""Daily store upkeep: merging the full-text index, which searches must not notice."""

from __future__ import annotations

import pytest

from bot.services.maintenance import compact_search_index
from storage.models import NewArticle


@pytest.mark.sqlite_only  # FTS5's incremental merge; PostgreSQL's GIN needs none
async def test_compaction_merges_the_index_and_keeps_every_hit(services, clock):
    store = services.store
    for n in range(12):  # one transaction each, as ingestion stores them: 12 segments
        await store.articles.add(
            NewArticle(source="Wire", title=f"Ransomware report {n}", url=f"https://w.example/{n}",
                       text=f"Ransomware crews hit target {n}; {'patch ' * n}now.",
                       content_hash=f"h{n}"),
            story_id=None, now=clock(),
        )
    before = [(h.article.id, h.snippet) for h in await store.search.search("ransomware")]
    assert len(before) == 10

    assert await compact_search_index(store, pause=0) >= 1
    assert await compact_search_index(store, pause=0) == 0  # already one segment

    after = [(h.article.id, h.snippet) for h in await store.search.search("ransomware")]
    assert after == before
    # FTS5's own check of the index against the articles table
    await store.db.execute(
        "INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)"
    )
