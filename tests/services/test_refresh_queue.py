"""RefreshQueue: story commentary refreshed while a feed is still being stored."""

from __future__ import annotations

import asyncio

from bot.services.refresh_queue import RefreshQueue


async def test_each_story_once_unless_touched_during_its_refresh(caplog):
    calls: list[int] = []
    first_started = asyncio.Event()
    release_first = asyncio.Event()

    async def refresh(story_id: int) -> None:
        calls.append(story_id)
        if story_id == 1 and calls.count(1) == 1:
            first_started.set()
            await release_first.wait()
        if story_id == 3:
            raise RuntimeError("database is locked")

    queue = RefreshQueue(refresh)
    queue.add(1)
    await first_started.wait()  # story 1 is being refreshed now
    for story_id in (2, 2, 3, 1, 2, 4):  # 1 again after its refresh began
        queue.add(story_id)
    release_first.set()
    await queue.close()
    assert calls == [1, 2, 3, 1, 4]  # 2 once; 1 twice; 3 failed and 4 still ran
    assert "commentary refresh of story 3 failed" in caplog.text


async def test_close_with_nothing_queued_and_cancel():
    queue = RefreshQueue(lambda story_id: asyncio.sleep(0))
    await queue.close()

    blocked = asyncio.Event()

    async def never(story_id: int) -> None:
        await blocked.wait()

    stuck = RefreshQueue(never)
    stuck.add(7)
    await asyncio.sleep(0.01)
    stuck.cancel()  # a cancelled poll does not wait for refreshes
    await asyncio.sleep(0.01)
    assert stuck._task.cancelled()
