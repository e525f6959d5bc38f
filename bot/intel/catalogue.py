"""The threat-actor catalogue: MISP galaxy `threat-actor` + MITRE `intrusion-set`, merged.

Both clusters ship inside the installed `pymispgalaxies` package; only their two JSON files
are read (no network, and not `pymispgalaxies.Clusters()`, which parses every galaxy).

Merging. Each galaxy entry ("cluster") is a node of a union-find. Nodes are joined only by
strong links, strongest first:

1. a MITRE group revoked in favour of another (`revoked-by`) joins its replacement;
2. two entries with the same normalised name (MISP "APT29" and MITRE "APT29 - G0016");
3. a MISP↔MITRE `similar` (or any `same-as`) cross-reference that is one-to-one: the MITRE
   group points at that MISP entry only and vice versa. Many-to-many `similar` links are
   loose "overlaps with" claims (MISP's Charming Kitten, OilRig, Rocket Kitten and Cleaver
   all point at each other; FIN7 points at both MITRE FIN7 and Carbanak) and would fuse
   distinct actors, so they — and MISP↔MISP `similar` links — only fill `Actor.related`;
4. a synonym equal to another entry's name, when exactly one merged group claims that name
   (a name listed by two groups, like "Grizzly Steppe" under both APT28 and APT29, is junk
   for merging purposes and stays an ambiguous alias instead).

Every union is refused if it would put two different live MITRE groups (G-numbers), or two
different countries, into one record: MITRE keeps distinct groups distinct on purpose.
An alias that still names several records after merging is ambiguous; resolution says so.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bot.intel.aliases import (
    COMMON_WORDS,
    classify_scheme,
    group_by_scheme,
    name_key,
    normalise_alias,
)
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

_CLUSTER_FILES = ("threat-actor.json", "mitre-intrusion-set.json")


class OverridesError(ValueError):
    """The overrides file cannot be used; the message names the file and line."""


# --- reading the galaxy files ---------------------------------------------------------------


@dataclass
class _Cluster:
    source: str  # "misp" | "mitre"
    uuid: str
    name: str
    synonyms: list[str]
    country: str | None
    description: str
    refs: list[str]
    related: list[tuple[str, str]]  # (relation type, destination uuid)
    mitre_id: str | None = None
    revoked_by: str | None = None  # uuid of the MITRE group that replaced this one


def _data_dir() -> Path:
    base = resources.files("pymispgalaxies") / "data" / "misp-galaxy" / "clusters"
    return Path(str(base))


_MITRE_SUFFIX = re.compile(r"\s+-\s+G\d{4}$")
_QUALIFIER = re.compile(r"\s+\([^()]*\)$")  # "APT-C-38 (QiAnXin)" → "APT-C-38"


def _clean_name(raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    name = " ".join(raw.split())
    name = _QUALIFIER.sub("", name)
    low = name.casefold()
    # Notes that are not names: "Subgroup: Andariel" (a different actor), "[Unnamed group]".
    if not name or name.startswith("[") or low.startswith("subgroup:") or "unnamed" in low:
        return None
    if not normalise_alias(name):
        return None
    return name


def _country(raw: Any) -> str | None:
    if isinstance(raw, str) and re.fullmatch(r"[A-Za-z]{2}", raw.strip()):
        return raw.strip().upper()
    return None


def _clean_description(text: str) -> str:
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # markdown links → their text
    text = re.sub(r"\s*\(Citation:[^)]*\)", "", text)
    return " ".join(text.split())


def _read_clusters(data_dir: Path) -> list[_Cluster]:
    clusters: list[_Cluster] = []
    for filename in _CLUSTER_FILES:
        doc = json.loads((data_dir / filename).read_text(encoding="utf-8"))
        source = "mitre" if filename.startswith("mitre") else "misp"
        for value in doc.get("values", []):
            meta = value.get("meta") or {}
            raw_name = value.get("value", "")
            if source == "mitre":
                raw_name = _MITRE_SUFFIX.sub("", raw_name)
            name = _clean_name(raw_name)
            if name is None:
                continue
            related = [
                (str(r.get("type", "")), str(r.get("dest-uuid", "")))
                for r in value.get("related") or []
                if r.get("type") != "uses"
            ]
            mitre_id = meta.get("external_id") if source == "mitre" else None
            revoked = [dest for kind, dest in related if kind == "revoked-by"]
            synonyms = [s for s in map(_clean_name, meta.get("synonyms") or []) if s]
            clusters.append(
                _Cluster(
                    source=source,
                    uuid=value["uuid"],
                    name=name,
                    synonyms=synonyms,
                    country=_country(meta.get("country")),
                    description=_clean_description(value.get("description") or ""),
                    refs=[r for r in meta.get("refs") or [] if isinstance(r, str)],
                    related=related,
                    mitre_id=mitre_id if isinstance(mitre_id, str) else None,
                    revoked_by=revoked[0] if revoked else None,
                )
            )
    return clusters


def catalogue_version(data_dir: Path | None = None) -> str:
    """A string that changes whenever the shipped data or the merge rules change."""
    data_dir = data_dir or _data_dir()
    digest = hashlib.sha256()
    for filename in _CLUSTER_FILES:
        digest.update((data_dir / filename).read_bytes())
    try:
        pkg = importlib.metadata.version("pymispgalaxies")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - data dir given
        pkg = "unknown"
    return f"pymispgalaxies-{pkg}+rules{MERGE_RULES_VERSION}+{digest.hexdigest()[:12]}"


# --- merging --------------------------------------------------------------------------------


class _UnionFind:
    """Union-find whose groups carry the attributes the merge guards look at."""

    def __init__(self, clusters: list[_Cluster]) -> None:
        self.parent = list(range(len(clusters)))
        self.mitre: list[set[str]] = [
            {c.mitre_id} if c.mitre_id and not c.revoked_by else set() for c in clusters
        ]
        self.country: list[set[str]] = [{c.country} if c.country else set() for c in clusters]

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> bool:
        """Join the groups of a and b unless a guard forbids it; True if they are one now."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if self.mitre[ra] and self.mitre[rb] and self.mitre[ra] != self.mitre[rb]:
            return False
        if self.country[ra] and self.country[rb] and self.country[ra] != self.country[rb]:
            return False
        ra, rb = min(ra, rb), max(ra, rb)  # deterministic: the lower index is the root
        self.parent[rb] = ra
        self.mitre[ra] |= self.mitre[rb]
        self.country[ra] |= self.country[rb]
        return True


