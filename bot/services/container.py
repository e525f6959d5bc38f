"""Build every service once, from Settings; used by the CLI, the shell and the bot.

The read side (lookups, search, briefings, subscriptions, schedules) is built when the
store opens. The ingest side — the HTTP session, the fetcher, feed parsing, page
extraction, the worker pool, commentary and its optional LLM — is built on first use,
with its imports (aiohttp, feedparser, trafilatura, lxml): `secbrief actor NAME` starts
in a fraction of the time an ingest needs to import them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.services.actors import ActorService, NameSuggestions
from bot.services.briefings import BriefingService
from bot.services.catalogue import LazyTagger, lazy_tagger, prepare_catalogue
from bot.services.cves import CveService
from bot.services.schedules import ScheduleService
from bot.services.search import SearchService
from bot.services.subscriptions import SubscriptionService
from bot.services.watchlist import WatchlistService
from storage.store import Store
from storage.timeutil import utcnow

if TYPE_CHECKING:
    import aiohttp

    from bot.intel.llm import LLMWriter
    from bot.news.fetch import FetchLimits
    from bot.services.commentary import CommentaryService
    from bot.services.feeds import FeedService
    from bot.services.forget import ForgetService
    from bot.services.ingest import IngestService
    from bot.services.kev_alerts import VulnAlertService
    from bot.services.terminal_alerts import TerminalAlerts
    from bot.services.vulns import VulnService

log = logging.getLogger(__name__)


def fetch_limits(settings: Settings) -> FetchLimits:
    from bot.news.fetch import FetchLimits

    return FetchLimits(
        read_timeout=settings.fetch_timeout,
        total_timeout=settings.fetch_timeout * 2,
        max_bytes=settings.max_feed_bytes,
        max_redirects=settings.max_redirects,
        per_host=settings.per_host_limit,
        total=settings.fetch_concurrency,
    )


class Services:
    """Every service over one store. The lazily built ones register their clean-up on
    `stack`, which open_services unwinds (the store closes last)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        clock: Callable[[], datetime],
        tagger: LazyTagger,
        stack: AsyncExitStack,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.tagger = tagger
        self._stack = stack
        names = NameSuggestions(store)
        self.briefings = BriefingService(store, clock=clock)
        self.actors = ActorService(store, clock=clock, names=names)
        self.search = SearchService(store)
        self.cves = CveService(store)
        self.subscriptions = SubscriptionService(
            store, clock=clock, names=names, max_per_user=settings.max_subscriptions
        )
        self.schedules = ScheduleService(store, clock=clock)
        self.watchlist = WatchlistService(store, clock=clock)

    @cached_property
    def session(self) -> aiohttp.ClientSession:
        """The feed session (it refuses private addresses unless the operator allows
        them)."""
        from bot.news.fetch import make_session

        session = make_session(fetch_limits(self.settings),
                               allow_private=self.settings.allow_private_feeds)
        self._stack.push_async_callback(session.close)
        return session

    @cached_property
    def commentary(self) -> CommentaryService:
        from bot.services.commentary import CommentaryService

        return CommentaryService(self.store, clock=self.clock, llm=self._llm())

    def _llm(self) -> LLMWriter | None:
        settings = self.settings
        if not settings.llm_enabled:
            return None
        import aiohttp

        from bot.intel.llm import LLMWriter

        # Its own session: the feed session refuses private addresses, and an
        # operator's model server is often on localhost.
        llm_session = aiohttp.ClientSession()
        self._stack.push_async_callback(llm_session.close)
        return LLMWriter(
            llm_session,
            url=settings.llm_url or "",
            model=settings.llm_model or "",
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
            timeout=settings.llm_timeout,
        )

    @cached_property
    def ingest(self) -> IngestService:
        from bot.news.analyse import init_worker
        from bot.news.fetch import Fetcher
        from bot.services.ingest import IngestService
        from bot.services.workers import WorkerPool

        settings = self.settings
        fetcher = Fetcher(self.session, fetch_limits(settings),
                          allow_private=settings.allow_private_feeds)
        commentary = self.commentary
        executor = None
        if settings.workers > 0:
            # Its processes start on the first job; rebuilt whenever a worker dies. Shut
            # down before the sessions close (the stack unwinds in reverse).
            executor = WorkerPool(settings.workers, init_worker, (self.tagger,))
            self._stack.callback(executor.shutdown, wait=True, cancel_futures=True)
        return IngestService(
            self.store,
            fetcher=fetcher,
            commentary=commentary,
            clock=self.clock,
            executor=executor,
            poll_interval=settings.poll_interval,
            disable_after=settings.feed_disable_after,
            fetch_pages=settings.fetch_pages,
            tagger=self.tagger,
            claim_lease=settings.claim_lease,
        )

    @cached_property
    def feeds(self) -> FeedService:
        from bot.news.fetch import Fetcher
        from bot.services.feeds import FeedService

        settings = self.settings
        # Its own Fetcher (same session and SSRF guard) for the one fetch of `/feeds add`.
        fetcher = Fetcher(self.session, fetch_limits(settings),
                          allow_private=settings.allow_private_feeds)
        return FeedService(
            self.store, clock=self.clock, allow_private=settings.allow_private_feeds,
            fetcher=fetcher, max_per_guild=settings.max_guild_feeds,
        )

    @cached_property
    def terminal_alerts(self) -> TerminalAlerts:
        """The shell's own alerts (its subscriptions' batches in the delivery ledger)."""
        from bot.services.alerts import AlertService
        from bot.services.terminal_alerts import TerminalAlerts

        alerts = AlertService(self.store, clock=self.clock,
                              max_age=timedelta(hours=self.settings.alert_max_age))
        return TerminalAlerts(self.store, alerts=alerts, briefings=self.briefings,
                              clock=self.clock, vulns=self.vuln_alerts)

    @cached_property
    def vuln_alerts(self) -> VulnAlertService:
        """Alerts on change: a CVE entering KEV, a followed CVE's EPSS score crossing
        SECBRIEF_EPSS_ALERT."""
        from bot.services.kev_alerts import VulnAlertService

        return VulnAlertService(self.store, clock=self.clock,
                                epss_threshold=self.settings.epss_alert)

    @cached_property
    def vulns(self) -> VulnService:
        """KEV / EPSS / NVD refreshes: the feed session and SSRF guard, with a body cap
        of its own (SECBRIEF_MAX_VULN_BYTES: the EPSS file is larger than any feed)."""
        from dataclasses import replace

        from bot.news.fetch import Fetcher
        from bot.services.vulns import VulnService, sources_from

        settings = self.settings
        limits = replace(fetch_limits(settings), max_bytes=settings.max_vuln_bytes)
        fetcher = Fetcher(self.session, limits, allow_private=settings.allow_private_feeds)
        return VulnService(self.store, fetcher=fetcher, sources=sources_from(settings),
                           clock=self.clock, claim_lease=settings.claim_lease)

    @cached_property
    def forget(self) -> ForgetService:
        from bot.services.forget import ForgetService

        return ForgetService(self.store, commentary=self.commentary)


@asynccontextmanager
async def open_services(
    settings: Settings, *, clock: Callable[[], datetime] = utcnow
) -> AsyncIterator[Services]:
    store = await Store.open(settings.database)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(store.close)
        await prepare_catalogue(store, settings)
        yield Services(settings, store, clock=clock, tagger=await lazy_tagger(store),
                       stack=stack)
