"""A real HTTP server on 127.0.0.1 for tests that fetch feeds.

    async with FeedServer() as srv:
        srv.add("/feed.xml", make_rss(3), etag='"v1"')
        url = srv.url("/feed.xml")
        ...
        assert srv.hits["/feed.xml"] == 1

Routes are keyed by path (the query string is ignored; hits/requests are per path).
Routes: static bodies (status, headers, ETag / Last-Modified with 304 on a matching
conditional request, optional gzip), redirects, slow trickles, large streamed bodies,
gzip bombs and custom handler callables. Every request is counted per path and its
headers recorded. Fetch from it with allow_private=True (it is on loopback).
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from xml.sax.saxutils import escape

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class _Static:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    gzip: bool = False
    delay: float = 0.0


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    wanted = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag.removeprefix("W/") in wanted


def _not_modified_since(header: str, last_modified: str) -> bool:
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return header.strip() == last_modified


class FeedServer:
    """aiohttp server on 127.0.0.1 with a random port. Use `async with` or `serve()`."""

    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency  # added before every response
        self.hits: Counter[str] = Counter()
        self.requests: defaultdict[str, list[CIMultiDictProxy[str]]] = defaultdict(list)
        self.sent: dict[str, int] = {}  # bytes written by big() routes
        self._routes: dict[str, Handler] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FeedServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def url(self, path: str) -> str:
        if not path.startswith("/"):
            path = "/" + path
        return f"http://127.0.0.1:{self.port}{path}"

    # -- routes --------------------------------------------------------------------
    def add(
        self,
        path: str,
        body: bytes | str = b"",
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str | None = "application/rss+xml; charset=utf-8",
        etag: str | None = None,
        last_modified: str | None = None,
        gzip: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Static response. With etag/last_modified, a matching conditional GET gets 304."""
        data = body.encode() if isinstance(body, str) else body
        route = _Static(data, status, dict(headers or {}), content_type, etag, last_modified,
                        gzip, delay)
        self._routes[path] = lambda request: self._static(route, request)

    def handler(self, path: str, fn: Handler) -> None:
        """Custom async handler `fn(request) -> web.StreamResponse`."""
        self._routes[path] = fn

    def redirect(self, path: str, to: str, *, status: int = 302) -> None:
        """Redirect to `to` (absolute, or relative: sent as-is in Location)."""

        async def handle(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": to})

        self._routes[path] = handle

    def trickle(self, path: str, body: bytes, *, interval: float = 1.0, chunk: int = 1) -> None:
        """Send `chunk` bytes every `interval` seconds (a slow-loris style server)."""

        async def handle(request: web.Request) -> web.StreamResponse:
            resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            resp.content_length = len(body)
            await resp.prepare(request)
            for i in range(0, len(body), chunk):
                await resp.write(body[i : i + chunk])
                await asyncio.sleep(interval)
            await resp.write_eof()
            return resp

        self._routes[path] = handle

    def big(self, path: str, size: int, *, declare_length: bool = False) -> None:
        """Stream `size` bytes of filler without holding them in memory.

        Without declare_length the body is chunked, so only streaming can catch it.
        """

        async def handle(request: web.Request) -> web.StreamResponse:
            resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            if declare_length:
                resp.content_length = size
            await resp.prepare(request)
            block = b"<!-- filler -->" * 4096
            sent = 0
            try:
                while sent < size:
                    part = block[: size - sent]
                    await resp.write(part)
                    sent += len(part)
                await resp.write_eof()
            finally:  # also when the client hangs up, as it should past its cap
                self.sent[path] = sent
            return resp

        self._routes[path] = handle

    def gzip_bomb(self, path: str, inflated: int) -> int:
        """gzip-encoded body of zeros that inflates to `inflated` bytes.

        Returns the compressed size (about inflated/1000).
        """
        comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
        block = bytes(1 << 20)
        parts = []
        for start in range(0, inflated, len(block)):
            parts.append(comp.compress(block[: inflated - start]))
        parts.append(comp.flush())
        data = b"".join(parts)
        self.add(path, data, headers={"Content-Encoding": "gzip"})
        return len(data)

    # -- internals -------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] += 1
        self.requests[path].append(CIMultiDictProxy(CIMultiDict(request.headers)))
        if self.latency:
            await asyncio.sleep(self.latency)
        fn = self._routes.get(path)
        if fn is None:
            return web.Response(status=404, text="no such route")
        return await fn(request)

    async def _static(self, route: _Static, request: web.Request) -> web.StreamResponse:
        if route.delay:
            await asyncio.sleep(route.delay)
        headers = CIMultiDict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        inm = request.headers.get("If-None-Match")
        ims = request.headers.get("If-Modified-Since")
        if route.status == 200:
            if route.etag and inm is not None:
                if _etag_matches(inm, route.etag):
                    return web.Response(status=304, headers=headers)
            elif route.last_modified and ims and _not_modified_since(ims, route.last_modified):
                return web.Response(status=304, headers=headers)
        body = route.body
        if route.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        if route.content_type and "Content-Type" not in headers:
            headers["Content-Type"] = route.content_type
        return web.Response(status=route.status, body=body, headers=headers)


@asynccontextmanager
async def serve(*, latency: float = 0.0) -> AsyncIterator[FeedServer]:
    """`async with serve() as srv:` — a started FeedServer, closed on exit."""
    srv = FeedServer(latency=latency)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.close()


# -- generated feeds -------------------------------------------------------------------
_EPOCH = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)


