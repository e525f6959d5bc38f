"""The store on a real SQLite file: migrations, articles and stories, tags, search,
the delivery ledger."""

from __future__ import annotations

from datetime import timedelta

from storage.db import migrations, open_db, schema_version
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
    assert [h.article.title for h in await store.articles.search("ransomware")] == [
        "Ransomware hits NEAR hospital"]
    for hostile in ['"', 'NEAR(', "title:ransomware", "ransomware OR", "AND", "*", "a) OR (b"]:
        await store.articles.search(hostile)  # must not raise an FTS syntax error
    assert await store.articles.search("-") == []


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
