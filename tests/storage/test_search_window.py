"""Search's newest-matches window on a store spanning several of PostgreSQL's id blocks
(migration postgres/017): whichever way the window is found — FTS5's newest-first walk,
or GIN narrowed to the newest blocks, or all matches when the newest blocks hold too
few — every page equals the brute-force answer, on both backends; and phrase lookups
(an unknown name's mentions), which PostgreSQL rechecks against each tsvector."""

from __future__ import annotations

from datetime import timedelta

import pytest

import storage.search as search_module
from storage.models import NewArticle
from storage.store import Store

N = 2_600  # ids past two blocks of 1,024
GUILD = 7


def words(n: int) -> list[str]:
    """The words of article n: spread evenly ('alpha', 'beta'), only in the oldest
    ('omega'), only in the newest ('fresh'), or in a few ('rare')."""
    found = []
    if n % 3 == 0:
        found.append("alpha")
    if n % 5 == 0:
        found.append("beta")
    if n < 400:
        found.append("omega")
    if n > N - 90:
        found.append("fresh")
    if n % 700 == 1:
        found.append("rare")
    return found


def scope(n: int) -> int:
    return GUILD if n % 11 == 0 else (GUILD + 1 if n % 13 == 0 else 0)


@pytest.fixture
async def spread(store: Store, clock) -> dict[int, int]:
    """Article number -> id; every article published a minute after the one before, so
    newest first by date is newest first by id (and no title holds a searched word)."""
    start = clock() - timedelta(days=N // 1440 + 1)
    ids = {}
    for n in range(N):
        found = await store.articles.add(NewArticle(
            source="Wire", title=f"Report {n}", url=f"https://news.example/{n}",
            text=" ".join(["Body", *words(n), "ends here."]), content_hash=f"h{n}",
            published_at=start + timedelta(minutes=n), scope_guild=scope(n),
        ), story_id=None, now=clock())
        assert found is not None
        ids[n] = found[0]
    return ids


def expected(ids: dict[int, int], word: str, guild: int | None) -> list[int]:
    return sorted((ids[n] for n in ids if word in words(n)
                   and (guild is None or scope(n) in (0, guild))), reverse=True)


@pytest.mark.parametrize("window", [60, 500])
async def test_every_page_is_the_newest_matches_whatever_their_spread(
        store: Store, spread: dict[int, int], monkeypatch, window: int):
    monkeypatch.setattr(search_module, "SEARCH_WINDOW", window)
    monkeypatch.setattr(search_module, "PROBE_MIN_IDS", 16)  # probe narrowly at this size
    for word in ("alpha", "beta", "omega", "fresh", "rare", "alpha beta"):
        for guild in (None, GUILD):
            want = sorted(set.intersection(*(set(expected(spread, w, guild))
                                              for w in word.split())), reverse=True)
            for offset in (0, 40, window - 10, window + 30):
                page = await store.search.page(word, limit=25, offset=offset,
                                               guild_id=guild)
                assert page.total == len(want), (word, guild, offset)
                assert [h.article.id for h in page.hits] == want[offset:offset + 25], (
                    word, guild, offset)


async def test_a_phrase_counts_only_its_own_word_order(store: Store, clock):
    """An unknown name's "appears in N stored stories, with …": the phrase in order,
    not its words apart; newest window, visible articles, actors by story."""
    texts = [
        ("Integrity Technology Group ran the botnet.", ["Flax Typhoon"], 0),
        ("Contractor Integrity Technology Group again.", ["Flax Typhoon"], 0),
        ("The group's integrity and technology were questioned.", ["APT29"], 0),
        ("Integrity Technology Group, a private note.", ["APT29"], GUILD),
    ]
    for n, (text, actors, guild) in enumerate(texts):
        assert await store.articles.add(NewArticle(
            source="Wire", title=f"Note {n}", url=f"https://news.example/p{n}", text=text,
            content_hash=f"p{n}", actors=actors, scope_guild=guild), story_id=None,
            now=clock())
    search = store.search
    assert await search.count_matching("Integrity Technology Group") == 3
    assert await search.count_matching("Integrity Technology Group", guild_id=GUILD + 1) == 2
    assert await search.phrase_context("Integrity Technology Group", guild_id=GUILD + 1) == (
        2, ["Flax Typhoon"])
    stories, actors = await search.phrase_context("Integrity Technology Group")
    assert (stories, actors) == (3, ["Flax Typhoon", "APT29"])
    assert await search.count_matching("Technology Integrity") == 0


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_postgres_searches_run_with_their_planner_settings(store: Store):
    """The planner would filter a sequential scan of article_search with @@, reading
    every row's TOASTed tsvector; and a cached generic plan keeps the visibility test
    for a NULL guild, so a count reads every matching row (11.5 against 4.3 ms for a
    common word at 100,000 articles): searches turn both off for their transaction."""
    db = store.db
    async with store.search._index_scans():
        assert await db.fetchval("SHOW enable_seqscan") == "off"
        assert await db.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
    assert await db.fetchval("SHOW enable_seqscan") == "on"
    assert await db.fetchval("SHOW plan_cache_mode") == "auto"
    async with db.transaction(search_plans=True, lock=0x5EC):
        assert await db.fetchval("SHOW enable_seqscan") == "off"
        assert await db.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
            " AND pid = pg_backend_pid()") == 1


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_postgres_search_rows_keep_their_date_in_the_row(store: Store, clock):
    """toast_tuple_target = 128 (migration 017) moved each row's date out to TOAST as
    well as its tsvectors, so reading a search's 500 dates made 500 TOAST lookups;
    migration 022 keeps the date and id block in the row. (An uncompressed value moved
    out is one TOAST chunk holding exactly its bytes.)"""
    body = " ".join(f"word{n} report{n} finding{n}" for n in range(300))
    for n in range(3):
        assert await store.articles.add(NewArticle(
            source="Wire", title=f"A long report {n}", url=f"https://news.example/l{n}",
            text=body, content_hash=f"long{n}", published_at=clock() - timedelta(hours=n),
        ), story_id=None, now=clock())
    db = store.db
    toast = await db.fetchval("SELECT reltoastrelid::regclass::text FROM pg_class"
                              " WHERE relname = 'article_search'")
    assert await db.fetchval(f"SELECT count(*) FROM {toast}") > 0  # the tsvectors
    dates = [row[0] for row in await db.fetchall("SELECT at FROM article_search")]
    assert len(dates) == 3
    moved = await db.fetchval(
        f"SELECT count(*) FROM {toast} WHERE chunk_data = ANY(?::bytea[])",
        ([d.encode() for d in dates],))
    assert moved == 0
    assert await db.fetchval("SELECT string_agg(attstorage::text, '' ORDER BY attname)"
                             " FROM pg_attribute WHERE attrelid = 'article_search'::regclass"
                             " AND attname IN ('at', 'id_block')") == "pp"
