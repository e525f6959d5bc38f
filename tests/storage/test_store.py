"""The store on a real SQLite file: migrations, articles and stories, tags, search,
the delivery ledger."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import pytest

from storage.db import _split_sql, migrations, open_db, schema_version
from storage.models import NewArticle
from storage.store import Store


def article(n: int, **kw) -> NewArticle:
    values = dict(
        source="Example News",
        title=f"Story {n} about things",
        url=f"https://news.example/{n}",
        guid=f"guid-{n}",
        text=f"Body of story {n}.",
        key_points=[f"Point {n}"],
        content_hash=f"hash-{n}",
    )
    values.update(kw)
    return NewArticle(**values)


async def test_migrations_apply_once_and_record_version(tmp_path):
    path = tmp_path / "fresh.db"
    db = await open_db(path)
    newest = migrations()[-1][0]
    assert await schema_version(db) == newest
    await db.close()
    db = await open_db(path)  # reopening applies nothing and keeps data
    assert await schema_version(db) == newest
    await db.close()


async def test_add_dedupes_by_url_guid_and_import_key(store: Store, clock):
    first = await store.articles.add(article(1), story_id=None, now=clock())
    assert first is not None
    assert await store.articles.add(article(1, guid="other"), story_id=None, now=clock()) is None
    assert await store.articles.add(article(2, guid="guid-1"), story_id=None, now=clock()) is None
    keyed = article(3, url=None, guid=None, import_key="sha256:x")
    assert await store.articles.add(keyed, story_id=None, now=clock()) is not None
    assert await store.articles.add(keyed, story_id=None, now=clock()) is None
    assert await store.articles.count() == 2
    # a rejected duplicate leaves no orphan story behind
    async with store.db.execute("SELECT count(*) FROM stories") as cur:
        assert (await cur.fetchone())[0] == 2


async def test_story_groups_articles_and_lists_sources(store: Store, clock):
    _, story_id = await store.articles.add(article(1, actors=["APT29"]), story_id=None,
                                           now=clock())
    await store.articles.add(article(2, source="Other Wire", cves=["CVE-2024-1234"]),
                             story_id=story_id, now=clock())
    story = await store.articles.get_story(story_id)
    assert story.sources == ["Example News", "Other Wire"]
    assert story.actors == ["APT29"] and story.cves == ["CVE-2024-1234"]
    assert await store.articles.story_ids_since(clock() - timedelta(hours=1)) == [story_id]


async def test_search_treats_operators_and_quotes_as_words(store: Store, clock):
    await store.articles.add(article(1, title="Ransomware hits NEAR hospital"), story_id=None,
                             now=clock())
    assert [h.article.title for h in await store.search.search("ransomware")] == [
        "Ransomware hits NEAR hospital"]
    for hostile in ['"', 'NEAR(', "title:ransomware", "ransomware OR", "AND", "*", "a) OR (b"]:
        await store.search.search(hostile)  # must not raise an FTS syntax error
    assert await store.search.search("-") == []


async def test_tag_queries(store: Store, clock):
    for n in range(3):
        await store.articles.add(article(n, actors=["Volt Typhoon"]), story_id=None, now=clock())
    refs = await store.articles.tagged("actor", "Volt Typhoon", limit=2)
    assert len(refs) == 2
    count, first, last = await store.articles.tag_stats("actor", "Volt Typhoon")
    assert count == 3 and first is not None and last is not None


async def test_delivery_ledger_plans_each_story_once(store: Store, clock):
    ids = []
    for n in range(3):
        _, story_id = await store.articles.add(article(n), story_id=None, now=clock())
        ids.append(story_id)
    batch = await store.deliveries.plan("alert", "user", 7, ids[:2], now=clock())
    again = await store.deliveries.plan("alert", "user", 7, ids, now=clock())
    assert batch is not None and again is not None
    pending = {b.id: b.story_ids for b in await store.deliveries.pending(now=clock())}
    assert pending == {batch: ids[:2], again: ids[2:]}
    assert await store.deliveries.plan("alert", "user", 7, ids, now=clock()) is None
    # another target, or another purpose, is a separate ledger line
    assert await store.deliveries.plan("briefing", "user", 7, ids, now=clock()) is not None
    await store.deliveries.mark_sent(batch, message_id=1, now=clock())
    assert await store.deliveries.delivered_story_ids("alert", "user", 7) == ids[:2]


async def _brute_force_days(store: Store, value: str, guild_id: int | None) -> dict:
    async with store.db.execute(
        "SELECT substr(at, 1, 10), count(*) FROM article_tags WHERE kind = 'actor'"
        " AND value = ? AND (CAST(? AS BIGINT) IS NULL OR scope_guild IN (0, ?)) GROUP BY 1",
        (value, guild_id, guild_id),
    ) as cur:
        return {day: n for day, n in await cur.fetchall()}


async def test_tag_day_counts_follow_inserts_scopes_and_deletes(store: Store, clock):
    start = clock()
    for n in range(12):
        await store.articles.add(
            article(n, actors=["Volt Typhoon"], published_at=start - timedelta(days=n % 4),
                    scope_guild=42 if n % 3 == 0 else 0),
            story_id=None, now=clock(),
        )
    since = (start - timedelta(days=30)).date()
    for guild in (None, 42, 7):
        days = await store.articles.tag_days("actor", "Volt Typhoon", since=since, guild_id=guild)
        expected = await _brute_force_days(store, "Volt Typhoon", guild)
        assert {d.isoformat(): n for d, n in days} == expected
        count, first, last = await store.articles.tag_stats("actor", "Volt Typhoon",
                                                            guild_id=guild)
        assert count == sum(expected.values())
        assert first.date().isoformat() == min(expected) and last.date() == start.date()
    assert (await store.articles.tag_stats("actor", "Volt Typhoon", guild_id=7))[0] == 8
    assert await store.articles.tag_days("actor", "Volt Typhoon",
                                         since=start.date() + timedelta(days=1)) == []

    # a deleted article's tags leave the counts with it (FK cascade fires the trigger)
    await store.db.execute("DELETE FROM articles WHERE url = ?", ("https://news.example/0",))
    assert (await store.articles.tag_stats("actor", "Volt Typhoon"))[0] == 11
    days = await store.articles.tag_days("actor", "Volt Typhoon", since=since)
    assert {d.isoformat(): n for d, n in days} == await _brute_force_days(
        store, "Volt Typhoon", None)
    assert await store.articles.tag_stats("actor", "Nobody") == (0, None, None)


async def test_tag_rows_refuse_updates_that_would_skew_the_counts(store: Store, clock):
    await store.articles.add(article(1, actors=["APT29"]), story_id=None, now=clock())
    with pytest.raises(Exception, match="immutable") as raised:
        await store.db.execute("UPDATE article_tags SET value = 'APT28'")
    assert type(raised.value).__name__ in ("IntegrityError", "RaiseError")
    assert (await store.articles.tag_stats("actor", "APT29"))[0] == 1


async def test_migration_007_backfills_day_counts(tmp_path):
    path = tmp_path / "v6.db"
    with sqlite3.connect(path, isolation_level=None) as old:
        for number, _, sql in migrations():
            if number <= 6:
                for statement in _split_sql(sql):
                    old.execute(statement)
        old.execute("PRAGMA user_version = 6")
        old.execute("INSERT INTO stories (id, title, first_seen, updated_at) VALUES (1, 't',"
                    " '2025-01-01T00:00:00.000000Z', '2025-01-01T00:00:00.000000Z')")
        for n, at in enumerate(["2025-01-06T10:00:00.000000Z", "2025-01-06T23:00:00.000000Z",
                                "2025-01-08T01:00:00.000000Z"], start=1):
            old.execute("INSERT INTO articles (id, source, title, text, fetched_at, story_id,"
                        " published_at) VALUES (?, 's', 't', 'x', ?, 1, ?)", (n, at, at))
            old.execute("INSERT INTO article_tags (kind, value, article_id, at, story_id)"
                        " VALUES ('actor', 'APT29', ?, ?, 1)", (n, at))
    store = await Store.open(path)
    try:
        days = await store.articles.tag_days("actor", "APT29", since=date(2025, 1, 1))
        assert sorted(days) == [(date(2025, 1, 6), 2), (date(2025, 1, 8), 1)]
        assert (await store.articles.tag_stats("actor", "APT29"))[0] == 3
    finally:
        await store.close()


async def test_search_puts_headline_matches_first_then_newest(store: Store, clock,
                                                              monkeypatch):
    async def add(n: int, **kw) -> None:
        await store.articles.add(article(n, **kw), story_id=None, now=clock())

    await add(0, title="Ransomware crew hits hospital")  # oldest, but in the title
    await add(1, title="Weekly roundup", key_points=["A ransomware crew hit a hospital."])
    await add(2, text="Hospital says ransomware crew took its records.")
    await add(3, text="A ransomware note was left; the hospital stayed open.")
    await add(4, title="Ransomware crew hits hospital: guild copy", scope_guild=77)
    await add(5, title="Ransomware crew hits bank")  # one word short: not a match

    titles = [h.article.title for h in await store.search.search("ransomware hospitals")]
    assert titles == [
        "Ransomware crew hits hospital: guild copy", "Weekly roundup",
        "Ransomware crew hits hospital", "Story 3 about things", "Story 2 about things",
    ]
    hits = await store.search.search("ransomware hospital", guild_id=5)
    assert [h.tier for h in hits] == [0, 0, 1, 1]  # guild 77's own article is hidden
    assert hits[3].text == "Hospital says ransomware crew took its records."  # for the snippet
    own = await store.search.search("ransomware hospital", guild_id=77)
    assert own[0].article.title == "Ransomware crew hits hospital: guild copy"
    page = await store.search.search("ransomware hospital", guild_id=77, limit=2, offset=2)
    assert [h.article.title for h in page] == [h.article.title for h in own[2:4]]
    assert await store.search.search("ransomware hospital", offset=5) == []

    # headline matches are promoted from the newest SEARCH_WINDOW matches only, the
    # same window for every page
    import storage.search as search_module

    monkeypatch.setattr(search_module, "SEARCH_WINDOW", 3)
    titles = [h.article.title for h in await store.search.search("ransomware hospital")]
    assert titles == ["Ransomware crew hits hospital: guild copy", "Story 3 about things",
                      "Story 2 about things", "Weekly roundup", "Ransomware crew hits hospital"]
    pages = [await store.search.search("ransomware hospital", limit=2, offset=o)
             for o in (0, 2, 4)]
    assert [h.article.title for page in pages for h in page] == titles


async def test_headline_index_follows_edits_and_deletes(store: Store, clock):
    await store.articles.add(article(1, title="Patch now"), story_id=None, now=clock())
    assert [h.tier for h in await store.search.search("patch")] == [0]
    await store.db.execute("UPDATE articles SET title = 'Update now', text = 'patch it'")
    assert [h.tier for h in await store.search.search("patch")] == [1]
    await store.db.execute("DELETE FROM articles")
    assert await store.search.search("patch") == []
    if store.db.dialect != "sqlite":
        return  # PostgreSQL: generated tsvector columns, nothing to check apart
    for index in ("articles_fts", "headlines_fts"):
        await store.db.execute(f"INSERT INTO {index} ({index}, rank) VALUES ('integrity-check', 1)")
