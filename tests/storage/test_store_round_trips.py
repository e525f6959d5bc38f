"""What ingest's store calls cost in round trips, and that the cheaper forms keep their
meaning: a connection back in the pool runs nothing more (PostgreSQL), a transaction
taking an advisory lock with its BEGIN still serialises with every other holder of the
key and rolls back whatever ends it, clustering's one-statement candidate lookup, and a
story read with its articles in one statement."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from storage.articles import simhash_bands
from storage.db import open_database
from storage.models import NewArticle
from storage.store import Store

POSTGRES_ONLY = [pytest.param("postgres", marks=pytest.mark.postgres)]
KEY = 0x5EC_7E57


def article(n: int, **kw: object) -> NewArticle:
    values: dict = dict(source="Wire", title=f"Story {n}", url=f"https://news.example/{n}",
                        text=f"Body {n}.", content_hash=f"hash-{n}")
    values.update(kw)
    return NewArticle(**values)


async def _client_backends(url: str) -> list[tuple[str, str]]:
    """(state, last query) of every other client connection to the test's database."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT state, query FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
        return [(r["state"], r["query"]) for r in rows]
    finally:
        await conn.close()


@pytest.mark.parametrize("backend", POSTGRES_ONLY)
async def test_a_connection_back_in_the_pool_ran_nothing_after_its_statement(
    db_path: str, backend: str,
) -> None:
    db = await open_database(db_path)
    try:
        assert await db.fetchval("SELECT 'secbrief probe'") == "secbrief probe"
        async with db.transaction(lock=KEY):
            await db.execute("UPDATE meta SET value = value WHERE key = 'none'")
        backends = await _client_backends(db_path)
        # asyncpg's default reset (pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
        # RESET ALL) would be the last query of each: one more round trip per statement
        assert backends and all(state == "idle" for state, _ in backends), backends
        assert not any("unlock_all" in query for _, query in backends), backends
        assert {query for _, query in backends} & {"SELECT 'secbrief probe'", "COMMIT"}
    finally:
        await db.close()


async def test_a_locked_transaction_waits_for_the_key_held_on_another_connection(
    db_path: Path | str,
) -> None:
    one, two = await open_database(db_path), await open_database(db_path)
    try:
        await one.execute("INSERT INTO meta (key, value) VALUES ('k', '1')")

        async def append(db, letter: str) -> None:
            async with db.transaction(lock=KEY):
                await db.execute("UPDATE meta SET value = value || ? WHERE key = 'k'", (letter,))

        async with one.transaction(lock=KEY):
            await one.execute("UPDATE meta SET value = value || 'a' WHERE key = 'k'")
            waiting = asyncio.create_task(append(two, "b"))
            await asyncio.sleep(0.2)
            assert not waiting.done()  # the other connection waits for this commit
        await waiting
        assert await two.fetchval("SELECT value FROM meta WHERE key = 'k'") == "1ab"

        # an error inside rolls back and lets go of the key at once
        with pytest.raises(RuntimeError, match="undo"):
            async with one.transaction(lock=KEY):
                await one.execute("UPDATE meta SET value = 'lost' WHERE key = 'k'")
                raise RuntimeError("undo")
        await asyncio.wait_for(append(two, "c"), timeout=30)
        await one.execute("UPDATE meta SET value = value || 'd' WHERE key = 'k'")  # autocommit
        assert await two.fetchval("SELECT value FROM meta WHERE key = 'k'") == "1abcd"
    finally:
        await one.close()
        await two.close()


