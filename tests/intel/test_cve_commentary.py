"""The KEV and EPSS sentences of "why it matters" (written when a briefing is built)."""

from __future__ import annotations

import json
from datetime import date

from bot.intel.commentary import (
    CveFact,
    StoryFacts,
    context_fact,
    context_sentences,
    percentile_words,
)
from storage.vuln_models import CveContext, EpssScore, KevEntry

TODAY = date(2026, 12, 1)


def kev(cve: str, added: date, due: date | None, ransomware: bool = False) -> KevEntry:
    return KevEntry(cve=cve, vendor="Example", product="Gateway", name="Example flaw",
                    date_added=added, due_date=due, required_action="Patch.",
                    known_ransomware=ransomware)


def test_the_issue_s_sentence():
    ctx = CveContext(id="CVE-2024-3400", kev=kev("CVE-2024-3400", date(2024, 4, 12),
                                                  date(2024, 4, 19)),
                     epss=EpssScore("CVE-2024-3400", 0.94, 0.9471, date(2026, 11, 30)))
    assert context_sentences([context_fact(ctx)], today=TODAY) == [
        "CVE-2024-3400 is on CISA's KEV list since 12 Apr 2024; federal agencies had "
        "until 19 Apr to patch; EPSS 94th percentile."]


def test_a_deadline_still_ahead_and_across_a_year_and_ransomware():
    fact = context_fact(CveContext(id="CVE-2026-0001", kev=kev(
        "CVE-2026-0001", date(2026, 11, 28), date(2027, 1, 2), ransomware=True)))
    assert context_sentences([fact], today=TODAY) == [
        "CVE-2026-0001 is on CISA's KEV list since 28 Nov 2026; federal agencies have "
        "until 2 Jan 2027 to patch; it is known to be used in ransomware campaigns."]


def test_kev_listed_cves_come_first_newest_listing_first_at_most_two():
    facts = [
        CveFact("CVE-2020-0001", kev_added=date(2021, 11, 3)),
        CveFact("CVE-2025-0002", epss_percentile=0.999, epss_score=0.9),
        CveFact("CVE-2023-0003", kev_added=date(2023, 5, 1)),
        CveFact("CVE-2022-0004", kev_added=date(2022, 1, 10)),
    ]
    said = context_sentences(facts, today=TODAY)
    assert [s.split()[0] for s in said] == ["CVE-2023-0003", "CVE-2022-0004"]


def test_without_kev_the_highest_epss_is_named_and_nothing_without_data():
    facts = [CveFact("CVE-2025-0001", epss_percentile=0.42, epss_score=0.003),
             CveFact("CVE-2025-0002", epss_percentile=0.873, epss_score=0.051),
             CveFact("CVE-2025-0003")]
    assert context_sentences(facts, today=TODAY) == [
        "EPSS puts CVE-2025-0002 in the 87th percentile (a 5.1% chance of exploitation "
        "activity in the next 30 days)."]
    assert context_sentences([CveFact("CVE-2025-0003")], today=TODAY) == []
    assert context_sentences([], today=TODAY) == []


def test_percentiles_are_rounded_down_and_ordinal():
    assert [percentile_words(p) for p in (0.9999, 0.5, 0.2199, 0.013, 0.111, 0.0)] == [
        "99th percentile", "50th percentile", "21st percentile", "1st percentile",
        "11th percentile", "below the 1st percentile"]


def test_facts_with_kev_dates_serialise_for_the_llm():
    facts = StoryFacts(title="t", sources=["Wire A"], cves=[
        CveFact("CVE-2024-3400", kev_added=date(2024, 4, 12), kev_due=date(2024, 4, 19))])
    data = json.loads(json.dumps(facts.as_dict()))
    assert data["cves"][0]["kev_added"] == "2024-04-12"
    assert data["cves"][0]["kev_due"] == "2024-04-19"
