"""The merged MISP/MITRE catalogue, checked against the data the package really ships."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from bot.intel.aliases import Suggester, normalise_alias
from bot.intel.catalogue import (
    Actor,
    OverridesError,
    catalogue_version,
    load_catalogue,
    load_overrides,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def catalogue() -> list[Actor]:
    return load_catalogue()


@pytest.fixture(scope="module")
def by_alias(catalogue: list[Actor]) -> dict[str, list[Actor]]:
    index: dict[str, list[Actor]] = defaultdict(list)
    for actor in catalogue:
        for name in actor.all_names:
            index[normalise_alias(name)].append(actor)
    return index


def records(by_alias: dict[str, list[Actor]], name: str) -> list[str]:
    return sorted(a.name for a in by_alias.get(normalise_alias(name), []))


def test_catalogue_is_deterministic_and_merged(catalogue: list[Actor]) -> None:
    again = load_catalogue()
    assert [(a.name, a.aliases, a.country, a.mitre_id) for a in again] == [
        (a.name, a.aliases, a.country, a.mitre_id) for a in catalogue
    ]
    # 864 MISP entries and 183 MITRE groups (a few revoked) merge into fewer records.
    assert 700 < len(catalogue) < 1000
    names = [normalise_alias(a.name) for a in catalogue]
    assert len(names) == len(set(names)), "canonical names are unique"
    assert all(a.origin == "catalogue" and a.id is None for a in catalogue)
    # Every live MITRE group id appears on exactly one record.
    ids = [a.mitre_id for a in catalogue if a.mitre_id]
    assert len(ids) == len(set(ids)) > 150


def test_catalogue_version_is_stable_and_names_the_package() -> None:
    assert catalogue_version() == catalogue_version()
    assert catalogue_version().startswith("pymispgalaxies-")


def test_design_examples(catalogue: list[Actor], by_alias: dict[str, list[Actor]]) -> None:
    flax = next(a for a in catalogue if a.name == "Flax Typhoon")
    assert flax.country == "CN"
    assert {"Ethereal Panda", "Storm-0919"} <= set(flax.aliases)
    assert flax.schemes["microsoft"] == ["Flax Typhoon", "Storm-0919"]
    assert flax.schemes["crowdstrike"] == ["Ethereal Panda"]
    assert flax.description and flax.refs

    for name in ("APT29", "apt 29", "Cozy Bear", "Midnight Blizzard", "NOBELIUM"):
        assert records(by_alias, name) == ["APT29"], name
    apt29 = by_alias["apt29"][0]
    assert apt29.mitre_id == "G0016" and apt29.country == "RU"
    assert "Russia" in apt29.description and "](" not in apt29.description  # links stripped
    assert "Cozy Bear" in apt29.schemes["crowdstrike"]
    assert "IRON HEMLOCK" in apt29.schemes["secureworks"]

    # MISP lists Salt Typhoon under GhostEmperor; MITRE has Salt Typhoon (G1045): one record.
    salt = by_alias["salttyphoon"]
    assert [a.name for a in salt] == ["Salt Typhoon"]
    assert {"GhostEmperor", "FamousSparrow"} <= set(salt[0].aliases)
    assert salt[0].mitre_id == "G1045" and salt[0].country == "CN"


SAME_ACTOR = [
    # (canonical name in the merged catalogue, alias) — each checked against the data
    ("APT29", "Cozy Bear"), ("APT29", "Midnight Blizzard"), ("APT29", "NOBELIUM"),
    ("APT29", "The Dukes"), ("APT29", "UNC2452"), ("APT29", "IRON HEMLOCK"),
    ("APT29", "Cloaked Ursa"), ("APT29", "G0016"),
    ("APT28", "Fancy Bear"), ("APT28", "Forest Blizzard"), ("APT28", "Sofacy"),
    ("APT28", "STRONTIUM"), ("APT28", "Sednit"), ("APT28", "Pawn Storm"),
    ("APT28", "IRON TWILIGHT"), ("APT28", "Fighting Ursa"),
    ("Flax Typhoon", "Ethereal Panda"), ("Flax Typhoon", "Storm-0919"),
    ("Volt Typhoon", "BRONZE SILHOUETTE"), ("Volt Typhoon", "Vanguard Panda"),
    ("Volt Typhoon", "Insidious Taurus"), ("Volt Typhoon", "VOLTZITE"),
    ("Salt Typhoon", "GhostEmperor"), ("Salt Typhoon", "OPERATOR PANDA"),
    ("Lazarus Group", "Hidden Cobra"), ("Lazarus Group", "Diamond Sleet"),
    ("Lazarus Group", "Labyrinth Chollima"), ("Lazarus Group", "Lazarus"),
    ("Sandworm Team", "Sandworm"), ("Sandworm Team", "Seashell Blizzard"),
    ("Sandworm Team", "Voodoo Bear"), ("Sandworm Team", "APT44"),
    ("Turla", "Venomous Bear"), ("Turla", "Secret Blizzard"), ("Turla", "Snake"),
    ("Turla", "Waterbug"),
    ("Magic Hound", "Charming Kitten"), ("Magic Hound", "APT35"),
    ("Magic Hound", "Mint Sandstorm"), ("Magic Hound", "Phosphorus"),
    ("Kimsuky", "Emerald Sleet"), ("Kimsuky", "Velvet Chollima"), ("Kimsuky", "THALLIUM"),
    ("Scattered Spider", "Octo Tempest"), ("Scattered Spider", "UNC3944"),
    ("Scattered Spider", "Muddled Libra"),
    ("FIN7", "Carbon Spider"), ("FIN7", "Sangria Tempest"),
    ("Wizard Spider", "GOLD BLACKBURN"), ("Wizard Spider", "UNC1878"),
    ("APT41", "Wicked Panda"), ("APT41", "Brass Typhoon"), ("APT41", "BARIUM"),
    ("menuPass", "APT10"), ("menuPass", "Stone Panda"), ("menuPass", "Cloud Hopper"),
    ("APT1", "Comment Crew"), ("APT1", "PLA Unit 61398"),
    ("APT33", "Peach Sandstorm"), ("APT33", "Refined Kitten"),
    ("OilRig", "APT34"), ("OilRig", "Helix Kitten"), ("OilRig", "Hazel Sandstorm"),
    ("MuddyWater", "Mango Sandstorm"), ("MuddyWater", "Static Kitten"),
    ("APT31", "ZIRCONIUM"), ("APT31", "Violet Typhoon"), ("APT31", "Judgment Panda"),
    ("Leviathan", "APT40"), ("Leviathan", "Gingham Typhoon"),
    ("Mustang Panda", "RedDelta"), ("Mustang Panda", "BRONZE PRESIDENT"),
    ("Equation Group", "EQGRP"), ("Equation Group", "G0020"),
    ("Gamaredon Group", "Gamaredon"), ("Gamaredon Group", "Aqua Blizzard"),
    ("Gamaredon Group", "Primitive Bear"),
    ("Silk Typhoon", "HAFNIUM"),
    ("Star Blizzard", "SEABORGIUM"), ("Star Blizzard", "Callisto Group"),
    ("Andariel", "Onyx Sleet"), ("Andariel", "Silent Chollima"),
]


@pytest.mark.parametrize(("canonical", "alias"), SAME_ACTOR)
def test_alias_resolves_to_one_merged_record(
    by_alias: dict[str, list[Actor]], canonical: str, alias: str
) -> None:
    assert records(by_alias, alias) == [canonical]
    # (a canonical name may also be listed by another record: MISP's Lazarus lists Andariel)
    assert canonical in records(by_alias, canonical)


DIFFERENT_ACTORS = [
    ("APT28", "APT29"),
    ("Fancy Bear", "Cozy Bear"),
    ("Flax Typhoon", "Volt Typhoon"),
    ("Flax Typhoon", "Salt Typhoon"),
    ("Volt Typhoon", "Salt Typhoon"),
    ("APT1", "APT10"),
    ("APT2", "APT29"),
    ("Kimsuky", "Lazarus Group"),
    # MISP marks these "similar" to each other; they are still different actors.
    ("Charming Kitten", "OilRig"),
    ("APT41", "APT17"),
    ("Turla", "APT26"),
    ("Earth Estries", "Salt Typhoon"),
]


@pytest.mark.parametrize(("a", "b"), DIFFERENT_ACTORS)
def test_distinct_actors_are_not_merged(by_alias: dict[str, list[Actor]], a: str, b: str) -> None:
    ra, rb = records(by_alias, a), records(by_alias, b)
    assert len(ra) == 1 and len(rb) == 1
    assert ra != rb


def test_shared_junk_alias_is_ambiguous_not_a_merge(by_alias: dict[str, list[Actor]]) -> None:
    # MISP lists "Grizzly Steppe" (a US government report name) under APT28 and APT29.
    assert records(by_alias, "Grizzly Steppe") == ["APT28", "APT29"]
    # MITRE keeps Carbanak (G0008) and FIN7 (G0046) apart though MISP's FIN7 lists Carbanak.
    assert records(by_alias, "Carbanak") == ["Carbanak", "FIN7"]
    # "COLDRIVER" (Star Blizzard) and "Cold River" (a different MISP entry) share a key only.
    assert records(by_alias, "COLDRIVER") == ["Cold River", "Star Blizzard"]


def test_related_lists_loose_links_by_canonical_name(catalogue: list[Actor]) -> None:
    salt = next(a for a in catalogue if a.name == "Salt Typhoon")
    assert "Earth Estries" in salt.related
    names = {a.name for a in catalogue}
    for actor in catalogue:
        assert actor.name not in actor.related
        assert set(actor.related) <= names


def test_alias_hygiene(catalogue: list[Actor]) -> None:
    for actor in catalogue:
        keys = [normalise_alias(n) for n in actor.all_names]
        assert len(keys) == len(set(keys)), actor.name  # one spelling per key
        assert all(keys)
        for name in actor.all_names:
            assert not name.lower().startswith("subgroup:")
            assert "(" not in name or name.startswith("NoName")  # "(QiAnXin)" notes dropped
        flat = [n for names in actor.schemes.values() for n in names]
        assert sorted(flat) == sorted(actor.all_names)


def test_suggestions_from_the_catalogue_names(catalogue: list[Actor]) -> None:
    names = [n for a in catalogue for n in a.all_names]
    assert Suggester(names).suggest("apt 92")[0] == "APT29"  # transposed digits
    assert Suggester(names).suggest("Grizly Step") == ["Grizzly Steppe"]
    assert Suggester(names).suggest("volt typhon")[0] == "Volt Typhoon"
    assert Suggester(names).suggest("flax")[0] == "Flax Typhoon"
    assert Suggester(names).suggest("Integrity Tech") == []  # nothing close: say so, don't guess


# --- operator overrides ---------------------------------------------------------------------


def test_load_overrides_fixture() -> None:
    path = FIXTURES / "actors_override.toml"
    overrides = load_overrides(path)
    assert [(o.kind, o.name) for o in overrides] == [
        ("actor", "Flax Typhoon"),
        ("actor", "Salt Typhoon"),
        ("actor", "Kettle Heron"),
        ("organisation", "Integrity Technology Group"),
    ]
    kettle = overrides[2]
    assert kettle.country == "IR"  # upper-cased
    assert kettle.aliases == ("UNC9901", "Ethereal Panda")
    assert kettle.schemes["UNC9901"] == "mandiant"
    assert kettle.where == f"{path}:17"
    org = overrides[3]
    assert org.linked_actor == "Flax Typhoon" and org.aliases == ("Integrity Tech",)


def test_invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "actors.toml"
    path.write_text('[[actor]]\nname = "Ok"\n\n[[actor]]\nname = "broken\n')
    with pytest.raises(OverridesError) as err:
        load_overrides(path)
    assert str(path) in str(err.value) and "line 5" in str(err.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[[actor]]\nname = "A"\n\n[[actor]]\nnam = "typo"\n', "toml:4: unknown key 'nam'"),
        ('[[actor]]\naliases = ["x"]\n', "toml:1: [[actor]] needs a non-empty 'name'"),
        ('[[actor]]\nname = "A"\ncountry = "Russia"\n', "toml:1: 'country' must be an ISO-2"),
        ('[[actor]]\nname = "A"\naliases = "B"\n', "'aliases' must be a list"),
        ('[[organisation]]\nname = "Acme"\n', "toml:1: [[organisation]] needs 'linked_actor'"),
        ('[[group]]\nname = "A"\n', "unknown table 'group'"),
    ],
)
def test_invalid_entries_name_file_and_line(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "actors.toml"
    path.write_text(body)
    with pytest.raises(OverridesError, match=None) as err:
        load_overrides(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_missing_overrides_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OverridesError, match="cannot read"):
        load_overrides(tmp_path / "absent.toml")
