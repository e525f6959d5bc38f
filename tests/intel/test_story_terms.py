"""Targets, malware, techniques and fix status read from an article's own words."""

from __future__ import annotations

from bot.intel.geo import countries_in, country_code, country_label
from bot.intel.story_terms import extract_terms, sector_labels


def test_targets_count_only_where_the_sentence_speaks_of_targeting():
    terms = extract_terms(
        "Volt Typhoon Targets Telecom Providers in Guam",
        "The German government said it was studying the report. "
        "The hackers breached water utilities in the United States.",
    )
    assert terms.sectors == ["telecoms", "water utilities"]
    assert terms.countries == ["GU", "US"]  # not Germany: nobody targeted it
    assert "government" not in terms.sectors


def test_malware_names_from_their_usual_phrasings():
    terms = extract_terms(
        "New HarvestWipe Malware Hits Grain Exporters",
        "The archive drops a loader dubbed GrapeVine. Routers were infected with Moobot "
        "malware. Destructive wiper code was found. A Russian backdoor was not named.",
    )
    assert terms.malware == ["HarvestWipe", "GrapeVine", "Moobot"]


def test_techniques_keep_the_specific_one():
    terms = extract_terms(
        "Spear-phishing wave",
        "The spear-phishing emails used DLL side-loading; other phishing used OAuth apps. "
        "Callers tricked the help desk, a social engineering trick.",
    )
    assert terms.techniques == [
        "spear-phishing", "DLL side-loading", "OAuth abuse", "help-desk social engineering",
    ]


def test_fix_and_exploitation_status_per_cve():
    terms = extract_terms(
        "Two flaws",
        "CVE-2025-1111 is exploited in the wild and was patched in version 9.4.2. "
        "CVE-2025-2222 has no patch yet, and the vendor has not seen attacks on it.",
    )
    first, second = terms.status["CVE-2025-1111"], terms.status["CVE-2025-2222"]
    assert (first.exploited, first.patched, first.fixed_in) == (True, True, ["9.4.2"])
    assert (second.no_patch, second.patched, second.not_exploited, second.exploited) == (
        True, False, True, False
    )


def test_a_single_cve_takes_the_status_of_sentences_that_do_not_name_it():
    terms = extract_terms(
        "Ivanti fixes CVE-2025-39001",
        "The flaw is fixed in version 22.7R2.8. The company is not aware of any exploitation.",
    )
    status = terms.status["CVE-2025-39001"]
    assert status.fixed_in == ["22.7R2.8"] and status.not_exploited and not status.exploited


def test_status_without_a_cve_belongs_to_the_story():
    terms = extract_terms(
        "Zero-day", "Attackers are actively exploiting the bug; no fix is available."
    )
    assert terms.status[""].exploited and terms.status[""].no_patch


def test_no_status_when_the_text_states_none():
    assert extract_terms("Scan spike", "Scans rose tenfold over the weekend.").status == {}


def test_catalogue_sector_lists_read_with_the_same_vocabulary():
    assert sector_labels("Government, Defense, Think Tanks, Healthcare") == [
        "government", "defence", "healthcare", "think tanks",
    ]
    assert sector_labels("attacks on riverbanks and subschools") == []  # whole words only
    assert sector_labels("banks, schools") == ["finance", "education"]


def test_countries_by_name_and_adjective_capitalised_only():
    assert countries_in("Ukrainian grain exporters and firms in South Korea") == ["UA", "KR"]
    assert countries_in("tell us about it") == []
    assert countries_in("Us and the US") == ["US"]
    assert country_code("the Netherlands") == "NL" and country_code("Atlantis") is None
    assert country_label("KP") == "North Korea" and country_label("ZZ") == "ZZ"