_SUFFIX_WORDS = re.compile(r"\s+(?:group|team|gang|crew|apt)$", re.IGNORECASE)


def _claim_keys(synonym: str) -> list[tuple[str, bool]]:
    """Alias keys a synonym claims, each with whether it is the synonym as written.

    "Callisto Group" listed by one entry also names the entry called "Callisto" (weakly)."""
    keys = [(normalise_alias(synonym), True)]
    stripped = _SUFFIX_WORDS.sub("", synonym)
    if stripped != synonym and normalise_alias(stripped):
        keys.append((normalise_alias(stripped), False))
    return keys


def _corroborated(a: _Cluster, b: _Cluster, key: str) -> bool:
    if a.country and a.country == b.country:
        return True
    keys_a = {normalise_alias(n) for n in [a.name, *a.synonyms]}
    keys_b = {normalise_alias(n) for n in [b.name, *b.synonyms]}
    return bool((keys_a & keys_b) - {key})


def _merge(clusters: list[_Cluster]) -> list[list[int]]:
    uf = _UnionFind(clusters)
    by_uuid = {c.uuid: i for i, c in enumerate(clusters)}

    # 1. MITRE revocations.
    for i, c in enumerate(clusters):
        if c.revoked_by and c.revoked_by in by_uuid:
            uf.union(by_uuid[c.revoked_by], i)

    # 2. Same name. Names compare by alias key ("WhiteBear" = "White Bear"), but where the
    # names differ in word breaks the pair must be corroborated — same country or another
    # shared alias — since "Cold River" (a Lebanese campaign) is not "COLDRIVER" (Russian).
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(clusters):
        by_key[normalise_alias(c.name)].append(i)
        if c.mitre_id and not c.revoked_by:
            by_key[normalise_alias(c.mitre_id)].append(i)  # MISP entries cite "G0016"
    for key, members in by_key.items():
        for other in members[1:]:
            first = members[0]
            if name_key(clusters[first].name) == name_key(clusters[other].name) or (
                _corroborated(clusters[first], clusters[other], key)
            ):
                uf.union(first, other)

    # 3. One-to-one MISP↔MITRE cross-references, and explicit same-as links.
    cross: dict[int, set[int]] = defaultdict(set)
    for i, c in enumerate(clusters):
        for kind, dest in c.related:
            j = by_uuid.get(dest)
            if j is None or j == i:
                continue
            if kind == "same-as":
                uf.union(i, j)
            elif kind == "similar" and clusters[j].source != c.source:
                cross[i].add(j)
                cross[j].add(i)
    for i in sorted(cross):
        (j,) = cross[i] if len(cross[i]) == 1 else (None,)
        if j is not None and i < j and cross[j] == {i}:
            uf.union(i, j)

    # 4. A synonym equal to another entry's name (or G-number), if exactly one group claims
    # that name. Here names compare by alias key, so "WhiteBear" names the entry "White Bear";
    # but a match that needed a word break or a "Group" suffix ignored (COLDRIVER vs the
    # unrelated "Cold River") must be corroborated by the same country or another shared
    # alias. Repeated until nothing changes, since each merge can settle another claim.
    changed = True
    while changed:
        changed = False
        keys_of: dict[int, set[str]] = defaultdict(set)
        for i, c in enumerate(clusters):
            keys_of[uf.find(i)].update(normalise_alias(n) for n in [c.name, *c.synonyms])
        claims: dict[str, dict[int, bool]] = defaultdict(dict)
        for i, c in enumerate(clusters):
            root = uf.find(i)
            for syn in c.synonyms:
                for key, exact in _claim_keys(syn):
                    if key in by_key:
                        owner_names = {name_key(clusters[j].name) for j in by_key[key]}
                        owner_names |= {
                            name_key(clusters[j].mitre_id or "") for j in by_key[key]
                        }
                        strong = exact and name_key(syn) in owner_names
                        claims[key][root] = claims[key].get(root, False) or strong
        for key in sorted(claims):
            owners = {uf.find(i) for i in by_key[key]}
            claimers = {r: strong for r, strong in claims[key].items() if r not in owners}
            if len(claimers) != 1 or len(owners) != 1:
                continue
            owner = next(iter(owners))
            claimer, strong = next(iter(claimers.items()))
            if not strong:
                shared = (keys_of[owner] & keys_of[claimer]) - {key}
                same_country = uf.country[owner] and uf.country[owner] == uf.country[claimer]
                if not shared and not same_country:
                    continue
            if uf.union(owner, claimer):
                changed = True

    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(clusters)):
        groups[uf.find(i)].append(i)
    return list(groups.values())


