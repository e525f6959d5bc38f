"""Grounded commentary from facts: each sentence says one thing a reader needs, and a
briefing never shows the same sentence twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.intel.commentary import (
    ActorFact,
    CveFact,
    NewFact,
    StoryFacts,
    TrendFact,
    distinct_across,
    grounded_commentary,
)

APT29 = ActorFact(
    name="APT29", country="RU", best_names=["Midnight Blizzard", "Cozy Bear"],
    kind="apt", motivation=["espionage"],
    sectors=["Government", "Defense", "Think Tanks", "Healthcare"],
    targets=[f"Country {i}" for i in range(16)],
)


def facts(**kwargs) -> StoryFacts:
    return StoryFacts(title="A story", sources=["The Record"], **kwargs)


def test_who_the_actor_is_in_one_sentence_from_the_catalogue_profile():
    actor = replace(APT29, fits=["government"])
    first, fit = grounded_commentary(facts(actors=[actor]))[:2]
    assert first == (
        "APT29 (Midnight Blizzard and Cozy Bear) is a Russia-linked espionage group known "
        "for targeting government, defense, think tanks and 1 more sector in 16 countries."
    )
    # the fit has a sentence of its own, so the introduction is the same for every story
    # on the actor and a briefing shows it once
    assert fit == "This story fits APT29's usual focus on government."


def test_a_target_outside_the_profile_is_said_so():
    actor = ActorFact(name="Volt Typhoon", country="CN", sectors=["Energy"],
                      targets=["United States"], outside=["telecoms", "Guam"])
    assert grounded_commentary(facts(actors=[actor]))[:2] == [
        "Volt Typhoon is a China-linked group known for targeting energy in the US.",
        "Telecoms and Guam are not among Volt Typhoon's catalogued targets.",
    ]


def test_profile_free_actors_still_get_a_grounded_clause():
    assert grounded_commentary(facts(actors=[ActorFact(name="APT28", country="RU")]))[0] == (
        "APT28 is a Russia-linked group."
    )
    assert grounded_commentary(facts(actors=[ActorFact(name="Scattered Spider")]))[0] == (
        "Scattered Spider is a catalogued actor with no country attribution."
    )
    ransomware = ActorFact(name="LockBit", kind="ransomware", motivation=["financial"],
                           sectors=["Healthcare"])
    assert grounded_commentary(facts(actors=[ransomware]))[0] == (
        "LockBit is a ransomware operation known for targeting healthcare."
    )


def test_the_catalogue_description_is_never_copied():
    actor = ActorFact(name="APT29", country="RU")
    text = " ".join(grounded_commentary(facts(actors=[actor])))
    assert "threat group that" not in text and "per the catalogue" not in text


def test_what_is_new_names_each_kind_of_fact():
    new = NewFact(
        subject="Volt Typhoon", kind="actor", earlier=2,
        targets=["telecoms", "Guam"], malware=["RiverLink"], cves=["CVE-2025-22881"],
        techniques=["web shells"],
    )
    sentence = grounded_commentary(facts(new=new))[0]
    assert sentence == (
        "New since the 2 earlier stories on Volt Typhoon: telecoms and Guam as targets; "
        "the RiverLink malware; CVE-2025-22881; web shells."
    )


def test_status_news_leads_for_a_cve():
    new = NewFact(subject="CVE-2025-41877", kind="cve", earlier=1,
                  status=["exploitation in the wild", "a fix"])
    assert grounded_commentary(facts(new=new))[0] == (
        "New since the earlier story on CVE-2025-41877: reports of exploitation in the "
        "wild and a fix."
    )


def test_first_time_and_nothing_new():
    assert grounded_commentary(facts(new=NewFact(subject="APT29", kind="actor")))[0] == (
        "First APT29 story in the store."
    )
    assert grounded_commentary(facts(new=NewFact(subject="CVE-2025-1", kind="cve")))[0] == (
        "CVE-2025-1 appears in the store for the first time."
    )
    long_ago = NewFact(subject="Kimsuky", kind="actor", ever_before=True,
                       latest_title="Kimsuky phishes think tanks", latest_source="The Record",
                       latest_date=datetime(2025, 1, 7, tzinfo=UTC))
    assert grounded_commentary(facts(new=long_ago))[0] == (
        'First Kimsuky story since 7 Jan, when The Record reported "Kimsuky phishes think '
        'tanks".'
    )
    same = NewFact(subject="APT29", kind="actor", earlier=3, latest_title="APT29 again",
                   latest_source="SecurityWeek", latest_date=datetime(2025, 6, 18, tzinfo=UTC))
    assert grounded_commentary(facts(new=same))[0] == (
        'Nothing here that the 3 earlier stories on APT29 had not named; the latest was '
        '"APT29 again" (SecurityWeek, 18 Jun).'
    )


def test_trend_against_the_week_before_and_the_sources():
    def trend(rank: int, before: int, sources: list[str] | None = None) -> str | None:
        written = grounded_commentary(StoryFacts(
            title="t", sources=sources or ["A"], trend=TrendFact("APT29", rank, before),
            new=NewFact(subject="APT29", kind="actor", earlier=1),
        ))
        return written[1] if len(written) > 1 else None

    assert trend(4, 1) == "4th APT29 story in 7 days, up from 1 the week before."
    assert trend(2, 5) == "2nd APT29 story in 7 days, down from 5 the week before."
    assert trend(3, 3) == "3rd APT29 story in 7 days, level with the 3 of the week before."
    assert trend(2, 0) == "2nd APT29 story in 7 days, after none the week before."
    assert trend(1, 2) == "The only APT29 story in 7 days, after 2 the week before."
    assert trend(11, 0) == "11th APT29 story in 7 days, after none the week before."
    assert trend(1, 0) is None  # nothing to say beyond "first"
    assert trend(1, 0, ["A", "B"]) == "Reported by 2 sources (A and B)."
    assert trend(2, 1, ["A", "B"]) == (
        "2nd APT29 story in 7 days, up from 1 the week before; reported by 2 sources (A and B)."
    )


def test_exploitation_and_patch_status_as_reported():
    def status(cve: CveFact) -> str:
        return grounded_commentary(facts(cves=[cve]))[0]

    assert status(CveFact("CVE-2025-1", exploited=True, no_patch=True)) == (
        "Per the reports, CVE-2025-1 is exploited in the wild and has no patch yet."
    )
    assert status(CveFact("CVE-2025-1", not_exploited=True, fixed_in=["22.7R2.8"])) == (
        "Per the reports, CVE-2025-1 has no known exploitation and is fixed in version 22.7R2.8."
    )
    assert status(CveFact("CVE-2025-1", patched=True)) == (
        "Per the reports, CVE-2025-1 has a patch out."
    )
    # no stated status: no status sentence, only the fallback
    assert "Per the reports" not in status(CveFact("CVE-2025-1"))


def test_at_most_five_sentences_none_empty():
    written = grounded_commentary(StoryFacts(
        title="t", sources=["A", "B", "C"], actors=[APT29],
        cves=[CveFact("CVE-2025-1", exploited=True), CveFact("CVE-2025-2", patched=True)],
        new=NewFact(subject="APT29", kind="actor", earlier=1, malware=["GrapeVine"]),
        trend=TrendFact("APT29", 3, 1),
    ))
    assert len(written) == 4 and all(s.strip() for s in written)
    assert written[3].startswith("Per the reports, CVE-2025-1 ")
    written = grounded_commentary(StoryFacts(
        title="t", sources=["A", "B", "C"], actors=[replace(APT29, fits=["government"])],
        cves=[CveFact("CVE-2025-1", exploited=True)],
        new=NewFact(subject="APT29", kind="actor", earlier=1, malware=["GrapeVine"]),
        trend=TrendFact("APT29", 3, 1),
    ))
    assert len(written) == 5 and written[1].startswith("This story fits")


def test_nothing_known_says_so():
    assert grounded_commentary(StoryFacts(title="t", sources=["Wire"], vendors=["Acme"])) == [
        "Reported by Wire; it names no catalogued actor or CVE. It concerns Acme."
    ]


def test_distinct_across_drops_sentences_already_shown():
    first = ["APT29 (Cozy Bear) is a Russia-linked group.", "First APT29 story in the store."]
    second = ["APT29  (Cozy Bear) is a RUSSIA-linked group.",
              "Nothing here is new. 2nd APT29 story in 7 days, after none the week before."]
    third = ["Nothing here is new."]
    kept = distinct_across([first, second, third])
    assert kept[0] == first
    assert kept[1] == [
        "Nothing here is new. 2nd APT29 story in 7 days, after none the week before."
    ]
    assert kept[2] == []  # every sentence was shown already
    # a repeat inside one item goes too
    assert distinct_across([["Same.", "Same."]]) == [["Same."]]
