"""A well-formed but tiny KEV catalogue or EPSS file does not replace the data held: a
load that would shrink the held records by more than half (once at least 100 are held)
is refused as a failed refresh and changes nothing; `--force` accepts it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.services.vulns import GUARDED_FROM
from storage.store import Store
from tests.conftest import Clock
from tests.feedserver import FeedServer
from tests.services.vuln_files import GZ, JSON, MakeVulns, epss_gz, kev_json, vuln_maker


@pytest.fixture
async def make_vulns(clock: Clock) -> AsyncIterator[MakeVulns]:
    async for make in vuln_maker(clock):
        yield make


async def staging_tables(store: Store) -> list[str]:
    sql = store.db.pick({
        "sqlite": "SELECT name FROM sqlite_master WHERE name LIKE 'epss_staging%'",
        "postgres": "SELECT tablename FROM pg_tables WHERE tablename LIKE 'epss_staging%'",
    })
    return [row[0] for row in await store.db.fetchall(sql)]


async def test_a_truncated_kev_catalogue_is_refused_unless_forced(
    store: Store, clock: Clock, feed_server: FeedServer, make_vulns: MakeVulns,
):
    feed_server.add("/kev.json", kev_json(120), content_type=JSON)
    service = make_vulns(store, kev=feed_server.url("/kev.json"))
    assert (await service.refresh())[0].records == 120
    before = await store.vulns.context_one("CVE-2025-10119")
    assert before.kev is not None

    feed_server.add("/kev.json", kev_json(3), content_type=JSON)
    clock.advance(hours=7)
    kev = (await service.refresh())[0]
    assert kev.outcome == "failed" and kev.records == 120
    assert kev.error == ("KEV catalogue holds 3 entries, 120 held: refused as truncated;"
                         " --force to accept")
    assert kev.next_refresh == clock() + timedelta(minutes=5)  # retried like any failure
    assert await store.vulns.kev_count() == 120
    assert await store.vulns.context_one("CVE-2025-10119") == before
    status = (await service.status())[0]
    assert (status.records, status.failures, status.last_error) == (120, 1, kev.error)

    kev = (await service.refresh(force=True))[0]
    assert (kev.outcome, kev.records) == ("updated", 3)
    assert kev.kev is not None and len(kev.kev.removed) == 117
    assert await store.vulns.kev_count() == 3


async def test_a_truncated_epss_file_is_refused_unless_forced(
    store: Store, clock: Clock, feed_server: FeedServer, make_vulns: MakeVulns,
):
    feed_server.add("/epss.csv.gz", epss_gz(300, score=0.5), content_type=GZ)
    service = make_vulns(store, epss=feed_server.url("/epss.csv.gz"))
    assert (await service.refresh())[1].records == 300

    feed_server.add("/epss.csv.gz", epss_gz(3, score=0.9), content_type=GZ)
    clock.advance(days=1, minutes=5)
    epss = (await service.refresh())[1]
    assert epss.outcome == "failed" and epss.records == 300
    assert epss.error == ("EPSS file holds 3 scores, 300 held: refused as truncated;"
                          " --force to accept")
    assert await store.vulns.epss_count() == 300
    ctx = await store.vulns.context_one("CVE-2025-10000")
    assert ctx.epss is not None and ctx.epss.score == 0.5  # the old score
    assert await staging_tables(store) == []

    epss = (await service.refresh(force=True))[1]
    assert (epss.outcome, epss.records) == ("updated", 3)
    assert await store.vulns.epss_count() == 3
    ctx = await store.vulns.context_one("CVE-2025-10000")
    assert ctx.epss is not None and ctx.epss.score == 0.9


async def test_half_the_records_or_a_small_held_set_load_as_usual(
    store: Store, clock: Clock, feed_server: FeedServer, make_vulns: MakeVulns,
):
    feed_server.add("/kev.json", kev_json(120), content_type=JSON)
    feed_server.add("/epss.csv.gz", epss_gz(GUARDED_FROM - 1), content_type=GZ)
    service = make_vulns(store, kev=feed_server.url("/kev.json"),
                         epss=feed_server.url("/epss.csv.gz"))
    await service.refresh()
    feed_server.add("/kev.json", kev_json(60), content_type=JSON)  # exactly half
    feed_server.add("/epss.csv.gz", epss_gz(1), content_type=GZ)  # 99 held: not guarded
    clock.advance(days=1, minutes=5)
    kev, epss, _ = await service.refresh()
    assert (kev.outcome, kev.records) == ("updated", 60)
    assert (epss.outcome, epss.records) == ("updated", 1)