def _item_date(i: int) -> datetime:
    return _EPOCH - timedelta(minutes=17 * i)


def make_rss(
    n_items: int, *, base: str = "http://127.0.0.1/", title_prefix: str = "Story"
) -> bytes:
    """An RSS 2.0 feed with `n_items` items, newest first, unique guids and links."""
    base = base if base.endswith("/") else base + "/"
    items = []
    for i in range(n_items):
        link = f"{base}news/{i}"
        items.append(
            "<item>"
            f"<title>{escape(title_prefix)} {i}: patch released for CVE-2025-{1000 + i}</title>"
            f"<link>{link}</link>"
            f'<guid isPermaLink="false">{base}guid/{i}</guid>'
            f"<pubDate>{format_datetime(_item_date(i), usegmt=True)}</pubDate>"
            f"<dc:creator>Reporter {i % 7}</dc:creator>"
            f"<description>&lt;p&gt;Summary of story {i}: a vendor fixed a flaw "
            f"exploited in the wild.&lt;/p&gt;</description>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Generated feed</title><link>{base}</link>"
        "<description>Test feed</description>" + "".join(items) + "</channel></rss>\n"
    ).encode()


def make_atom(
    n_entries: int, *, base: str = "http://127.0.0.1/", title_prefix: str = "Story"
) -> bytes:
    """An Atom 1.0 feed with `n_entries` entries, newest first."""
    base = base if base.endswith("/") else base + "/"
    entries = []
    for i in range(n_entries):
        when = _item_date(i).strftime("%Y-%m-%dT%H:%M:%SZ")
        entries.append(
            "<entry>"
            f"<title>{escape(title_prefix)} {i}: breach disclosed</title>"
            f'<link rel="alternate" href="{base}posts/{i}"/>'
            f"<id>urn:uuid:00000000-0000-4000-8000-{i:012d}</id>"
            f"<updated>{when}</updated><published>{when}</published>"
            f"<author><name>Analyst {i % 5}</name></author>"
            f"<summary>Summary of entry {i}.</summary>"
            f'<content type="html">&lt;p&gt;Body of entry {i}.&lt;/p&gt;</content>'
            "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Generated Atom feed</title><id>{base}</id>"
        f"<updated>{_EPOCH.strftime('%Y-%m-%dT%H:%M:%SZ')}</updated>"
        + "".join(entries)
        + "</feed>\n"
    ).encode()
