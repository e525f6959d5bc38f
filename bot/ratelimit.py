"""A global pace for Discord requests.

discord.py waits by itself on per-route buckets, but it gets no warning of the global
limit (about 50 requests/s): a fast fan-out meets 429s that it retries a few times and
then raises. So every send we make first takes a slot from this limiter, set a little
under the global limit.
"""

from __future__ import annotations

import asyncio
import time


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
