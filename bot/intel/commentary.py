"""Grounded commentary: "why it matters" sentences built only from stored facts.

Every clause comes from a field of ``StoryFacts``; nothing is inferred. The services
gather the facts (from the store, the stories' own text and the actor catalogue) and
call ``grounded_commentary``; an optional LLM may rephrase the same facts (see llm.py).

What a reader needs to decide, in this order (at most five sentences):

1. who the lead actor is: best-known names, country, motivation, catalogued targets;
   then, in a sentence of its own, whether this story's targets fit them;
2. what is new against earlier stories on the same actor, CVE or vendor (a target,
   malware, CVE, technique or exploitation status they did not name), or that it is the
   first story in the store;
3. the trend (this story's rank among the subject's stories of the last 7 days, against
   the 7 days before) and how many outlets report it;
4. exploitation and patch status as the text states it, per CVE; and, when a briefing
   is built, what CISA KEV and FIRST EPSS say (``context_sentences``: KEV data arrives
   after the story, so these are written from current data, never stored).

A briefing shows each sentence once: ``distinct_across`` drops a sentence an earlier
item already carried (the "who" sentence of an actor with several stories, typically).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from bot.intel.geo import country_code, country_label
from bot.intel.sentences import split_sentences
from storage.vuln_models import CveContext

MAX_SENTENCES = 5


@dataclass(slots=True)
class ActorFact:
    name: str
    country: str | None = None  # ISO alpha-2 from the catalogue
    best_names: list[str] = field(default_factory=list)  # other names people use, best first
    kind: str | None = None  # "apt" | "ransomware" | … (catalogue profile)
    motivation: list[str] = field(default_factory=list)  # "espionage", "financial", …
    sectors: list[str] = field(default_factory=list)  # catalogued target sectors
    targets: list[str] = field(default_factory=list)  # catalogued target countries (names)
    fits: list[str] = field(default_factory=list)  # this story's targets it already lists
    outside: list[str] = field(default_factory=list)  # this story's targets it does not


@dataclass(slots=True)
class CveFact:
    """One CVE of the story: the text's own statements (gathered at ingest, stored with
    the commentary), and what CISA KEV and FIRST EPSS say (``context_fact``, filled when
    a briefing is built: KEV data arrives after the story, so ``context_sentences`` are
    written then, never stored)."""

    cve: str
    exploited: bool = False  # the text says it is exploited in the wild
    not_exploited: bool = False  # the text says no exploitation is known
    patched: bool = False  # the text says a fix is out
    fixed_in: list[str] = field(default_factory=list)  # versions the text names as fixed
    no_patch: bool = False  # the text says there is no fix yet
    kev_added: date | None = None  # on CISA's KEV list since
    kev_due: date | None = None  # federal agencies' patch deadline
    ransomware: bool = False  # KEV: known use in ransomware campaigns
    epss_percentile: float | None = None  # 0–1
    epss_score: float | None = None  # 0–1, exploitation activity in the next 30 days


@dataclass(slots=True)
class NewFact:
    """What this story adds to the earlier stories on its subject."""

    subject: str  # "APT29", "CVE-2025-1234", "Ivanti"
    kind: str  # actor | cve | vendor
    earlier: int = 0  # earlier stories compared (the newest few, within the window)
    ever_before: bool = False  # any earlier story at all (beyond the window too)
    latest_title: str | None = None
    latest_source: str | None = None
    latest_date: datetime | None = None
    targets: list[str] = field(default_factory=list)  # sectors and countries not named before
    malware: list[str] = field(default_factory=list)
    cves: list[str] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)  # "exploitation in the wild", …

    @property
    def anything(self) -> bool:
        return bool(self.targets or self.malware or self.cves or self.techniques or self.status)


@dataclass(slots=True)
class TrendFact:
    subject: str
    rank: int  # this story's place among the subject's stories of the 7 days up to it
    week_before: int  # the subject's stories in the 7 days before those


@dataclass(slots=True)
class StoryFacts:
    title: str
    sources: list[str]
    actors: list[ActorFact] = field(default_factory=list)
    cves: list[CveFact] = field(default_factory=list)
    vendors: list[str] = field(default_factory=list)
    new: NewFact | None = None
    trend: TrendFact | None = None
    key_points: list[str] = field(default_factory=list)  # for the LLM only

    def as_dict(self) -> dict:
        data = asdict(self)
        if data["new"]:
            data["new"]["latest_date"] = _iso(self.new.latest_date if self.new else None)
        for cve in data["cves"]:  # JSON for the LLM: dates as ISO strings
            for key in ("kev_added", "kev_due"):
                cve[key] = cve[key].isoformat() if cve[key] else None
        return data


def _iso(value: datetime | None) -> str | None:
    return value.date().isoformat() if value else None


def _day(value: datetime | None) -> str:
    return f"{value.day} {value:%b}" if value else "undated"


def _join(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# -- 1. who the actor is ------------------------------------------------------------------

_MOTIVE_WORDS = {
    "espionage": "espionage",
    "financial": "financially motivated",
    "destruction": "destructive",
    "disruption": "disruptive",
    "ideology": "hacktivist",
    "influence": "influence-operations",
}
_KIND_NOUNS = {
    "ransomware": "ransomware operation",
    "psoa": "commercial spyware vendor",
    "hacktivist": "hacktivist group",
    "influence": "influence-operations group",
    "cybercrime": "cybercrime group",
}


def _who_sentence(actor: ActorFact) -> str:
    label = actor.name
    if actor.best_names:
        label += f" ({_join(actor.best_names[:3])})"
    noun = _KIND_NOUNS.get(actor.kind or "", "group")
    motives = [_MOTIVE_WORDS[m] for m in actor.motivation if m in _MOTIVE_WORDS]
    if noun != "group":  # "a financially motivated ransomware operation" says it twice
        motives = [m for m in motives if m not in ("financially motivated", "hacktivist")]
    country = country_label(actor.country)
    words = [f"{country.removeprefix('the ')}-linked"] if country else []
    if motives:
        words.append(_join(motives[:2]))
    words.append(noun)
    if not country and not motives and noun == "group" and not actor.sectors:
        sentence = f"{label} is a catalogued actor with no country attribution"
    else:
        article = "an" if words[0][:1].lower() in "aeiou" else "a"
        sentence = f"{label} is {article} {' '.join(words)}"
    targets = _catalogued_targets(actor)
    if targets:
        sentence += f" known for targeting {targets}"
    return sentence + "."


def _fit_sentence(actor: ActorFact) -> str | None:
    """How this story's targets compare with the catalogued ones (its own sentence, so
    the actor's introduction above stays the same from story to story)."""
    if actor.fits:
        return f"This story fits {actor.name}'s usual focus on {_join(actor.fits[:3])}."
    if actor.outside and (actor.sectors or actor.targets):
        verb = "is" if len(actor.outside[:3]) == 1 else "are"
        return f"{_join(actor.outside[:3])} {verb} not among {actor.name}'s catalogued targets."
    return None


