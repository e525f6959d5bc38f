"""Build ``Actor`` records from merged cluster groups: canonical name, aliases, uniqueness."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from bot.intel.aliases import (
    COMMON_WORDS,
    classify_scheme,
    group_by_scheme,
    name_key,
    normalise_alias,
    order_names,
)
from bot.intel.catalogue_clusters import AUTHORITATIVE_SOURCES, Cluster
from bot.intel.catalogue_profile import merge_profiles
from storage.actors import Actor

__all__ = ["add_derived_aliases", "build_actor", "make_names_unique"]

_WEATHER_NAME = re.compile(
    r"[A-Z][a-z]+ (?:Blizzard|Typhoon|Sandstorm|Sleet|Tempest|Tsunami|Hail|Cyclone|Dust|Flood"
    r"|Rain)"
)
_APT_NAME = re.compile(r"APT\d{1,3}")
_CODE_NAME = re.compile(
    r"(?:Threat Group|TG|DEV|Storm|UNC|TA|TAG|UAC)[- ]?\d+|TEMP\.\w+", re.IGNORECASE
)


# Whose name and description a record takes first (after a live MITRE group's).
_SOURCE_ORDER = {
    source: rank
    for rank, source in enumerate(
        ("mitre", "misp", "curated", "ransomware", "tidal", "msag", "microsoft")
    )
}


def _base_name(members: list[Cluster]) -> str:
    live_mitre = [c for c in members if c.source == "mitre" and not c.revoked_by]
    if live_mitre:
        return live_mitre[0].name
    misp = [c for c in members if c.source == "misp"] or members
    claimed = {normalise_alias(s) for c in members for s in c.synonyms}
    for c in misp:
        if normalise_alias(c.name) in claimed:
            return c.name
    return misp[0].name


def _canonical_name(members: list[Cluster]) -> str:
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


def build_actor(members: list[Cluster]) -> Actor:
    # MITRE first: its descriptions and spellings are the most carefully edited.
    members = sorted(
        members, key=lambda c: (_SOURCE_ORDER[c.source], c.revoked_by is not None)
    )
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
    if not description:  # Tidal before the ransomware galaxy's ransom-note boilerplate
        for source in ("tidal", "msag", "ransomware"):
            description = next(
                (c.description for c in members if c.source == source and c.description), ""
            )
            if description:
                break
    # How many sources list each name: the best-known names are the ones most list.
    listed: dict[str, int] = defaultdict(int)
    for source in {c.source for c in members}:
        keys = {normalise_alias(n) for c in members if c.source == source
                for n in [c.name, *c.synonyms]}
        for key in keys:
            listed[key] += 2 if source in AUTHORITATIVE_SOURCES else 1
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
        # In the sources' own order (MITRE's first) where tier, scheme and count tie.
        schemes=group_by_scheme(order_names([name, *(
            _display_spelling(v) for k, v in spellings.items() if k != canonical_key
        )], listed)),
        meta=merge_profiles(c.profile for c in members),
    )


_GENERIC_SUFFIX = re.compile(r"^(\w+)\s+(?:group|team|gang|crew|apt)$", re.IGNORECASE)


def add_derived_aliases(actors: list[Actor]) -> None:
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
            _add_to_schemes(actor, word)


def make_names_unique(actors: list[Actor]) -> None:
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
            _add_to_schemes(actor, actor.name)
        seen.add(normalise_alias(actor.name))


def _add_to_schemes(actor: Actor, name: str) -> None:
    """Add one name last in its scheme, keeping the best-known order of the others."""
    actor.schemes = group_by_scheme([*(n for v in actor.schemes.values() for n in v), name])
