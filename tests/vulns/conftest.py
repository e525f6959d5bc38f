"""A VulnService over the test's store, fetching from the local FeedServer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.news.fetch import Fetcher, FetchLimits, make_session
from bot.services.vulns import VulnService, VulnSources
from bot.vulns.window import SlidingWindow
from storage.store import Store
from tests.conftest import Clock

FIXTURES = Path(__file__).parents[1] / "fixtures" / "vulns"
CAP = 2_000_000

MakeService = Callable[..., VulnService]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class FakeTime:
    """Monotonic time for the NVD limiter; sleeping moves it on at once."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def make_vulns(store: Store, clock: Clock) -> AsyncIterator[MakeService]:
    limits = FetchLimits(read_timeout=5, total_timeout=10, max_bytes=CAP)
    session = make_session(limits, allow_private=True)
    fetcher = Fetcher(session, limits, allow_private=True)

    def make(*, kev: str | None = None, epss: str | None = None, nvd: str | None = None,
             window: SlidingWindow | None = None, **options) -> VulnService:
        sources = VulnSources(kev_url=kev, epss_url=epss, nvd_url=nvd, max_bytes=CAP,
                              **options)
        return VulnService(store, fetcher=fetcher, sources=sources, clock=clock,
                           nvd_window=window)

    yield make
    await session.close()