# --- building Actor records -----------------------------------------------------------------

_WEATHER_NAME = re.compile(
    r"[A-Z][a-z]+ (?:Blizzard|Typhoon|Sandstorm|Sleet|Tempest|Tsunami|Hail|Cyclone|Dust|Flood"
    r"|Rain)"
)
_APT_NAME = re.compile(r"APT\d{1,3}")
_CODE_NAME = re.compile(
    r"(?:Threat Group|TG|DEV|Storm|UNC|TA|TAG|UAC)[- ]?\d+|TEMP\.\w+", re.IGNORECASE
)


def _base_name(members: list[_Cluster]) -> str:
    live_mitre = [c for c in members if c.source == "mitre" and not c.revoked_by]
    if live_mitre:
        return live_mitre[0].name
    misp = [c for c in members if c.source == "misp"] or members
    claimed = {normalise_alias(s) for c in members for s in c.synonyms}
    for c in misp:
        if normalise_alias(c.name) in claimed:
            return c.name
    return misp[0].name


def _canonical_name(members: list[_Cluster]) -> str:
    """Pick the record's canonical name.

    Rule: the live MITRE ATT&CK group name when the record has one (vendor-neutral and what
    most reports cross-reference: "APT29", "Salt Typhoon", "Volt Typhoon"); otherwise the
    MISP entry's name ("Flax Typhoon", whose MISP entry carries Ethereal Panda and
    Storm-0919) — when several MISP entries merged, the one the others list as a synonym.
    Three exceptions, for names readers no longer use:
    - a retired Microsoft element name (ZIRCONIUM, HAFNIUM) or a bare tracking code
      (Threat Group-3390, Storm-0558, UNC2452) gives way to the record's one APTnn name
      ("APT31", "APT27"), else to its one Microsoft weather name ("Silk Typhoon");
    - a single common word ("Equation") gives way to a longer name starting with it
      ("Equation Group").
    Every other name stays an alias, so all of them still resolve.
    """
    base = _base_name(members)
    names = _dedupe(n for c in members for n in [c.name, *c.synonyms])
    if _CODE_NAME.fullmatch(base) or (
        classify_scheme(base) == "microsoft" and base.isalpha() and base.isupper()
    ):
        for pattern in (_APT_NAME, _WEATHER_NAME):
            found = {normalise_alias(n): n for n in names if pattern.fullmatch(n)}
            if len(found) == 1:
                return next(iter(found.values()))
    if normalise_alias(base) in COMMON_WORDS:
        longer = [n for n in names if n.startswith(base + " ")]
        if longer:
            return longer[0]
    # "Wizard Spider" rather than MISP's "WIZARD SPIDER" when both spellings are listed.
    return _display_spelling([n for n in names if name_key(n) == name_key(base)] or [base])


