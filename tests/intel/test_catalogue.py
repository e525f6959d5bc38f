"""The merged catalogue (MISP, MITRE, Microsoft, Tidal, ransomware operations), checked
against the data the package really ships."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from bot.intel.aliases import Suggester, best_known_names, normalise_alias
from bot.intel.catalogue import (
    Actor,
    OverridesError,
    catalogue_version,
    load_catalogue,
    load_overrides,
)
from storage.actors import pick_exact

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
    # ~3,500 entries (MISP, MITRE, Microsoft's table and galaxy, Tidal, ransomware
    # operations) merge into far fewer records.
    assert 900 < len(catalogue) < 1200
    names = [normalise_alias(a.name) for a in catalogue]
    assert len(names) == len(set(names)), "canonical names are unique"
    assert all(a.origin == "catalogue" and a.id is None for a in catalogue)
    # Every live MITRE group id appears on exactly one record.
    ids = [a.mitre_id for a in catalogue if a.mitre_id]
    assert len(ids) == len(set(ids)) > 150


def test_catalogue_version_is_stable_and_names_the_package() -> None:
    assert catalogue_version() == catalogue_version()
    assert catalogue_version().startswith("pymispgalaxies-")
    assert "+rules2+" in catalogue_version()  # bumped with issue 10's merge rules


def _own_data(tmp_path: Path) -> Path:
    data = Path(__file__).resolve().parents[2] / "bot" / "intel" / "data"
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    return copy


def test_catalogue_version_changes_with_the_package_data(tmp_path: Path) -> None:
    own = _own_data(tmp_path)
    assert catalogue_version(own_dir=own) == catalogue_version()
    supplement = own / "actor_supplement.json"
    doc = json.loads(supplement.read_text(encoding="utf-8"))
    doc["actors"].append({"name": "Quiet Kettle", "aliases": ["UNC9999"], "source": "test"})
    supplement.write_text(json.dumps(doc), encoding="utf-8")
    assert catalogue_version(own_dir=own) != catalogue_version()
    added = [a for a in load_catalogue(own_dir=own) if a.name == "Quiet Kettle"]
    assert [a.aliases for a in added] == [["UNC9999"]]


def test_a_supplement_entry_without_a_source_note_is_refused(tmp_path: Path) -> None:
    own = _own_data(tmp_path)
    supplement = own / "actor_supplement.json"
    doc = json.loads(supplement.read_text(encoding="utf-8"))
    doc["actors"].append({"name": "No Source Group", "aliases": []})
    supplement.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ValueError, match="source note"):
        load_catalogue(own_dir=own)


def test_every_supplement_entry_has_a_source_note() -> None:
    data = Path(__file__).resolve().parents[2] / "bot" / "intel" / "data"
    doc = json.loads((data / "actor_supplement.json").read_text(encoding="utf-8"))
    assert doc["actors"] and all(len(e["source"]) > 20 for e in doc["actors"])


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
    ("Lazarus Group", "Lazarus"), ("Lazarus Group", "ZINC"),
    ("Sandworm Team", "Sandworm"), ("Sandworm Team", "Seashell Blizzard"),
    ("Sandworm Team", "Voodoo Bear"), ("Sandworm Team", "APT44"),
    ("Turla", "Venomous Bear"), ("Turla", "Secret Blizzard"), ("Turla", "Snake"),
    ("Turla", "Waterbug"),
    ("Magic Hound", "Charming Kitten"), ("Magic Hound", "APT35"),
    ("Magic Hound", "Mint Sandstorm"), ("Magic Hound", "Phosphorus"),
    ("Kimsuky", "Emerald Sleet"), ("Kimsuky", "THALLIUM"),
    ("Scattered Spider", "Octo Tempest"), ("Scattered Spider", "UNC3944"),
    ("Scattered Spider", "Muddled Libra"),
    ("FIN7", "Carbon Spider"), ("FIN7", "Sangria Tempest"),
    ("Wizard Spider", "GOLD BLACKBURN"), ("Wizard Spider", "UNC1878"),
    ("APT41", "Brass Typhoon"), ("APT41", "BARIUM"),
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
    # issue 10: Microsoft's table, sub-units, ransomware operations, new clusters
    ("Star Blizzard", "TA446"), ("Star Blizzard", "Callisto"),
    ("Sandworm Team", "IRIDIUM"), ("Sandworm Team", "Unit 74455"),
    ("APT28", "Unit 26165"), ("Tonto Team", "Copper Typhoon"), ("APT43", "Opal Sleet"),
    ("APT38", "Sapphire Sleet"), ("APT38", "Bluenoroff"), ("APT12", "HYDROGEN"),
    ("APT19", "CHLORINE"), ("Antique Typhoon", "Storm-0558"),
    ("Houndstooth Typhoon", "HASSIUM"), ("TraderTraitor", "Jade Sleet"),
    ("TraderTraitor", "Slow Pisces"), ("FIN7", "ELBRUS"), ("Wizard Spider", "FIN12"),
    ("LockBit", "LockBit 3.0"), ("LockBit", "Lockbit3"), ("BlackCat", "ALPHV"),
    ("Clop", "Cl0p"), ("Hive", "Hive"), ("Qilin", "Qilin"), ("Qilin", "Agenda"),
    ("Black Basta", "BlackBasta"), ("Play", "PLAY"), ("UNC6040", "UNC6040"),
    ("Scattered LAPSUS$ Hunters", "Scattered LAPSUS Hunters"),
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
    # Microsoft's table lists these under several groups: genuinely shared, so ambiguous.
    assert records(by_alias, "Labyrinth Chollima") == [
        "Citrine Sleet", "Lazarus Group", "Moonstone Sleet", "TraderTraitor"
    ]
    assert records(by_alias, "Velvet Chollima") == ["APT43", "Kimsuky", "Ruby Sleet"]
    assert records(by_alias, "Wicked Panda") == ["APT41", "Winnti Group"]
    # "COLDRIVER" (Star Blizzard) and "Cold River" (a Lebanese campaign) share a key only.
    assert records(by_alias, "COLDRIVER") == ["Cold River", "Star Blizzard"]
    cold_river = by_alias["nahrelbard"]
    assert [a.name for a in cold_river] == ["Cold River"] and cold_river[0].country is None


def test_a_name_stays_with_the_record_that_owns_it(
    catalogue: list[Actor], by_alias: dict[str, list[Actor]]
) -> None:
    # MITRE keeps Carbanak (G0008) and FIN7 (G0046) apart though MISP's FIN7 lists Carbanak:
    # FIN7 no longer bears the name, and names Carbanak as related instead.
    assert records(by_alias, "Carbanak") == ["Carbanak"]
    fin7 = next(a for a in catalogue if a.name == "FIN7")
    assert "Carbanak" in fin7.related and "Carbanak" not in fin7.aliases
    # A stray MISP entry named like a Microsoft group's old name, refused a merge by its
    # country (Resecurity's Iranian "IRIDIUM"), is qualified; IRIDIUM itself is Sandworm.
    assert records(by_alias, "IRIDIUM") == ["Sandworm Team"]
    assert records(by_alias, "IRIDIUM (IR)") == ["IRIDIUM (IR)"]


def test_lazarus_umbrella_is_not_lumped(
    catalogue: list[Actor], by_alias: dict[str, list[Actor]]
) -> None:
    # MISP's "Lazarus Group" lists every North Korean group; MITRE and Microsoft keep
    # Diamond, Sapphire, Citrine, Moonstone and Onyx Sleet apart. Each resolves to its own.
    seen = {
        name: records(by_alias, name)
        for name in ("Lazarus", "Diamond Sleet", "Sapphire Sleet", "Citrine Sleet",
                     "Moonstone Sleet", "Onyx Sleet", "Andariel", "APT38", "Jade Sleet")
    }
    assert all(len(found) == 1 for found in seen.values()), seen
    assert len({found[0] for found in seen.values()}) == 6, seen
    assert seen["Lazarus"] == seen["Diamond Sleet"] == ["Lazarus Group"]
    lazarus = next(a for a in catalogue if a.name == "Lazarus Group")
    # The umbrella lists its sub-groups instead of claiming their names.
    assert {"APT38", "Andariel", "Citrine Sleet", "Moonstone Sleet"} <= set(lazarus.related)
    assert not {"Sapphire Sleet", "Andariel", "APT38"} & {a for a in lazarus.aliases}


def test_names_equal_up_to_case_space_and_punctuation_are_one_name(
    by_alias: dict[str, list[Actor]]
) -> None:
    for a, b in (("LuckyMouse", "Lucky Mouse"), ("Lockbit3", "LOCKBIT 3"),
                 ("Scattered LAPSUS$ Hunters", "scattered lapsus hunters")):
        assert records(by_alias, a) == records(by_alias, b) and len(records(by_alias, a)) == 1


def _microsoft_rows() -> list[list[str]]:
    data = Path(__file__).resolve().parents[2] / "bot" / "intel" / "data"
    (path,) = data.glob("microsoft_mapping_*.json")
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [
        [row["Threat actor name"], *(n.strip() for n in row["Other names"].split(",") if n.strip())]
        for row in rows
    ]


def test_every_name_in_microsofts_table_resolves_to_its_rows_actor(
    catalogue: list[Actor], by_alias: dict[str, list[Actor]]
) -> None:
    """Each row's current name is one actor, which holds the row's other names. A name
    several rows list (LABYRINTH CHOLLIMA) is ambiguous among those rows' actors; a name
    that is another group's own name — a live MITRE group MITRE keeps apart from this row's
    (Earth Lusca vs Charcoal Typhoon = Aquatic Panda), or another row's current name —
    resolves to that group."""
    rows = _microsoft_rows()
    assert len(rows) > 150
    listed: dict[str, int] = defaultdict(int)
    for row in rows:
        for name in {normalise_alias(n) for n in row}:
            listed[name] += 1
    row_actor = {}
    for row in rows:
        found = pick_exact(by_alias.get(normalise_alias(row[0]), []), row[0])
        assert len(found) == 1, (row[0], [a.name for a in found])
        row_actor[row[0]] = found[0]
    problems = []
    for row in rows:
        actor = row_actor[row[0]]
        for name in row[1:]:
            found = pick_exact(by_alias.get(normalise_alias(name), []), name)
            # another group's own name: a live MITRE group, or another row's current name
            owned_elsewhere = (
                len(found) == 1
                and normalise_alias(found[0].name) == normalise_alias(name)
                and (found[0].mitre_id is not None or found[0] in row_actor.values())
            )
            if listed[normalise_alias(name)] > 1:
                ok = bool(found) and (actor in by_alias[normalise_alias(name)] or owned_elsewhere)
            else:
                ok = found == [actor] or owned_elsewhere
            if not ok:
                problems.append((row[0], name, [a.name for a in found]))
    assert problems == []


def test_ransomware_operations_are_actors_but_malware_families_are_not(
    by_alias: dict[str, list[Actor]]
) -> None:
    for name in ("LockBit", "BlackCat", "Clop", "Hive", "Qilin", "Akira", "Black Basta",
                 "Play", "RansomHub", "Royal", "Medusa", "Cactus", "8Base", "BianLian",
                 "Rhysida"):
        (actor,) = by_alias[normalise_alias(name)]
        assert actor.meta["kind"] == "ransomware", name
        assert "financial" in actor.meta["motivation"], name
    # The galaxy's one-off families (no operation behind them) are not in the catalogue.
    for name in ("CryptoJacky", "Nhtnwcuf", "mcafee", "telegram"):
        assert normalise_alias(name) not in by_alias, name
    # Every listed operation is exactly one actor.
    data = Path(__file__).resolve().parents[2] / "bot" / "intel" / "data"
    doc = json.loads((data / "ransomware_operators.json").read_text(encoding="utf-8"))
    assert len(doc["operations"]) > 50
    for op in doc["operations"]:
        assert len(by_alias[normalise_alias(op["name"])]) == 1, op["name"]
    # MedusaLocker is a different operation from Medusa.
    assert records(by_alias, "MedusaLocker") == ["MedusaLocker"]


def test_actor_profile_metadata_from_the_clusters(catalogue: list[Actor]) -> None:
    by_name = {a.name: a for a in catalogue}
    apt28 = by_name["APT28"].meta
    assert apt28["kind"] == "apt" and apt28["motivation"] == ["espionage"]
    assert {"Government", "Military"} <= set(apt28["sectors"])
    assert {"Ukraine", "Georgia", "United States"} <= set(apt28["targets"])
    # Victims that are organisations, and sectors that are countries, are left out.
    assert "NATO" not in apt28["targets"] and "Russia" not in apt28["sectors"]
    assert by_name["LockBit"].meta["kind"] == "ransomware"
    assert by_name["FIN7"].meta["kind"] == "cybercrime"
    for actor in catalogue:
        assert set(actor.meta) == {"motivation", "sectors", "targets", "kind"}
        assert all(isinstance(v, list) for k, v in actor.meta.items() if k != "kind")


def test_schemes_and_best_known_names_put_the_names_people_use_first(
    catalogue: list[Actor],
) -> None:
    by_name = {a.name: a for a in catalogue}
    apt29 = by_name["APT29"]
    assert list(apt29.schemes)[:3] == ["microsoft", "crowdstrike", "mandiant"]
    assert apt29.schemes["microsoft"][0] == "Midnight Blizzard"  # before NOBELIUM
    assert best_known_names(apt29, 2) == ["Midnight Blizzard", "Cozy Bear"]
    assert "ATK7" not in best_known_names(apt29, 3)
    assert best_known_names(by_name["APT28"], 2) == ["Forest Blizzard", "Fancy Bear"]
    assert best_known_names(by_name["Sandworm Team"], 2) == ["Seashell Blizzard", "Voodoo Bear"]
    assert best_known_names(by_name["Lazarus Group"], 2) == ["Diamond Sleet", "Labyrinth Chollima"]
    assert not any(n.startswith("LockBit") for n in best_known_names(by_name["LockBit"]))


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
            # "(QiAnXin)" notes dropped; "(IR)" qualifies a record that gave its name up
            assert "(" not in name or name.startswith("NoName") or name == "IRIDIUM (IR)"
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
