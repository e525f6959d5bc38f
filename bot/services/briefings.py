"""Briefings: the stories since a moment, grouped, ranked and ready to render."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from bot.intel.commentary import (
    StoryFacts,
    context_fact,
    context_sentences,
    distinct_across,
    grounded_commentary,
)
from bot.intel.keypoints import named_first
from bot.services.cves import cve_contexts
from bot.services.your_stack import YourStack, your_stack
from storage.claims import ClaimRepository
from storage.db import Transaction
from storage.models import Schedule, Story
from storage.store import Store
from storage.vuln_models import CveContext
from storage.watchlist import OPERATOR_GUILD

MAX_STORIES = 1000


@dataclass(slots=True)
class BriefingItem:
    story_id: int
    title: str
    url: str | None
    sources: list[str]
    published_at: datetime | None
    key_points: list[str]
    why_it_matters: list[str]  # grounded (or LLM) commentary on the story
    analysis: list[str]  # the source's own analysis, when the article carried one
    actors: list[str]
    cves: list[str]
    vendors: list[str]
    links: list[dict[str, str]] = field(default_factory=list)  # every source's link
    importance: float = 0.0
    cve_context: list[CveContext] = field(default_factory=list)  # one per CVE, in order

    @property
    def exploitation(self) -> tuple[bool, float]:
        """(a CVE is on the KEV list, the highest EPSS score or -1): what ranks first."""
        return (any(c.kev is not None for c in self.cve_context),
                max((c.epss.score for c in self.cve_context if c.epss), default=-1.0))

    @property
    def commentary(self) -> list[str]:
        return self.why_it_matters + self.analysis

    def as_dict(self) -> dict:
        data = asdict(self)
        data["published_at"] = self.published_at.isoformat() if self.published_at else None
        data["commentary"] = self.commentary
        return data


@dataclass(slots=True)
class Briefing:
    generated_at: datetime
    since: datetime
    items: list[BriefingItem]
    your_stack: YourStack = field(default_factory=YourStack)  # what touches the watchlist

    def as_dict(self) -> dict:
        return {
            "generated_at": self.generated_at.isoformat(),
            "since": self.since.isoformat(),
            "count": len(self.items),
            "your_stack": self.your_stack.as_dict(),
            "items": [item.as_dict() for item in self.items],
        }


def importance(story: Story) -> float:
    """Named actors, CVEs and independent sources make a story matter more."""
    return (
        3.0 * min(len(story.actors), 3)
        + 2.0 * min(len(story.cves), 3)
        + 2.0 * (len(story.sources) - 1)
        + 0.5 * min(len(story.vendors), 2)
    )


def with_context(item: BriefingItem, contexts: dict[str, CveContext], *,
                 today: date) -> BriefingItem:
    """The item with its CVEs' KEV/EPSS/CVSS context and, first in "why it matters",
    what KEV and EPSS say — written now, from current data, never stored."""
    item.cve_context = [contexts.get(cve) or CveContext(id=cve) for cve in item.cves]
    said = context_sentences([context_fact(c) for c in item.cve_context], today=today)
    item.why_it_matters = [*said, *item.why_it_matters]
    return item


def item_for(story: Story) -> BriefingItem:
    lead = max(story.articles, key=lambda a: (len(a.key_points) > 0, len(a.text)))
    links = [{"source": a.source, "url": a.url} for a in story.articles if a.url]
    why = story.commentary or grounded_commentary(
        StoryFacts(title=story.title, sources=story.sources, vendors=story.vendors)
    )
    return BriefingItem(
        story_id=story.id,
        title=story.title,
        url=lead.url or next((a.url for a in story.articles if a.url), None),
        sources=story.sources,
        published_at=story.published_at,
        # Stored in full (an import keeps its author's points); surfaces show the first 6.
        key_points=named_first(lead.key_points, [*story.actors, *story.cves, *story.vendors]),
        why_it_matters=list(why),
        analysis=list(lead.commentary),
        actors=story.actors,
        cves=story.cves,
        vendors=story.vendors,
        links=links,
        importance=importance(story),
    )


def with_distinct_commentary(items: list[BriefingItem]) -> list[BriefingItem]:
    """No "why it matters" sentence twice in one briefing: an item drops a sentence an
    earlier item already showed (commentary is written per story, so four stories on one
    actor would each introduce it)."""
    kept = distinct_across([item.why_it_matters for item in items])
    for item, why in zip(items, kept, strict=True):
        item.why_it_matters = why
    return items


class BriefingService:
    def __init__(self, store: Store, *, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    async def items(
        self, story_ids: Sequence[int], *, guild_id: int | None = None, distinct: bool = True
    ) -> list[BriefingItem]:
        """Items for these stories, in the order given (None: every article visible),
        each commentary sentence shown once unless ``distinct`` is False."""
        stories = await self._store.articles.get_stories(story_ids, guild_id=guild_id)
        contexts = await cve_contexts(self._store, (c for s in stories for c in s.cves))
        today = self._clock().date()
        items = [with_context(item_for(s), contexts, today=today) for s in stories]
        return with_distinct_commentary(items) if distinct else items

    async def plan_scheduled(
        self, schedule: Schedule, *, due_at: datetime | None = None, worker: str = "",
    ) -> int | None:
        """Record the scheduled briefing for a channel: every story since its previous
        briefing (24 h for the first) not yet posted there, most important first.
        Returns the batch id, or None when there is nothing new.

        ``due_at``: the scheduled time this run is for. The run is claimed in the
        planning transaction (by ``worker``), so when several processes run it, one
        plans it and the others plan nothing."""
        now = self._clock()
        since = schedule.last_sent_at or now - timedelta(hours=24)
        briefing = await self.build(since, guild_id=schedule.guild_id)
        store = self._store
        claims = ClaimRepository(store.db)
        async with Transaction(store.db):
            if due_at is not None and not await claims.claim_briefing_run_in_transaction(
                    schedule.channel_id, due_at, worker=worker, now=now):
                return None  # another process ran it
            batch = await store.deliveries.plan_in_transaction(
                "briefing", "channel", schedule.channel_id,
                [item.story_id for item in briefing.items], now=now, period_start=since,
            )
            if due_at is not None:
                await claims.record_briefing_run_in_transaction(schedule.channel_id, due_at,
                                                                batch)
            await store.schedules.mark_sent(schedule.channel_id, now)
        return batch

    async def build(
        self, since: datetime, *, limit: int = MAX_STORIES, guild_id: int | None = None
    ) -> Briefing:
        """Every story first stored since ``since``: those with a CVE on the KEV list
        first, then by EPSS, then the most important and newest. A guild sees public
        stories and its own feeds'; None (the operator) sees everything."""
        articles = self._store.articles
        story_ids = await articles.story_ids_since(since, limit=limit, guild_id=guild_id)
        items = await self.items(story_ids, guild_id=guild_id, distinct=False)
        oldest = datetime.min.replace(tzinfo=since.tzinfo)
        items.sort(key=lambda i: (*i.exploitation, i.importance, i.published_at or oldest),
                   reverse=True)
        items = with_distinct_commentary(items)
        stack = await self.your_stack(guild_id, items, since=since)
        return Briefing(generated_at=self._clock(), since=since, items=items, your_stack=stack)

    async def your_stack(
        self, guild_id: int | None, items: Sequence[BriefingItem], *, since: datetime | None
    ) -> YourStack:
        """The "Your stack" section: ``guild_id``'s watchlist (None: the operator's own)
        against these items and the CVEs added to KEV since ``since``."""
        return await your_stack(self._store, OPERATOR_GUILD if guild_id is None else guild_id,
                                items, since=since)
