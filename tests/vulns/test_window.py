"""The NVD limiter schedules requests on an injected clock: the times are checked, not
waited for."""

from __future__ import annotations

import pytest

from bot.vulns.window import SlidingWindow


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_five_per_thirty_seconds() -> None:
    t = FakeTime()
    window = SlidingWindow(5, 30.0, clock=t.clock, sleep=t.sleep)
    starts = [await window.acquire() - 1000.0 for _ in range(12)]
    assert starts == [0, 0, 0, 0, 0, 30, 30, 30, 30, 30, 60, 60]


async def test_requests_spread_out_are_not_delayed() -> None:
    t = FakeTime()
    window = SlidingWindow(5, 30.0, clock=t.clock, sleep=t.sleep)
    for _ in range(10):
        await window.acquire()
        t.now += 7.0  # slower than 5 per 30 s
    assert t.slept == []


async def test_pause_holds_the_next_request_back() -> None:
    t = FakeTime()
    window = SlidingWindow(5, 30.0, clock=t.clock, sleep=t.sleep)
    await window.acquire()
    window.pause(45.0)
    assert await window.acquire() == pytest.approx(1045.0)


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        SlidingWindow(0, 30.0)
