"""The send budget shared through the store (bot.ratelimit.SharedRateLimiter): two
limiters — two bot processes' — on one store never hand out slots faster than the rate
together, and a 429 one of them meets holds back the other too."""

from __future__ import annotations

import asyncio
import time

from bot.config import Settings
from bot.ratelimit import SharedRateLimiter
from storage.claims import ClaimRepository
from storage.store import Store

RATE = 40.0


async def test_two_limiters_on_one_store_share_the_rate(settings: Settings, store: Store):
    other = await Store.open(settings.database)
    try:
        limiters = [SharedRateLimiter(ClaimRepository(s.db), RATE) for s in (store, other)]
        stamps: list[float] = []

        async def send(limiter: SharedRateLimiter, n: int) -> None:
            for _ in range(n):
                await limiter.acquire()
                stamps.append(time.time())

        started = time.time()
        await asyncio.gather(*(send(limiter, 20) for limiter in limiters))
    finally:
        await other.close()
    # 40 slots at 40/s from one shared budget: the last one no earlier than 39 intervals
    # after the first could have been (a lower bound: a busy machine only adds to it)
    assert max(stamps) - started >= 39 / RATE - 0.05
    assert all(limiter.reservations >= 1 for limiter in limiters)


async def test_a_429_holds_back_every_process(settings: Settings, store: Store):
    other = await Store.open(settings.database)
    try:
        first = SharedRateLimiter(ClaimRepository(store.db), RATE)
        second = SharedRateLimiter(ClaimRepository(other.db), RATE)
        await first.acquire()
        held_until = time.time() + 0.5
        first.slow_down(0.5)  # Discord said retry_after 0.5 s
        reserved = first.reservations
        waiting = asyncio.create_task(first.acquire())  # takes the hold to the store
        async with asyncio.timeout(30):
            while first.reservations == reserved:
                await asyncio.sleep(0.01)
        await second.acquire()  # asked while the first process still waits out its 429
        await waiting
        # no slot for the second process before the hold ends either
        assert time.time() >= held_until
    finally:
        await other.close()
