"""Grounded commentary: "why it matters" sentences built only from stored facts.

Every sentence is assembled from a field of ``StoryFacts``; nothing is inferred. The
services gather the facts (from the store and the actor catalogue) and call
``grounded_commentary``; an optional LLM may rephrase the same facts (see llm.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime


@dataclass(slots=True)
class ActorFact:
    name: str
    country: str | None = None
    aliases: list[str] = field(default_factory=list)
    summary: str = ""  # first sentence of the catalogue description
    stories_30d: int = 0  # other stories naming the actor in the last 30 days
    previous_title: str | None = None
    previous_source: str | None = None
    previous_date: datetime | None = None


@dataclass(slots=True)
class CveFact:
    cve: str
    earlier_stories: int = 0


@dataclass(slots=True)
class RelatedFact:
    title: str
    source: str
    date: datetime | None


@dataclass(slots=True)
class StoryFacts:
    title: str
    sources: list[str]
    actors: list[ActorFact] = field(default_factory=list)
    cves: list[CveFact] = field(default_factory=list)
    vendors: list[str] = field(default_factory=list)
    related: list[RelatedFact] = field(default_factory=list)

    def as_dict(self) -> dict:
        data = asdict(self)
        for actor in data["actors"]:
            actor["previous_date"] = _iso(actor["previous_date"])
        for related in data["related"]:
            related["date"] = _iso(related["date"])
        return data


def _iso(value: datetime | None) -> str | None:
    return value.date().isoformat() if value else None


def _day(value: datetime | None) -> str:
    return f"{value.day} {value:%b %Y}" if value else "undated"


def _join(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _actor_sentence(actor: ActorFact) -> str:
    label = actor.name
    details = [d for d in (actor.country, _aka(actor.aliases)) if d]
    if details:
        label += f" ({'; '.join(details)})"
    if actor.stories_30d:
        plural = "story" if actor.stories_30d == 1 else "stories"
        sentence = f"{label} appears in {actor.stories_30d} other {plural} in the last 30 days"
    else:
        sentence = f"{label} appears in no other story in the last 30 days"
    if actor.previous_title:
        where = ", ".join(x for x in (actor.previous_source, _day(actor.previous_date)) if x)
        sentence += f"; previously: \"{actor.previous_title}\" ({where})"
    return sentence + "."


def _aka(aliases: list[str]) -> str:
    return "a.k.a. " + ", ".join(aliases[:3]) if aliases else ""


def grounded_commentary(facts: StoryFacts) -> list[str]:
    """2–4 short sentences, each traceable to one field of ``facts``."""
    sentences: list[str] = []
    for actor in facts.actors[:2]:
        sentences.append(_actor_sentence(actor))
    if facts.actors and facts.actors[0].summary:
        lead = facts.actors[0]
        summary = lead.summary
        if not summary.lower().startswith(lead.name.lower()):
            summary = f"{lead.name}, per the catalogue: {summary}"
        sentences.append(summary)
    if facts.cves:
        names = [c.cve for c in facts.cves[:4]]
        more = f" and {len(facts.cves) - 4} more" if len(facts.cves) > 4 else ""
        sentence = f"Names {_join(names)}{more}"
        repeated = [c for c in facts.cves if c.earlier_stories]
        if repeated:
            first = repeated[0]
            count = first.earlier_stories
            plural = "story" if count == 1 else "stories"
            sentence += f"; {first.cve} was already named in {count} earlier {plural}"
        sentences.append(sentence + ".")
    if len(facts.sources) > 1:
        sentences.append(f"Reported by {len(facts.sources)} sources: {_join(facts.sources)}.")
    if facts.related and len(sentences) < 4:
        rel = facts.related[0]
        sentences.append(f"Related: \"{rel.title}\" ({rel.source}, {_day(rel.date)}).")
    if not sentences:
        vendor = f" It concerns {_join(facts.vendors[:3])}." if facts.vendors else ""
        source = _join(facts.sources) or "one source"
        sentences.append(f"Reported by {source}; it names no catalogued actor or CVE.{vendor}")
    return _fit(sentences)


def _fit(sentences: list[str], limit: int = 4) -> list[str]:
    return [s.strip() for s in sentences[:limit] if s.strip()]
