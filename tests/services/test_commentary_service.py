"""Commentary from the store: the 22 fixture articles (20 stories, several on one actor
or CVE) imported in date order into a real SQLite store, then a fortnight's briefing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.intel.commentary import StoryFacts, grounded_commentary
from bot.intel.sentences import split_sentences
from bot.intel.story_terms import StoryTerms
from bot.news.analyse import RawArticle
from bot.services.commentary import _actor_fact
from storage.actors import Actor
from tests.conftest import FIXTURES, Clock

CORPUS = FIXTURES / "commentary"
NOW = datetime(2025, 6, 20, 18, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


def _date(path: Path) -> str:
    return re.search(r"^date:\s*(\S+)", path.read_text(encoding="utf-8"), re.M).group(1)


async def import_corpus(services) -> None:
    paths = sorted(CORPUS.glob("*.md"), key=_date)
    report = await services.ingest.import_files(paths)
    assert report.added == len(paths) == 22 and report.failed == 0


async def fortnight(services):
    briefing = await services.briefings.build(NOW - timedelta(days=15))
    return {item.title: item for item in briefing.items}, briefing


def sentences(lines: list[str]) -> list[str]:
    return [" ".join(s.casefold().split()) for line in lines for s in split_sentences(line)]


async def test_no_sentence_repeats_across_a_20_story_briefing(services):
    await import_corpus(services)
    _, briefing = await fortnight(services)
    assert len(briefing.items) == 20
    shown = [s for item in briefing.items for s in sentences(item.why_it_matters)]
    assert len(shown) == len(set(shown))
    assert all(item.why_it_matters for item in briefing.items)
    # the stored, per-story commentary does repeat (four APT29 stories introduce APT29);
    # the briefing keeps the introduction on the first item that has it
    stored = await services.store.articles.get_stories([i.story_id for i in briefing.items])
    per_story = [s for story in stored for s in sentences(story.commentary)]
    assert len(per_story) > len(set(per_story))
    intros = [i for i in briefing.items if any(s.startswith("apt29 (") for s in
                                                 sentences(i.why_it_matters))]
    assert len(intros) == 1
    # the JSON surface carries the same sentences
    assert briefing.as_dict()["items"][0]["commentary"][: len(briefing.items[0].why_it_matters)] \
        == briefing.items[0].why_it_matters
    # delivery builds items from the planned order and applies the same rule
    again = await services.briefings.items([i.story_id for i in briefing.items])
    assert [i.why_it_matters for i in again] == [i.why_it_matters for i in briefing.items]


async def test_commentary_names_what_is_new_against_earlier_stories(services):
    await import_corpus(services)
    by_title, _ = await fortnight(services)
    guam = by_title["Volt Typhoon Targets Telecom Providers in Guam Through Router Bug"]
    assert guam.sources == ["BleepingComputer", "CyberScoop"]
    assert guam.why_it_matters[2:] == [
        "New since the earlier Volt Typhoon story: telecoms and Guam as targets; the "
        "RiverLink malware; CVE-2025-22881.",
        "The only Volt Typhoon story in 7 days, after 1 the week before; reported by 2 "
        "sources (BleepingComputer and CyberScoop).",
        "Per the reports, CVE-2025-22881 is exploited in the wild and has no patch yet.",
    ]
    # the catalogue profile lists Guam among Volt Typhoon's targets
    assert guam.why_it_matters[0].startswith("Volt Typhoon (") and "China-linked" in \
        guam.why_it_matters[0]
    assert guam.why_it_matters[1].startswith("This story fits Volt Typhoon's usual focus on")
    assert "Guam" in guam.why_it_matters[1]
    msp = by_title["APT29 Exploits Corvane SecureGate Flaw to Reach IT Service Providers"]
    assert msp.why_it_matters[2].startswith("New since the 2 earlier stories on APT29: "
                                            "IT service providers, Germany and the "
                                            "Netherlands as targets; CVE-2025-41877")
    assert "2nd APT29 story in 7 days, up from 1 the week before." in msp.why_it_matters
    patched = by_title["Corvane Patches SecureGate Zero-Day Exploited in Attacks"]
    assert patched.why_it_matters[0].startswith(
        "New since the earlier story on CVE-2025-41877: reports of exploitation in the wild "
        "and a fix"
    )
    disclosed = by_title["Corvane Warns of Critical SecureGate Authentication Bypass"]
    assert disclosed.why_it_matters == [
        "CVE-2025-41877 appears in the store for the first time.",
        "Per the reports, CVE-2025-41877 has no known exploitation and has no patch yet.",
    ]
    again = by_title["New APT29 Embassy Lures Deliver GrapeVine Loader Again"]
    assert again.why_it_matters[1] == (
        "Nothing here that the 3 earlier stories on APT29 had not named; the latest was "
        '"APT29 Exploits Corvane SecureGate Flaw to Reach IT Service Providers" '
        "(SecurityWeek, 18 Jun)."
    )
    first = by_title["Researchers Count 48,000 Exposed Fortinet Management Interfaces"]
    assert first.why_it_matters == ["First Fortinet story in the store."]
    # an actor is never its own malware, nor its home country a target
    text = " ".join(s for item in by_title.values() for s in item.why_it_matters)
    assert "the APT29 malware" not in text and "Russia as a target" not in text
    share_new = sum(
        any(s.startswith(("New since", "First", "Nothing here", "CVE-2025-41877 appears"))
            or "for the first time" in s for s in item.why_it_matters)
        for item in by_title.values()
    )
    assert share_new == 20


async def test_refreshing_later_gives_the_same_commentary(services, clock):
    await import_corpus(services)
    by_title, _ = await fortnight(services)
    item = by_title["Midnight Blizzard Password-Spraying Campaign Hits Think Tanks"]
    stored = (await services.store.articles.get_story(item.story_id)).commentary
    clock.advance(days=30)  # counts and comparisons run up to the story's own date
    assert await services.commentary.refresh(item.story_id) == stored
    assert stored[2] == (
        "New since the earlier APT29 story: think tanks, NGOs and the US as targets; "
        "password spraying and OAuth abuse."
    )


async def test_a_guild_feeds_text_never_reaches_public_commentary(services):
    public = RawArticle(source="Wire", title="Kimsuky phishes think tanks",
                        url="https://news.example/kimsuky", published_at=NOW,
                        text="Kimsuky sent spear-phishing emails to think tanks in Japan.")
    _, story_id = await services.store.articles.add(
        await services.ingest._analyse(public), story_id=None, now=NOW)
    private = RawArticle(source="Guild wire", title="Kimsuky phishes think tanks",
                         url="https://guild.example/kimsuky", published_at=NOW,
                         text="Kimsuky also breached a hospital in Norway with TopSecret malware.",
                         scope_guild=4242)
    await services.store.articles.add(
        await services.ingest._analyse(private), story_id=story_id, now=NOW)
    written = " ".join(await services.commentary.refresh(story_id))
    assert "Norway" not in written and "TopSecret" not in written and "hospital" not in written
    assert "Guild wire" not in written  # nor its source
    facts = await services.commentary.facts(await services.store.articles.outline(story_id))
    assert grounded_commentary(facts) == (await services.store.articles.get_story(
        story_id)).commentary


def _actor(**meta) -> Actor:
    actor = Actor(
        id=1, name="APT29", aliases=["Cozy Bear", "G0016", "Midnight Blizzard"], country="RU",
        description="APT29 is threat group that has been attributed to Russia.", refs=[],
        related=[], mitre_id="G0016", origin="catalogue",
        schemes={"mitre": ["G0016"], "crowdstrike": ["Cozy Bear"],
                 "microsoft": ["Midnight Blizzard", "NOBELIUM"], "mandiant": ["APT29"]},
        meta=meta,  # the catalogue profile
    )
    return actor


def test_actor_fact_reads_the_catalogue_profile():
    terms = StoryTerms(sectors=["government", "telecoms"], countries=["PL"])
    fact = _actor_fact(
        "APT29",
        _actor(motivation=["espionage"], sectors=["Government", "Defense"],
               targets=["Poland", "Germany"], kind="apt"),
        terms, ["government", "telecoms", "Poland"],
    )
    assert (fact.motivation, fact.kind, fact.targets) == (
        ["espionage"], "apt", ["Poland", "Germany"]
    )
    assert fact.fits == ["government", "Poland"] and fact.outside == ["telecoms"]
    sentence = grounded_commentary(StoryFacts(title="t", sources=["A"], actors=[fact]))[0]
    assert sentence.endswith(
        "is a Russia-linked espionage group known for targeting government and defence in "
        "Poland and Germany."
    )
    assert "threat group that" not in sentence


def test_actor_without_a_profile_and_best_names():
    fact = _actor_fact("APT29", _actor(), StoryTerms(), [])
    assert fact.sectors == [] and fact.kind is None and fact.country == "RU"
    # the scheme order (Microsoft, CrowdStrike, …), never an alphabetical pick or an id
    assert fact.best_names[:2] == ["Midnight Blizzard", "Cozy Bear"]
    assert "G0016" not in fact.best_names and "APT29" not in fact.best_names
