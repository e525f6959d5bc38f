"""Claims in the store (storage/claims.py), on both backends: a pending batch is held by
one process until its lease runs out; a briefing run is planned once per due time; a
due feed is polled by one worker; the send budget spaces every process's slots."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from storage.claims import ClaimRepository
from storage.models import NewArticle
from storage.store import Store

A, B = "host:1:aaaaaa", "host:2:bbbbbb"
LEASE = 30.0


async def story(store: Store, n: int, clock) -> int:
    added = await store.articles.add(
        NewArticle(source="Wire", title=f"Claimed story {n}", url=f"https://w.example/{n}",
                   text=f"Body {n}.", key_points=[f"Point {n}"], content_hash=f"h{n}"),
        story_id=None, now=clock())
    assert added is not None
    return added[1]


async def batches(store: Store, clock, users: range) -> list[int]:
    story_id = await story(store, 1, clock)
    ids = []
    for user in users:
        batch = await store.deliveries.plan("alert", "user", user, [story_id], now=clock())
        assert batch is not None
        ids.append(batch)
    return ids


async def test_a_batch_is_held_by_one_process_until_its_lease_runs_out(store: Store, clock):
    claims = ClaimRepository(store.db)
    ids = await batches(store, clock, range(10_001, 10_005))
    assert await claims.claim_batches(A, ids[:3], now=clock(), lease=LEASE) == set(ids[:3])
    # B gets only what A does not hold; A re-claiming its own is a renewal
    assert await claims.claim_batches(B, ids, now=clock(), lease=LEASE) == {ids[3]}
    assert await claims.claim_batches(A, ids[:1], now=clock(), lease=LEASE) == {ids[0]}
    holders = await claims.batch_holders(ids)
    assert holders == {ids[0]: A, ids[1]: A, ids[2]: A, ids[3]: B}

    # A renews two of its claims, then stops (it died): the third is B's to take over
    # once the lease has run out, the renewed ones only after theirs.
    clock.advance(seconds=LEASE / 2)
    assert await claims.renew_batches(A, ids[:2], now=clock(), lease=LEASE) == set(ids[:2])
    clock.advance(seconds=LEASE / 2 + 1)
    assert await claims.claim_batches(B, ids[:3], now=clock(), lease=LEASE) == {ids[2]}
    assert await claims.renew_batches(A, ids[:3], now=clock(), lease=LEASE) == set(ids[:2])

    # released (sent, or put off): free for anyone; a sent batch is never claimed
    await claims.release_batches(A, ids[:2])
    await store.deliveries.mark_sent(ids[0], message_id=1, now=clock())
    assert await claims.claim_batches(B, ids[:2], now=clock(), lease=LEASE) == {ids[1]}
    # releasing someone else's claim does nothing
    await claims.release_batches(A, [ids[1]])
    assert (await claims.batch_holders([ids[1]]))[ids[1]] == B


async def test_two_processes_claiming_at_once_split_the_batches(settings, store: Store, clock):
    """Two stores on one database (two processes' connections) claim the same 60
    batches concurrently: each batch goes to exactly one of them."""
    ids = await batches(store, clock, range(20_001, 20_061))
    other = await Store.open(settings.database)
    try:
        mine, theirs = ClaimRepository(store.db), ClaimRepository(other.db)

        async def grab(claims: ClaimRepository, who: str) -> set[int]:
            got: set[int] = set()
            for start in range(0, len(ids), 10):
                got |= await claims.claim_batches(who, ids[start : start + 10],
                                                  now=clock(), lease=LEASE)
            return got

        got_a, got_b = await asyncio.gather(grab(mine, A), grab(theirs, B))
    finally:
        await other.close()
    assert got_a | got_b == set(ids)
    assert not got_a & got_b


async def test_channel_guilds_come_from_schedules_and_channel_subscriptions(
    store: Store, clock,
):
    claims = ClaimRepository(store.db)
    guild, channel, other_channel = 1 << 40, 555_000, 556_000
    await store.schedules.upsert(channel_id=channel, guild_id=guild, local_time="07:00",
                                 timezone="UTC", created_by=1, now=clock())
    await store.subscriptions.add(
        guild_id=guild + 1, owner_id=7, target_kind="channel", target_id=other_channel,
        kind="keyword", value="ransomware", display="ransomware", now=clock())
    assert await claims.channel_guilds([channel, other_channel, 999]) == {
        channel: guild, other_channel: guild + 1}


async def test_a_briefing_run_is_claimed_once_unless_it_was_refused(store: Store, clock):
    claims = ClaimRepository(store.db)
    due = clock().replace(hour=7, minute=0, second=0)
    story_id = await story(store, 2, clock)

    async def run(who: str) -> bool:
        async with store.db.transaction():
            ok = await claims.claim_briefing_run_in_transaction(555, due, worker=who,
                                                                now=clock())
            if ok:
                batch = await store.deliveries.plan_in_transaction(
                    "briefing", "channel", 555, [story_id], now=clock())
                await claims.record_briefing_run_in_transaction(555, due, batch)
            return ok

    assert await run(A) is True
    assert await run(B) is False
    (pending,) = await store.deliveries.pending(now=clock())
    # the channel refused the post: after the fix, the same due time may run again
    await store.deliveries.mark_final(pending.id, status="refused", error="50013")
    assert await run(B) is True
    assert await run(A) is False
    assert [who for _, who in await claims.briefing_runs(555)] == [B]
    # another due time is another run
    due += timedelta(days=1)
    assert await run(A) is True


async def test_a_due_feed_is_polled_by_one_worker(store: Store, clock):
    claims = ClaimRepository(store.db)
    feeds = [(await store.feeds.ensure(f"https://f.example/{n}.xml", now=clock()))[0]
             for n in range(3)]
    ids = [f.id for f in feeds]
    assert await claims.claim_due(A, now=clock(), lease=LEASE, feed_ids=ids[:2]) == set(ids[:2])
    assert await claims.claim_due(B, now=clock(), lease=LEASE, feed_ids=ids) == {ids[2]}
    # A polls feed 0 (its next poll moves on) and releases; the round is over for it
    await store.feeds.record_success(ids[0], now=clock(), next_poll_at=clock() +
                                     timedelta(minutes=15), etag=None, last_modified=None,
                                     title=None)
    await claims.release_feeds(A, [ids[0]])
    assert await claims.claim_due(B, now=clock(), lease=LEASE, feed_ids=ids[:1]) == set()
    # A dies holding feed 1: B takes it once the lease has run out (renewals keep it)
    clock.advance(seconds=LEASE - 1)
    assert await claims.renew_feeds(A, [ids[1]], now=clock(), lease=LEASE) == {ids[1]}
    clock.advance(seconds=LEASE - 1)
    assert await claims.claim_due(B, now=clock(), lease=LEASE, feed_ids=[ids[1]]) == set()
    clock.advance(seconds=2)
    assert await claims.claim_due(B, now=clock(), lease=LEASE, feed_ids=[ids[1]]) == {ids[1]}


async def test_the_send_budget_spaces_every_reservation(settings, store: Store):
    """Reservations from two connections never overlap: each starts where the one before
    ended, and a budget left idle starts again from now."""
    other = await Store.open(settings.database)
    try:
        claims = [ClaimRepository(store.db), ClaimRepository(other.db)]
        now, interval = 1_000_000.0, 0.02
        starts = await asyncio.gather(*(
            claims[n % 2].reserve_sends(5, interval=interval, now=now) for n in range(8)))
    finally:
        await other.close()
    assert sorted(starts) == pytest.approx([now + i * 5 * interval for i in range(8)])
    later = now + 100
    assert await claims[0].reserve_sends(5, interval=interval, now=later) == pytest.approx(later)
    await claims[0].hold_sends(later + 10)  # a global 429: no slot before then
    assert await claims[0].reserve_sends(1, interval=interval, now=later) == pytest.approx(
        later + 10)
