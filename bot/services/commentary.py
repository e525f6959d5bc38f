"""Gather a story's facts from the store and catalogue, and write its commentary.

The facts for one story: who its lead actor is (catalogue), what its text adds to the
newest earlier stories on the same subject (actor, else CVE, else vendor), the subject's
7-day trend up to the story's own date, and what the text says about exploitation and
patches. Counting up to the story's date, not to now, keeps a story's commentary the
same when it is refreshed later.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from bot.intel.aliases import best_known_names
from bot.intel.commentary import (
    ActorFact,
    CveFact,
    NewFact,
    StoryFacts,
    TrendFact,
    grounded_commentary,
)
from bot.intel.geo import country_code, country_label
from bot.intel.llm import LLMWriter
from bot.intel.story_terms import CveStatus, StoryTerms, article_terms, sector_labels
from storage.actors import Actor
from storage.models import Article, ArticleRef, Story, StoryOutline
from storage.store import Store

COMPARE_STORIES = 10  # earlier stories a story is compared with
COMPARE_WINDOW = timedelta(days=90)
TREND_WINDOW = timedelta(days=7)
_ACTORS_CACHE = 2048  # resolved actor tags kept
_TERMS_CACHE = 4096  # articles whose extracted terms are kept (their text never changes)
PUBLIC = 0  # the visibility of public articles only (no guild's own feeds)
MAX_CVES = 8  # CVEs of a story described (a Patch Tuesday story names 80)


class CommentaryService:
    def __init__(
        self, store: Store, *, clock: Callable[[], datetime], llm: LLMWriter | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self._llm = llm
        self._terms: OrderedDict[int, StoryTerms] = OrderedDict()
        self._actors: dict[str, Actor | None] = {}
        self._actors_generation = -1

    # -- facts -------------------------------------------------------------------------

    async def facts(self, story: Story | StoryOutline) -> StoryFacts:
        return await self._facts(story, await self._public(story.id))

    async def _public(self, story_id: int) -> Story | None:
        """The story with its public articles only. Commentary is shown to every guild
        that sees the story, so no guild's own feed's text may shape it."""
        public = await self._store.articles.get_stories([story_id], guild_id=PUBLIC)
        return public[0] if public else None

    async def _facts(self, story: Story | StoryOutline, full: Story | None) -> StoryFacts:
        # A story with public articles is described by them alone (their sources and
        # tags too); a guild's own story (no public article) by its outline.
        story = full or story
        when = story.published_at or story.first_seen
        facts = StoryFacts(title=story.title, sources=story.sources, vendors=story.vendors)
        actors = [a for name in story.actors[:3] if (a := await self._actor(name))]
        names = {n for a in actors for n in a.all_names} | set(story.actors) | set(story.vendors)
        own_countries = {a.country for a in actors if a.country}
        terms = self._filtered(self._story_terms(full), names, own_countries)
        if full is not None and full.articles:
            lead = max(full.articles, key=lambda a: len(a.key_points))
            facts.key_points = list(lead.key_points[:6])
        story_targets = terms.sectors + [country_label(c) or c for c in terms.countries]
        for name in story.actors[:3]:
            actor = next((a for a in actors if name in a.all_names), None)
            facts.actors.append(_actor_fact(name, actor, terms, story_targets))
        facts.cves = [_cve_fact(cve, terms.status) for cve in story.cves[:MAX_CVES]]
        subject = _subject(story)
        if subject is not None:
            kind, value, display = subject
            facts.new = await self._new(story, kind, value, display, when, terms, names,
                                        own_countries)
            facts.trend = await self._trend(story, kind, value, display, when)
        return facts

    async def _new(
        self, story: Story | StoryOutline, kind: str, value: str, display: str,
        when: datetime, terms: StoryTerms, names: set[str], own: set[str],
    ) -> NewFact:
        articles = self._store.articles
        new = NewFact(subject=display, kind=kind)
        earlier_ids = await articles.earlier_stories(
            kind, value, before=when, since=when - COMPARE_WINDOW, exclude_story=story.id,
            limit=COMPARE_STORIES,
        )
        refs = await articles.story_article_refs(earlier_ids, guild_id=PUBLIC)
        if refs:  # oldest first: the newest earlier story's last article
            latest: ArticleRef | None = [r for r in refs if r.story_id == earlier_ids[0]][-1]
        else:  # none in the window: is there one at all, and when?
            latest = await articles.previous_tagged(
                kind, value, before=when, exclude_story=story.id
            )
        new.ever_before = latest is not None
        if latest is not None:
            new.latest_title = latest.title
            new.latest_source = latest.source
            new.latest_date = latest.published_at
        if not refs:
            return new
        new.earlier = len({r.story_id for r in refs})
        seen = self._filtered(await self._earlier_terms(refs), names, own)
        seen_cves = set(seen.cves)
        seen_targets = set(seen.sectors) | set(seen.countries)
        new.targets = [s for s in terms.sectors if s not in seen_targets] + [
            country_label(c) or c for c in terms.countries if c not in seen_targets
        ]
        new.malware = [m for m in terms.malware if m not in seen.malware]
        new.cves = [c for c in story.cves if c not in seen_cves and c != value]
        new.techniques = [t for t in terms.techniques if t not in seen.techniques]
        if kind == "cve":
            now_status = terms.status.get(value, CveStatus())
            old_status = seen.status.get(value, CveStatus())
            if now_status.exploited and not old_status.exploited:
                new.status.append("exploitation in the wild")
            if (now_status.patched or now_status.fixed_in) and not (
                old_status.patched or old_status.fixed_in
            ):
                new.status.append("a fix")
        return new

    async def _trend(
        self, story: Story | StoryOutline, kind: str, value: str, display: str, when: datetime
    ) -> TrendFact:
        week_ago = when - TREND_WINDOW
        this_week, week_before = await self._store.articles.count_tag_windows(
            kind, value, windows=[(week_ago, when), (week_ago - TREND_WINDOW, week_ago)],
            exclude_story=story.id,
        )
        return TrendFact(subject=display, rank=this_week + 1, week_before=week_before)

    async def _actor(self, name: str) -> Actor | None:
        """The one actor a tag names (None when unknown or ambiguous), cached until the
        stored names change (one indexed read to check)."""
        generation = await self._store.actors.names_generation()
        if generation != self._actors_generation:
            self._actors.clear()
            self._actors_generation = generation
        if name not in self._actors:
            matches = await self._store.actors.resolve(name)
            self._actors[name] = matches[0] if len(matches) == 1 else None
            if len(self._actors) > _ACTORS_CACHE:
                self._actors.pop(next(iter(self._actors)))
        return self._actors[name]

    # -- terms of stored text ----------------------------------------------------------

    def _story_terms(self, story: Story | None) -> StoryTerms:
        """The union of the terms of a story's (loaded) articles."""
        terms = StoryTerms()
        for article in story.articles if story else ():
            terms.merge(self._article_terms(article))
        return terms

    def remember_terms(self, article_id: int, terms: StoryTerms) -> None:
        """Terms of a new article, computed in the ingest worker: its story's refresh
        then costs the event loop nothing to read them."""
        self._terms[article_id] = terms
        self._terms.move_to_end(article_id)
        if len(self._terms) > _TERMS_CACHE:
            self._terms.popitem(last=False)

    def _article_terms(self, article: Article) -> StoryTerms:
        cached = self._terms.get(article.id)
        if cached is None:
            cached = article_terms(article.title, article.text, article.key_points)
            self.remember_terms(article.id, cached)
        else:
            self._terms.move_to_end(article.id)
        return cached

    async def _earlier_terms(self, refs: list[ArticleRef]) -> StoryTerms:
        """The union of the terms of these articles; text is loaded only for articles
        whose terms are not cached."""
        missing = [r.id for r in refs if r.id not in self._terms]
        for article in await self._store.articles.get_many(missing):
            self._article_terms(article)
        terms = StoryTerms()
        for ref in refs:
            cached = self._terms.get(ref.id)
            if cached is not None:
                terms.merge(cached)
        return terms

    @staticmethod
    def _filtered(terms: StoryTerms, names: Iterable[str], own_countries: set[str]) -> StoryTerms:
        """Terms without the story's own actor and vendor names as malware, and without
        the actors' own countries as targets."""
        skip = {n.casefold() for n in names}
        return StoryTerms(
            sectors=list(terms.sectors),
            countries=[c for c in terms.countries if c not in own_countries],
            malware=[m for m in terms.malware if m.casefold() not in skip],
            techniques=list(terms.techniques),
            cves=list(terms.cves),
            status=terms.status,
        )

    # -- writing -----------------------------------------------------------------------

    async def write(self, story: Story | StoryOutline) -> list[str]:
        return await self._written(await self.facts(story))

    async def _written(self, facts: StoryFacts) -> list[str]:
        grounded = grounded_commentary(facts)
        if self._llm is not None:
            written = await self._llm.write(facts, draft=grounded)
            if written:
                return written
        return grounded

    async def refresh(self, story_id: int) -> list[str]:
        """Recompute and store a story's commentary."""
        public = await self._public(story_id)
        story = public or await self._store.articles.outline(story_id)
        if story is None:
            return []
        facts = await self._facts(story, public)
        commentary = await self._written(facts)
        await self._store.articles.set_story_commentary(story_id, commentary)
        return commentary


