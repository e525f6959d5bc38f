"""Polite, bounded HTTP fetching of feeds.

One `Fetcher` per process: it owns the concurrency limits (a global semaphore and one
per host) and applies, per fetch, conditional GET, an SSRF check on every redirect
hop, a streamed body-size cap (counted after decompression) and an overall deadline
that also cuts slow "trickle" servers.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import aiohttp

from bot.news.ssrf import (
    GuardedResolver,
    HostResolutionError,
    RefusedAddressError,
    UnsafeURLError,
    check_url,
)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
DEFAULT_USER_AGENT = "secbrief/0.1 (+https://github.com/secbrief)"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


@dataclass
class FetchLimits:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # longest silence between two reads
    total_timeout: float = 60.0  # whole fetch, all redirect hops and the body
    max_bytes: int = 5_000_000  # decompressed body
    max_redirects: int = 5
    per_host: int = 2
    total: int = 16


@dataclass
class FetchResult:
    url: str  # final URL after redirects
    status: int
    body: bytes | None  # None when not_modified
    etag: str | None
    last_modified: str | None
    content_type: str | None
    not_modified: bool
    # True when every redirect on the way was permanent (301/308): the caller may
    # store `url` as the feed's new address.
    moved_permanently: bool = False


class FetchError(Exception):
    """A fetch that failed; `str(err)` is a short human reason.

    `url` is the URL that failed (a redirect target when the chain got that far),
    `status` the HTTP status if there was a response, `retry_after` the seconds a
    429/503 asked to wait, `kind` what went wrong: "dns" (the host could not be
    resolved), "connect" (no connection), "refused" (policy: scheme, private
    address), or "fetch" (anything after connecting: HTTP errors, timeouts, caps).
    """

    def __init__(
        self,
        url: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        kind: str = "fetch",
    ) -> None:
        super().__init__(message)
        self.url = url
        self.message = message
        self.status = status
        self.retry_after = retry_after
        self.kind = kind

    def __reduce__(self) -> tuple:
        return (_fetch_error, (self.url, self.message, self.status, self.retry_after, self.kind))

    def __repr__(self) -> str:
        return f"FetchError({self.url!r}, {self.message!r}, status={self.status!r})"


def _fetch_error(
    url: str, message: str, status: int | None, retry_after: float | None, kind: str
) -> FetchError:
    return FetchError(url, message, status=status, retry_after=retry_after, kind=kind)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" zone: treat as UTC like HTTP dates are
        return None
    delta = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, delta)


def backoff_delay(
    failures: int, *, base: float, cap: float = 86400.0, retry_after: float | None = None
) -> float:
    """Delay before the next attempt after `failures` consecutive failures.

    base * 2**(failures-1), capped at `cap`, and never below the server's Retry-After
    (itself capped at `cap`: a server cannot park a feed for a month).
    """
    delay = 0.0 if failures <= 0 else base * math.pow(2.0, min(failures - 1, 64))
    delay = min(delay, cap)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, cap))
    return delay


def make_session(limits: FetchLimits, *, allow_private: bool = False) -> aiohttp.ClientSession:
    """A ClientSession suited to `Fetcher`. The caller owns it and must close it.

    Call from inside the running event loop. Pass the same `allow_private` as the
    Fetcher: the session's resolver refuses names that resolve to private addresses
    at connect time (DNS rebinding), on top of the Fetcher's per-hop check.
    """
    connector = aiohttp.TCPConnector(
        limit=limits.total,
        limit_per_host=limits.per_host,
        resolver=GuardedResolver(allow_private=allow_private),
        ttl_dns_cache=60,
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),  # no state shared between feeds
        timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=limits.connect_timeout, sock_read=limits.read_timeout
        ),
        auto_decompress=True,
    )


def _host_key(url: str) -> str:
    parts = urlsplit(url)
    return (parts.hostname or "").lower()


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _fmt_seconds(value: float) -> str:
    return f"{value:g}s"


class Fetcher:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        limits: FetchLimits,
        *,
        allow_private: bool,
        user_agent: str = DEFAULT_USER_AGENT,
    ) -> None:
        self.session = session
        self.limits = limits
        self.allow_private = allow_private
        self.user_agent = user_agent
        self._global = asyncio.Semaphore(limits.total)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def check_hop(self, url: str) -> None:
        """Policy check run before every request, including each redirect target.

        Raises UnsafeURLError / HostResolutionError. Override to change the policy.
        """
        await check_url(url, allow_private=self.allow_private)

    def _host_semaphore(self, url: str) -> asyncio.Semaphore:
        key = _host_key(url)
        sem = self._hosts.get(key)
        if sem is None:
            sem = self._hosts[key] = asyncio.Semaphore(self.limits.per_host)
        return sem

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
        secret_headers: dict[str, str] | None = None,
    ) -> FetchResult:
        """GET `url` (conditionally), following at most max_redirects redirects.

        `secret_headers` (an API key) go only to `url`'s own origin, never to a redirect
        target elsewhere. Returns a FetchResult (not_modified=True and body None on
        304); raises FetchError for everything else that goes wrong.
        """
        headers = {"User-Agent": self.user_agent, "Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        with_secrets = {**headers, **(secret_headers or {})}
        limits = self.limits
        deadline: float | None = None
        seen: set[str] = set()
        current = url
        permanent = True
        for hop in range(limits.max_redirects + 1):
            seen.add(current)
            await self._checked(current)
            # Per-host slot first, then the global one, so that tasks queued on a busy
            # host do not hold global slots other hosts could use.
            async with self._host_semaphore(current), self._global:
                if deadline is None:
                    deadline = asyncio.get_running_loop().time() + limits.total_timeout
                try:
                    async with asyncio.timeout_at(deadline):
                        same_origin = _origin(current) == _origin(url)
                        outcome = await self._one_hop(
                            current, with_secrets if same_origin else headers)
                except TimeoutError:
                    raise FetchError(
                        current, f"timed out after {_fmt_seconds(limits.total_timeout)}"
                    ) from None
            if isinstance(outcome, FetchResult):
                outcome.moved_permanently = hop > 0 and permanent
                return outcome
            status, nxt = outcome
            permanent = permanent and status in (301, 308)
            if nxt in seen:
                raise FetchError(current, f"redirect loop at {nxt}")
            if hop == limits.max_redirects:
                break
            current = nxt
        raise FetchError(current, f"too many redirects (>{limits.max_redirects})")

    async def _checked(self, url: str) -> None:
        try:
            async with asyncio.timeout(self.limits.connect_timeout):  # DNS can hang
                await self.check_hop(url)
        except UnsafeURLError as exc:
            raise FetchError(url, str(exc), kind="refused") from None
        except HostResolutionError as exc:
            raise FetchError(url, str(exc), kind="dns") from None
        except TimeoutError:
            raise FetchError(url, f"DNS lookup for {_host_key(url)} timed out",
                             kind="dns") from None

    async def precheck(self, url: str) -> None:
        """The policy check alone (scheme, credentials, private addresses), as a
        FetchError: lets a caller refuse a URL before it records anything."""
        await self._checked(url)

    async def _one_hop(
        self, url: str, headers: dict[str, str]
    ) -> FetchResult | tuple[int, str]:
        """One request: a FetchResult, or (status, absolute URL) for a redirect."""
        limits = self.limits
        try:
            async with self.session.get(
                url,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    sock_connect=limits.connect_timeout,
                    sock_read=limits.read_timeout,
                ),
            ) as resp:
                status = resp.status
                if status in _REDIRECTS:
                    location = resp.headers.get("Location")
                    if not location:
                        raise FetchError(url, f"HTTP {status} redirect without Location",
                                         status=status)
                    return status, urljoin(url, location.strip())
                if status == 304:  # validators may be omitted: keep the ones we sent
                    return FetchResult(
                        url=url,
                        status=304,
                        body=None,
                        etag=resp.headers.get("ETag") or headers.get("If-None-Match"),
                        last_modified=(
                            resp.headers.get("Last-Modified") or headers.get("If-Modified-Since")
                        ),
                        content_type=resp.headers.get("Content-Type"),
                        not_modified=True,
                    )
                if status >= 400 or status < 200:
                    retry = None
                    if status in (429, 503):
                        retry = parse_retry_after(resp.headers.get("Retry-After"))
                    reason = f"HTTP {status}"
                    if resp.reason:
                        reason += f" {resp.reason}"
                    raise FetchError(url, reason, status=status, retry_after=retry)
                if status >= 300:
                    raise FetchError(url, f"HTTP {status} (unexpected redirect status)",
                                     status=status)
                body = await self._read_capped(url, resp)
                return FetchResult(
                    url=url,
                    status=status,
                    body=body,
                    etag=resp.headers.get("ETag"),
                    last_modified=resp.headers.get("Last-Modified"),
                    content_type=resp.headers.get("Content-Type"),
                    not_modified=False,
                )
        except aiohttp.ClientConnectorDNSError as exc:
            refused = exc.os_error
            if isinstance(refused, RefusedAddressError):
                raise FetchError(url, str(refused), kind="refused") from None
            raise FetchError(url, f"cannot resolve host {_host_key(url)}", kind="dns") from None
        except aiohttp.ClientConnectorCertificateError as exc:
            raise FetchError(url, f"TLS certificate error: {exc.certificate_error}") from None
        except aiohttp.ClientConnectorError as exc:
            raise FetchError(url, f"cannot connect to {exc.host}:{exc.port}: "
                                  f"{exc.os_error.strerror or exc.os_error}",
                             kind="connect") from None
        except aiohttp.ServerTimeoutError:
            raise FetchError(url, "timed out waiting for the server") from None
        except aiohttp.ClientPayloadError as exc:
            raise FetchError(url, f"broken response body: {exc}") from None
        except aiohttp.ClientResponseError as exc:
            raise FetchError(url, f"bad response: {exc.message}", status=exc.status) from None
        except aiohttp.InvalidURL as exc:
            raise FetchError(url, f"invalid URL: {exc}") from None
        except aiohttp.ClientError as exc:
            raise FetchError(url, f"{type(exc).__name__}: {exc}") from None

    async def _read_capped(self, url: str, resp: aiohttp.ClientResponse) -> bytes:
        cap = self.limits.max_bytes
        too_big = f"body larger than {cap} bytes"
        declared = resp.headers.get("Content-Length")
        if declared and declared.strip().isdigit() and int(declared) > cap:
            resp.close()
            raise FetchError(url, too_big, status=resp.status)
        buf = bytearray()
        # aiohttp decompresses gzip/deflate/br as it streams, so this counts the
        # decompressed size: a small gzip bomb stops here at the cap.
        async for chunk in resp.content.iter_chunked(_CHUNK):
            buf += chunk
            if len(buf) > cap:
                resp.close()  # drop the connection rather than drain the rest
                raise FetchError(url, too_big, status=resp.status)
        return bytes(buf)
