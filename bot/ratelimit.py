"""A global pace for Discord requests.

discord.py waits by itself on per-route buckets, but it gets no warning of the global
limit (about 50 requests/s): a fast fan-out meets 429s that it retries a few times and
then raises. So every send we make first takes a slot from this limiter, set a little
under the global limit.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.claims import ClaimRepository


class RateLimiter:
    """At most ``rate`` acquisitions per second, spread evenly (no bursts)."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._interval = 1.0 / rate
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self._interval
        if wait > 0:
            await asyncio.sleep(wait)

    def slow_down(self, seconds: float) -> None:
        """Push every later slot back, e.g. after Discord said retry_after."""
        self._next = max(self._next, time.monotonic() + seconds)


class SharedRateLimiter:
    """The same pace, shared by every process on one store: slots come from the store's
    send budget (storage/claims.py) a few at a time, so all bot processes together stay
    under ``rate`` — each reservation of ``chunk`` slots moves the shared next free moment
    on by ``chunk`` intervals. The clock is the wall clock, the one processes share."""

    LATE = 0.5  # seconds: a slot missed by more than this is dropped, not sent in a burst

    def __init__(self, claims: ClaimRepository, rate: float, *, chunk: int | None = None,
                 wall: Callable[[], float] = time.time) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._claims = claims
        self._interval = 1.0 / rate
        # about 200 ms of slots per reservation: a few store round trips a second
        self.chunk = chunk or max(1, round(rate / 5))
        self._wall = wall
        self._slots: deque[float] = deque()
        self._hold_until = 0.0
        self._lock = asyncio.Lock()
        self.reservations = 0

    async def acquire(self) -> None:
        async with self._lock:
            now = self._wall()
            while self._slots and self._slots[0] < now - self.LATE:
                self._slots.popleft()
            if not self._slots:
                if self._hold_until > now:
                    await self._claims.hold_sends(self._hold_until)
                start = await self._claims.reserve_sends(self.chunk, interval=self._interval,
                                                         now=self._wall())
                self.reservations += 1
                self._slots.extend(start + i * self._interval for i in range(self.chunk))
            at = self._slots.popleft()
        wait = at - self._wall()
        if wait > 0:
            await asyncio.sleep(wait)

    def slow_down(self, seconds: float) -> None:
        """Push every later slot back, for every process (Discord said retry_after)."""
        self._slots.clear()
        self._hold_until = max(self._hold_until, self._wall() + seconds)
