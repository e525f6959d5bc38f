"""VulnService.refresh against KEV / EPSS files served from 127.0.0.1: loading,
conditional GET, cadence and backoff, hostile responses that keep the previous data,
switched-off sources."""

from __future__ import annotations

import gzip
from datetime import date, timedelta

import pytest

from storage.store import Store
from tests.conftest import Clock
from tests.feedserver import FeedServer
from tests.vulns.conftest import CAP, MakeService, fixture

GZ = "application/gzip"


def by_source(reports):
    return {r.source: r for r in reports}


async def test_kev_and_epss_load_then_not_due(
    feed_server: FeedServer, make_vulns: MakeService, store: Store, clock: Clock
) -> None:
    feed_server.add("/kev.json", fixture("kev.json"), content_type="application/json")
    feed_server.add("/epss.csv.gz", fixture("epss_scores.csv.gz"), content_type=GZ)
    service = make_vulns(kev=feed_server.url("/kev.json"), epss=feed_server.url("/epss.csv.gz"))
    reports = by_source(await service.refresh())
    kev, epss, nvd = reports["kev"], reports["epss"], reports["nvd"]
    assert (kev.outcome, kev.records, kev.data_date) == ("updated", 3, date(2026, 2, 27))
    assert kev.kev is not None and kev.kev.first_load and kev.kev.added == []
    assert (epss.outcome, epss.records, epss.data_date) == ("updated", 5, date(2026, 2, 28))
    assert (nvd.outcome, nvd.enabled) == ("off", False)
    ctx = await store.vulns.context_one("CVE-2024-3400")
    assert ctx.kev is not None and ctx.kev.due_date == date(2024, 4, 19)
    assert ctx.epss is not None and ctx.epss.percentile == pytest.approx(0.99944)
    assert kev.next_refresh == clock.now + timedelta(hours=6)
    assert epss.next_refresh == clock.now + timedelta(days=1)

    clock.advance(hours=1)
    again = by_source(await service.refresh())
    assert again["kev"].outcome == again["epss"].outcome == "not_due"
    assert feed_server.hits["/kev.json"] == 1 and feed_server.hits["/epss.csv.gz"] == 1


async def test_conditional_get_304_keeps_the_data(
    feed_server: FeedServer, make_vulns: MakeService, store: Store, clock: Clock
) -> None:
    feed_server.add("/kev.json", fixture("kev.json"), content_type="application/json",
                    etag='"kev-1"')
    feed_server.add("/epss.csv.gz", fixture("epss_scores.csv.gz"), content_type=GZ,
                    last_modified="Sat, 28 Feb 2026 13:00:00 GMT")
    service = make_vulns(kev=feed_server.url("/kev.json"), epss=feed_server.url("/epss.csv.gz"))
    await service.refresh()
    clock.advance(days=1, minutes=5)
    reports = by_source(await service.refresh())
    assert reports["kev"].outcome == reports["epss"].outcome == "not_modified"
    assert feed_server.requests["/kev.json"][-1]["If-None-Match"] == '"kev-1"'
    assert (feed_server.requests["/epss.csv.gz"][-1]["If-Modified-Since"]
            == "Sat, 28 Feb 2026 13:00:00 GMT")
    assert reports["kev"].records == 3 and reports["epss"].data_date == date(2026, 2, 28)
    assert await store.vulns.kev_count() == 3 and await store.vulns.epss_count() == 5
    status = {s.source: s for s in await service.status()}
    assert status["kev"].last_success == clock.now and status["kev"].records == 3


async def test_later_loads_report_new_kev_entries_and_epss_crossings(
    feed_server: FeedServer, make_vulns: MakeService, clock: Clock
) -> None:
    feed_server.add("/kev.json", fixture("kev.json"), content_type="application/json")
    feed_server.add("/epss.csv.gz", fixture("epss_scores.csv.gz"), content_type=GZ)
    service = make_vulns(kev=feed_server.url("/kev.json"),
                         epss=feed_server.url("/epss.csv.gz"), epss_alert=0.5)
    await service.refresh()
    feed_server.add("/kev.json", fixture("kev_next.json"), content_type="application/json")
    feed_server.add("/epss.csv.gz", fixture("epss_next.csv.gz"), content_type=GZ)
    reports = by_source(await service.refresh(force=True))
    kev_diff, epss_diff = reports["kev"].kev, reports["epss"].epss
    assert kev_diff is not None and not kev_diff.first_load
    assert [e.cve for e in kev_diff.added] == ["CVE-2026-1281"]
    assert kev_diff.removed == ["CVE-2023-4966"]
    assert epss_diff is not None
    assert [s.cve for s in epss_diff.crossed] == ["CVE-2026-1281", "CVE-2024-21762"]
    assert reports["epss"].data_date == date(2026, 3, 1)


