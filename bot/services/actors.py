"""Per-actor lookups: who the actor is and what the store says about it lately."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.intel.aliases import Suggester
from bot.services.errors import UserError
from storage.actors import Actor
from storage.models import ArticleRef
from storage.store import Store

WEEKS = 12
MAX_NAME = 100


@dataclass(slots=True)
class ActorProfile:
    actor: Actor
    total: int
    first_seen: datetime | None
    last_seen: datetime | None
    articles: list[ArticleRef]
    weekly: list[tuple[date, int]]  # (Monday of the week, articles), oldest first


@dataclass(slots=True)
class ActorLookup:
    query: str
    profile: ActorProfile | None = None
    candidates: list[Actor] = field(default_factory=list)  # when the name is ambiguous
    suggestions: list[str] = field(default_factory=list)  # when the name is unknown
    mentions: int = 0  # stored articles containing the unknown name
    organisation: tuple[str, str | None] | None = None  # (org name, linked actor)

    @property
    def status(self) -> str:
        if self.profile:
            return "found"
        return "ambiguous" if self.candidates else "unknown"


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


class NameSuggestions:
    """Did-you-mean suggestions over every stored actor name and alias. Normalising
    ~2,000 names costs milliseconds, so the index is kept until the names change."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._index: Suggester | None = None
        self._generation = -1

    async def suggest(self, name: str, limit: int = 5) -> list[str]:
        generation = await self._store.actors.names_generation()
        if self._index is None or generation != self._generation:
            self._index = Suggester(await self._store.actors.all_alias_names())
            self._generation = generation
        return self._index.suggest(name, limit)


class ActorService:
    def __init__(
        self, store: Store, *, clock: Callable[[], datetime], names: NameSuggestions
    ) -> None:
        self._store = store
        self._clock = clock
        self._names = names

    async def lookup(
        self, name: str, *, limit: int = 5, guild_id: int | None = None
    ) -> ActorLookup:
        name = " ".join(name.split())
        if not name:
            raise UserError("Give an actor name, e.g. `/actor Flax Typhoon`.")
        if len(name) > MAX_NAME:
            raise UserError(f"That name is too long (over {MAX_NAME} characters).")
        result = ActorLookup(query=name)
        matches = await self._store.actors.resolve(name)
        if len(matches) == 1:
            result.profile = await self.profile(matches[0], limit=limit, guild_id=guild_id)
            return result
        if len(matches) > 1:
            result.candidates = matches
            return result
        org = await self._store.actors.find_organisation(name)
        if org is not None:
            org_name, linked = org
            result.organisation = (org_name, linked.name if linked else None)
        result.suggestions = await self._names.suggest(name)
        result.mentions = await self._store.search.count_matching(name, guild_id=guild_id)
        return result

    async def profile(
        self, actor: Actor, *, limit: int = 5, guild_id: int | None = None
    ) -> ActorProfile:
        articles = self._store.articles
        total, first, last = await articles.tag_stats("actor", actor.name, guild_id=guild_id)
        recent = await articles.tagged("actor", actor.name, limit=limit, guild_id=guild_id)
        return ActorProfile(
            actor=actor,
            total=total,
            first_seen=first,
            last_seen=last,
            articles=recent,
            weekly=await self.weekly(actor.name, guild_id=guild_id),
        )

    async def weekly(
        self, actor_name: str, *, weeks: int = WEEKS, guild_id: int | None = None
    ) -> list[tuple[date, int]]:
        this_week = week_start(self._clock().date())
        starts = [this_week - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
        counts = dict.fromkeys(starts, 0)
        days = await self._store.articles.tag_days(
            "actor", actor_name, since=starts[0], guild_id=guild_id
        )
        for day, count in days:
            start = week_start(day)
            if start in counts:
                counts[start] += count
        return list(counts.items())

    async def older_articles(
        self, actor_name: str, *, offset: int, limit: int = 5, guild_id: int | None = None
    ) -> list[ArticleRef]:
        return await self._store.articles.tagged(
            "actor", actor_name, limit=limit, offset=offset, guild_id=guild_id
        )

    async def autocomplete(self, prefix: str) -> list[tuple[str, str]]:
        return await self._store.actors.autocomplete(prefix[:MAX_NAME], limit=25)
