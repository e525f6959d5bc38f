"""Alias keys, naming-scheme classification and fuzzy suggestions."""

from __future__ import annotations

import pytest

from bot.intel.aliases import (
    COMMON_WORDS,
    Suggester,
    classify_scheme,
    group_by_scheme,
    name_key,
    normalise_alias,
)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("APT 29", "APT29"),
        ("apt-29", "APT29"),
        ("Storm-0919", "storm 0919"),
        ("COZY BEAR", "Cozy Bear"),
        ("TEMP.Veles", "temp veles"),
        ("Asnarök", "Asnarok"),  # diacritics
        ("Ｆｌａｘ　Ｔｙｐｈｏｏｎ", "Flax Typhoon"),  # full-width forms
        ("NoName057(16)", "NoName05716"),
        ("People's Cyber Army", "Peoples Cyber Army"),
    ],
)
def test_normalise_alias_ignores_case_space_punctuation_and_accents(a: str, b: str) -> None:
    assert normalise_alias(a) == normalise_alias(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("APT2", "APT29"), ("APT1", "APT10"), ("FIN7", "FIN17"), ("UNC2452", "UNC245"),
     ("Storm-0919", "Storm-919"), ("G0016", "G0061")],
)
def test_normalise_alias_keeps_distinct_names_distinct(a: str, b: str) -> None:
    assert normalise_alias(a) != normalise_alias(b)


def test_normalise_alias_keeps_non_latin_letters_and_rejects_empty_names() -> None:
    assert normalise_alias("狼毒草") == "狼毒草"
    assert normalise_alias(" -- ") == ""


def test_name_key_keeps_word_breaks() -> None:
    assert name_key("Threat Group-3390") == "threat group 3390"
    assert name_key("COLDRIVER") != name_key("Cold River")
    assert normalise_alias("COLDRIVER") == normalise_alias("Cold River")


@pytest.mark.parametrize(
    ("alias", "scheme"),
    [
        ("Midnight Blizzard", "microsoft"),
        ("Flax Typhoon", "microsoft"),
        ("Mint Sandstorm", "microsoft"),
        ("Diamond Sleet", "microsoft"),
        ("Octo Tempest", "microsoft"),
        ("Storm-0919", "microsoft"),
        ("DEV-0391", "microsoft"),
        ("NOBELIUM", "microsoft"),
        ("Cozy Bear", "crowdstrike"),
        ("Ethereal Panda", "crowdstrike"),
        ("Charming Kitten", "crowdstrike"),
        ("Velvet Chollima", "crowdstrike"),
        ("Wizard Spider", "crowdstrike"),
        ("APT29", "mandiant"),
        ("UNC3944", "mandiant"),
        ("FIN7", "mandiant"),
        ("TEMP.Veles", "mandiant"),
        ("IRON HEMLOCK", "secureworks"),
        ("BRONZE SILHOUETTE", "secureworks"),
        ("GOLD NIAGARA", "secureworks"),
        ("Cloaked Ursa", "unit42"),
        ("Insidious Taurus", "unit42"),
        ("Muddled Libra", "unit42"),
        ("G0016", "mitre"),
        ("TA453", "proofpoint"),
        ("BlueBravo", "recorded_future"),
        ("Earth Estries", "trend_micro"),
        ("ITG11", "ibm"),
        ("UAC-0029", "cert_ua"),
        ("Sofacy", "other"),
        ("Cobalt Group", "other"),  # a metal + "Group" is not a Secureworks name
    ],
)
def test_classify_scheme(alias: str, scheme: str) -> None:
    assert classify_scheme(alias) == scheme


def test_group_by_scheme_keeps_display_order_and_drops_empty_schemes() -> None:
    grouped = group_by_scheme(["Sofacy", "APT28", "Fancy Bear", "Forest Blizzard", "G0007"])
    assert list(grouped) == ["microsoft", "crowdstrike", "mandiant", "mitre", "other"]
    assert grouped["mandiant"] == ["APT28"]


def test_common_words_are_keys() -> None:
    # The tagger and the catalogue compare alias keys against this set.
    assert all(word == normalise_alias(word) for word in COMMON_WORDS)
    assert {"equation", "lead", "snake", "cobalt"} <= COMMON_WORDS


def test_suggest_finds_close_names_best_first() -> None:
    names = ["APT29", "APT28", "Cozy Bear", "COZY BEAR", "Midnight Blizzard", "Turla", "Kimsuky"]
    assert Suggester(names).suggest("cosy bear")[0] == "Cozy Bear"
    assert Suggester(names).suggest("Midnite Blizard")[0] == "Midnight Blizzard"
    assert Suggester(names).suggest("APT 92", limit=2) == ["APT29", "APT28"]
    # Spellings of one key are offered once, in the first spelling given.
    assert Suggester(names).suggest("cozy bear").count("Cozy Bear") == 1
    assert "COZY BEAR" not in Suggester(names).suggest("cozy bear")


def test_suggest_offers_nothing_for_unrelated_or_empty_input() -> None:
    names = ["APT29", "Turla", "Kimsuky"]
    assert Suggester(names).suggest("quarterly earnings") == []
    assert Suggester(names).suggest("") == []
    assert Suggester(names).suggest("Turla", limit=0) == []
