"""Store upkeep the bot runs on a schedule."""

from __future__ import annotations

import asyncio
import logging

from storage.store import Store

log = logging.getLogger(__name__)

MAX_STEPS = 10_000  # of ~200 pages each: far more than a million-article store needs


async def compact_search_index(store: Store, *, pause: float = 0.01) -> int:
    """Merge each full-text index into one segment, step by step. Each step holds the
    connection for tens of milliseconds at most and the pause between steps lets
    commands and ingestion through, so this can run while the bot serves users.
    Returns the number of steps that did work (0: already compact)."""
    steps = 0
    while steps < MAX_STEPS and await store.search.compact_step():
        steps += 1
        await asyncio.sleep(pause)
    if steps:
        log.info("search indexes compacted in %s steps", steps)
    return steps
