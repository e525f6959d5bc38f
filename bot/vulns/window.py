"""At most ``limit`` requests in any ``window`` seconds (NVD: 5 per 30 s without an API
key, 50 with one). The clock and the sleep are injected, so tests check the times at
which requests would go out without waiting for them."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable


class SlidingWindow:
    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be at least 1 and window positive")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> float:
        """Wait for a slot; returns the clock time the request may start at."""
        async with self._lock:
            while True:
                now = self._clock()
                while self._starts and self._starts[0] <= now - self.window:
                    self._starts.popleft()
                if len(self._starts) < self.limit:
                    self._starts.append(now)
                    return now
                await self._sleep(self._starts[0] + self.window - now)

    def pause(self, seconds: float) -> None:
        """Count the window as full for ``seconds`` (the server said 429/403)."""
        until = self._clock() + seconds - self.window
        self._starts = deque([until] * self.limit)
