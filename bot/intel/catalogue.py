"""The threat-actor catalogue: MISP, MITRE, Microsoft, Tidal and ransomware sources, merged.

The galaxy files ship inside the installed `pymispgalaxies` package, Microsoft's naming
table and a small curated supplement inside this package (``bot/intel/data``); nothing is
downloaded.

The work is split by stage: ``bot.intel.catalogue_clusters`` and ``catalogue_sources``
read the sources, ``bot.intel.catalogue_merge`` merges their entries (the merge rules are
described there), ``bot.intel.catalogue_actors`` names the merged records, and
``bot.intel.overrides`` reads the operator's overrides file. Callers import everything
from here.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path

from bot.intel.aliases import group_by_scheme, name_key, normalise_alias
from bot.intel.catalogue_actors import add_derived_aliases, build_actor, make_names_unique
from bot.intel.catalogue_clusters import (
    CLUSTER_FILES,
    Cluster,
    galaxy_data_dir,
    package_data_dir,
    read_clusters,
)
from bot.intel.catalogue_merge import merge_clusters
from bot.intel.catalogue_sources import (
    OPERATORS_FILE,
    SUPPLEMENT_FILE,
    microsoft_mapping_file,
    read_microsoft_mapping,
    read_operators,
    read_supplement,
    source_files,
)
from bot.intel.overrides import OverridesError, load_overrides
from storage.actors import Actor, ActorOverride

__all__ = [
    "Actor",
    "ActorOverride",
    "OverridesError",
    "catalogue_inputs",
    "catalogue_version",
    "load_catalogue",
    "load_overrides",
]

# Bump when the merge rules change, so a stored catalogue built by older rules is reloaded.
MERGE_RULES_VERSION = 2


def catalogue_inputs(data_dir: Path | None = None, own_dir: Path | None = None) -> list[Path]:
    """Every file the catalogue is built from (catalogue_version hashes them all)."""
    data_dir = data_dir or galaxy_data_dir()
    return [*(data_dir / name for name in CLUSTER_FILES),
            *source_files(own_dir or package_data_dir())]


def catalogue_version(data_dir: Path | None = None, own_dir: Path | None = None) -> str:
    """A string that changes whenever the shipped data or the merge rules change."""
    data_dir = data_dir or galaxy_data_dir()
    digest = hashlib.sha256()
    for filename in CLUSTER_FILES:
        digest.update((data_dir / filename).read_bytes())
    for path in source_files(own_dir or package_data_dir()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    try:
        pkg = importlib.metadata.version("pymispgalaxies")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - data dir given
        pkg = "unknown"
    return f"pymispgalaxies-{pkg}+rules{MERGE_RULES_VERSION}+{digest.hexdigest()[:12]}"


_RELATED_KINDS = frozenset(
    {"similar", "same-as", "linked-to", "overlaps", "part-of", "related-to", "associated-with"}
)


def read_all_clusters(data_dir: Path | None = None, own_dir: Path | None = None) -> list[Cluster]:
    """Every source's entries, in a fixed order (galaxies, Microsoft's table, supplement)."""
    own_dir = own_dir or package_data_dir()
    operators = read_operators(own_dir / OPERATORS_FILE)
    return [
        *read_clusters(data_dir or galaxy_data_dir(), operators),
        *read_microsoft_mapping(microsoft_mapping_file(own_dir)),
        *read_supplement(own_dir / SUPPLEMENT_FILE),
    ]


def load_catalogue(data_dir: Path | None = None, own_dir: Path | None = None) -> list[Actor]:
    """Load and merge the shipped sources; deterministic, sorted by canonical name."""
    clusters = read_all_clusters(data_dir, own_dir)
    groups = merge_clusters(clusters)
    actors = [build_actor([clusters[i] for i in g]) for g in groups]
    ceded = _cede_names_to_their_owners(actors, [[clusters[i] for i in g] for g in groups])
    add_derived_aliases(actors)

    # Loose links become `related`, by canonical name; so do the owners of names ceded.
    group_of = {clusters[i].uuid: gi for gi, g in enumerate(groups) for i in g}
    for gi, g in enumerate(groups):
        names = {
            actors[group_of[dest]].name
            for i in g
            for kind, dest in clusters[i].related
            if kind in _RELATED_KINDS and dest in group_of and group_of[dest] != gi
        }
        names |= {actors[owner].name for owner in ceded[gi]}
        actors[gi].related = sorted(names, key=str.casefold)

    actors.sort(key=lambda a: (a.name.casefold(), a.name, a.mitre_id or ""))
    make_names_unique(actors)
    return actors


def _cede_names_to_their_owners(
    actors: list[Actor], members: list[list[Cluster]]
) -> dict[int, set[int]]:
    """A name several records bear stays with the one that bears it with most authority.

    Authority, highest first: 4 a live MITRE group's name, a Microsoft row's current name
    or a curated entry's name; 3 another name in the Microsoft row the record holds (Microsoft
    says which of the names MITRE lists twice is this group's: CHROMIUM); 2 an alias MITRE or
    the supplement gives; 1 the record's canonical name; 0 a loose synonym. When exactly
    one record bears a name at the highest rank (and that rank is not 0), the others drop
    it: MISP's Lazarus Group, which lists Sapphire Sleet and Andariel, names those records
    in `related` instead; a record whose
    own canonical name goes ("IRIDIUM", an Iranian group Resecurity named, versus
    Microsoft's IRIDIUM = Sandworm) is qualified by its country: "IRIDIUM (IR)". Two
    records bearing a name at the same rank keep it: it is ambiguous and resolution says so.
    Returns, per record, the records it ceded synonyms to.
    """
    rank: dict[str, dict[int, int]] = {}
    spelt: dict[tuple[str, int], set[str]] = {}  # (key, record) → name keys of its spellings
    for idx, actor in enumerate(actors):
        for n in actor.all_names:
            spelt.setdefault((normalise_alias(n), idx), set()).add(name_key(n))
        for c in members[idx]:
            for n in [c.name, *c.synonyms]:
                spelt.setdefault((normalise_alias(n), idx), set()).add(name_key(n))
    for idx, (actor, group) in enumerate(zip(actors, members, strict=True)):
        here: dict[str, int] = {normalise_alias(n): 0 for n in actor.all_names}
        here[normalise_alias(actor.name)] = 1

        def lift(name: str, value: int, here: dict[str, int] = here) -> None:
            key = normalise_alias(name)
            if key in here:
                here[key] = max(here[key], value)

        for c in group:
            if c.source == "mitre" and not c.revoked_by:
                lift(c.name, 4)
                for n in [*c.synonyms, *([c.mitre_id] if c.mitre_id else [])]:
                    lift(n, 2)
            elif c.source in ("microsoft", "curated"):
                lift(c.name, 4)
                for n in c.synonyms:
                    lift(n, 3 if c.source == "microsoft" else 2)
        for key, value in here.items():
            rank.setdefault(key, {})[idx] = value
    ceded: dict[int, set[int]] = {idx: set() for idx in range(len(actors))}
    drop: dict[int, set[str]] = {}
    for key, holders in rank.items():
        if len(holders) < 2:
            continue
        best = max(holders.values())
        owners = [idx for idx, value in holders.items() if value == best]
        if best == 0 or len(owners) != 1:
            continue
        for idx in holders:
            own_name = normalise_alias(actors[idx].name) == key
            if own_name and not spelt[(key, idx)] & spelt[(key, owners[0])]:
                continue  # "Cold River" is not "COLDRIVER": a different name, kept
            if idx != owners[0]:
                drop.setdefault(idx, set()).add(key)
                if normalise_alias(actors[idx].name) != key:
                    ceded[idx].add(owners[0])
    for idx, keys in drop.items():
        actor = actors[idx]
        actor.aliases = [a for a in actor.aliases if normalise_alias(a) not in keys]
        actor.schemes = {
            scheme: kept
            for scheme, names in actor.schemes.items()
            if (kept := [n for n in names if normalise_alias(n) not in keys])
        }
        if normalise_alias(actor.name) in keys:
            actor.name = f"{actor.name} ({actor.country or 'other'})"
            actor.schemes = group_by_scheme(
                [actor.name, *(n for names in actor.schemes.values() for n in names)]
            )
    return ceded
