"""prepare_catalogue on the usual start: the shipped data is not hashed again while its
files' stamp is unchanged, the operator file is applied again only when it (or the
catalogue) changed, and the tagger for ingest is built on first use."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from bot.intel.catalogue import OverridesError, catalogue_inputs
from bot.services import catalogue as service
from bot.services.catalogue import (
    OVERRIDES_KEY,
    STAMP_KEY,
    LazyTagger,
    files_stamp,
    prepare_catalogue,
)
from storage.store import Store
from tests.conftest import make_settings

OVERRIDE = '[[actor]]\nname = "Flax Typhoon"\naliases = ["{alias}"]\n'


def forbid(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError(f"{name} was called on the usual start")

    monkeypatch.setattr(service, name, refuse)


async def test_the_usual_start_neither_hashes_nor_reloads(db_path: Path, monkeypatch) -> None:
    store = await Store.open(db_path)
    try:
        assert (await store.meta.get(STAMP_KEY)).startswith(files_stamp(catalogue_inputs()))
        forbid(monkeypatch, "catalogue_version")
        forbid(monkeypatch, "load_catalogue")
        forbid(monkeypatch, "load_overrides")
        await prepare_catalogue(store, make_settings(db_path))
        (flax,) = await store.actors.resolve("Ethereal Panda")
        assert flax.name == "Flax Typhoon"
    finally:
        await store.close()


async def test_a_changed_stamp_rehashes_but_reloads_only_a_new_version(
    db_path: Path, monkeypatch
) -> None:
    store = await Store.open(db_path)
    try:
        # As after a reinstall of the same data: the files' times changed, the hash did not.
        await store.meta.set(STAMP_KEY, "0000=" + (await store.actors.catalogue_version()))
        forbid(monkeypatch, "load_catalogue")
        await prepare_catalogue(store, make_settings(db_path))
        stamp = await store.meta.get(STAMP_KEY)
        assert stamp.split("=")[0] == files_stamp(catalogue_inputs())
    finally:
        await store.close()


async def test_the_operator_file_is_applied_when_it_changes(db_path: Path,
                                                             tmp_path: Path) -> None:
    actors_file = tmp_path / "actors.toml"
    actors_file.write_text(OVERRIDE.format(alias="Wombat Ridge"))
    settings = make_settings(db_path, SECBRIEF_ACTORS_FILE=actors_file)
    store = await Store.open(db_path)
    try:
        await prepare_catalogue(store, settings)
        (flax,) = await store.actors.resolve("Wombat Ridge")
        assert flax.name == "Flax Typhoon"
        applied = await store.meta.get(OVERRIDES_KEY)
        actors_file.write_text(OVERRIDE.format(alias="Quokka Harbour"))
        await prepare_catalogue(store, settings)
        assert await store.meta.get(OVERRIDES_KEY) != applied
        assert await store.actors.resolve("Wombat Ridge") == []
        (flax,) = await store.actors.resolve("Quokka Harbour")
        assert flax.name == "Flax Typhoon"
        # No file any more: the operator's aliases are undone.
        await prepare_catalogue(store, make_settings(db_path))
        assert await store.actors.resolve("Quokka Harbour") == []
    finally:
        await store.close()


async def test_a_missing_operator_file_is_still_an_error(db_path: Path, tmp_path: Path) -> None:
    settings = make_settings(db_path, SECBRIEF_ACTORS_FILE=tmp_path / "gone.toml")
    store = await Store.open(db_path)
    try:
        with pytest.raises(OverridesError, match=r"gone\.toml"):
            await prepare_catalogue(store, settings)
    finally:
        await store.close()


def test_the_lazy_tagger_builds_on_first_use_and_pickles_as_pairs() -> None:
    tagger = LazyTagger([("Cozy Bear", "APT29"), ("APT29", "APT29")])
    assert not tagger.built
    copy = pickle.loads(pickle.dumps(tagger))
    assert tagger.tag("Cozy Bear phished diplomats.") == ["APT29"]
    assert tagger.built and not copy.built
    assert copy.tag("APT29 again") == ["APT29"]
