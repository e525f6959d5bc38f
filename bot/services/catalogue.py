"""Keep the stored actor catalogue in step with the shipped data and the operator file.

Every command opens the store through this, so the usual start must cost almost
nothing: the shipped data's version (a hash of a few megabytes) is recomputed only when
the files' sizes or modification times differ from the stamp stored beside it, and the
operator file is applied again only when its content or the catalogue changed. The actor
tagger is built on the first text it tags, so a lookup or a search never builds it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.intel.catalogue import (
    MERGE_RULES_VERSION,
    catalogue_inputs,
    catalogue_version,
    load_catalogue,
    load_overrides,
)
from storage.store import Store

if TYPE_CHECKING:
    from bot.intel.actor_tagging import ActorTagger

log = logging.getLogger(__name__)

# meta keys: "<files stamp>=<version those files hash to>", and "<version>|<file digest>"
STAMP_KEY = "actors.catalogue_stamp"
OVERRIDES_KEY = "actors.overrides_applied"


class LazyTagger:
    """An ActorTagger over the given alias pairs, built on the first call to tag().

    Pickled (for worker processes) as its pairs alone: each worker builds its own on its
    first article, as it would have recompiled an unpickled tagger's patterns anyway.
    """

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._pairs = list(pairs)
        self._tagger: ActorTagger | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return self._tagger is not None

    def tag(self, text: str) -> list[str]:
        tagger = self._tagger
        if tagger is None:
            with self._lock:
                if self._tagger is None:
                    from bot.intel.actor_tagging import ActorTagger

                    self._tagger = ActorTagger(self._pairs)
                tagger = self._tagger
        return tagger.tag(text)

    def __getstate__(self) -> dict[str, Any]:
        return {"pairs": self._pairs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["pairs"])  # type: ignore[misc]


def files_stamp(paths: Iterable[Path]) -> str:
    """Cheap stand-in for the data's hash: the merge rules' version and each file's
    path, size and modification time (any reinstall or edit changes one of them)."""
    digest = hashlib.sha256(f"rules{MERGE_RULES_VERSION}".encode())
    for path in paths:
        st = path.stat()
        digest.update(f"\0{path}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _digest(path: Path) -> str | None:
    """The operator file's content digest; None when it cannot be read (load_overrides
    then reports why)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return None


async def ensure_catalogue(store: Store, settings: Settings) -> ActorTagger:
    """prepare_catalogue, then the actor tagger built from every stored alias."""
    from bot.intel.actor_tagging import ActorTagger

    await prepare_catalogue(store, settings)
    return ActorTagger(await store.actors.alias_pairs())


async def prepare_catalogue(store: Store, settings: Settings) -> None:
    """Load the MISP/MITRE catalogue into the store when the shipped data changed and
    apply SECBRIEF_ACTORS_FILE when it (or the catalogue) changed; the usual start
    reads two meta rows and stats a few files."""
    reloaded = False
    stored = await store.actors.catalogue_version()
    stamp = await asyncio.to_thread(lambda: files_stamp(catalogue_inputs()))
    version = stored
    if stored is None or await store.meta.get(STAMP_KEY) != f"{stamp}={stored}":
        version = await asyncio.to_thread(catalogue_version)
        if stored != version:
            log.info("loading the actor catalogue (%s)", version)
            actors = await asyncio.to_thread(load_catalogue)
            await store.actors.replace_catalogue(actors, version=version)
            reloaded = True
        await store.meta.set(STAMP_KEY, f"{stamp}={version}")
    path = settings.actors_file
    digest = _digest(path) if path else "none"
    applied = f"{version}|{digest}"
    if not reloaded and digest is not None and await store.meta.get(OVERRIDES_KEY) == applied:
        return
    overrides = await asyncio.to_thread(load_overrides, path) if path else []
    await store.actors.apply_overrides(overrides)
    await store.meta.set(OVERRIDES_KEY, applied)


async def lazy_tagger(store: Store) -> LazyTagger:
    """The tagger for ingest, over the aliases stored now, built when first used."""
    return LazyTagger(await store.actors.alias_pairs())
