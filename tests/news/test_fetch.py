import asyncio
import time
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web

from bot.news.fetch import (
    Fetcher,
    FetchError,
    FetchLimits,
    backoff_delay,
    make_session,
    parse_retry_after,
)
from bot.news.ssrf import check_url
from tests.feedserver import FeedServer, make_atom, make_rss

FEED = make_rss(3)


@pytest.fixture
async def srv() -> AsyncIterator[FeedServer]:
    async with FeedServer() as server:
        yield server


class _Client:
    """A Fetcher plus its session, closed by the fixture."""

    def __init__(self) -> None:
        self._sessions = []

    def __call__(self, cls: type[Fetcher] = Fetcher, *, allow_private: bool = True,
                 **limits: float) -> Fetcher:
        lim = FetchLimits(**limits)
        session = make_session(lim, allow_private=allow_private)
        self._sessions.append(session)
        return cls(session, lim, allow_private=allow_private)

    async def close(self) -> None:
        for s in self._sessions:
            await s.close()


@pytest.fixture
async def client() -> AsyncIterator[_Client]:
    c = _Client()
    yield c
    await c.close()


async def test_plain_fetch_returns_body_and_validators(srv: FeedServer, client) -> None:
    srv.add("/feed.xml", FEED, etag='"abc"', last_modified="Mon, 06 Jan 2025 10:00:00 GMT")
    res = await client().fetch(srv.url("/feed.xml"))
    assert res.status == 200 and not res.not_modified
    assert res.body == FEED
    assert res.etag == '"abc"'
    assert res.last_modified == "Mon, 06 Jan 2025 10:00:00 GMT"
    assert res.content_type.startswith("application/rss+xml")
    assert res.url == srv.url("/feed.xml")
    sent = srv.requests["/feed.xml"][0]
    assert sent["User-Agent"].startswith("secbrief/")
    assert "application/rss+xml" in sent["Accept"]
    assert "If-None-Match" not in sent


async def test_conditional_get_etag_304(srv: FeedServer, client) -> None:
    srv.add("/feed.xml", FEED, etag='"v1"')
    fetcher = client()
    first = await fetcher.fetch(srv.url("/feed.xml"))
    second = await fetcher.fetch(srv.url("/feed.xml"), etag=first.etag)
    assert second.not_modified and second.status == 304 and second.body is None
    assert second.etag == '"v1"'
    assert srv.hits["/feed.xml"] == 2
    assert srv.requests["/feed.xml"][1]["If-None-Match"] == '"v1"'
    # A changed ETag on the server means a full body again.
    srv.add("/feed.xml", make_rss(4), etag='"v2"')
    third = await fetcher.fetch(srv.url("/feed.xml"), etag='"v1"')
    assert not third.not_modified and third.etag == '"v2"' and b"Story 3" in third.body


async def test_conditional_get_last_modified_304(srv: FeedServer, client) -> None:
    lm = "Mon, 06 Jan 2025 10:00:00 GMT"
    srv.add("/feed.xml", FEED, last_modified=lm)
    res = await client().fetch(srv.url("/feed.xml"), last_modified=lm)
    assert res.not_modified and res.body is None
    assert srv.requests["/feed.xml"][0]["If-Modified-Since"] == lm


async def test_gzip_body_is_decompressed(srv: FeedServer, client) -> None:
    body = make_atom(50)
    srv.add("/atom.xml", body, gzip=True, content_type="application/atom+xml")
    res = await client().fetch(srv.url("/atom.xml"))
    assert res.body == body
    assert "gzip" in srv.requests["/atom.xml"][0]["Accept-Encoding"]


