"""Gather a story's facts from the store and catalogue, and write its commentary."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.intel.commentary import ActorFact, CveFact, RelatedFact, StoryFacts, grounded_commentary
from bot.intel.llm import LLMWriter
from storage.models import Story, StoryOutline
from storage.store import Store

_FIRST_SENTENCE = re.compile(r"^(.{20,280}?[.!?])(\s|$)", re.S)


def first_sentence(text: str) -> str:
    text = " ".join(text.split())
    match = _FIRST_SENTENCE.match(text)
    if match:
        return match.group(1)
    return text[:277] + "…" if len(text) > 280 else text


class CommentaryService:
    def __init__(
        self, store: Store, *, clock: Callable[[], datetime], llm: LLMWriter | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self._llm = llm

    async def facts(self, story: Story | StoryOutline) -> StoryFacts:
        articles = self._store.articles
        now = self._clock()
        month_ago = now - timedelta(days=30)
        when = story.published_at or story.first_seen
        facts = StoryFacts(title=story.title, sources=story.sources, vendors=story.vendors)
        for name in story.actors[:3]:
            fact = ActorFact(name=name)
            matches = await self._store.actors.resolve(name)
            if len(matches) == 1:
                actor = matches[0]
                fact.name = actor.name
                fact.country = actor.country
                fact.aliases = [a for a in actor.aliases if a.lower() != actor.name.lower()][:3]
                fact.summary = first_sentence(actor.description) if actor.description else ""
            fact.stories_30d = await articles.count_tag_since(
                "actor", name, since=month_ago, exclude_story=story.id
            )
            previous = await articles.previous_tagged(
                "actor", name, before=when, exclude_story=story.id
            )
            if previous:
                fact.previous_title = previous.title
                fact.previous_source = previous.source
                fact.previous_date = previous.published_at
            facts.actors.append(fact)
        for cve in story.cves[:8]:
            earlier = await articles.count_tag_since(
                "cve", cve, since=datetime.min.replace(tzinfo=now.tzinfo), exclude_story=story.id
            )
            facts.cves.append(CveFact(cve=cve, earlier_stories=earlier))
        if not facts.actors and not facts.cves:
            for vendor in story.vendors[:1]:
                previous = await articles.previous_tagged(
                    "vendor", vendor, before=when, exclude_story=story.id
                )
                if previous:
                    facts.related.append(
                        RelatedFact(previous.title, previous.source, previous.published_at)
                    )
        return facts

    async def write(self, story: Story | StoryOutline) -> list[str]:
        facts = await self.facts(story)
        if self._llm is not None:
            written = await self._llm.write(facts)
            if written:
                return written
        return grounded_commentary(facts)

    async def refresh(self, story_id: int) -> list[str]:
        """Recompute and store a story's commentary."""
        story = await self._store.articles.outline(story_id)
        if story is None:
            return []
        commentary = await self.write(story)
        await self._store.articles.set_story_commentary(story_id, commentary)
        return commentary
