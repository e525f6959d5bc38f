"""Alias keys, naming-scheme classification and fuzzy suggestions."""

from __future__ import annotations

import pytest

from bot.intel.aliases import (
    COMMON_WORDS,
    CONTEXT_WORDS,
    SCHEMES,
    Suggester,
    best_known_names,
    classify_scheme,
    group_by_scheme,
    name_key,
    name_tier,
    normalise_alias,
    order_names,
)
from storage.actors import Actor


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
    assert all(word == normalise_alias(word) for word in CONTEXT_WORDS)
    assert {"hive", "play", "royal", "akira", "medusa", "cactus"} <= CONTEXT_WORDS


def test_scheme_order_is_microsoft_crowdstrike_mandiant_mitre_then_others() -> None:
    assert SCHEMES[:4] == ("microsoft", "crowdstrike", "mandiant", "mitre")
    assert SCHEMES[-1] == "other"


@pytest.mark.parametrize(
    ("name", "tier"),
    [
        ("Midnight Blizzard", 0), ("Cozy Bear", 0), ("APT29", 0), ("The Dukes", 0),
        ("NOBELIUM", 1), ("FIN7", 1), ("IRON HEMLOCK", 1), ("Cloaked Ursa", 1),
        ("Storm-0558", 2), ("UNC2452", 2), ("TA446", 2), ("ATK7", 2), ("TG-4127", 2),
        ("SIG40", 2), ("G0016", 3),
    ],
)
def test_name_tier(name: str, tier: int) -> None:
    assert name_tier(name) == tier


def test_order_names_is_by_tier_scheme_weight_then_given_order_never_alphabetical() -> None:
    names = ["APT29", "ATK7", "Blue Kitsune", "NOBELIUM", "The Dukes", "Cozy Bear",
             "Midnight Blizzard", "G0016", "Storm-0558"]
    # The Dukes before Blue Kitsune: more sources list it.
    assert order_names(names, {"thedukes": 3, "bluekitsune": 1}) == [
        "Midnight Blizzard", "Cozy Bear", "APT29", "The Dukes", "Blue Kitsune", "NOBELIUM",
        "Storm-0558", "ATK7", "G0016",
    ]
    assert order_names(["Beta Group", "Alpha Group"]) == ["Beta Group", "Alpha Group"]


def _actor(name: str, schemes: dict[str, list[str]]) -> Actor:
    aliases = [n for names in schemes.values() for n in names if n != name]
    return Actor(None, name, aliases, "RU", "", [], [], None, "catalogue", schemes)


def test_best_known_names_skip_the_canonical_name_and_codes() -> None:
    apt29 = _actor("APT29", group_by_scheme(order_names(
        ["APT29", "ATK7", "Blue Kitsune", "NOBELIUM", "Cozy Bear", "Midnight Blizzard", "G0016"]
    )))
    assert best_known_names(apt29) == ["Midnight Blizzard", "Cozy Bear", "Blue Kitsune"]
    assert best_known_names(apt29, 1) == ["Midnight Blizzard"]
    assert best_known_names(apt29, 0) == []
    assert "ATK7" in best_known_names(apt29, 10) and best_known_names(apt29, 10)[-1] == "G0016"
    lonely = _actor("Hive", {"other": ["Hive"]})
    assert best_known_names(lonely) == []


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