async def test_huge_chunked_body_stops_at_cap(srv: FeedServer, client) -> None:
    size = 50_000_000
    srv.big("/huge.xml", size)
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="body larger than 1000000 bytes") as info:
            await client(max_bytes=1_000_000).fetch(srv.url("/huge.xml"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.status == 200
    assert peak < 10_000_000  # never buffered anywhere near 50 MB
    await asyncio.sleep(0.05)
    assert srv.sent["/huge.xml"] < size  # the client hung up early


async def test_declared_length_over_cap_rejected_before_reading(srv: FeedServer, client) -> None:
    srv.big("/declared.xml", 50_000_000, declare_length=True)
    t0 = time.monotonic()
    with pytest.raises(FetchError, match="body larger than 5000000 bytes"):
        await client().fetch(srv.url("/declared.xml"))
    assert time.monotonic() - t0 < 2


async def test_gzip_bomb_stops_at_decompressed_cap(srv: FeedServer, client) -> None:
    compressed = srv.gzip_bomb("/bomb.xml", 60_000_000)
    assert compressed < 100_000  # a small download...
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="body larger than 5000000 bytes"):
            await client().fetch(srv.url("/bomb.xml"))  # ...that inflates past the cap
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 15_000_000  # stopped early, not inflated to 60 MB


async def test_trickle_cut_by_total_timeout(srv: FeedServer, client) -> None:
    srv.trickle("/slow.xml", FEED, interval=0.1)  # each read succeeds; the whole never ends
    t0 = time.monotonic()
    with pytest.raises(FetchError, match=r"timed out after 1\.5s"):
        await client(total_timeout=1.5, read_timeout=5).fetch(srv.url("/slow.xml"))
    assert 1.4 < time.monotonic() - t0 < 3


async def test_silent_server_cut_by_read_timeout(srv: FeedServer, client) -> None:
    srv.add("/stall.xml", FEED, delay=5)
    t0 = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        await client(read_timeout=0.5, total_timeout=10).fetch(srv.url("/stall.xml"))
    assert time.monotonic() - t0 < 2


async def test_relative_redirects_followed(srv: FeedServer, client) -> None:
    srv.redirect("/old", "/middle", status=301)
    srv.redirect("/middle", "feeds/new.xml", status=307)  # relative to /middle
    srv.add("/feeds/new.xml", FEED)
    res = await client().fetch(srv.url("/old"))
    assert res.url == srv.url("/feeds/new.xml")
    assert res.body == FEED
    assert not res.moved_permanently  # one hop was a 307


async def test_permanent_redirect_chain_is_reported(srv: FeedServer, client) -> None:
    srv.redirect("/old", "/newer", status=301)
    srv.redirect("/newer", "/newest.xml", status=308)
    srv.add("/newest.xml", FEED)
    res = await client().fetch(srv.url("/old"))
    assert res.moved_permanently and res.url == srv.url("/newest.xml")
    direct = await client().fetch(srv.url("/newest.xml"))
    assert not direct.moved_permanently


async def test_304_without_validators_keeps_the_sent_ones(srv: FeedServer, client) -> None:
    async def handle(request: web.Request) -> web.Response:
        return web.Response(status=304)

    srv.handler("/bare304", handle)
    lm = "Mon, 06 Jan 2025 10:00:00 GMT"
    res = await client().fetch(srv.url("/bare304"), etag='"e1"', last_modified=lm)
    assert res.not_modified and res.etag == '"e1"' and res.last_modified == lm


async def test_conditional_headers_survive_redirects(srv: FeedServer, client) -> None:
    srv.redirect("/old", "/new.xml", status=301)
    srv.add("/new.xml", FEED, etag='"e"')
    res = await client().fetch(srv.url("/old"), etag='"e"')
    assert res.not_modified and res.url == srv.url("/new.xml")


async def test_redirect_loop(srv: FeedServer, client) -> None:
    srv.redirect("/a", "/b")
    srv.redirect("/b", "/a")
    with pytest.raises(FetchError, match="redirect loop"):
        await client().fetch(srv.url("/a"))
    assert srv.hits["/a"] == 1 and srv.hits["/b"] == 1


async def test_too_many_redirects(srv: FeedServer, client) -> None:
    for i in range(10):
        srv.redirect(f"/r{i}", f"/r{i + 1}")
    with pytest.raises(FetchError, match=r"too many redirects \(>3\)"):
        await client(max_redirects=3).fetch(srv.url("/r0"))
    assert srv.hits["/r4"] == 0


async def test_redirect_without_location(srv: FeedServer, client) -> None:
    srv.add("/nowhere", b"", status=302)
    with pytest.raises(FetchError, match="without Location"):
        await client().fetch(srv.url("/nowhere"))


class _FirstHopTrusted(Fetcher):
    """Trusts the loopback test server as the first hop; later hops get the real policy."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.checked: list[str] = []

    async def check_hop(self, url: str) -> None:
        self.checked.append(url)
        if len(self.checked) > 1:
            await check_url(url, allow_private=False)


@pytest.mark.parametrize(
    ("target", "needle"),
    [
        ("http://localhost:{port}/internal.xml", "localhost resolves to private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a private address"),
        ("http://[::ffff:127.0.0.1]:{port}/internal.xml", "private address"),
        ("file:///etc/passwd", "unsupported scheme 'file'"),
    ],
)
async def test_every_redirect_hop_is_checked(srv: FeedServer, client, target, needle) -> None:
    srv.redirect("/start", target.format(port=srv.port))
    srv.add("/internal.xml", FEED)
    fetcher = client(_FirstHopTrusted, allow_private=False)
    with pytest.raises(FetchError, match=needle) as info:
        await fetcher.fetch(srv.url("/start"))
    assert "SECBRIEF_ALLOW_PRIVATE_FEEDS=1" in str(info.value) or "scheme" in needle
    assert len(fetcher.checked) == 2
    assert srv.hits["/internal.xml"] == 0


async def test_loopback_feed_refused_without_request(srv: FeedServer, client) -> None:
    srv.add("/feed.xml", FEED)
    with pytest.raises(FetchError, match=r"refused: 127\.0\.0\.1 is a private address"):
        await client(allow_private=False).fetch(srv.url("/feed.xml"))
    assert srv.hits["/feed.xml"] == 0


class _NoCheck(Fetcher):
    async def check_hop(self, url: str) -> None:
        return None


async def test_connector_guard_refuses_private_resolution(srv: FeedServer, client) -> None:
    # Even with the per-hop check bypassed (as after a DNS rebind), the session's
    # resolver refuses a name that resolves to loopback at connect time.
    srv.add("/feed.xml", FEED)
    fetcher = client(_NoCheck, allow_private=False)
    with pytest.raises(FetchError, match="refused: localhost resolves to private address"):
        await fetcher.fetch(f"http://localhost:{srv.port}/feed.xml")
    assert srv.hits["/feed.xml"] == 0


async def test_localhost_allowed_when_private_allowed(srv: FeedServer, client) -> None:
    srv.add("/feed.xml", FEED)
    res = await client(allow_private=True).fetch(f"http://localhost:{srv.port}/feed.xml")
    assert res.body == FEED


@pytest.mark.parametrize("status", [404, 410, 500, 403])
async def test_http_errors_carry_status(srv: FeedServer, client, status: int) -> None:
    srv.add("/x", b"nope", status=status, headers={"Retry-After": "30"})
    with pytest.raises(FetchError, match=f"HTTP {status}") as info:
        await client().fetch(srv.url("/x"))
    assert info.value.status == status
    assert info.value.retry_after is None  # only 429/503 carry Retry-After
    assert info.value.url == srv.url("/x")


async def test_429_retry_after_seconds(srv: FeedServer, client) -> None:
    srv.add("/x", b"slow down", status=429, headers={"Retry-After": "120"})
    with pytest.raises(FetchError, match="HTTP 429") as info:
        await client().fetch(srv.url("/x"))
    assert info.value.status == 429 and info.value.retry_after == 120.0


async def test_503_retry_after_http_date(srv: FeedServer, client) -> None:
    when = datetime.now(UTC) + timedelta(minutes=10)
    srv.add("/x", b"", status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    with pytest.raises(FetchError, match="HTTP 503") as info:
        await client().fetch(srv.url("/x"))
    assert info.value.status == 503
    assert 580 <= info.value.retry_after <= 601


async def test_503_without_retry_after(srv: FeedServer, client) -> None:
    srv.add("/x", b"", status=503)
    with pytest.raises(FetchError) as info:
        await client().fetch(srv.url("/x"))
    assert info.value.status == 503 and info.value.retry_after is None


async def test_connection_refused(client) -> None:
    async with FeedServer() as tmp:
        port = tmp.port
    with pytest.raises(FetchError, match="cannot connect") as info:
        await client().fetch(f"http://127.0.0.1:{port}/feed.xml")
    assert info.value.status is None


async def _tracking_handler(state: dict[str, int], delay: float):
    async def handle(request: web.Request) -> web.Response:
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        try:
            await asyncio.sleep(delay)
        finally:
            state["now"] -= 1
        return web.Response(body=FEED)

    return handle


async def test_per_host_concurrency_limit(srv: FeedServer, client) -> None:
    state = {"now": 0, "max": 0}
    for i in range(6):
        srv.handler(f"/f{i}", await _tracking_handler(state, 0.15))
    fetcher = client(per_host=2, total=16)
    results = await asyncio.gather(*(fetcher.fetch(srv.url(f"/f{i}")) for i in range(6)))
    assert all(r.body == FEED for r in results)
    assert state["max"] == 2


async def test_global_concurrency_limit(client) -> None:
    state = {"now": 0, "max": 0}
    async with FeedServer() as a:
        for i in range(4):
            a.handler(f"/f{i}", await _tracking_handler(state, 0.15))
        fetcher = client(per_host=4, total=3)
        urls = [a.url(f"/f{i}") for i in range(4)]
        urls += [u.replace("127.0.0.1", "localhost") for u in urls]  # a second host name
        await asyncio.gather(*(fetcher.fetch(u) for u in urls))
    assert state["max"] == 3


def test_backoff_delay() -> None:
    assert backoff_delay(1, base=300) == 300
    assert backoff_delay(2, base=300) == 600
    assert backoff_delay(4, base=300) == 2400
    assert backoff_delay(30, base=300) == 86400  # capped
    assert backoff_delay(10_000, base=300, cap=3600) == 3600  # no overflow
    assert backoff_delay(1, base=300, retry_after=900) == 900  # never below Retry-After
    assert backoff_delay(3, base=300, retry_after=10) == 1200
    assert backoff_delay(1, base=60, cap=3600, retry_after=10**9) == 3600
    assert backoff_delay(0, base=300) == 0


def test_parse_retry_after() -> None:
    now = datetime(2025, 1, 6, 12, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Mon, 06 Jan 2025 12:05:00 GMT", now=now) == 300.0
    assert parse_retry_after("Mon, 06 Jan 2025 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after(None) is None
