"""Per-actor lookups: who the actor is and what the store says about it lately."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from rapidfuzz import fuzz

from bot.intel.aliases import Suggester, normalise_alias
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
    mention_stories: int = 0  # the stories those articles belong to
    mention_actors: list[str] = field(default_factory=list)  # actors tagged in them
    organisation: tuple[str, str | None] | None = None  # (org name, linked actor)

    @property
    def status(self) -> str:
        if self.profile:
            return "found"
        return "ambiguous" if self.candidates else "unknown"


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


# A did-you-mean suggestion must be this similar to what was typed (rapidfuzz ratio on
# the normalised keys), or contain it: "Flax Typhon" → Flax Typhoon, "flax" → Flax
# Typhoon, but "Integrity Technology Group" → nothing (not "Group 3", which WRatio
# rates highly because the typed name contains it).
SIMILARITY = 60
CONTAINED = 90
AUTOCOMPLETE = 25
_WORD_START = re.compile(r"[^\W_]+")
_DIGITS = re.compile(r"(\d+)")


def similar_enough(typed: str, candidate: str) -> bool:
    query, key = normalise_alias(typed), normalise_alias(candidate)
    if not query or not key:
        return False
    if fuzz.ratio(query, key) >= SIMILARITY:
        return True
    return len(query) >= 3 and len(query) <= len(key) and (
        fuzz.partial_ratio(query, key) >= CONTAINED)


def natural_key(name: str) -> tuple:
    """Sort key putting numbers in numeric order: APT1, APT3, APT10, APT29."""
    return tuple(int(part) if part.isdigit() else part
                 for part in _DIGITS.split(name.casefold()))


class NameSuggestions:
    """Did-you-mean suggestions and autocomplete over every stored actor name and alias.
    Normalising ~2,000 names costs milliseconds, so the index is kept in memory until
    the names change (the catalogue's generation counter, one indexed read)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._index: Suggester | None = None
        self._pairs: list[tuple[str, str, str, tuple[str, ...]]] = []
        self._generation = -1

    async def _fresh(self) -> Suggester:
        generation = await self._store.actors.names_generation()
        if self._index is None or generation != self._generation:
            pairs = await self._store.actors.alias_pairs()
            self._index = Suggester(alias for alias, _ in pairs)
            self._pairs = sorted(
                ((alias, canonical, alias.casefold(),
                  tuple(w.casefold() for w in _WORD_START.findall(alias)))
                 for alias, canonical in pairs),
                key=lambda p: (natural_key(p[0]), natural_key(p[1])),
            )
            self._generation = generation
        return self._index

    async def suggest(self, name: str, limit: int = 5) -> list[str]:
        """Close catalogue names, best first, only those similar enough to ``name``."""
        index = await self._fresh()
        return [c for c in index.suggest(name, limit * 3) if similar_enough(name, c)][:limit]

    async def complete(self, typed: str, limit: int = AUTOCOMPLETE) -> list[tuple[str, str]]:
        """(alias, canonical name) pairs for what is typed so far: names starting with it
        first, then names with a word starting with it ("typh" → Flax Typhoon), then
        names containing it; each group in natural order (APT1, APT3, APT10)."""
        await self._fresh()
        text = " ".join(typed.split()).casefold()
        if not text:
            return []
        squashed = text.replace(" ", "")
        ranked: tuple[list, list, list] = ([], [], [])
        for alias, canonical, folded, words in self._pairs:
            if folded.startswith(text) or folded.replace(" ", "").startswith(squashed):
                ranked[0].append((alias, canonical))
            elif any(w.startswith(text) for w in words) or f" {text}" in folded:
                ranked[1].append((alias, canonical))
            elif text in folded:
                ranked[2].append((alias, canonical))
            if len(ranked[0]) >= limit:
                break
        return [*ranked[0], *ranked[1], *ranked[2]][:limit]


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
        search = self._store.search
        result.mentions = await search.count_matching(name, guild_id=guild_id)
        if result.mentions:
            result.mention_stories, result.mention_actors = await search.phrase_context(
                name, guild_id=guild_id)
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

    async def autocomplete(self, typed: str) -> list[tuple[str, str]]:
        return await self._names.complete(typed[:MAX_NAME])
