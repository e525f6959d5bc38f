"""Build every service once, from Settings; used by the CLI, the shell and the bot."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import aiohttp

from bot.config import Settings
from bot.intel.actor_tagging import ActorTagger
from bot.intel.llm import LLMWriter
from bot.news.analyse import init_worker
from bot.news.fetch import Fetcher, FetchLimits, make_session
from bot.services.actors import ActorService, NameSuggestions
from bot.services.briefings import BriefingService
from bot.services.catalogue import ensure_catalogue
from bot.services.commentary import CommentaryService
from bot.services.feeds import FeedService
from bot.services.forget import ForgetService
from bot.services.ingest import IngestService
from bot.services.schedules import ScheduleService
from bot.services.search import SearchService
from bot.services.subscriptions import SubscriptionService
from bot.services.workers import WorkerPool
from storage.store import Store
from storage.timeutil import utcnow

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    store: Store
    session: aiohttp.ClientSession
    clock: Callable[[], datetime]
    tagger: ActorTagger
    commentary: CommentaryService
    ingest: IngestService
    briefings: BriefingService
    actors: ActorService
    search: SearchService
    subscriptions: SubscriptionService
    feeds: FeedService
    schedules: ScheduleService
    forget: ForgetService


def fetch_limits(settings: Settings) -> FetchLimits:
    return FetchLimits(
        read_timeout=settings.fetch_timeout,
        total_timeout=settings.fetch_timeout * 2,
        max_bytes=settings.max_feed_bytes,
        max_redirects=settings.max_redirects,
        per_host=settings.per_host_limit,
        total=settings.fetch_concurrency,
    )


@asynccontextmanager
async def open_services(
    settings: Settings, *, clock: Callable[[], datetime] = utcnow
) -> AsyncIterator[Services]:
    store = await Store.open(settings.database)
    stack = AsyncExitStack()
    limits = fetch_limits(settings)
    session = make_session(limits, allow_private=settings.allow_private_feeds)
    executor: WorkerPool | None = None
    try:
        tagger = await ensure_catalogue(store, settings)
        if settings.workers > 0:
            # Started on first use (lookups and searches never pay for it); rebuilt
            # whenever a worker dies.
            executor = WorkerPool(settings.workers, init_worker, (tagger,))
        llm = None
        if settings.llm_enabled:
            # Its own session: the feed session refuses private addresses, and an
            # operator's model server is often on localhost.
            llm_session = aiohttp.ClientSession()
            stack.push_async_callback(llm_session.close)
            llm = LLMWriter(
                llm_session,
                url=settings.llm_url or "",
                model=settings.llm_model or "",
                api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
                timeout=settings.llm_timeout,
            )
        commentary = CommentaryService(store, clock=clock, llm=llm)
        fetcher = Fetcher(session, limits, allow_private=settings.allow_private_feeds)
        names = NameSuggestions(store)
        yield Services(
            settings=settings,
            store=store,
            session=session,
            clock=clock,
            tagger=tagger,
            commentary=commentary,
            ingest=IngestService(
                store,
                fetcher=fetcher,
                commentary=commentary,
                clock=clock,
                executor=executor,
                poll_interval=settings.poll_interval,
                disable_after=settings.feed_disable_after,
                fetch_pages=settings.fetch_pages,
                tagger=tagger,
            ),
            briefings=BriefingService(store, clock=clock),
            actors=ActorService(store, clock=clock, names=names),
            search=SearchService(store),
            subscriptions=SubscriptionService(
                store, clock=clock, names=names, max_per_user=settings.max_subscriptions
            ),
            feeds=FeedService(
                store, clock=clock, allow_private=settings.allow_private_feeds,
                max_per_guild=settings.max_guild_feeds,
            ),
            schedules=ScheduleService(store, clock=clock),
            forget=ForgetService(store, commentary=commentary),
        )
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        await stack.aclose()
        await session.close()
        await store.close()
