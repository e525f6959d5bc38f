"""Refresh the vulnerability sources — CISA KEV, FIRST EPSS, NVD — polled like feeds.

Each source has its own cadence (KEV every 6 h, EPSS daily, NVD every round for the
CVEs the store names and NVD was not asked about this week), conditional GET, backoff
after failures (doubling from 5 minutes up to the source's interval) and the feeds'
SSRF rules. A failure of any kind — an HTTP error, HTML instead of JSON, a truncated
or over-large gzip — is recorded on the source and leaves its previous data in place.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot.news.fetch import Fetcher, FetchError, FetchResult, backoff_delay
from bot.vulns import VulnFormatError
from bot.vulns.epss import open_epss
from bot.vulns.gzipcap import decompressed
from bot.vulns.kev import parse_kev
from bot.vulns.nvd import parse_nvd
from bot.vulns.window import SlidingWindow
from storage.store import Store
from storage.vuln_models import EpssDiff, KevDiff, VulnSourceStatus

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

SOURCES = ("kev", "epss", "nvd")
INTERVALS = {
    "kev": timedelta(hours=6),
    "epss": timedelta(days=1),
    "nvd": timedelta(minutes=10),
}
ROUND_INTERVAL = 600  # seconds between the bot's "refresh what is due" rounds
DUE_SLACK = timedelta(minutes=1)  # a source due within a minute is refreshed this round
BACKOFF_BASE = 300.0
NVD_RECHECK = timedelta(days=7)  # a CVE NVD was asked about is not asked again for a week
NVD_WINDOW = 30.0  # seconds
NVD_LIMIT = 5  # requests per window without an API key (NVD's published limit)
NVD_LIMIT_WITH_KEY = 50
JSON_ACCEPT = "application/json"
EPSS_ACCEPT = "application/gzip, text/csv;q=0.9, */*;q=0.5"


@dataclass
class SourceReport:
    """What one refresh did for one source."""

    source: str
    enabled: bool
    outcome: str  # updated | not_modified | failed | not_due | off
    records: int = 0  # records the store holds for the source afterwards
    data_date: date | None = None
    error: str | None = None
    next_refresh: datetime | None = None
    asked: int = 0  # NVD: CVEs asked about in this round
    kev: KevDiff | None = None  # KEV: what the new catalogue changed
    epss: EpssDiff | None = None  # EPSS: the scores that crossed SECBRIEF_EPSS_ALERT

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"


@dataclass(frozen=True)
class VulnSources:
    """Where each source is (None: switched off) and how NVD is asked."""

    kev_url: str | None
    epss_url: str | None
    nvd_url: str | None
    nvd_api_key: str | None = None
    epss_alert: float | None = None
    max_bytes: int = 64_000_000

    def url(self, source: str) -> str | None:
        return {"kev": self.kev_url, "epss": self.epss_url, "nvd": self.nvd_url}[source]


class _Failed(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class VulnService:
    def __init__(
        self,
        store: Store,
        *,
        fetcher: Fetcher,
        sources: VulnSources,
        clock: Callable[[], datetime],
        nvd_window: SlidingWindow | None = None,
        nvd_batch: int | None = None,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.sources = sources
        self.clock = clock
        limit = NVD_LIMIT_WITH_KEY if sources.nvd_api_key else NVD_LIMIT
        self.nvd_window = nvd_window or SlidingWindow(limit, NVD_WINDOW)
        # a round asks at most two windows' worth (about 30 s of NVD's allowance)
        self.nvd_batch = nvd_batch or 2 * self.nvd_window.limit
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> list[str]:
        return [s for s in SOURCES if self.sources.url(s)]

    # -- status ------------------------------------------------------------------------
    async def status(self) -> list[VulnSourceStatus]:
        """Each source's state, switched-off ones included (enabled False)."""
        found = []
        for source in SOURCES:
            stored = await self.store.vulns.source_status(source)
            url = self.sources.url(source)
            found.append(replace(stored, enabled=url is not None, url=url))
        return found

    # -- refresh -----------------------------------------------------------------------
    async def refresh(self, *, force: bool = False) -> list[SourceReport]:
        """Refresh every enabled source that is due (every one with ``force``), the
        three side by side; one report per source, in SOURCES order."""
        async with self._lock:
            return list(await asyncio.gather(*(self._refresh(s, force) for s in SOURCES)))

    async def _refresh(self, source: str, force: bool) -> SourceReport:
        url = self.sources.url(source)
        status = await self.store.vulns.source_status(source)
        if url is None:
            return SourceReport(source, False, "off", status.records, status.data_date)
        now = self.clock()
        if not force and status.next_refresh and status.next_refresh > now + DUE_SLACK:
            return SourceReport(source, True, "not_due", status.records, status.data_date,
                                error=status.last_error, next_refresh=status.next_refresh)
        refresh = {"kev": self._kev, "epss": self._epss, "nvd": self._nvd}[source]
        try:
            report = await refresh(url, status, now)
        except (_Failed, FetchError, VulnFormatError) as exc:
            return await self._failed(source, status, now, exc)
        except Exception as exc:  # contained like a hostile feed; the traceback is logged
            log.exception("refreshing %s failed", source)
            return await self._failed(source, status, now, exc)
        return report

    async def _failed(
        self, source: str, status: VulnSourceStatus, now: datetime, exc: Exception
    ) -> SourceReport:
        message = str(exc) or type(exc).__name__
        if not isinstance(exc, _Failed | FetchError | VulnFormatError):
            message = f"{type(exc).__name__}: {message}"
        retry_after = getattr(exc, "retry_after", None)
        delay = backoff_delay(status.failures + 1, base=BACKOFF_BASE,
                              cap=INTERVALS[source].total_seconds(), retry_after=retry_after)
        next_refresh = now + timedelta(seconds=delay)
        await self.store.vulns.record_source_failure(source, now=now, error=message[:500],
                                                     next_refresh=next_refresh)
        log.warning("%s refresh failed: %s (next try %s)", source, message, next_refresh)
        return SourceReport(source, True, "failed", status.records, status.data_date,
                            error=message, next_refresh=next_refresh)

    async def _not_modified(
        self, source: str, status: VulnSourceStatus, now: datetime, etag: str | None,
        last_modified: str | None,
    ) -> SourceReport:
        next_refresh = now + INTERVALS[source]
        await self.store.vulns.record_source_success(
            source, now=now, next_refresh=next_refresh, etag=etag, last_modified=last_modified)
        return SourceReport(source, True, "not_modified", status.records, status.data_date,
                            next_refresh=next_refresh)

    async def _kev(self, url: str, status: VulnSourceStatus, now: datetime) -> SourceReport:
        result = await self._fetch_new("kev", url, status, now, JSON_ACCEPT)
        if isinstance(result, SourceReport):
            return result
        body = result.body or b""
        catalogue = await asyncio.to_thread(
            lambda: parse_kev(decompressed(body, self.sources.max_bytes, what="KEV catalogue")))
        diff = await self.store.vulns.replace_kev(catalogue.entries, now=now)
        data_date = catalogue.released or max(e.date_added for e in catalogue.entries)
        return await self._updated("kev", result, now, diff.total, data_date, kev=diff)

    async def _epss(self, url: str, status: VulnSourceStatus, now: datetime) -> SourceReport:
        result = await self._fetch_new("epss", url, status, now, EPSS_ACCEPT)
        if isinstance(result, SourceReport):
            return result
        epss = open_epss(result.body or b"", max_bytes=self.sources.max_bytes)
        score_date = epss.score_date or now.date()
        # The rows stream from the gzip into the store (parsed in the store's thread).
        diff = await self.store.vulns.replace_epss(
            epss.rows(), score_date=score_date, now=now, threshold=self.sources.epss_alert)
        return await self._updated("epss", result, now, diff.total, score_date, epss=diff)

    async def _fetch_new(self, source: str, url: str, status: VulnSourceStatus,
                         now: datetime, accept: str) -> FetchResult | SourceReport:
        """A conditional GET of a whole-file source (KEV, EPSS): the response with a
        body, or the recorded "not_modified" report when there is nothing new."""
        result = await self.fetcher.fetch(url, etag=status.etag,
                                          last_modified=status.last_modified, accept=accept)
        if result.not_modified or result.body is None:
            return await self._not_modified(source, status, now, result.etag,
                                            result.last_modified)
        return result

    async def _updated(self, source: str, result: FetchResult, now: datetime, records: int,
                       data_date: date, **diff: Any) -> SourceReport:
        """Record a whole-file source's new data (validators, count, date) as a success."""
        next_refresh = now + INTERVALS[source]
        await self.store.vulns.record_source_success(
            source, now=now, next_refresh=next_refresh, etag=result.etag,
            last_modified=result.last_modified, records=records, data_date=data_date)
        return SourceReport(source, True, "updated", records, data_date,
                            next_refresh=next_refresh, **diff)

    async def _nvd(self, url: str, status: VulnSourceStatus, now: datetime) -> SourceReport:
        repo = self.store.vulns
        wanted = await repo.cves_missing_cvss(self.nvd_batch,
                                              checked_before=now - NVD_RECHECK)
        headers = {"apiKey": self.sources.nvd_api_key} if self.sources.nvd_api_key else None
        asked = 0
        for cve in wanted:
            await self.nvd_window.acquire()
            try:
                result = await self.fetcher.fetch(
                    f"{url}{'&' if '?' in url else '?'}cveId={quote(cve)}",
                    accept=JSON_ACCEPT, secret_headers=headers)
            except FetchError as exc:
                if exc.status == 404:  # NVD does not know the CVE (yet)
                    await repo.mark_nvd_checked([cve], now=self.clock())
                    asked += 1
                    continue
                if exc.status in (403, 429, 503):  # NVD's rate limiting answers
                    self.nvd_window.pause(exc.retry_after or NVD_WINDOW)
                raise _Failed(f"{cve}: {exc}", exc.retry_after) from None
            body = decompressed(result.body or b"", self.sources.max_bytes, what="NVD answer")
            record = parse_nvd(body, cve)
            if record.cvss is not None:
                await repo.upsert_cvss([record.cvss], now=self.clock())
            else:
                await repo.mark_nvd_checked([cve], now=self.clock())
            asked += 1
        done = self.clock()
        next_refresh = done + INTERVALS["nvd"]
        records = await repo.cvss_count(source="nvd")
        await repo.record_source_success("nvd", now=done, next_refresh=next_refresh,
                                         records=records)
        return SourceReport("nvd", True, "updated" if asked else "not_modified", records,
                            None, next_refresh=next_refresh, asked=asked)


def sources_from(settings: Settings) -> VulnSources:
    """The sources as the settings name them."""
    key = settings.nvd_api_key
    return VulnSources(
        kev_url=settings.kev_url,
        epss_url=settings.epss_url,
        nvd_url=settings.nvd_url,
        nvd_api_key=key.get_secret_value() if key is not None else None,
        epss_alert=settings.epss_alert,
        max_bytes=settings.max_vuln_bytes,
    )