def _catalogued_targets(actor: ActorFact) -> str:
    parts: list[str] = []
    if actor.sectors:
        sectors = [s.lower() if not s.isupper() else s for s in actor.sectors[:3]]
        more = len(actor.sectors) - 3
        parts.append(_join(sectors + ([_plural(more, "more sector")] if more > 0 else [])))
    if actor.targets:
        if len(actor.targets) <= 3:
            names = [country_label(code) or t if (code := country_code(t)) else t
                     for t in actor.targets]
            parts.append("in " + _join(names))
        else:
            parts.append(f"in {len(actor.targets)} countries")
    if not parts:
        return ""
    return " ".join(parts) if actor.sectors else f"organisations {parts[0]}"


# -- 2. what is new -------------------------------------------------------------------------


def _story_word(kind: str, subject: str) -> str:
    return f"{subject} story" if kind != "cve" else f"story on {subject}"


def _new_sentence(new: NewFact) -> str:
    subject = new.subject
    if not new.earlier:
        if new.ever_before and new.latest_title:
            return (
                f"First {_story_word(new.kind, subject)} since {_day(new.latest_date)}, "
                f"when {new.latest_source or 'an outlet'} reported \"{new.latest_title}\"."
            )
        if new.kind == "cve":
            return f"{subject} appears in the store for the first time."
        return f"First {subject} story in the store."
    if new.earlier == 1:
        earlier = f"the earlier {_story_word(new.kind, subject)}"
    else:
        earlier = f"the {new.earlier} earlier stories on {subject}"
    if not new.anything:
        return (
            f"Nothing here that {earlier} had not named; the latest was "
            f"\"{new.latest_title}\" ({new.latest_source}, {_day(new.latest_date)})."
        )
    parts: list[str] = []
    if new.status:
        parts.append("reports of " + _join(new.status))
    if new.targets:
        role = "a target" if len(new.targets) == 1 else "targets"
        parts.append(f"{_join(new.targets[:4])} as {role}")
    if new.malware:
        parts.append(f"the {_join(new.malware[:3])} malware")
    if new.cves:
        parts.append(_join(new.cves[:3]))
    if new.techniques:
        parts.append(_join(new.techniques[:2]))
    return f"New since {earlier}: {'; '.join(parts)}."


