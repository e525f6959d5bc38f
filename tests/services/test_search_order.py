"""/search on a real store: newest first by publication date whatever the ingest order,
a total count, pages that follow one another, and snippets taken from each article's
own text (a boilerplate sentence several hits share is never the snippet)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from bot.services.errors import UserError
from storage.models import NewArticle

BOILERPLATE = ("Subscribe to the Harbourline ransomware newsletter for weekly ransomware "
               "news and analysis.")


async def _add(services, n: int, *, days_ago: float | None, text: str,
               title: str | None = None, guild: int = 0) -> int:
    now = services.clock()
    published = None if days_ago is None else now - timedelta(days=days_ago)
    added = await services.store.articles.add(
        NewArticle(source=f"Wire {n}", title=title or f"Quarterly report number {n}",
                   url=f"https://news.example/search/{n}", text=text,
                   published_at=published, scope_guild=guild),
        story_id=None, now=now,
    )
    assert added is not None
    return added[0]


async def test_results_are_newest_first_by_publication_date_not_ingest_order(services):
    ages = list(range(23))
    random.Random(7).shuffle(ages)  # ingest order unrelated to publication order
    for n, age in enumerate(ages):
        await _add(services, n, days_ago=age,
                   text=f"A ransomware crew hit site {n} and asked for {n + 3} bitcoin.")
    first = [h.article.published_at for h in await services.search.search("ransomware")]
    assert first == sorted(first, reverse=True)
    page = await services.search.page("ransomware", limit=10)
    assert page.total == 23
    dates = [h.article.published_at for h in page.hits]
    assert len(dates) == 10 and dates == sorted(dates, reverse=True)
    assert dates[0] == services.clock()  # the newest published, though ingested mid-way
    rest = await services.search.page("ransomware", offset=10, limit=10)
    last = await services.search.page("ransomware", offset=20, limit=10)
    assert rest.total == last.total == 23 and len(last.hits) == 3
    every = [h.article.id for p in (page, rest, last) for h in p.hits]
    assert len(set(every)) == 23  # pages follow one another: nothing twice, nothing lost
    all_dates = [h.article.published_at for p in (page, rest, last) for h in p.hits]
    assert all_dates == sorted(all_dates, reverse=True)


async def test_undated_articles_sort_by_when_they_were_fetched(services):
    await _add(services, 1, days_ago=30, text="Old ransomware wave in the north.")
    await _add(services, 2, days_ago=None, text="Undated ransomware note fetched now.")
    await _add(services, 3, days_ago=2, text="Recent ransomware wave in the south.")
    page = await services.search.page("ransomware")
    assert [h.article.source for h in page.hits] == ["Wire 2", "Wire 3", "Wire 1"]


async def test_snippets_come_from_each_articles_own_text(services):
    places = ["a hospital in Leeds", "a port in Gdansk", "a school board in Ohio",
              "a brewery in Munich", "a council in Kent", "a clinic in Porto",
              "a bank in Riga", "a refinery in Texas", "a museum in Oslo"]
    for n, place in enumerate(places):
        await _add(services, n, days_ago=n, text=(
            f"{BOILERPLATE} Investigators said a ransomware attack on {place} encrypted "
            f"{n + 2} servers. {BOILERPLATE}"))
    page = await services.search.page("ransomware")
    snippets = [h.snippet for h in page.hits]
    assert len(snippets) == 9 and len(set(snippets)) == 9
    for hit, place in zip(page.hits, places, strict=True):
        assert place in hit.snippet and "newsletter" not in hit.snippet


async def test_snippet_is_the_sentence_with_the_matched_words(services):
    await _add(services, 1, days_ago=0, text=(
        "The company published its results on Monday. Revenue grew by a tenth. "
        "Separately, attackers exploited a flaw in its Mailgate servers last week. "
        "Shares closed higher."))
    (hit,) = (await services.search.page("exploit mailgate")).hits
    assert hit.snippet.startswith("Separately, attackers exploited a flaw")


async def test_other_guilds_private_articles_are_not_counted(services):
    await _add(services, 1, days_ago=0, text="A ransomware outbreak, public.")
    await _add(services, 2, days_ago=0, text="A ransomware outbreak, private.", guild=4242)
    assert (await services.search.page("ransomware", guild_id=9001)).total == 1
    assert (await services.search.page("ransomware", guild_id=4242)).total == 2
    assert (await services.search.page("ransomware", guild_id=0)).total == 1


async def test_bad_paging_is_refused(services):
    with pytest.raises(UserError, match="page"):
        await services.search.page("ransomware", offset=-10)
