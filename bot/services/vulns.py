"""Refresh the vulnerability sources — CISA KEV, FIRST EPSS, NVD — polled like feeds.

Each source has its own cadence (KEV every 6 h, EPSS daily, NVD every round for the
CVEs the store names and NVD was not asked about this week), conditional GET, backoff
after failures (doubling from 5 minutes up to the source's interval) and the feeds'
SSRF rules. A failure of any kind — an HTTP error, HTML instead of JSON, a truncated
or over-large gzip — is recorded on the source and leaves its previous data in place.
So is a well-formed file that would shrink the held records to less than half (a KEV
catalogue or EPSS file cut short upstream), unless ``force`` accepts it.

Several processes may share the store (bots, `secbrief ingest`, `secbrief vulns
refresh` from cron): a due source is claimed in the store with a lease before it is
fetched (storage/claims.py), so it is fetched and loaded by one of them; the others
report it ``claimed_elsewhere``. ``force`` refreshes a source that is not due but still
leaves a live claim alone.
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
from storage.claims import ClaimRepository, process_id
from storage.store import Store
from storage.vuln_models import EpssDiff, KevDiff, VulnSourceStatus
from storage.vulns import LoadGuard

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
# A new KEV catalogue or EPSS file holding less than half the records held is refused as
# truncated — once this many are held (below it, a shrink proves nothing).
GUARDED_FROM = 100


@dataclass
class SourceReport:
    """What one refresh did for one source."""

    source: str
    enabled: bool
    outcome: str  # updated | not_modified | failed | not_due | claimed_elsewhere | off
    records: int = 0  # records the store holds for the source afterwards
    data_date: date | None = None
    error: str | None = None
    next_refresh: datetime | None = None
    asked: int = 0  # NVD: CVEs asked about in this round
    kev: KevDiff | None = None  # KEV: what the new catalogue changed
    epss: EpssDiff | None = None  # EPSS: the scores that crossed SECBRIEF_EPSS_ALERT
    # claimed_elsewhere: the process refreshing the source, and the end of its lease
    claimed_by: str | None = None
    claimed_until: datetime | None = None

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


def truncation_guard(what: str, unit: str, units: str) -> LoadGuard:
    """The load guard refusing a file that would shrink the held records by more than
    half (when at least GUARDED_FROM are held)."""

    def guard(new: int, held: int) -> None:
        if held >= GUARDED_FROM and new * 2 < held:
            raise _Failed(f"{what} holds {new:,} {unit if new == 1 else units}, {held:,} held:"
                          " refused as truncated; --force to accept")

    return guard


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
        worker: str | None = None,
        claim_lease: float = 30.0,
    ) -> None:
        """``worker`` and ``claim_lease``: who claims a due source's refresh, and for how
        long the claim holds unrenewed (a process that dies mid-refresh loses only it)."""
        self.store = store
        self.fetcher = fetcher
        self.sources = sources
        self.clock = clock
        limit = NVD_LIMIT_WITH_KEY if sources.nvd_api_key else NVD_LIMIT
        self.nvd_window = nvd_window or SlidingWindow(limit, NVD_WINDOW)
        # a round asks at most two windows' worth (about 30 s of NVD's allowance)
        self.nvd_batch = nvd_batch or 2 * self.nvd_window.limit
        self._lock = asyncio.Lock()
        self._claims = ClaimRepository(store.db)
        self.worker = worker or process_id()
        self.claim_lease = claim_lease
        self._held: set[str] = set()  # the sources this process is refreshing right now

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
        three side by side; one report per source, in SOURCES order. ``force`` also
        accepts a file the truncation guard would refuse."""
        async with self._lock:
            renewing = asyncio.create_task(self._renew())
            try:
                return list(await asyncio.gather(*(self._refresh(s, force) for s in SOURCES)))
            finally:
                renewing.cancel()
                await asyncio.gather(renewing, return_exceptions=True)

    async def _refresh(self, source: str, force: bool) -> SourceReport:
        url = self.sources.url(source)
        status = await self.store.vulns.source_status(source)
        if url is None:
            return SourceReport(source, False, "off", status.records, status.data_date)
        now = self.clock()
        if not force and not self._due(status, now):
            return self._not_due(status)
        due_by = None if force else now + DUE_SLACK
        if not await self._claims.claim_source(self.worker, source, now=now,
                                               lease=self.claim_lease, due_by=due_by):
            return await self._unclaimed(source, now)
        self._held.add(source)
        try:
            # as stored once claimed: another process may have refreshed it since
            status = await self.store.vulns.source_status(source)
            refresh = {"kev": self._kev, "epss": self._epss, "nvd": self._nvd}[source]
            try:
                return await refresh(url, status, now, force)
            except (_Failed, FetchError, VulnFormatError) as exc:
                return await self._failed(source, status, now, exc)
            except Exception as exc:  # contained like a hostile feed; the traceback is logged
                log.exception("refreshing %s failed", source)
                return await self._failed(source, status, now, exc)
        finally:
            self._held.discard(source)
            try:
                await self._claims.release_source(self.worker, source)
            except Exception:  # the lease runs out on its own
                log.exception("releasing the %s claim failed", source)

    @staticmethod
    def _due(status: VulnSourceStatus, now: datetime) -> bool:
        return not status.next_refresh or status.next_refresh <= now + DUE_SLACK

    @staticmethod
    def _not_due(status: VulnSourceStatus) -> SourceReport:
        return SourceReport(status.source, True, "not_due", status.records, status.data_date,
                            error=status.last_error, next_refresh=status.next_refresh)

    async def _unclaimed(self, source: str, now: datetime) -> SourceReport:
        """The claim was refused: another process holds a live one, or refreshed the
        source between our reading it due and claiming it (then it is not due)."""
        holder, until = await self._claims.source_claim(source)
        status = await self.store.vulns.source_status(source)
        if holder is not None and until is not None and until >= now:
            log.info("%s is being refreshed by %s (lease until %s)", source, holder, until)
            return SourceReport(source, True, "claimed_elsewhere", status.records,
                                status.data_date, error=status.last_error,
                                next_refresh=status.next_refresh, claimed_by=holder,
                                claimed_until=until)
        return self._not_due(status)

    async def _renew(self) -> None:
        """Keep this round's claims alive while its refreshes run (an NVD round paced
        by its rate limit outlasts the lease), until cancelled."""
        while True:
            await asyncio.sleep(self.claim_lease / 3)
            try:
                held = set(self._held)
                kept = await self._claims.renew_sources(self.worker, held, now=self.clock(),
                                                        lease=self.claim_lease)
                for lost in (held - kept) & self._held:  # not released meanwhile
                    log.warning("the %s claim was taken over (this process did not renew"
                                " it for a whole lease)", lost)
            except Exception:
                log.exception("renewing the vulnerability source claims failed")

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

    async def _kev(self, url: str, status: VulnSourceStatus, now: datetime,
                   force: bool) -> SourceReport:
        result = await self._fetch_new("kev", url, status, now, JSON_ACCEPT)
        if isinstance(result, SourceReport):
            return result
        body = result.body or b""
        catalogue = await asyncio.to_thread(
            lambda: parse_kev(decompressed(body, self.sources.max_bytes, what="KEV catalogue")))
        guard = None if force else truncation_guard("KEV catalogue", "entry", "entries")
        diff = await self.store.vulns.replace_kev(catalogue.entries, now=now, guard=guard)
        data_date = catalogue.released or max(e.date_added for e in catalogue.entries)
        return await self._updated("kev", result, now, diff.total, data_date, kev=diff)

    async def _epss(self, url: str, status: VulnSourceStatus, now: datetime,
                    force: bool) -> SourceReport:
        result = await self._fetch_new("epss", url, status, now, EPSS_ACCEPT)
        if isinstance(result, SourceReport):
            return result
        epss = open_epss(result.body or b"", max_bytes=self.sources.max_bytes)
        score_date = epss.score_date or now.date()
        # The rows stream from the gzip into the store (parsed in the store's thread).
        guard = None if force else truncation_guard("EPSS file", "score", "scores")
        diff = await self.store.vulns.replace_epss(
            epss.rows(), score_date=score_date, now=now, threshold=self.sources.epss_alert,
            guard=guard)
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

    async def _nvd(self, url: str, status: VulnSourceStatus, now: datetime,
                   force: bool) -> SourceReport:
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
