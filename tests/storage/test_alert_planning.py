"""Alert planning's set-based statements on both backends: matches() over every keyword
subscription (one statement on PostgreSQL, one per keyword on SQLite) and
plan_many_in_transaction's batch, ledger and reason rows (one statement per table on
PostgreSQL), with the rules each must keep."""

from __future__ import annotations

from datetime import timedelta

from storage.db import Transaction
from storage.models import NewArticle
from storage.store import Store

_n = iter(range(1, 10_000))


async def story(store: Store, clock, title: str, text: str = "", **kw) -> tuple[int, int]:
    """(article id, story id) of a new article fetched now."""
    n = next(_n)
    added = await store.articles.add(
        NewArticle(source="Wire A", title=title, text=text, url=f"https://news.example/p{n}",
                   guid=f"p{n}", content_hash=f"p{n}", **kw),
        story_id=None, now=clock())
    assert added is not None
    return added


async def subscribe(store: Store, clock, target: tuple[str, int], value: str, *,
                    guild_id: int = 0) -> int:
    sub, created = await store.subscriptions.add(
        guild_id=guild_id, owner_id=1, target_kind=target[0], target_id=target[1],
        kind="keyword", value=value, display=value, now=clock())
    assert created
    return sub.id


async def test_keyword_matches_keep_range_scope_age_and_creation_rules(store: Store, clock):
    old_news = clock() - timedelta(days=5)
    before, _ = await story(store, clock, "SharePoint flaw before the round")
    alice = await subscribe(store, clock, ("user", 1), "sharepoint")
    bob = await subscribe(store, clock, ("user", 2), "ransomware")
    guild_7 = await subscribe(store, clock, ("channel", 500), "zero-day", guild_id=7)
    guild_8 = await subscribe(store, clock, ("channel", 600), "sharepoint", guild_id=8)
    await subscribe(store, clock, ("user", 3), "...")  # no words: matches nothing
    await subscribe(store, clock, ("user", 4), "kubernetes")  # in no article
    clock.advance(minutes=1)
    first, public = await story(store, clock, "SharePoint zero-day exploited",
                                "Attackers use a zero-day in SharePoint servers.")
    _, private = await story(store, clock, "Ransomware crew uses a zero-day",
                             "The ransomware gang chained a zero-day.", scope_guild=7)
    _, stale = await story(store, clock, "SharePoint ransomware, years on",
                           published_at=old_news)
    _, undated = await story(store, clock, "Ransomware hits a SharePoint farm")
    clock.advance(minutes=1)
    late = await subscribe(store, clock, ("user", 5), "sharepoint")  # after all of them
    last = await store.articles.max_id()
    assert before < first

    found = await store.subscriptions.matches(
        first, last, published_since=clock() - timedelta(hours=48))
    assert found == sorted([
        ("user", 1, public, alice),
        ("user", 1, undated, alice),
        ("user", 2, undated, bob),
        ("channel", 500, public, guild_7),
        ("channel", 500, private, guild_7),  # guild 7's own article
        ("channel", 600, public, guild_8),
        ("channel", 600, undated, guild_8),
    ])
    assert all(sub != late for *_, sub in found)
    # without an age limit the old story matches too
    everything = await store.subscriptions.matches(first, last)
    assert set(everything) - set(found) == {
        ("user", 1, stale, alice), ("user", 2, stale, bob), ("channel", 600, stale, guild_8)}
    assert await store.subscriptions.matches(last + 1, last + 10) == []


async def test_plan_many_writes_batches_ledger_and_reasons(store: Store, clock):
    stories = [(await story(store, clock, f"Story {n}"))[1] for n in range(4)]
    a, b = [await subscribe(store, clock, ("user", u), f"word{u}") for u in (1, 2)]
    gone = await subscribe(store, clock, ("channel", 900), "gone")
    already = await store.deliveries.plan("alert", "user", 2, stories[:1], now=clock())
    assert await store.subscriptions.remove_own(gone, owner_id=1)  # after matching
    plans = {("user", 1): [stories[2], stories[0], stories[2]],  # in order, once each
             ("user", 2): [stories[0], stories[1]],  # stories[0] in the ledger already
             ("user", 3): stories[:1],  # muted
             ("channel", 900): [stories[3]],
             ("user", 4): []}
    reasons = {("user", 1, stories[2]): [a], ("user", 1, stories[0]): [a, b],
               ("user", 2, stories[1]): [b], ("channel", 900, stories[3]): [gone]}
    async with Transaction(store.db):
        pending = await store.deliveries.plan_many_in_transaction(
            "alert", plans, now=clock(), reasons=reasons,
            refused={("user", 3): "muted until then", ("user", 1 << 40): "no such plan"})

    rows = await store.db.fetchall(
        "SELECT id, target_kind, target_id, status, last_error FROM delivery_batches"
        " WHERE id != ? ORDER BY id", (already,))
    batches = {(r[1], r[2]): (r[0], r[3], r[4]) for r in rows}
    assert list(batches) == [("channel", 900), ("user", 1), ("user", 2), ("user", 3)]
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    assert min(r[0] for r in rows) > already
    assert [status for _, status, _ in batches.values()] == ["pending"] * 3 + ["refused"]
    assert batches["user", 3][2] == "muted until then"
    assert pending == [batches[t][0] for t in [("channel", 900), ("user", 1), ("user", 2)]]
    got = {b.id: b.story_ids for b in await store.deliveries.pending(now=clock())}
    assert got == {already: stories[:1], batches["channel", 900][0]: [stories[3]],
                   batches["user", 1][0]: [stories[2], stories[0]],
                   batches["user", 2][0]: [stories[1]]}
    positions = await store.db.fetchall(
        "SELECT story_id, position FROM deliveries WHERE batch_id = ? ORDER BY position",
        (batches["user", 1][0],))
    assert [tuple(r) for r in positions] == [(stories[2], 0), (stories[0], 1)]
    assert [b.story_ids for b in [await store.deliveries.get(batches["user", 3][0])]] == [
        stories[:1]]
    user_1 = await store.deliveries.reasons(batches["user", 1][0])
    assert {s: [r.subscription_id for r in rs] for s, rs in user_1.items()} == {
        stories[2]: [a], stories[0]: sorted([a, b])}
    assert user_1[stories[2]][0].display == "word1"
    # a subscription removed since it matched leaves its story without a reason
    assert await store.deliveries.reasons(batches["channel", 900][0]) == {}

    # Another round plans nothing new; a batch planned one at a time (a briefing's,
    # its id the store's default) comes after these, whichever backend.
    async with Transaction(store.db):
        assert await store.deliveries.plan_many_in_transaction(
            "alert", plans, now=clock(), reasons=reasons) == []
    briefing = await store.deliveries.plan("briefing", "channel", 900, stories, now=clock())
    assert briefing is not None and briefing > max(r[0] for r in rows)
    async with Transaction(store.db):
        (later,) = await store.deliveries.plan_many_in_transaction(
            "alert", {("user", 9): stories[:2]}, now=clock())
    assert later > briefing
