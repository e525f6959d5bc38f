"""Two ingest workers (two IngestServices, each on its own connection to one store, as
two `secbrief ingest` processes are) share the feed list: in a round each due feed is
fetched by one of them, and a worker that dies holding a claim loses only its lease."""

from __future__ import annotations

import asyncio

from bot.config import Settings
from bot.services.container import open_services
from storage.claims import ClaimRepository
from tests.conftest import Clock
from tests.feedserver import FeedServer, make_rss

FEEDS = 8


async def test_two_workers_poll_each_due_feed_once(
    settings: Settings, clock: Clock, feed_server: FeedServer,
):
    urls = []
    for n in range(FEEDS):
        path = f"/w{n}.xml"
        feed_server.add(path, make_rss(2, base=feed_server.url(f"/w{n}/"),
                                       title_prefix=f"Wire {n} story"),
                        delay=0.05)  # both workers are mid-round at once
        urls.append(feed_server.url(path))
    async with open_services(settings, clock=clock) as one, \
            open_services(settings, clock=clock) as two:
        first, second = await asyncio.gather(one.ingest.poll(operator_urls=urls),
                                             two.ingest.poll(operator_urls=urls))
        assert sum(feed_server.hits[f"/w{n}.xml"] for n in range(FEEDS)) == FEEDS
        assert all(feed_server.hits[f"/w{n}.xml"] == 1 for n in range(FEEDS))
        assert len(first.feeds) + len(second.feeds) == FEEDS
        assert first.claimed_elsewhere + second.claimed_elsewhere == FEEDS
        assert first.added + second.added == 2 * FEEDS
        assert await one.store.articles.count() == 2 * FEEDS
        # the next round: nothing is due, neither fetches anything
        await asyncio.gather(one.ingest.poll(operator_urls=urls),
                             two.ingest.poll(operator_urls=urls))
        assert sum(feed_server.hits[f"/w{n}.xml"] for n in range(FEEDS)) == FEEDS


async def test_a_dead_workers_feed_is_polled_once_its_lease_runs_out(
    settings: Settings, clock: Clock, feed_server: FeedServer,
):
    feed_server.add("/f.xml", make_rss(1, base=feed_server.url("/f/")))
    url = feed_server.url("/f.xml")
    async with open_services(settings, clock=clock) as services:
        ingest = services.ingest
        feed, _ = await services.store.feeds.ensure(url, now=clock())
        dead = "host:999999:dead00"  # claimed it, then died mid-poll
        claims = ClaimRepository(services.store.db)
        assert await claims.claim_due(dead, now=clock(), lease=ingest.claim_lease,
                                      feed_ids=[feed.id]) == {feed.id}
        report = await ingest.poll(operator_urls=[url])
        assert report.feeds == [] and report.claimed_elsewhere == 1
        assert feed_server.hits["/f.xml"] == 0
        clock.advance(seconds=ingest.claim_lease + 1)
        report = await ingest.poll(operator_urls=[url])
        assert [o.status for o in report.feeds] == ["ok"] and report.added == 1
        assert feed_server.hits["/f.xml"] == 1
