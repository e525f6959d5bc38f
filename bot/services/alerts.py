"""Plan alerts: match new articles against subscriptions and record what to send.

New articles are those above a cursor kept in the store. Recording each (target,
story) in the delivery ledger and moving the cursor happen in one transaction, so a
crash either plans a round completely or not at all. Matching (the slow, read-only
part) runs before that transaction, on the articles between the cursor and the newest
id read then; the transaction re-reads the cursor and plans nothing if another
planner (a second process, or the round after an ingest) moved it meanwhile, so the
same stories are never planned twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from storage.db import Transaction, write_lock
from storage.store import Store

CURSOR = "alert_cursor"


class AlertService:
    def __init__(self, store: Store, *, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

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
        by_target: dict[tuple[str, int], set[int]] = defaultdict(set)
        for target_kind, target_id, story_id in await store.subscriptions.matches(first, last):
            by_target[target_kind, target_id].add(story_id)
        plans = {target: sorted(ids) for target, ids in by_target.items()}
        async with Transaction(store.db):
            if await store.meta.get(CURSOR) != cursor:
                return []  # another planner took this round
            batches = await store.deliveries.plan_many_in_transaction(
                "alert", plans, now=self._clock()
            )
            await store.meta.set(CURSOR, str(last))
        return batches