# -- 3. trend and outlets ------------------------------------------------------------------


def _trend_sentence(trend: TrendFact | None, sources: list[str]) -> str | None:
    outlets = (
        f"reported by {len(sources)} sources ({_join(sources[:4])}"
        f"{' and others' if len(sources) > 4 else ''})"
        if len(sources) > 1 else ""
    )
    if trend is None or (trend.rank == 1 and trend.week_before == 0):
        return f"{outlets[0].upper()}{outlets[1:]}." if outlets else None
    subject = trend.subject
    before = trend.week_before
    if trend.rank == 1:
        head = f"The only {subject} story in 7 days, after {before} the week before"
    else:
        if before == 0:
            change = "after none the week before"
        elif before < trend.rank:
            change = f"up from {before} the week before"
        elif before > trend.rank:
            change = f"down from {before} the week before"
        else:
            change = f"level with the {before} of the week before"
        head = f"{_ordinal(trend.rank)} {subject} story in 7 days, {change}"
    return head + (f"; {outlets}" if outlets else "") + "."


# -- 4. exploitation and patch status ------------------------------------------------------


def _cve_sentence(cve: CveFact) -> str | None:
    clauses: list[str] = []
    if cve.exploited:
        clauses.append("is exploited in the wild")
    elif cve.not_exploited:
        clauses.append("has no known exploitation")
    if cve.fixed_in:
        word = "version" if len(cve.fixed_in) == 1 else "versions"
        clauses.append(f"is fixed in {word} {_join(cve.fixed_in[:3])}")
    elif cve.patched:
        clauses.append("has a patch out")
    elif cve.no_patch:
        clauses.append("has no patch yet")
    if not clauses:
        return None
    name = cve.cve or "the flaw"
    return f"Per the reports, {name} {_join(clauses)}."


def context_fact(context: CveContext) -> CveFact:
    """The KEV and EPSS facts of one CVE (the text's own statements left unset)."""
    kev, epss = context.kev, context.epss
    return CveFact(
        cve=context.id,
        kev_added=kev.date_added if kev else None,
        kev_due=kev.due_date if kev else None,
        ransomware=bool(kev and kev.known_ransomware),
        epss_percentile=epss.percentile if epss else None,
        epss_score=epss.score if epss else None,
    )


def percentile_words(percentile: float) -> str:
    """0.942 → "94th percentile" (whole percentiles, rounded down: never overstated)."""
    whole = int(percentile * 100 + 1e-9)
    return f"{_ordinal(whole)} percentile" if whole >= 1 else "below the 1st percentile"