def _display_spelling(spellings: list[str]) -> str:
    # "Cozy Bear" reads better than "COZY BEAR"; otherwise keep the first spelling seen
    # (MITRE's come first). One-word capitals are often the real spelling: NOBELIUM.
    for s in spellings:
        if " " not in s or not s.isupper():
            return s
    return spellings[0]


def _dedupe(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _build_actor(members: list[_Cluster]) -> Actor:
    # MITRE first: its descriptions and spellings are the most carefully edited.
    members = sorted(members, key=lambda c: (c.source != "mitre", c.revoked_by is not None))
    name = _canonical_name(members)
    canonical_key = normalise_alias(name)

    spellings: dict[str, list[str]] = defaultdict(list)
    for c in members:
        for n in [c.name, *c.synonyms]:
            spellings[normalise_alias(n)].append(n)
        if c.mitre_id:
            spellings[normalise_alias(c.mitre_id)].append(c.mitre_id)
    aliases = sorted(
        (_display_spelling(v) for k, v in spellings.items() if k != canonical_key),
        key=lambda s: (s.casefold(), s),
    )

    live = [c for c in members if c.source == "mitre" and not c.revoked_by]
    countries = [c.country for c in members if c.country]
    description = next((c.description for c in live if c.description), "")
    if not description:
        misp = [c for c in members if c.source == "misp" and c.description]
        best = [c for c in misp if normalise_alias(c.name) == canonical_key] or misp
        description = best[0].description if best else ""
    return Actor(
        id=None,
        name=name,
        aliases=aliases,
        country=countries[0] if countries else None,
        description=description,
        refs=_dedupe(r for c in members for r in c.refs),
        related=[],
        mitre_id=live[0].mitre_id if live else None,
        origin="catalogue",
        schemes=group_by_scheme([name, *aliases]),
    )


_GENERIC_SUFFIX = re.compile(r"^(\w+)\s+(?:group|team|gang|crew|apt)$", re.IGNORECASE)


def _add_derived_aliases(actors: list[Actor]) -> None:
    """Add "Lazarus" for "Lazarus Group", "Gamaredon" for "Gamaredon Group" and so on.

    Reports drop such generic suffixes all the time. Only a single distinctive word is
    derived, never a common word ("Cobalt Group" does not yield "Cobalt"), and never a word
    that already names something or that two actors would derive alike.
    """
    taken = {normalise_alias(n) for a in actors for n in a.all_names}
    derived: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for idx, actor in enumerate(actors):
        for n in actor.all_names:
            m = _GENERIC_SUFFIX.match(n)
            if not m:
                continue
            word = m.group(1)
            key = normalise_alias(word)
            if len(key) < 4 or key in COMMON_WORDS or key in taken or key.isdigit():
                continue
            if all(i != idx for i, _ in derived[key]):
                derived[key].append((idx, word))
    for entries in derived.values():
        if len(entries) == 1:
            idx, word = entries[0]
            actor = actors[idx]
            actor.aliases = sorted([*actor.aliases, word], key=lambda s: (s.casefold(), s))
            actor.schemes = group_by_scheme([actor.name, *actor.aliases])


_RELATED_KINDS = frozenset(
    {"similar", "same-as", "linked-to", "overlaps", "part-of", "related-to", "associated-with"}
)


def load_catalogue(data_dir: Path | None = None) -> list[Actor]:
    """Load and merge the shipped clusters; deterministic, sorted by canonical name."""
    clusters = _read_clusters(data_dir or _data_dir())
    groups = _merge(clusters)
    actors = [_build_actor([clusters[i] for i in g]) for g in groups]
    _add_derived_aliases(actors)

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
    _make_names_unique(actors)
    return actors


def _make_names_unique(actors: list[Actor]) -> None:
    # Guards can keep two same-named entries apart (different G-numbers or countries);
    # the store keys actors by canonical name, so qualify the later one: "X (G1234)".
    seen: set[str] = set()
    for actor in actors:
        key = normalise_alias(actor.name)
        if key in seen:
            qualifier = actor.mitre_id or actor.country or str(len(seen))
            old = actor.name
            actor.name = f"{old} ({qualifier})"
            actor.aliases = sorted({*actor.aliases, old}, key=lambda s: (s.casefold(), s))
            actor.schemes = group_by_scheme([actor.name, *actor.aliases])
        seen.add(normalise_alias(actor.name))


# --- operator overrides ---------------------------------------------------------------------

_ACTOR_KEYS = frozenset({"name", "aliases", "country", "description", "refs"})
_ORG_KEYS = frozenset({"name", "linked_actor", "aliases"})


def _table_lines(text: str, table: str) -> list[int]:
    """1-based line numbers of each `[[table]]` header, in order."""
    header = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]")
    return [n for n, line in enumerate(text.splitlines(), 1) if header.match(line)]


