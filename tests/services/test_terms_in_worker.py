"""A new article's story terms are read in the ingest worker, not on the event loop."""

from __future__ import annotations

from dataclasses import replace

from bot.intel.story_terms import article_terms
from bot.news.analyse import RawArticle, analyse_with_terms

TEXT = (
    "Sandworm operators deployed a new wiper, ZeroGrid, against energy utilities in "
    "Poland, exploiting CVE-2024-3400 in exposed firewalls. The flaw was exploited in "
    "the wild before a patch was available."
)


def raw(n: int) -> RawArticle:
    return RawArticle(source="Wire A", title=f"Sandworm wiper hits Polish utilities {n}",
                      url=f"https://news.example/terms/{n}", text=TEXT)


def test_the_worker_reads_the_same_terms_as_the_stored_article_gives() -> None:
    article, terms = analyse_with_terms(raw(1))
    assert terms == article_terms(article.title, article.text, article.key_points)
    assert "CVE-2024-3400" in terms.cves and terms.sectors  # it read something real


async def test_ingest_hands_the_workers_terms_to_commentary(services) -> None:
    article, terms = await services.ingest._analyse_with_terms(raw(2))
    marked = replace(terms, malware=[*terms.malware, "MarkerOnly"])
    article_id = await services.ingest.store_article(article, terms=marked)
    assert article_id is not None
    stored = (await services.store.articles.get_many([article_id]))[0]
    # The refresh used the worker's terms (the marker), not a fresh read of the text.
    assert services.commentary._article_terms(stored) is marked
