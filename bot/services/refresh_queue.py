"""Story commentary refreshed alongside a feed's ingestion rather than after it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class RefreshQueue:
    """Refreshes stories in the background while their articles are still being stored:
    a story queued several times before its turn is refreshed once, and a story queued
    again after its refresh began is refreshed again, so the last refresh always sees
    the last article. Refreshing at the end of a feed instead left a serial tail (a
    1,000-item feed waited for 1,000 refreshes after its last article)."""

    def __init__(self, refresh: Callable[[int], Awaitable[object]]) -> None:
        self._refresh = refresh
        self._pending: dict[int, None] = {}  # an ordered set
        self._wake = asyncio.Event()
        self._closing = False
        self._task = asyncio.create_task(self._run())

    def add(self, story_id: int) -> None:
        self._pending[story_id] = None
        self._wake.set()

    async def close(self) -> None:
        """Wait until every queued story has been refreshed."""
        self._closing = True
        self._wake.set()
        await self._task

    def cancel(self) -> None:
        self._task.cancel()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                story_id = next(iter(self._pending))
                del self._pending[story_id]
                try:
                    await self._refresh(story_id)
                except Exception:  # one story's commentary never stops the feed
                    log.exception("commentary refresh of story %s failed", story_id)
            if self._closing:
                return
