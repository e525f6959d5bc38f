"""ActorRepository on a real store (SQLite and PostgreSQL): catalogue load, resolution,
autocomplete, operator overrides and organisations."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.intel.actor_tagging import ActorTagger
from bot.intel.catalogue import load_catalogue, load_overrides
from storage.actors import Actor, ActorOverride, ActorRepository, OverrideConflict
from storage.db import Database, migrations, open_db
from tests.intel.test_catalogue import SAME_ACTOR

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def catalogue() -> list[Actor]:
    return load_catalogue()


@pytest.fixture
async def db(empty_db: Path | str) -> AsyncIterator[Database]:
    conn = await open_db(empty_db)
    yield conn
    await conn.close()


@pytest.fixture
async def repo(db: Database, catalogue: list[Actor]) -> ActorRepository:
    repository = ActorRepository(db)
    await repository.replace_catalogue(catalogue, version="v1")
    return repository


async def count(db: Database, sql: str) -> int:
    async with db.execute(sql) as cur:
        row = await cur.fetchone()
    return int(row[0])


async def names(repo: ActorRepository, query: str) -> list[str]:
    return [a.name for a in await repo.resolve(query)]


# --- catalogue ------------------------------------------------------------------------------


async def test_replace_catalogue_stores_every_actor_and_alias(
    db: Database, repo: ActorRepository, catalogue: list[Actor]
) -> None:
    assert await repo.catalogue_version() == "v1"
    assert await count(db, "SELECT COUNT(*) FROM actors") == len(catalogue)
    aliases = sum(len(a.all_names) for a in catalogue)
    assert await count(db, "SELECT COUNT(*) FROM actor_aliases") == aliases


async def test_empty_store_has_no_catalogue_version(db: Database) -> None:
    repo = ActorRepository(db)
    assert await repo.catalogue_version() is None
    assert await repo.resolve("APT29") == []


async def test_replace_catalogue_is_idempotent_and_keeps_ids(
    db: Database, repo: ActorRepository, catalogue: list[Actor]
) -> None:
    before = {a.name: a.id for a in await repo.all_actors()}
    await repo.replace_catalogue(catalogue, version="v1")
    after = {a.name: a.id for a in await repo.all_actors()}
    assert before == after
    assert await count(db, "SELECT COUNT(*) FROM actor_aliases") == sum(
        len(a.all_names) for a in catalogue
    )


async def test_new_catalogue_version_updates_in_place(
    db: Database, repo: ActorRepository, catalogue: list[Actor]
) -> None:
    apt29_id = (await repo.resolve("APT29"))[0].id
    changed = [
        replace(a, aliases=[*a.aliases, "Velvet Teapot"]) if a.name == "APT29" else a
        for a in catalogue
        if a.name != "Flax Typhoon"
    ]
    await repo.replace_catalogue(changed, version="v2")
    assert await repo.catalogue_version() == "v2"
    assert await names(repo, "Flax Typhoon") == []
    assert await names(repo, "Ethereal Panda") == []
    resolved = await repo.resolve("velvet teapot")
    assert [a.name for a in resolved] == ["APT29"] and resolved[0].id == apt29_id


async def test_get_returns_a_plain_record(repo: ActorRepository) -> None:
    (flax,) = await repo.resolve("Flax Typhoon")
    again = await repo.get(flax.id or 0)
    assert again == flax
    assert isinstance(again, Actor)
    assert flax.country == "CN" and flax.origin == "catalogue" and flax.mitre_id is None
    assert flax.aliases == ["Ethereal Panda", "Storm-0919"]
    assert flax.schemes == {"microsoft": ["Flax Typhoon", "Storm-0919"],
                            "crowdstrike": ["Ethereal Panda"]}
    assert isinstance(flax.refs, list) and all(isinstance(r, str) for r in flax.refs)
    assert await repo.get(10**9) is None


# --- resolution -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["APT29", "apt 29", "APT-29", "Cozy Bear", "COZY BEAR", "Midnight Blizzard",
              "NOBELIUM", "g0016"]
)
async def test_apt29_is_findable_by_any_name(repo: ActorRepository, query: str) -> None:
    assert await names(repo, query) == ["APT29"]


async def test_alias_pairs_resolve_through_the_store(repo: ActorRepository) -> None:
    wrong = [
        (canonical, alias, got)
        for canonical, alias in SAME_ACTOR
        if (got := await names(repo, alias)) != [canonical]
    ]
    assert len(SAME_ACTOR) >= 30
    assert wrong == []


async def test_ambiguous_unknown_and_canonical_names(repo: ActorRepository) -> None:
    assert await names(repo, "Grizzly Steppe") == ["APT28", "APT29"]
    # One alias key, two spellings: each picks the record spelling it so.
    assert await names(repo, "COLDRIVER") == ["Star Blizzard"]
    assert await names(repo, "Cold River") == ["Cold River"]
    assert await names(repo, "Labyrinth Chollima") == [
        "Citrine Sleet", "Lazarus Group", "Moonstone Sleet", "TraderTraitor"
    ]
    # An exact canonical name wins over records that merely list it as an alias.
    assert await names(repo, "Carbanak") == ["Carbanak"]
    assert await names(repo, "Ember Bear") == ["Ember Bear"]
    assert await names(repo, "Andariel") == ["Andariel"]
    assert await names(repo, "Quiet Meadow Collective") == []
    assert await names(repo, " -- ") == []


async def test_issue_10_names_resolve_to_one_actor(repo: ActorRepository) -> None:
    for name, expected in (
        ("Sapphire Sleet", "APT38"), ("Lazarus", "Lazarus Group"), ("LockBit 3.0", "LockBit"),
        ("ALPHV", "BlackCat"), ("Cl0p", "Clop"), ("Hive", "Hive"), ("Qilin", "Qilin"),
        ("Unit 26165", "APT28"), ("Unit 74455", "Sandworm Team"), ("UNC6040", "UNC6040"),
        ("Scattered LAPSUS$ Hunters", "Scattered LAPSUS$ Hunters"),
        ("Slow Pisces", "TraderTraitor"), ("Copper Typhoon", "Tonto Team"),
        ("Antique Typhoon", "Antique Typhoon"), ("Houndstooth Typhoon", "Houndstooth Typhoon"),
        ("HYDROGEN", "APT12"), ("CHLORINE", "APT19"), ("Star Blizzard", "Star Blizzard"),
        ("Seashell Blizzard", "Sandworm Team"),
    ):
        assert await names(repo, name) == [expected], name
    (lazarus,) = await repo.resolve("Lazarus")
    assert {"APT38", "Andariel", "Moonstone Sleet"} <= set(lazarus.related)
    assert "Sapphire Sleet" not in lazarus.aliases


async def test_meta_and_scheme_order_survive_the_store(
    repo: ActorRepository, catalogue: list[Actor]
) -> None:
    (stored,) = await repo.resolve("APT29")
    original = next(a for a in catalogue if a.name == "APT29")
    assert stored.meta == original.meta and stored.meta["kind"] == "apt"
    assert stored.schemes == original.schemes  # best-known order, not alphabetical
    assert stored.schemes["microsoft"][0] == "Midnight Blizzard"


async def test_migration_10_adds_meta_to_a_store_that_predates_it(tmp_path: Path) -> None:
    path = tmp_path / "v9.db"
    old = sqlite3.connect(path)
    for number, _name, sql in migrations():
        if number <= 9:
            old.executescript(sql)
    old.execute("PRAGMA user_version = 9")
    old.execute(
        "INSERT INTO actors (name, name_norm, origin) VALUES ('Old One', 'oldone', 'operator')"
    )
    old.commit()
    old.close()
    conn = await open_db(path)  # applies 010 onwards
    try:
        repo = ActorRepository(conn)
        (found,) = await repo.resolve("Old One") or [
            a for a in await repo.all_actors() if a.name == "Old One"
        ]
        assert found.meta == {}  # the column's default; readers treat missing keys as empty
        assert await repo.catalogue_version() is None  # so ensure_catalogue fills it in
    finally:
        await conn.close()


async def test_alias_index_and_names(repo: ActorRepository) -> None:
    index = await repo.alias_index()
    assert len(index["grizzlysteppe"]) == 2
    assert len(index["apt29"]) == 1
    all_names = await repo.all_alias_names()
    assert "Cozy Bear" in all_names and "Flax Typhoon" in all_names
    assert len(all_names) == len(set(all_names))


async def test_tagger_built_from_the_store(repo: ActorRepository) -> None:
    tagger = ActorTagger(await repo.alias_pairs())
    text = "Flax Typhoon and Midnight Blizzard were both named; Grizzly Steppe was not."
    assert tagger.tag(text) == ["Flax Typhoon", "APT29"]


# --- autocomplete ---------------------------------------------------------------------------


async def test_autocomplete_prefix(repo: ActorRepository) -> None:
    hits = await repo.autocomplete("apt2", limit=25)
    assert hits[0] == ("APT2", "Putter Panda")  # the exact key sorts first
    assert ("APT29", "APT29") in hits and ("APT28", "APT28") in hits
    assert all(alias.upper().replace(" ", "").startswith("APT2") for alias, _ in hits)
    assert ("Cozy Bear", "APT29") in await repo.autocomplete("cozy b")
    assert len(await repo.autocomplete("a", limit=5)) == 5
    assert await repo.autocomplete("zzzzqqq") == []
    first = await repo.autocomplete("", limit=3)
    assert len(first) == 3 and all(alias == name for alias, name in first)


@pytest.mark.sqlite_only  # SQLite's query plan
async def test_autocomplete_uses_the_alias_index(db: Database) -> None:
    async with db.execute(
        "EXPLAIN QUERY PLAN SELECT al.alias, a.name FROM actor_aliases AS al JOIN actors AS a"
        " ON a.id = al.actor_id WHERE al.alias_norm >= ? AND al.alias_norm < ?"
        " ORDER BY al.alias_norm, a.name_norm LIMIT ?",
        ("apt2", "apt3", 25),
    ) as cur:
        plan = " ".join(str(row[3]) for row in await cur.fetchall())
    assert "SEARCH al USING PRIMARY KEY (alias_norm>? AND alias_norm<?)" in plan


# --- operator overrides ---------------------------------------------------------------------


async def test_overrides_amend_add_and_link(repo: ActorRepository) -> None:
    salt_before = (await repo.resolve("Salt Typhoon"))[0]
    await repo.apply_overrides(load_overrides(FIXTURES / "actors_override.toml"))

    (flax,) = await repo.resolve("Harbour Lantern")
    assert flax.name == "Flax Typhoon" and flax.origin == "catalogue"
    assert "Harbour Lantern" in flax.aliases
    assert flax.refs[-1] == "https://example.org/notes/flax-typhoon-sanctions"
    assert flax.schemes["other"] == ["Harbour Lantern"]

    (salt,) = await repo.resolve("Salt Typhoon")
    assert salt.description.startswith("Operator note:")
    assert salt.country == salt_before.country == "CN"

    (kettle,) = await repo.resolve("unc 9901")
    assert (kettle.name, kettle.origin, kettle.country) == ("Kettle Heron", "operator", "IR")
    assert kettle.description.startswith("An intrusion set")
    assert kettle.schemes["mandiant"] == ["UNC9901"]

    # Kettle Heron also claims Ethereal Panda: now ambiguous, while the canonical name is not.
    assert await names(repo, "Ethereal Panda") == ["Flax Typhoon", "Kettle Heron"]
    assert await names(repo, "Flax Typhoon") == ["Flax Typhoon"]

    # An organisation is never an actor, but lookups can say whom it is linked to.
    assert await repo.resolve("Integrity Technology Group") == []
    org = await repo.find_organisation("integrity tech")
    assert org is not None
    org_name, linked = org
    assert org_name == "Integrity Technology Group"
    assert linked is not None and linked.name == "Flax Typhoon"
    assert await repo.find_organisation("Flax Typhoon") is None


async def test_overrides_are_idempotent_survive_reload_and_can_be_undone(
    db: Database, repo: ActorRepository, catalogue: list[Actor]
) -> None:
    overrides = load_overrides(FIXTURES / "actors_override.toml")
    await repo.apply_overrides(overrides)
    kettle_id = (await repo.resolve("Kettle Heron"))[0].id
    rows = await count(db, "SELECT COUNT(*) FROM actor_aliases")
    await repo.apply_overrides(overrides)
    assert (await repo.resolve("Kettle Heron"))[0].id == kettle_id
    assert await count(db, "SELECT COUNT(*) FROM actor_aliases") == rows

    # A catalogue reload keeps operator actors and amendments (start-up re-applies anyway).
    await repo.replace_catalogue(catalogue, version="v2")
    assert await names(repo, "Kettle Heron") == ["Kettle Heron"]
    assert await names(repo, "Harbour Lantern") == ["Flax Typhoon"]
    assert (await repo.find_organisation("Integrity Technology Group")) is not None

    # Removing the file's entries undoes them.
    await repo.apply_overrides([])
    assert await names(repo, "Kettle Heron") == []
    assert await names(repo, "Harbour Lantern") == []
    assert await names(repo, "Ethereal Panda") == ["Flax Typhoon"]
    assert await repo.find_organisation("Integrity Technology Group") is None
    (salt,) = await repo.resolve("Salt Typhoon")
    assert not salt.description.startswith("Operator note:")
    (flax,) = await repo.resolve("Flax Typhoon")
    assert "https://example.org/notes/flax-typhoon-sanctions" not in flax.refs


async def test_conflicting_overrides_change_nothing(repo: ActorRepository) -> None:
    good = load_overrides(FIXTURES / "actors_override.toml")
    await repo.apply_overrides(good)
    ambiguous = ActorOverride(
        kind="actor", name="Grizzly Steppe", description="x", where="actors.toml:3"
    )
    with pytest.raises(OverrideConflict, match=r"actors.toml:3: 'Grizzly Steppe' is ambiguous"):
        await repo.apply_overrides([ambiguous])
    orphan = ActorOverride(
        kind="organisation", name="Acme Shell Co", linked_actor="Nobody Known",
        where="actors.toml:9",
    )
    with pytest.raises(OverrideConflict, match="'Nobody Known' is not a known actor"):
        await repo.apply_overrides([orphan])
    # The earlier state is intact.
    assert await names(repo, "Kettle Heron") == ["Kettle Heron"]
    assert await repo.find_organisation("Integrity Technology Group") is not None
    assert await repo.find_organisation("Acme Shell Co") is None
