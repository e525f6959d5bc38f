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

from bot.intel import aliases
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
from bot.intel.story_terms import CveStatus, StoryTerms, extract_terms, sector_labels
from storage.actors import Actor
from storage.models import Story, StoryOutline
from storage.store import Store

COMPARE_STORIES = 10  # earlier stories a story is compared with
COMPARE_WINDOW = timedelta(days=90)
TREND_WINDOW = timedelta(days=7)
_TERMS_CACHE = 4096  # articles whose extracted terms are kept (their text never changes)
_MAX_TEXT = 20_000  # characters of an article scanned for terms
PUBLIC = 0  # the visibility of public articles only (no guild's own feeds)


def best_names(actor: Actor, n: int = 3) -> list[str]:
    """The actor's best-known other names: the catalogue helper when present, else one
    name per naming scheme in the display order (Microsoft, CrowdStrike, Mandiant, …),
    skipping numbered placeholders (DEV-0391, Storm-0558, G0016)."""
    helper = getattr(aliases, "best_known_names", None)
    if helper is not None:
        return [name for name in helper(actor, n + 1) if name != actor.name][:n]
    picked: list[str] = []
    for scheme in aliases.SCHEMES:
        for name in actor.schemes.get(scheme, []):
            if name == actor.name or name in picked or _placeholder(name):
                continue
            picked.append(name)
            break
        if len(picked) == n:
            break
    return picked


def _placeholder(name: str) -> bool:
    head, _, tail = name.replace(" ", "-").partition("-")
    digits = tail or name.lstrip("G")
    return digits.isdigit() and head.upper() in ("DEV", "STORM", "G", name[:1].upper())


class CommentaryService:
    def __init__(
        self, store: Store, *, clock: Callable[[], datetime], llm: LLMWriter | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self._llm = llm
        self._terms: OrderedDict[int, StoryTerms] = OrderedDict()

    # -- facts -------------------------------------------------------------------------

    async def facts(self, story: Story | StoryOutline) -> StoryFacts:
        # Commentary is shown to every guild that sees the story, so only public articles'
        # text is read (a guild's own feed may share a story with public ones).
        public = await self._store.articles.get_stories([story.id], guild_id=PUBLIC)
        full = public[0] if public else None
        when = story.published_at or story.first_seen
        facts = StoryFacts(title=story.title, sources=story.sources, vendors=story.vendors)
        actors: list[Actor] = []
        for name in story.actors[:3]:
            matches = await self._store.actors.resolve(name)
            if len(matches) == 1:
                actors.append(matches[0])
        names = {n for a in actors for n in a.all_names} | set(story.actors) | set(story.vendors)
        own_countries = {a.country for a in actors if a.country}
        terms = self._filtered(await self._story_terms(full), names, own_countries)
        if full is not None and full.articles:
            lead = max(full.articles, key=lambda a: len(a.key_points))
            facts.key_points = list(lead.key_points[:6])
        story_targets = terms.sectors + [country_label(c) or c for c in terms.countries]
        for name in story.actors[:3]:
            actor = next((a for a in actors if name in a.all_names), None)
            facts.actors.append(_actor_fact(name, actor, terms, story_targets))
        for cve in story.cves[:8]:
            earlier = await self._store.articles.count_tag_since(
                "cve", cve, since=datetime.min.replace(tzinfo=when.tzinfo),
                exclude_story=story.id, until=when,
            )
            facts.cves.append(_cve_fact(cve, earlier, terms.status))
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
        previous = await articles.previous_tagged(kind, value, before=when, exclude_story=story.id)
        new.ever_before = previous is not None
        if previous is not None:
            new.latest_title = previous.title
            new.latest_source = previous.source
            new.latest_date = previous.published_at
        if not earlier_ids:
            return new
        earlier = await articles.get_stories(earlier_ids, guild_id=PUBLIC)
        new.earlier = len(earlier)
        seen = StoryTerms()
        seen_cves: set[str] = set()
        for other in earlier:
            seen.merge(self._filtered(await self._story_terms(other), names, own))
            seen_cves.update(other.cves)
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
        articles = self._store.articles
        this_week = await articles.count_tag_since(
            kind, value, since=when - TREND_WINDOW, until=when, exclude_story=story.id
        )
        week_before = await articles.count_tag_since(
            kind, value, since=when - 2 * TREND_WINDOW,
            until=when - TREND_WINDOW - timedelta(microseconds=1), exclude_story=story.id,
        )
        return TrendFact(subject=display, rank=this_week + 1, week_before=week_before)

    # -- terms of stored text ----------------------------------------------------------

    async def _story_terms(self, story: Story | None) -> StoryTerms:
        terms = StoryTerms()
        if story is None:
            return terms
        for article in story.articles:
            cached = self._terms.get(article.id)
            if cached is None:
                text = "\n".join([article.text[:_MAX_TEXT], *article.key_points])
                cached = extract_terms(article.title, text)
                self._terms[article.id] = cached
                if len(self._terms) > _TERMS_CACHE:
                    self._terms.popitem(last=False)
            else:
                self._terms.move_to_end(article.id)
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
            status=terms.status,
        )

    # -- writing -----------------------------------------------------------------------

    async def write(self, story: Story | StoryOutline) -> list[str]:
        facts = await self.facts(story)
        grounded = grounded_commentary(facts)
        if self._llm is not None:
            written = await self._llm.write(facts, draft=grounded)
            if written:
                return written
        return grounded

    async def refresh(self, story_id: int) -> list[str]:
        """Recompute and store a story's commentary."""
        story = await self._store.articles.outline(story_id)
        if story is None:
            return []
        commentary = await self.write(story)
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
    meta = getattr(actor, "meta", {}) or {}
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
        best_names=best_names(actor),
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


def _cve_fact(cve: str, earlier: int, status: dict[str, CveStatus]) -> CveFact:
    said = status.get(cve) or CveStatus()
    return CveFact(
        cve=cve, earlier_stories=earlier, exploited=said.exploited,
        not_exploited=said.not_exploited and not said.exploited, patched=said.patched,
        fixed_in=list(said.fixed_in), no_patch=said.no_patch and not said.patched,
    )
