"""Keep the stored actor catalogue in step with the shipped data and the operator file."""

from __future__ import annotations

import asyncio
import logging

from bot.config import Settings
from bot.intel.actor_tagging import ActorTagger
from bot.intel.catalogue import catalogue_version, load_catalogue, load_overrides
from storage.store import Store

log = logging.getLogger(__name__)


async def ensure_catalogue(store: Store, settings: Settings) -> ActorTagger:
    """Load the MISP/MITRE catalogue into the store when the shipped data changed (the
    usual start costs one version check), apply SECBRIEF_ACTORS_FILE, and return the
    actor tagger built from every stored alias."""
    version = await asyncio.to_thread(catalogue_version)
    if await store.actors.catalogue_version() != version:
        log.info("loading the actor catalogue (%s)", version)
        actors = await asyncio.to_thread(load_catalogue)
        await store.actors.replace_catalogue(actors, version=version)
    overrides = (
        await asyncio.to_thread(load_overrides, settings.actors_file)
        if settings.actors_file
        else []
    )
    await store.actors.apply_overrides(overrides)
    return ActorTagger(await store.actors.alias_pairs())