def _bomb(inflated: int) -> bytes:
    header = b"#model_version:v1,score_date:2026-03-01T00:00:00+0000\ncve,epss,percentile\n"
    return gzip.compress(header + b"CVE-2024-0001,0.1,0.2\n" * (inflated // 22 + 1),
                         compresslevel=9)


HOSTILE = {
    "html instead of JSON": ("kev", b"<!DOCTYPE html><html><body>Just a moment...</body></html>",
                             "text/html", "not KEV JSON"),
    "truncated JSON": ("kev", fixture("kev.json")[:900], "application/json", "not KEV JSON"),
    "JSON of another shape": ("kev", b'{"data": [1, 2, 3]}', "application/json",
                              "no 'vulnerabilities' list"),
    "html instead of CSV": ("epss", b"<html><title>Maintenance</title></html>", "text/html",
                            "not an EPSS CSV"),
    "truncated gzip": ("epss", fixture("epss_next.csv.gz")[:-25], GZ, "truncated gzip"),
    "gzip bomb in the file": ("epss", _bomb(4 * CAP), GZ, "once decompressed"),
    "bad row": ("epss", gzip.compress(b"cve,epss,percentile\nCVE-2024-0001,0.5,0.5\n"
                                      b"CVE-2024-0002,oops,0.5\n"), GZ, "not numbers"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
async def test_hostile_responses_keep_the_previous_data(
    case: str, feed_server: FeedServer, make_vulns: MakeService, store: Store, clock: Clock
) -> None:
    source, body, content_type, reason = HOSTILE[case]
    feed_server.add("/kev.json", fixture("kev.json"), content_type="application/json")
    feed_server.add("/epss.csv.gz", fixture("epss_scores.csv.gz"), content_type=GZ)
    service = make_vulns(kev=feed_server.url("/kev.json"), epss=feed_server.url("/epss.csv.gz"))
    await service.refresh()
    before = await store.vulns.context(["CVE-2024-3400", "CVE-2023-4966"])
    path = "/kev.json" if source == "kev" else "/epss.csv.gz"
    feed_server.add(path, body, content_type=content_type)
    report = by_source(await service.refresh(force=True))[source]
    assert report.failed and reason in (report.error or "")
    assert await store.vulns.context(["CVE-2024-3400", "CVE-2023-4966"]) == before
    status = {s.source: s for s in await service.status()}[source]
    assert status.failures == 1 and reason in (status.last_error or "")
    assert status.records == (3 if source == "kev" else 5)
    assert status.last_success == clock.now  # the load before, kept
    assert status.next_refresh == clock.now + timedelta(minutes=5)  # backoff, not 6 h


async def test_content_encoding_gzip_bomb_is_refused(
    feed_server: FeedServer, make_vulns: MakeService, store: Store
) -> None:
    feed_server.gzip_bomb("/epss.csv.gz", 20 * CAP)
    service = make_vulns(epss=feed_server.url("/epss.csv.gz"))
    report = by_source(await service.refresh())["epss"]
    assert report.failed and "larger than" in (report.error or "")
    assert await store.vulns.epss_count() == 0


async def test_failures_back_off_then_recover(
    feed_server: FeedServer, make_vulns: MakeService, clock: Clock
) -> None:
    feed_server.add("/kev.json", b"busy", status=503, headers={"Retry-After": "1200"})
    service = make_vulns(kev=feed_server.url("/kev.json"))
    first = by_source(await service.refresh())["kev"]
    assert first.failed and "HTTP 503" in (first.error or "")
    assert first.next_refresh == clock.now + timedelta(seconds=1200)  # Retry-After honoured
    clock.advance(minutes=5)
    assert by_source(await service.refresh())["kev"].outcome == "not_due"
    assert feed_server.hits["/kev.json"] == 1
    clock.advance(minutes=16)
    feed_server.add("/kev.json", b"<html>down</html>", status=500)
    second = by_source(await service.refresh())["kev"]
    assert second.next_refresh == clock.now + timedelta(minutes=10)  # 5 min, doubled
    clock.advance(minutes=11)
    feed_server.add("/kev.json", fixture("kev.json"), content_type="application/json")
    third = by_source(await service.refresh())["kev"]
    assert third.outcome == "updated" and third.error is None
    status = {s.source: s for s in await service.status()}["kev"]
    assert status.failures == 0 and status.last_error is None


async def test_switched_off_sources_fetch_nothing_and_show_unknown(
    feed_server: FeedServer, make_vulns: MakeService, store: Store
) -> None:
    service = make_vulns()
    reports = await service.refresh(force=True)
    assert [(r.source, r.outcome, r.enabled) for r in reports] == [
        ("kev", "off", False), ("epss", "off", False), ("nvd", "off", False)]
    assert sum(feed_server.hits.values()) == 0
    status = await service.status()
    assert [(s.source, s.enabled, s.url, s.last_success) for s in status] == [
        ("kev", False, None, None), ("epss", False, None, None), ("nvd", False, None, None)]
    ctx = await store.vulns.context_one("CVE-2024-3400")
    assert (ctx.kev, ctx.epss, ctx.cvss) == (None, None, None)


async def test_private_address_refused_without_the_setting(
    feed_server: FeedServer, store: Store, clock: Clock
) -> None:
    from bot.news.fetch import Fetcher, FetchLimits, make_session
    from bot.services.vulns import VulnService, VulnSources

    feed_server.add("/kev.json", fixture("kev.json"), content_type="application/json")
    limits = FetchLimits(max_bytes=CAP)
    session = make_session(limits, allow_private=False)
    try:
        service = VulnService(
            store, fetcher=Fetcher(session, limits, allow_private=False),
            sources=VulnSources(kev_url=feed_server.url("/kev.json"), epss_url=None,
                                nvd_url=None), clock=clock)
        report = by_source(await service.refresh())["kev"]
    finally:
        await session.close()
    assert report.failed and "SECBRIEF_ALLOW_PRIVATE_FEEDS" in (report.error or "")
    assert feed_server.hits["/kev.json"] == 0
