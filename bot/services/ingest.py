"""Ingestion: poll feeds (or import files) into the store.

fetch → parse → new entries → fetch pages → analyse (extract, clean, tag, key points,
fingerprint; in worker processes) → cluster → store → commentary. Each feed fails on
its own: its error is recorded and the other feeds of the run still land (a worker
process that dies costs only the job it was running: see bot/services/workers.py).

Polling given URLs is a one-off poll: the URLs join no feed list (a one-off row keeps
their validators, so a repeat is conditional), and a URL refused by policy leaves the
store unchanged.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from bot.intel.fingerprint import content_hash
from bot.intel.story_terms import StoryTerms
from bot.news.analyse import RawArticle, analyse_with_terms
from bot.news.canonical import canonical_url
from bot.news.fetch import Fetcher, FetchError, backoff_delay
from bot.news.importer import ImportFormatError, parse_article_file
from bot.news.parse import FeedEntry, FeedParseError, ParsedFeed, parse_feed
from bot.news.ssrf import UnsafeURLError
from bot.services.clustering import find_story
from bot.services.commentary import CommentaryService
from bot.services.errors import UserError
from bot.services.feeds import validate_feed_url
from bot.services.refresh_queue import RefreshQueue
from bot.services.workers import WorkerCrashed, WorkerError, WorkerTimeout
from storage.claims import ClaimRepository, process_id
from storage.models import Feed, NewArticle
from storage.store import Store

log = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"

Progress = Callable[[int, int], None]  # (done, total)


# Why a feed failed (FeedOutcome.error_kind). "dns" and "connect" mean no answer
# from the host at all; "refused" and "invalid" are the URL's fault.
UNREACHABLE_KINDS = frozenset({"dns", "connect"})


@dataclass(slots=True)
class FeedOutcome:
    url: str
    status: str  # ok | not_modified | error | disabled
    added: int = 0
    duplicates: int = 0
    failed: int = 0
    error: str | None = None
    # dns | connect | refused | fetch | invalid (the URL) | parse | worker | internal
    error_kind: str | None = None
    ill_formed: str | None = None


@dataclass(slots=True)
class BackingOff:
    """A feed that was not polled because it is backing off after failures."""

    url: str
    failures: int
    next_retry: datetime
    last_error: str | None


@dataclass(slots=True)
class IngestReport:
    added: int = 0
    duplicates: int = 0
    failed: int = 0
    added_ids: list[int] = field(default_factory=list)
    feeds: list[FeedOutcome] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    backing_off: list[BackingOff] = field(default_factory=list)
    claimed_elsewhere: int = 0  # due feeds left to another worker polling them
    started_at: datetime | None = None
    elapsed: float = 0.0

    @property
    def all_failed(self) -> bool:
        """Feeds were polled and every one of them failed (nothing could be done)."""
        return bool(self.feeds) and all(o.status in ("error", "disabled") for o in self.feeds)

    @property
    def unreachable(self) -> bool:
        """Feeds failed, and each one because its host could not be reached."""
        kinds = [o.error_kind for o in self.feeds if o.status in ("error", "disabled")]
        return bool(kinds) and all(kind in UNREACHABLE_KINDS for kind in kinds)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["elapsed"] = round(self.elapsed, 3)
        data["all_failed"] = self.all_failed
        data["unreachable"] = self.unreachable
        return data


def error_kind(exc: BaseException) -> str:
    if isinstance(exc, FetchError):
        return exc.kind
    if isinstance(exc, FeedParseError):
        return "parse"
    if isinstance(exc, WorkerCrashed | WorkerError):
        return "worker"
    if isinstance(exc, UnsafeURLError):
        return "refused"
    if isinstance(exc, OSError):
        return "connect"
    return "internal"


def source_name(parsed_title: str | None, url: str) -> str:
    if parsed_title and parsed_title.strip():
        return parsed_title.strip()[:80]
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


class IngestService:
    def __init__(
        self,
        store: Store,
        *,
        fetcher: Fetcher,
        commentary: CommentaryService,
        clock: Callable[[], datetime],
        executor: Executor | None = None,
        poll_interval: float = 900.0,
        disable_after: int = 10,
        fetch_pages: bool = True,
        tagger=None,
        worker: str | None = None,
        claim_lease: float = 30.0,
    ) -> None:
        """``worker`` and ``claim_lease``: who claims the due feeds a round polls, and for
        how long a claim holds unrenewed (several `secbrief ingest` processes share the
        feed list: each feed is polled by one of them per round)."""
        self._store = store
        self._fetcher = fetcher
        self._commentary = commentary
        self._clock = clock
        self._executor = executor  # None: run CPU work in a thread
        self._poll_interval = poll_interval
        self._disable_after = disable_after
        self._fetch_pages = fetch_pages
        self._tagger = tagger  # used in-thread when there is no process pool
        # find_story and articles.add as one step: two near-duplicates analysed side by
        # side must not both miss each other and open two stories. Across processes the
        # store's transaction does it (see store_article); this lock keeps this
        # process's tasks from each holding a connection while they queue for it.
        self._cluster_lock = asyncio.Lock()
        self._claims = ClaimRepository(store.db)
        self.worker = worker or process_id()
        self.claim_lease = claim_lease

    async def _cpu(self, fn, *args):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def _analyse_with_terms(self, raw: RawArticle) -> tuple[NewArticle, StoryTerms]:
        if self._executor is None:
            return await asyncio.to_thread(analyse_with_terms, raw, self._tagger)
        return await self._cpu(analyse_with_terms, raw)

    async def _analyse(self, raw: RawArticle) -> NewArticle:
        return (await self._analyse_with_terms(raw))[0]

    # -- feeds -----------------------------------------------------------------

    async def poll(
        self,
        urls: Sequence[str] | None = None,
        *,
        operator_urls: Sequence[str] = (),
        progress: Progress | None = None,
    ) -> IngestReport:
        """Poll ``urls`` once now (a one-off poll: see the module docstring), or else
        every due feed: the operator's list plus guild feeds. Feeds skipped because
        they are backing off are listed in the report."""
        started = time.perf_counter()
        now = self._clock()
        report = IngestReport(started_at=now)
        if urls:
            feeds = []
            for url in dict.fromkeys(urls):
                feed = await self._one_off(url, report, now=now)
                if feed is not None and feed.id not in {f.id for f in feeds}:
                    feeds.append(feed)
        else:
            for url in operator_urls:
                await self._store.feeds.ensure(url, now=now)
            feeds = await self._store.feeds.due(now, operator_urls=list(operator_urls))
            report.backing_off = [
                BackingOff(f.url, f.failures, f.next_poll_at, f.last_error)
                for f in await self._store.feeds.backing_off(
                    now, operator_urls=list(operator_urls)
                )
                if f.next_poll_at is not None
            ]
        done = 0
        claiming = not urls  # a round over the feed list: each feed claimed, then polled
        held: set[int] = set()  # the feeds this round holds a claim on right now

        async def one(feed: Feed) -> FeedOutcome | None:
            nonlocal done
            try:
                if claiming:
                    claimed = await self._claim(feed, now=now)
                    if claimed is None:
                        return None  # another worker is polling it
                    feed = claimed
                    held.add(feed.id)
                try:
                    return await self._poll_feed(feed, report)
                finally:
                    if feed.id in held:
                        held.discard(feed.id)
                        await self._claims.release_feeds(self.worker, [feed.id])
            finally:
                done += 1
                if progress:
                    progress(done, len(feeds))

        renewing = asyncio.create_task(self._renew(held)) if claiming and feeds else None
        try:
            outcomes = await asyncio.gather(*(one(f) for f in feeds))
        finally:
            if renewing is not None:
                renewing.cancel()
                await asyncio.gather(renewing, return_exceptions=True)
        report.feeds.extend(o for o in outcomes if o is not None)
        report.claimed_elsewhere = sum(1 for o in outcomes if o is None)
        for outcome in report.feeds:
            report.added += outcome.added
            report.duplicates += outcome.duplicates
            report.failed += outcome.failed + (outcome.status == "error")
            if outcome.error:
                report.errors.append({"url": outcome.url, "error": outcome.error})
        report.added_ids.sort()
        report.elapsed = time.perf_counter() - started
        return report

    async def _claim(self, feed: Feed, *, now: datetime) -> Feed | None:
        """The feed as stored once claimed for this worker; None when another worker
        holds it, or polled it since the due list was read."""
        held = await self._claims.claim_due(self.worker, now=now, lease=self.claim_lease,
                                            feed_ids=[feed.id])
        if feed.id not in held:
            return None
        return await self._store.feeds.get(feed.id)

    async def _renew(self, held: set[int]) -> None:
        """Keep this round's feed claims alive (a slow feed outlasting the lease), until
        cancelled."""
        while True:
            await asyncio.sleep(self.claim_lease / 3)
            try:
                if held:
                    await self._claims.renew_feeds(self.worker, set(held),
                                                   now=self._clock(), lease=self.claim_lease)
            except Exception:
                log.exception("renewing the feed claims failed")

    async def _one_off(self, url: str, report: IngestReport, *, now: datetime) -> Feed | None:
        """The row to poll ``url`` with once; None (the store untouched, the error in
        the report) when the URL is invalid or refused, or its host cannot be found."""
        try:
            url = validate_feed_url(url)
            await self._fetcher.precheck(url)
        except (UserError, FetchError) as exc:
            kind = exc.kind if isinstance(exc, FetchError) else "invalid"
            report.feeds.append(
                FeedOutcome(url=url, status="error", error=str(exc), error_kind=kind)
            )
            return None
        return await self._store.feeds.ensure_one_off(url, now=now)

    async def _poll_feed(self, feed: Feed, report: IngestReport) -> FeedOutcome:
        outcome = FeedOutcome(url=feed.url, status="ok")
        try:
            result = await self._fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
            if result.not_modified:
                outcome.status = "not_modified"
                await self._success(feed, result.etag or feed.etag,
                                    result.last_modified or feed.last_modified, None, None)
                return outcome
            parsed: ParsedFeed = await self._cpu(
                _parse, result.body or b"", result.url, result.content_type
            )
        except (FetchError, FeedParseError, UnsafeURLError, OSError, WorkerCrashed,
                WorkerError) as exc:
            return await self._failure(feed, outcome, exc)
        except Exception as exc:  # one feed never stops the run
            log.exception("unexpected error polling %s", feed.url)
            return await self._failure(feed, outcome, exc)
        outcome.ill_formed = parsed.problem if parsed.ill_formed else None
        source = source_name(parsed.title, feed.url)
        entries = await self._new_entries(parsed.entries, outcome)
        refreshes = RefreshQueue(self._commentary.refresh)
        try:
            results = await asyncio.gather(
                *(self._ingest_entry(entry, feed, source, refreshes) for entry in entries)
            )
        except BaseException:
            refreshes.cancel()
            raise
        await refreshes.close()
        for article_id in results:
            if article_id is None:
                outcome.duplicates += 1
            elif article_id < 0:
                outcome.failed += 1
            else:
                outcome.added += 1
                report.added_ids.append(article_id)
        warning = f"ill-formed feed: {outcome.ill_formed}" if outcome.ill_formed else None
        await self._success(feed, result.etag, result.last_modified, parsed.title, warning)
        return outcome

    async def _new_entries(self, entries: list[FeedEntry], outcome: FeedOutcome) -> list[FeedEntry]:
        """Drop entries already stored (by canonical URL or GUID) or repeated in the feed."""
        for entry in entries:
            if entry.url:
                try:
                    entry.url = canonical_url(entry.url)
                except ValueError:
                    entry.url = None
        urls, guids = await self._store.articles.existing_keys(
            urls=[e.url for e in entries if e.url], guids=[e.guid for e in entries if e.guid]
        )
        fresh: list[FeedEntry] = []
        seen: set[str] = set()
        for entry in entries:
            keys = {k for k in (entry.url, entry.guid and "g:" + entry.guid) if k}
            if entry.url in urls or entry.guid in guids or keys & seen:
                outcome.duplicates += 1
                continue
            seen |= keys
            fresh.append(entry)
        return fresh

    async def _ingest_entry(
        self, entry: FeedEntry, feed: Feed, source: str, refreshes: RefreshQueue
    ) -> int | None:
        """Returns the new article id, None for a duplicate, -1 for a failure."""
        page: bytes | None = None
        if self._fetch_pages and entry.url:
            try:
                fetched = await self._fetcher.fetch(entry.url, accept=PAGE_ACCEPT)
                page = fetched.body
            except (FetchError, UnsafeURLError, OSError) as exc:
                log.info("page %s: %s; using the feed's own text", entry.url, exc)
        raw = RawArticle(
            source=source,
            # FeedEntry.title is plain text, RawArticle.title markup (analyse makes it
            # plain text): escaped, "XSS via <svg> tag" keeps its brackets.
            title=html.escape(entry.title, quote=False),
            url=entry.url,
            guid=entry.guid,
            feed_id=feed.id,
            scope_guild=feed.guild_id,
            published_at=entry.published_at,
            page_html=page,
            feed_html=entry.content_html or entry.summary_html,
        )
        try:
            article, terms = await self._analyse_with_terms(raw)
            return await self.store_article(article, refreshes=refreshes, terms=terms)
        except (WorkerCrashed, WorkerError) as exc:
            log.warning("could not ingest %s: %s", entry.url or entry.title, exc)
            return -1
        except Exception:
            log.exception("could not ingest %s", entry.url or entry.title)
            return -1

    async def store_article(
        self,
        article: NewArticle,
        *,
        refreshes: RefreshQueue | None = None,
        terms: StoryTerms | None = None,
    ) -> int | None:
        """Cluster and store one article; returns its id, None for a duplicate. The
        story's commentary is refreshed now, or queued on ``refreshes``; ``terms`` (read
        in the worker) spare that refresh reading the new article's text."""
        now = self._clock()
        async with self._cluster_lock:
            # The story is found inside the insert's transaction, after its lock (BEGIN
            # IMMEDIATE on SQLite, an advisory lock on PostgreSQL): another process
            # storing a near-duplicate at the same moment waits, then finds this story.
            stored = await self._store.articles.add(
                article, story_id=None, now=now,
                cluster=lambda: find_story(self._store, article, now=now))
        if stored is None:
            return None
        article_id, story_id = stored
        if terms is not None:
            self._commentary.remember_terms(article_id, terms)
        if refreshes is None:
            await self._commentary.refresh(story_id)
        else:
            refreshes.add(story_id)
        return article_id

    async def _success(self, feed: Feed, etag, last_modified, title, warning) -> None:
        now = self._clock()
        await self._store.feeds.record_success(
            feed.id, now=now, next_poll_at=now + timedelta(seconds=self._poll_interval),
            etag=etag, last_modified=last_modified, title=title, warning=warning,
        )

    async def _failure(self, feed: Feed, outcome: FeedOutcome, exc: Exception) -> FeedOutcome:
        now = self._clock()
        failures = feed.failures + 1
        retry_after = getattr(exc, "retry_after", None)
        delay = backoff_delay(failures, base=self._poll_interval, retry_after=retry_after)
        disable = failures >= self._disable_after and not feed.one_off
        message = str(exc) or type(exc).__name__
        if isinstance(exc, WorkerTimeout):
            message = f"parsing the feed took too long: {message}"
        elif isinstance(exc, WorkerCrashed):
            message = f"parsing the feed killed its worker process: {message}"
        if disable:
            message += f" — disabled after {failures} failures in a row; re-add it to retry"
        await self._store.feeds.record_failure(
            feed.id, now=now, error=message, next_poll_at=now + timedelta(seconds=delay),
            disable=disable,
        )
        outcome.status = "disabled" if disable else "error"
        outcome.error = message
        outcome.error_kind = error_kind(exc)
        # INFO, not WARNING: the run's report lists every failing feed once (the bot
        # logs at INFO, so its log still has them).
        log.info("feed %s: %s", feed.url, message)
        return outcome

    # -- files -------------------------------------------------------------------

    async def import_files(
        self, paths: Sequence[Path], *, progress: Progress | None = None
    ) -> IngestReport:
        """Import article files; importing the same file again adds nothing."""
        started = time.perf_counter()
        report = IngestReport()
        for index, path in enumerate(paths, start=1):
            try:
                parsed = await asyncio.to_thread(parse_article_file, Path(path))
                key = "sha256:" + content_hash(f"{parsed.title}\n{parsed.text}")
                url = canonical_url(parsed.url) if parsed.url else None
                if await self._store.articles.has_import_key(key) or (
                    url and url in (await self._store.articles.existing_keys(urls=[url]))[0]
                ):
                    report.duplicates += 1
                else:
                    raw = RawArticle(
                        source=parsed.source or "imported",
                        title=parsed.title,
                        url=url,
                        published_at=parsed.published_at,
                        text=parsed.text,
                        lead=parsed.lead,
                        key_points=parsed.key_points,
                        commentary=parsed.commentary,
                        references=parsed.references,
                        import_key=key,
                    )
                    article, terms = await self._analyse_with_terms(raw)
                    article_id = await self.store_article(article, terms=terms)
                    if article_id is None:
                        report.duplicates += 1
                    else:
                        report.added += 1
                        report.added_ids.append(article_id)
            except (ImportFormatError, OSError, UnicodeDecodeError) as exc:
                report.failed += 1
                report.errors.append({"path": str(path), "error": str(exc)})
            if progress:
                progress(index, len(paths))
        report.elapsed = time.perf_counter() - started
        return report


def _parse(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
    return parse_feed(body, base_url=url, content_type=content_type)