def _epss_clause(cve: CveFact) -> str | None:
    return (f"EPSS {percentile_words(cve.epss_percentile)}"
            if cve.epss_percentile is not None else None)


def _kev_sentence(cve: CveFact, today: date) -> str:
    sentence = f"{cve.cve} is on CISA's KEV list since {_long_day(cve.kev_added)}"
    if cve.kev_due is not None:
        verb = "had" if cve.kev_due < today else "have"
        due = (_day_date(cve.kev_due) if cve.kev_added and cve.kev_due.year == cve.kev_added.year
               else _long_day(cve.kev_due))
        sentence += f"; federal agencies {verb} until {due} to patch"
    if cve.ransomware:
        sentence += "; it is known to be used in ransomware campaigns"
    epss = _epss_clause(cve)
    return sentence + (f"; {epss}." if epss else ".")


def context_sentences(cves: Sequence[CveFact], *, today: date, most: int = 2) -> list[str]:
    """What KEV and EPSS say, for a briefing's "why it matters": a sentence per CVE on
    the KEV list (the most recently listed first, at most ``most``); with none listed,
    the CVE with the highest EPSS percentile, when EPSS knows one."""
    listed = sorted((c for c in cves if c.kev_added is not None),
                    key=lambda c: (c.kev_added, c.cve), reverse=True)
    if listed:
        return [_kev_sentence(c, today) for c in listed[:most]]
    scored = [c for c in cves if c.epss_percentile is not None]
    if not scored:
        return []
    top = max(scored, key=lambda c: (c.epss_percentile, c.cve))
    chance = (f" (a {top.epss_score:.1%} chance of exploitation activity in the next 30 "
              "days)" if top.epss_score is not None else "")
    return [f"EPSS puts {top.cve} in the {percentile_words(top.epss_percentile)}{chance}."]


def _long_day(value: date | None) -> str:
    return f"{value.day} {value:%b %Y}" if value else "an unknown date"


def _day_date(value: date) -> str:
    return f"{value.day} {value:%b}"


# -- assembling ------------------------------------------------------------------------------


def grounded_commentary(facts: StoryFacts) -> list[str]:
    """At most five short sentences, each traceable to fields of ``facts``."""
    sentences: list[str] = []
    if facts.actors:
        sentences.append(_who_sentence(facts.actors[0]))
        fit = _fit_sentence(facts.actors[0])
        if fit:
            sentences.append(fit[0].upper() + fit[1:])
    if facts.new is not None:
        sentences.append(_new_sentence(facts.new))
    trend = _trend_sentence(facts.trend, facts.sources)
    if trend:
        sentences.append(trend)
    for cve in facts.cves:
        status = _cve_sentence(cve)
        if status and len(sentences) < MAX_SENTENCES:
            sentences.append(status)
            break
    if not sentences:
        vendor = f" It concerns {_join(facts.vendors[:3])}." if facts.vendors else ""
        source = _join(facts.sources) or "one source"
        sentences.append(f"Reported by {source}; it names no catalogued actor or CVE.{vendor}")
    return [s.strip() for s in sentences[:MAX_SENTENCES] if s.strip()]


def _key(sentence: str) -> str:
    return " ".join(sentence.casefold().split())


def distinct_across(commentaries: Sequence[Sequence[str]]) -> list[list[str]]:
    """The commentaries of a briefing's items, in order, with every sentence that an
    earlier item (or the same item) already carried dropped. Each line may hold several
    sentences (an LLM's); they are compared one by one."""
    seen: set[str] = set()
    out: list[list[str]] = []
    for lines in commentaries:
        kept_lines: list[str] = []
        for line in lines:
            kept = []
            for sentence in split_sentences(line) or [line]:
                key = _key(sentence)
                if key and key not in seen:
                    seen.add(key)
                    kept.append(sentence)
            if kept:
                kept_lines.append(" ".join(kept))
        out.append(kept_lines)
    return out