@pytest.mark.parametrize("backend", POSTGRES_ONLY)
async def test_a_transaction_cancelled_while_waiting_for_the_key_leaves_nothing_open(
    db_path: str, backend: str,
) -> None:
    one, two = await open_database(db_path), await open_database(db_path)
    try:
        async def wait_for_key() -> None:
            async with two.transaction(lock=KEY):
                await two.execute("INSERT INTO meta (key, value) VALUES ('never', '1')")

        async with one.transaction(lock=KEY):
            waiting = asyncio.create_task(wait_for_key())
            await asyncio.sleep(0.2)
            assert not waiting.done()
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        assert await two.fetchval("SELECT 'usable'") == "usable"
        assert await two.fetchval("SELECT count(*) FROM meta WHERE key = 'never'") == 0
        backends = await _client_backends(db_path)
        assert all(state == "idle" for state, _ in backends), backends  # none in a transaction
    finally:
        await one.close()
        await two.close()


async def test_cluster_candidates_are_tag_and_band_matches_oldest_first(
    store: Store, clock,
) -> None:
    now = clock()
    recent = now - timedelta(hours=1)
    old = await store.articles.add(
        article(0, actors=["APT29"], published_at=now - timedelta(days=30)),
        story_id=None, now=now)
    tagged = [await store.articles.add(
        article(n, actors=["APT29"], cves=["CVE-2026-0001"] if n == 50 else [],
                published_at=recent), story_id=None, now=now) for n in range(1, 102)]
    near = 0x1234_5678_9ABC_DEF0
    same_band = (simhash_bands(near)[2] << 32) | 0x0F0F  # shares band 2 only
    banded = await store.articles.add(article(200, simhash=same_band, published_at=recent),
                                      story_id=None, now=now)
    by_cve = await store.articles.add(
        article(201, cves=["CVE-2026-0002"], vendors=["Acme"], published_at=recent),
        story_id=None, now=now)
    await store.articles.add(article(202, actors=["Other"], published_at=recent),
                             story_id=None, now=now)
    assert old and banded and by_cve and all(tagged)

    found = await store.articles.cluster_candidates(
        since=now - timedelta(days=3), actors=["APT29"], cves=["CVE-2026-0002"], simhash=near)
    # the newest 100 tagged APT29 (not the first, nor the one outside the window), the
    # CVE's article and the band match; each with its actor and CVE tags
    expected = sorted([t[0] for t in tagged[1:]] + [banded[0], by_cve[0]])
    assert [c.id for c in found] == expected
    one = {c.id: c for c in found}
    assert one[tagged[49][0]].actors == {"APT29"}
    assert one[tagged[49][0]].cves == {"CVE-2026-0001"}
    assert (one[by_cve[0]].actors, one[by_cve[0]].cves) == (set(), {"CVE-2026-0002"})
    assert one[banded[0]].simhash == same_band and one[banded[0]].story_id == banded[1]
    assert one[tagged[1][0]].published_at == recent
    assert await store.articles.cluster_candidates(
        since=now, actors=[], cves=[], simhash=0) == []


async def test_stories_are_read_with_their_visible_articles_and_tags(store: Store, clock) -> None:
    now = clock()
    first, story = await store.articles.add(
        article(1, actors=["APT29"], cves=["CVE-2026-0001"], published_at=now),
        story_id=None, now=now)
    earlier, _ = await store.articles.add(
        article(2, vendors=["Acme"], published_at=now - timedelta(hours=2)),
        story_id=story, now=now)
    private, own = await store.articles.add(article(3, scope_guild=77, actors=["FIN7"]),
                                            story_id=None, now=now)
    await store.articles.set_story_commentary(story, ["said"])

    public = await store.articles.get_stories([own, story, 999], guild_id=0)
    assert [s.id for s in public] == [story]  # no visible article: left out
    read = public[0]
    assert (read.title, read.commentary, read.first_seen) == ("Story 1", ["said"], now)
    assert read.published_at == now - timedelta(hours=2)  # the earliest article's date
    assert [a.id for a in read.articles] == [earlier, first]  # earliest first
    assert (read.actors, read.cves, read.vendors) == (["APT29"], ["CVE-2026-0001"], ["Acme"])
    guild = await store.articles.get_stories([own, story], guild_id=77)
    assert [s.id for s in guild] == [own, story]
    assert [a.id for a in guild[0].articles] == [private]
    assert guild[0].articles[0].actors == ["FIN7"]
