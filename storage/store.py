"""The store: one Database (SQLite or PostgreSQL) and every repository over it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storage.actors import ActorRepository
from storage.articles import ArticleRepository
from storage.db import Database, open_database
from storage.deliveries import DeliveryRepository
from storage.feeds import FeedRepository
from storage.forget import ForgetRepository
from storage.meta import MetaRepository
from storage.schedules import ScheduleRepository
from storage.search import SearchRepository
from storage.subscriptions import SubscriptionRepository
from storage.vuln_alerts import VulnAlertRepository
from storage.vulns import VulnRepository
from storage.watchlist import WatchlistRepository


@dataclass
class Store:
    db: Database
    articles: ArticleRepository
    search: SearchRepository
    actors: ActorRepository
    feeds: FeedRepository
    subscriptions: SubscriptionRepository
    schedules: ScheduleRepository
    deliveries: DeliveryRepository
    meta: MetaRepository
    forget: ForgetRepository
    vulns: VulnRepository
    watchlist: WatchlistRepository
    vuln_alerts: VulnAlertRepository

    @classmethod
    async def open(cls, url_or_path: str | Path) -> Store:
        """``postgresql://…`` opens PostgreSQL; a path or ``sqlite:PATH`` SQLite."""
        db = await open_database(url_or_path)
        return cls(
            db=db,
            articles=ArticleRepository(db),
            search=SearchRepository(db),
            actors=ActorRepository(db),
            feeds=FeedRepository(db),
            subscriptions=SubscriptionRepository(db),
            schedules=ScheduleRepository(db),
            deliveries=DeliveryRepository(db),
            meta=MetaRepository(db),
            forget=ForgetRepository(db),
            vulns=VulnRepository(db),
            watchlist=WatchlistRepository(db),
            vuln_alerts=VulnAlertRepository(db),
        )

    async def close(self) -> None:
        await self.db.close()
