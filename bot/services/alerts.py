"""Plan alerts: match new articles against subscriptions and record what to send.

New articles are those above a cursor kept in the store. Recording each (target,
story) in the delivery ledger and moving the cursor happen in one transaction, so a
crash either plans a round completely or not at all. Matching (the slow, read-only
part) runs before that transaction, on the articles between the cursor and the newest
id read then; the transaction re-reads the cursor and plans nothing if another
planner (a second process, or the round after an ingest) moved it meanwhile, so the
same stories are never planned twice.

Alerts are for fresh news only: a story reaches a subscription when one of its articles
was stored after the subscription was made and published within ``max_age`` (48 hours
unless SECBRIEF_ALERT_MAX_AGE says otherwise; an undated article counts as published
when fetched). Older news goes to briefings and lookups only. Each planned story keeps
the subscriptions that matched it, so the alert can say why. A user who muted their
alerts gets none while muted: the round records those stories in the ledger as refused
("muted until …") and moves on, so they are neither sent later nor matched again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from storage.db import Transaction, write_lock
from storage.store import Store
from storage.timeutil import to_db

CURSOR = "alert_cursor"
DEFAULT_MAX_AGE_HOURS = 48  # SECBRIEF_ALERT_MAX_AGE's default


class AlertService:
    def __init__(
        self, store: Store, *, clock: Callable[[], datetime],
        max_age: timedelta = timedelta(hours=DEFAULT_MAX_AGE_HOURS),
    ) -> None:
        self._store = store
        self._clock = clock
        self.max_age = max_age

    async def plan_round(self) -> list[int]:
        """Plan one batch per target with new matching stories; returns the batch ids."""
        store = self._store
        # Read under the write lock: tasks share one connection, and another task's
        # open transaction would otherwise show us articles it may still roll back.
        # Committed articles are added to, never rewritten, so matching needs no lock.
        async with write_lock(store.db):
            cursor = await store.meta.get(CURSOR)
            last = await store.articles.max_id()
        if cursor is None:
            # First run: start from now rather than alerting on the whole archive.
            async with Transaction(store.db):
                if await store.meta.get(CURSOR) is None:
                    await store.meta.set(CURSOR, str(last))
            return []
        first = int(cursor) + 1
        if last < first:
            return []
        now = self._clock()
        by_target: dict[tuple[str, int], set[int]] = defaultdict(set)
        reasons: dict[tuple[str, int, int], list[int]] = defaultdict(list)
        found = await store.subscriptions.matches(first, last,
                                                  published_since=now - self.max_age)
        for target_kind, target_id, story_id, subscription_id in found:
            by_target[target_kind, target_id].add(story_id)
            reasons[target_kind, target_id, story_id].append(subscription_id)
        plans = {target: sorted(ids) for target, ids in by_target.items()}
        muted = await store.subscriptions.muted(now=now)
        refused = {("user", user_id): f"muted until {to_db(until)}"
                   for user_id, until in muted.items() if ("user", user_id) in plans}
        async with Transaction(store.db):
            if await store.meta.get_for_update(CURSOR) != cursor:
                return []  # another planner took this round
            batches = await store.deliveries.plan_many_in_transaction(
                "alert", plans, now=now, reasons=reasons, refused=refused
            )
            await store.meta.set(CURSOR, str(last))
        return batches