def _str_list(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise OverridesError(f"{where}: '{key}' must be a list of non-empty strings")
    return tuple(" ".join(v.split()) for v in value)


def _opt_str(value: Any, where: str, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise OverridesError(f"{where}: '{key}' must be a non-empty string")
    return " ".join(value.split()) if key != "description" else value.strip()


def load_overrides(path: Path) -> list[ActorOverride]:
    """Read the operator's TOML overrides file.

    Format::

        [[actor]]                       # amend an existing actor, or add a new one
        name = "Flax Typhoon"
        aliases = ["RedJuliett"]        # optional
        country = "CN"                  # optional, ISO-2
        description = "..."             # optional
        refs = ["https://..."]          # optional

        [[organisation]]                # a company/agency linked to an actor; not an actor
        name = "Integrity Technology Group"
        linked_actor = "Flax Typhoon"
        aliases = ["Integrity Tech"]    # optional

    Raises OverridesError naming the file and line on any problem.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OverridesError(f"{path}: cannot read actor overrides: {exc.strerror}") from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line N, column M)".
        raise OverridesError(f"{path}: invalid TOML: {exc}") from exc

    unknown = sorted(set(doc) - {"actor", "organisation"})
    if unknown:
        raise OverridesError(
            f"{path}: unknown table {unknown[0]!r} (expected [[actor]] or [[organisation]])"
        )
    overrides: list[ActorOverride] = []
    for table, allowed in (("actor", _ACTOR_KEYS), ("organisation", _ORG_KEYS)):
        entries = doc.get(table, [])
        if not isinstance(entries, list):
            raise OverridesError(f"{path}: '{table}' must be written as [[{table}]] tables")
        lines = _table_lines(text, table)
        for n, entry in enumerate(entries):
            line = lines[n] if n < len(lines) else None
            where = f"{path}:{line}" if line else f"{path}: [[{table}]] #{n + 1}"
            overrides.append(_parse_entry(table, allowed, entry, where))
    return overrides


def _parse_entry(table: str, allowed: frozenset[str], entry: Any, where: str) -> ActorOverride:
    if not isinstance(entry, dict):
        raise OverridesError(f"{where}: [[{table}]] must be a table")
    extra = sorted(set(entry) - allowed)
    if extra:
        raise OverridesError(f"{where}: unknown key {extra[0]!r} in [[{table}]]")
    name = _opt_str(entry.get("name"), where, "name")
    if name is None or not normalise_alias(name):
        raise OverridesError(f"{where}: [[{table}]] needs a non-empty 'name'")
    aliases = _str_list(entry.get("aliases", []), where, "aliases")
    if table == "organisation":
        linked = _opt_str(entry.get("linked_actor"), where, "linked_actor")
        if linked is None:
            raise OverridesError(f"{where}: [[organisation]] needs 'linked_actor'")
        return ActorOverride(
            kind="organisation", name=name, aliases=aliases, linked_actor=linked, where=where
        )
    schemes = {n: classify_scheme(n) for n in (name, *aliases)}
    country = _opt_str(entry.get("country"), where, "country")
    if country is not None:
        if not re.fullmatch(r"[A-Za-z]{2}", country):
            raise OverridesError(f"{where}: 'country' must be an ISO-2 code like \"CN\"")
        country = country.upper()
    return ActorOverride(
        kind="actor",
        name=name,
        aliases=aliases,
        country=country,
        description=_opt_str(entry.get("description"), where, "description"),
        refs=_str_list(entry.get("refs", []), where, "refs"),
        where=where,
        schemes=schemes,
    )

