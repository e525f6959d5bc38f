"""ensure_catalogue: a store built by older merge rules or data is reloaded, once."""

from __future__ import annotations

from pathlib import Path

from bot.intel.catalogue import catalogue_version
from bot.services.catalogue import ensure_catalogue
from storage.store import Store
from tests.conftest import make_settings


async def test_a_store_with_an_older_catalogue_version_is_reloaded(db_path: Path) -> None:
    store = await Store.open(db_path)
    try:
        # As a store filled by the previous release looks: another version, no meta.
        await store.db.execute(
            "UPDATE meta SET value = 'pymispgalaxies-1.0+rules1+0123456789ab'"
            " WHERE key = 'actors.catalogue_version'"
        )
        await store.db.execute("UPDATE actors SET meta = '{}'")
        tagger = await ensure_catalogue(store, make_settings(db_path))
        assert await store.actors.catalogue_version() == catalogue_version()
        (lockbit,) = await store.actors.resolve("LockBit 3.0")
        assert lockbit.name == "LockBit" and lockbit.meta["kind"] == "ransomware"
        assert tagger.tag("LockBit 3.0 affiliates and Hive ransomware") == ["LockBit", "Hive"]
        # The usual start: same version, nothing reloaded (the marker survives).
        await store.db.execute("UPDATE actors SET description = 'marker' WHERE name = 'Hive'")
        await ensure_catalogue(store, make_settings(db_path))
        (hive,) = await store.actors.resolve("Hive")
        assert hive.description == "marker"
    finally:
        await store.close()