def _subject(story: Story | StoryOutline) -> tuple[str, str, str] | None:
    """(tag kind, tag value, display name) of what the story is mainly about."""
    if story.actors:
        return "actor", story.actors[0], story.actors[0]
    if story.cves:
        return "cve", story.cves[0], story.cves[0]
    if story.vendors:
        return "vendor", story.vendors[0], story.vendors[0]
    return None


def _actor_fact(
    name: str, actor: Actor | None, terms: StoryTerms, story_targets: list[str]
) -> ActorFact:
    if actor is None:
        return ActorFact(name=name)
    meta = actor.meta or {}
    sectors = _sector_names(s for s in meta.get("sectors") or [] if isinstance(s, str))
    targets = [t for t in meta.get("targets") or [] if isinstance(t, str)]
    known = set(sector_labels(" ".join(sectors))) | {
        code for t in targets if (code := country_code(t))
    }
    fits = [s for s in terms.sectors if s in known] + [
        country_label(c) or c for c in terms.countries if c in known
    ]
    outside = [t for t in story_targets if t not in fits]
    return ActorFact(
        name=actor.name,
        country=actor.country,
        best_names=best_known_names(actor, 3),
        kind=meta.get("kind") if isinstance(meta.get("kind"), str) else None,
        motivation=[m for m in meta.get("motivation") or [] if isinstance(m, str)],
        sectors=sectors,
        targets=targets,
        fits=fits,
        outside=outside,
    )


_VAGUE_SECTORS = frozenset(("private sector", "administration", "other", "unknown"))


def _sector_names(raw: Iterable[str]) -> list[str]:
    """The catalogue's sectors in the commentary's vocabulary where it has a word for
    them ("Government, Administration" → government), else as written; once each, vague
    ones ("Private sector") left out."""
    names: list[str] = []
    for sector in raw:
        plain = re.split(r"\s[-/&]\s|,", sector)[0]  # "Research - Innovation" → research
        for name in sector_labels(sector) or [" ".join(plain.split()).lower()]:
            if name not in names and name not in _VAGUE_SECTORS:
                names.append(name)
    return names


def _cve_fact(cve: str, status: dict[str, CveStatus]) -> CveFact:
    said = status.get(cve) or CveStatus()
    return CveFact(
        cve=cve, exploited=said.exploited,
        not_exploited=said.not_exploited and not said.exploited, patched=said.patched,
        fixed_in=list(said.fixed_in), no_patch=said.no_patch and not said.patched,
    )
