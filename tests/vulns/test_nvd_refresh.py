"""NVD rounds: only CVEs the store names, at most 5 requests per 30 s without a key
(checked on an injected clock), cached for a week, the API key sent as a header,
failures contained."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from bot.vulns.window import SlidingWindow
from storage.models import NewArticle
from storage.store import Store
from tests.conftest import Clock
from tests.feedserver import FeedServer
from tests.vulns.conftest import FakeTime, MakeService, fixture


async def tag(store: Store, cves: list[str], when: datetime) -> None:
    await store.articles.add(
        NewArticle(source="Test", title=" ".join(cves), url=f"https://example.test/{cves[0]}",
                   text="text", published_at=when, cves=cves),
        story_id=None, now=when,
    )


class Nvd:
    """An NVD-shaped endpoint: answers per cveId, records when each request came."""

    def __init__(self, server: FeedServer, time: FakeTime) -> None:
        self.time = time
        self.asked: list[tuple[float, str, str | None]] = []
        self.answers = {
            "CVE-2024-3400": fixture("nvd_CVE-2024-3400.json"),
            "CVE-2026-1281": fixture("nvd_awaiting.json"),
        }
        self.status: dict[str, int] = {}
        server.handler("/rest/json/cves/2.0", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        cve = request.query.get("cveId", "")
        self.asked.append((self.time.now, cve, request.headers.get("apiKey")))
        if cve in self.status:
            return web.Response(status=self.status[cve], text="no")
        body = self.answers.get(cve, fixture("nvd_none.json"))
        return web.Response(body=body, content_type="application/json")


async def test_rounds_ask_for_stored_cves_at_nvds_pace(
    feed_server: FeedServer, make_vulns: MakeService, store: Store, clock: Clock
) -> None:
    time = FakeTime()
    nvd = Nvd(feed_server, time)
    older = clock.now - timedelta(days=2)
    await tag(store, [f"CVE-2025-{n:04d}" for n in range(1000, 1010)], older)
    await tag(store, ["CVE-2024-3400", "CVE-2026-1281"], clock.now - timedelta(hours=1))
    window = SlidingWindow(5, 30.0, clock=time.clock, sleep=time.sleep)
    service = make_vulns(nvd=feed_server.url("/rest/json/cves/2.0"), window=window)
    report = (await service.refresh())[2]
    assert (report.source, report.outcome, report.asked) == ("nvd", "updated", 10)
    # newest mentions first; 5 at once, the next 5 when the window has moved on
    assert [c for _, c, _ in nvd.asked[:2]] == ["CVE-2024-3400", "CVE-2026-1281"]
    assert [t for t, _, _ in nvd.asked] == [0.0] * 5 + [30.0] * 5
    assert all(key is None for _, _, key in nvd.asked)
    cvss = (await store.vulns.context_one("CVE-2024-3400")).cvss
    assert cvss is not None and cvss.score == 10.0 and cvss.source == "nvd"
    assert "GlobalProtect" in cvss.description
    assert (await store.vulns.context_one("CVE-2026-1281")).cvss is None  # awaiting
    assert report.records == 1

    # the next round asks only the two left; a third round asks nobody
    clock.advance(minutes=10)
    second = (await service.refresh())[2]
    assert second.asked == 2 and len(nvd.asked) == 12
    assert [t for t, _, _ in nvd.asked[10:]] == [60.0, 60.0]
    clock.advance(minutes=10)
    third = (await service.refresh())[2]
    assert (third.outcome, third.asked) == ("not_modified", 0) and len(nvd.asked) == 12
    # a week later they are asked again
    clock.advance(days=7, minutes=1)
    assert (await service.refresh())[2].asked == 10


async def test_api_key_is_sent_and_raises_the_pace(
    feed_server: FeedServer, make_vulns: MakeService, store: Store, clock: Clock
) -> None:
    time = FakeTime()
    nvd = Nvd(feed_server, time)
    await tag(store, [f"CVE-2025-{n:04d}" for n in range(2000, 2060)], clock.now)
    service = make_vulns(nvd=feed_server.url("/rest/json/cves/2.0"), nvd_api_key="k-123",
                         window=SlidingWindow(50, 30.0, clock=time.clock, sleep=time.sleep))
    report = (await service.refresh())[2]
    assert report.asked == 60 == len(nvd.asked)  # a round asks two windows' worth at most
    assert [t for t, _, _ in nvd.asked] == [0.0] * 50 + [30.0] * 10
    assert {key for _, _, key in nvd.asked} == {"k-123"}


async def test_api_key_is_not_sent_to_a_redirect_elsewhere(
    feed_server: FeedServer, make_vulns: MakeService, store: Store, clock: Clock
) -> None:
    async with FeedServer() as elsewhere:
        nvd = Nvd(elsewhere, FakeTime())
        async def moved(request: web.Request) -> web.Response:
            target = elsewhere.url(f"/rest/json/cves/2.0?{request.query_string}")
            return web.Response(status=302, headers={"Location": target})

        feed_server.handler("/rest/json/cves/2.0", moved)
        await tag(store, ["CVE-2024-3400"], clock.now)
        service = make_vulns(nvd=feed_server.url("/rest/json/cves/2.0"), nvd_api_key="k-123")
        await service.refresh()
    assert feed_server.requests["/rest/json/cves/2.0"][0]["apiKey"] == "k-123"
    assert [(c, key) for _, c, key in nvd.asked] == [("CVE-2024-3400", None)]


async def test_rate_limited_round_keeps_what_it_got_and_backs_off(
    feed_server: FeedServer, make_vulns: MakeService, store: Store, clock: Clock
) -> None:
    time = FakeTime()
    nvd = Nvd(feed_server, time)
    nvd.status["CVE-2025-0003"] = 403  # NVD's answer past its rate limit
    await tag(store, ["CVE-2024-3400"], clock.now)
    await tag(store, ["CVE-2025-0003"], clock.now - timedelta(hours=1))
    await tag(store, ["CVE-2025-0004"], clock.now - timedelta(hours=2))
    window = SlidingWindow(5, 30.0, clock=time.clock, sleep=time.sleep)
    service = make_vulns(nvd=feed_server.url("/rest/json/cves/2.0"), window=window)
    report = (await service.refresh())[2]
    assert report.failed and "HTTP 403" in (report.error or "")
    assert [c for _, c, _ in nvd.asked] == ["CVE-2024-3400", "CVE-2025-0003"]
    assert (await store.vulns.context_one("CVE-2024-3400")).cvss is not None
    assert report.next_refresh == clock.now + timedelta(minutes=5)
    assert await window.acquire() >= 30.0  # the limiter waits a full window first
    # next round: the 403'd CVE and the one after it, not the one already scored
    del nvd.status["CVE-2025-0003"]
    clock.advance(minutes=6)
    await service.refresh()
    assert [c for _, c, _ in nvd.asked[2:]] == ["CVE-2025-0003", "CVE-2025-0004"]


async def test_unknown_cve_404_is_cached_html_is_a_failure(
    feed_server: FeedServer, make_vulns: MakeService, store: Store, clock: Clock
) -> None:
    time = FakeTime()
    nvd = Nvd(feed_server, time)
    nvd.status["CVE-2025-0404"] = 404
    nvd.answers["CVE-2025-0500"] = b"<html><body>Service Unavailable</body></html>"
    await tag(store, ["CVE-2025-0404"], clock.now)
    await tag(store, ["CVE-2025-0500"], clock.now - timedelta(hours=1))
    service = make_vulns(nvd=feed_server.url("/rest/json/cves/2.0"),
                         window=SlidingWindow(5, 30.0, clock=time.clock, sleep=time.sleep))
    report = (await service.refresh())[2]
    assert report.failed and "not NVD JSON" in (report.error or "")
    assert await store.vulns.cves_missing_cvss(10) == ["CVE-2025-0500"]


def test_nvd_recheck_is_a_week() -> None:
    from bot.services.vulns import NVD_RECHECK

    assert datetime(2026, 3, 8, tzinfo=UTC) - NVD_RECHECK == datetime(2026, 3, 1, tzinfo=UTC)
