"""Two ingest services, each on its own connection to one store (as two `secbrief
ingest` processes are), storing near-duplicates at the same moment: one story. The
story lookup runs inside the insert's transaction, after its lock, so the second waits
for the first's commit and then finds its story."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from bot.config import Settings
from bot.services import ingest as ingest_module
from bot.services.container import open_services
from storage.models import NewArticle
from storage.store import Store
from tests.conftest import Clock

WAIT_FOR_OTHER = 1.0  # seconds the first lookup waits for the second (bounded)


def near_duplicate(n: int, when: datetime) -> NewArticle:
    return NewArticle(
        source=f"Wire {n}", title=f"Acme patches exploited VPN flaw CVE-2026-41234 ({n})",
        url=f"https://wire{n}.example.test/acme-vpn", text="Acme patched its VPN gateway.",
        published_at=when, cves=["CVE-2026-41234"], simhash=0x5EC_B41E_F00D,
    )


@pytest.mark.parametrize("round_", range(2))
async def test_near_duplicates_stored_from_two_services_at_once_are_one_story(
    settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch, round_: int,
):
    real_find = ingest_module.find_story
    looked: list[int | None] = []

    async def find_then_wait(store: Store, article: NewArticle, *, now: datetime) -> int | None:
        """The real lookup, then a wait until the other service has looked too (at
        most WAIT_FOR_OTHER): without a lock across connections both look before
        either stores, and both open a story."""
        story = await real_find(store, article, now=now)
        looked.append(story)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_FOR_OTHER
        while len(looked) < 2 and loop.time() < deadline:
            await asyncio.sleep(0.01)
        return story

    monkeypatch.setattr(ingest_module, "find_story", find_then_wait)
    async with open_services(settings, clock=clock) as one, \
            open_services(settings, clock=clock) as two:
        assert one.store.db is not two.store.db
        first, second = await asyncio.gather(
            one.ingest.store_article(near_duplicate(1, clock())),
            two.ingest.store_article(near_duplicate(2, clock())),
        )
        assert first is not None and second is not None
        articles = await one.store.articles.get_many([first, second])
        assert len(articles) == 2
        assert len({a.story_id for a in articles}) == 1, looked
        # the second lookup ran after the first's commit and found its story
        assert sorted(looked, key=lambda s: s is not None) == [None, articles[0].story_id]
