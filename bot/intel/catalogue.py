"""The threat-actor catalogue: MISP galaxy `threat-actor` + MITRE `intrusion-set`, merged.

Both clusters ship inside the installed `pymispgalaxies` package; only their two JSON files
are read (no network, and not `pymispgalaxies.Clusters()`, which parses every galaxy).

The work is split by stage: ``bot.intel.catalogue_clusters`` reads the two files,
``bot.intel.catalogue_merge`` merges their entries (the merge rules are described there),
``bot.intel.catalogue_actors`` names the merged records, and ``bot.intel.overrides`` reads
the operator's overrides file. Callers import everything from here.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path

from bot.intel.catalogue_actors import add_derived_aliases, build_actor, make_names_unique
from bot.intel.catalogue_clusters import CLUSTER_FILES, galaxy_data_dir, read_clusters
from bot.intel.catalogue_merge import merge_clusters
from bot.intel.overrides import OverridesError, load_overrides
from storage.actors import Actor, ActorOverride

__all__ = [
    "Actor",
    "ActorOverride",
    "OverridesError",
    "catalogue_version",
    "load_catalogue",
    "load_overrides",
]

# Bump when the merge rules change, so a stored catalogue built by older rules is reloaded.
MERGE_RULES_VERSION = 1


def catalogue_version(data_dir: Path | None = None) -> str:
    """A string that changes whenever the shipped data or the merge rules change."""
    data_dir = data_dir or galaxy_data_dir()
    digest = hashlib.sha256()
    for filename in CLUSTER_FILES:
        digest.update((data_dir / filename).read_bytes())
    try:
        pkg = importlib.metadata.version("pymispgalaxies")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - data dir given
        pkg = "unknown"
    return f"pymispgalaxies-{pkg}+rules{MERGE_RULES_VERSION}+{digest.hexdigest()[:12]}"


_RELATED_KINDS = frozenset(
    {"similar", "same-as", "linked-to", "overlaps", "part-of", "related-to", "associated-with"}
)


def load_catalogue(data_dir: Path | None = None) -> list[Actor]:
    """Load and merge the shipped clusters; deterministic, sorted by canonical name."""
    clusters = read_clusters(data_dir or galaxy_data_dir())
    groups = merge_clusters(clusters)
    actors = [build_actor([clusters[i] for i in g]) for g in groups]
    add_derived_aliases(actors)

    # Loose links become `related`, by canonical name.
    group_of = {clusters[i].uuid: gi for gi, g in enumerate(groups) for i in g}
    for gi, g in enumerate(groups):
        names = {
            actors[group_of[dest]].name
            for i in g
            for kind, dest in clusters[i].related
            if kind in _RELATED_KINDS and dest in group_of and group_of[dest] != gi
        }
        actors[gi].related = sorted(names, key=str.casefold)

    actors.sort(key=lambda a: (a.name.casefold(), a.name, a.mitre_id or ""))
    make_names_unique(actors)
    return actors
