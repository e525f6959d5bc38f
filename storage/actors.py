"""Threat actors: the merged catalogue, operator overrides and linked organisations.

The records (`Actor`, `ActorOverride`) and the alias key format live here because the keys
are persisted; `bot.intel` builds the records and re-exports them. Method signatures carry
no SQLite types, so a PostgreSQL repository can stand in later.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from storage.db import Database, Transaction

__all__ = [
    "Actor",
    "ActorOverride",
    "ActorRepository",
    "OverrideConflict",
    "alias_key",
    "name_key",
    "pick_exact",
]

CATALOGUE_VERSION_KEY = "actors.catalogue_version"
NAMES_GENERATION_KEY = "actors.names_generation"  # bumped whenever names or aliases change


@lru_cache(maxsize=1 << 16)  # pure, and the catalogue build asks for the same keys often
def alias_key(name: str) -> str:
    """The stored lookup key of a name: case-, space-, punctuation- and accent-insensitive.

    NFKD splits "é" into "e" + a combining accent, which the isalnum() filter drops; letters
    and digits are all kept, in order, so "APT 29" = "apt-29" = "APT29" but APT2 ≠ APT29.
    """
    return "".join(ch for ch in unicodedata.normalize("NFKD", name).casefold() if ch.isalnum())


@lru_cache(maxsize=1 << 16)
def name_key(name: str) -> str:
    """A stricter key that keeps word breaks: "Threat Group-3390" → "threat group 3390".

    Two names with one alias key but different name keys ("Cold River", "COLDRIVER") may
    be different actors, so matches on the alias key alone count for less.
    """
    folded = unicodedata.normalize("NFKD", name).casefold()
    kept = "".join(ch if ch.isalnum() or ch.isspace() else " " for ch in folded)
    return " ".join(kept.split())


def pick_exact(actors: list[Actor], name: str) -> list[Actor]:
    """Of several actors one alias key denotes, the one `name` picks out exactly (its
    canonical name, else the one name spelt with these word breaks); else all of them."""
    if len(actors) < 2:
        return actors
    wanted = name_key(name)
    for test in (
        lambda a: name_key(a.name) == wanted,
        lambda a: any(name_key(n) == wanted for n in a.all_names),
    ):
        exact = [a for a in actors if test(a)]
        if len(exact) == 1:
            return exact
    return actors


@dataclass
class Actor:
    """One real-world actor, however many vendors' names it goes by."""

    id: int | None
    name: str  # canonical name
    aliases: list[str]  # every other name, one spelling per alias key
    country: str | None  # ISO 3166 alpha-2, e.g. "CN"
    description: str
    refs: list[str]
    related: list[str]  # canonical names of loosely linked actors ("similar", "overlaps")
    mitre_id: str | None  # live ATT&CK group id, e.g. "G0016"
    origin: str  # "catalogue" | "operator"
    schemes: dict[str, list[str]] = field(default_factory=dict)  # name + aliases by scheme
    # Profile for commentary, all keys optional: motivation (list of str: "espionage",
    # "financial" …), sectors (targeted sectors), targets (targeted countries), kind
    # ("apt" | "ransomware" | "cybercrime" | "hacktivist" | "psoa" | "influence" | None).
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def all_names(self) -> list[str]:
        return [self.name, *self.aliases]


@dataclass(frozen=True)
class ActorOverride:
    """One entry of the operator's overrides file (see bot.intel.catalogue.load_overrides).

    kind "actor": amend the actor `name` resolves to (add aliases and refs; replace country
    and description when given), or add an operator actor when it resolves to none.
    kind "organisation": an organisation linked to `linked_actor`; never an actor itself.
    """

    kind: Literal["actor", "organisation"]
    name: str
    aliases: tuple[str, ...] = ()
    country: str | None = None
    description: str | None = None
    refs: tuple[str, ...] = ()
    linked_actor: str | None = None
    where: str = ""  # "file:line" of the entry, for error messages
    schemes: dict[str, str] = field(default_factory=dict)  # name/alias → naming scheme


class OverrideConflict(ValueError):
    """An override names an ambiguous or unknown actor; nothing was changed."""


# An actor row with its aliases as a JSON array of [alias, alias_norm, origin, scheme],
# catalogue rows first: one round trip per lookup.
# The JSON aggregate is the one dialect difference (json_agg of no rows is NULL).
_ALIAS_ARRAY = {
    "sqlite": "json_group_array(json_array(alias, alias_norm, origin, scheme))",
    "postgres": "coalesce(json_agg(json_build_array(alias, alias_norm, origin, scheme)),"
                " '[]')",
}
_SELECT_ACTOR = {
    dialect: "SELECT a.id, a.name, a.name_norm, COALESCE(a.op_country, a.country),"
    " COALESCE(a.op_description, a.description), a.refs, a.op_refs, a.related, a.mitre_id,"
    f" a.origin, a.schemes, (SELECT {array} FROM"
    "  (SELECT alias, alias_norm, origin, scheme FROM actor_aliases"
    "   WHERE actor_id = a.id ORDER BY origin, alias) AS x),"
    " a.meta"
    " FROM actors AS a"
    for dialect, array in _ALIAS_ARRAY.items()
}
# One parameter whatever the number of ids, so the SQL text never varies: a JSON list
# expanded by json_each on SQLite, an array on PostgreSQL.
_SELECT_BY_IDS = {
    "sqlite": _SELECT_ACTOR["sqlite"] + " WHERE a.id IN (SELECT value FROM json_each(?))",
    "postgres": _SELECT_ACTOR["postgres"] + " WHERE a.id = ANY(CAST(? AS BIGINT[]))",
}
_SELECT_BY_ALIAS = {
    dialect: select + " WHERE a.id IN (SELECT actor_id FROM actor_aliases WHERE alias_norm = ?)"
    for dialect, select in _SELECT_ACTOR.items()
}


def _json_list(raw: str | None) -> list[Any]:
    value = json.loads(raw) if raw else []
    return value if isinstance(value, list) else []


def _sort_names(names: Iterable[str]) -> list[str]:
    return sorted(names, key=lambda s: (s.casefold(), s))


class ActorRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- catalogue ------------------------------------------------------------------------

    async def catalogue_version(self) -> str | None:
        return await self._meta(CATALOGUE_VERSION_KEY)

    async def _meta(self, key: str) -> str | None:
        async with self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def replace_catalogue(self, actors: list[Actor], *, version: str) -> None:
        """Make the stored catalogue exactly `actors`; idempotent.

        Rows are updated in place by canonical name, so ids (and the organisations and
        operator aliases that point at them) survive a reload. Operator actors are kept;
        catalogue actors that vanished are deleted with their aliases.
        """
        async with Transaction(self._db):
            async with self._db.execute(
                "SELECT id, name_norm FROM actors WHERE origin = 'catalogue'"
            ) as cur:
                existing = {row[1]: row[0] for row in await cur.fetchall()}
            keep: set[int] = set()
            alias_rows: list[tuple[str, str, int, str, str]] = []
            for actor in actors:
                key = alias_key(actor.name)
                values = (
                    actor.name,
                    actor.country,
                    actor.description,
                    json.dumps(actor.refs),
                    json.dumps(actor.related),
                    actor.mitre_id,
                    json.dumps(actor.schemes),
                    json.dumps(actor.meta),
                )
                actor_id = existing.get(key)
                if actor_id is None or actor_id in keep:
                    actor_id = int(await self._db.insert_id(
                        "INSERT INTO actors (name, country, description, refs, related,"
                        " mitre_id, schemes, meta, name_norm, origin)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'catalogue') RETURNING id",
                        (*values, key),
                    ) or 0)
                else:
                    await self._db.execute(
                        "UPDATE actors SET name = ?, country = ?, description = ?, refs = ?,"
                        " related = ?, mitre_id = ?, schemes = ?, meta = ? WHERE id = ?",
                        (*values, actor_id),
                    )
                keep.add(actor_id)
                scheme_of = {n: s for s, names in actor.schemes.items() for n in names}
                seen: set[str] = set()
                for n in actor.all_names:
                    k = alias_key(n)
                    if k and k not in seen:
                        seen.add(k)
                        alias_rows.append((k, n, actor_id, "catalogue", scheme_of.get(n, "")))
            stale = [(i,) for i in existing.values() if i not in keep]
            await self._db.executemany("DELETE FROM actors WHERE id = ?", stale)
            await self._db.execute("DELETE FROM actor_aliases WHERE origin = 'catalogue'")
            # An operator alias that the catalogue now lists too becomes a catalogue alias.
            await self._db.executemany(
                "INSERT INTO actor_aliases (alias_norm, alias, actor_id, origin, scheme)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (alias_norm, actor_id) DO UPDATE SET"
                " alias = excluded.alias, origin = excluded.origin, scheme = excluded.scheme",
                alias_rows,
            )
            await self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (CATALOGUE_VERSION_KEY, version),
            )
            await self._bump_names_generation()

    async def names_generation(self) -> int:
        """A counter that changes with every change to the stored names and aliases, so
        callers can cache what they derive from them (one indexed read to check)."""
        return int(await self._meta(NAMES_GENERATION_KEY) or 0)

    async def _bump_names_generation(self) -> None:
        await self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, '1')"
            " ON CONFLICT (key) DO UPDATE SET"
            " value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)",
            (NAMES_GENERATION_KEY,),
        )

    # --- lookups --------------------------------------------------------------------------

    async def get(self, actor_id: int) -> Actor | None:
        found = await self._load([actor_id])
        return found[0] if found else None

    async def resolve(self, name: str) -> list[Actor]:
        """Actors a name denotes: [] unknown, [one] resolved, two or more ambiguous.

        An exact canonical-name match wins over other actors that merely list the name as
        an alias ("Ember Bear" is Ember Bear even though Saint Bear lists it too); the
        comparison keeps word breaks, so "COLDRIVER" does not single out "Cold River".
        Failing that, the one actor holding the name spelt with the same word breaks wins
        ("COLDRIVER" is Star Blizzard's; "Cold River" is the record of that name).
        """
        key = alias_key(name)
        if not key:
            return []
        actors = await self._select(self._db.pick(_SELECT_BY_ALIAS), key)
        return pick_exact(actors, name)

    async def all_actors(self) -> list[Actor]:
        async with self._db.execute("SELECT id FROM actors") as cur:
            ids = [row[0] for row in await cur.fetchall()]
        return await self._load(ids)

    async def autocomplete(self, prefix: str, limit: int = 25) -> list[tuple[str, str]]:
        """(alias, canonical name) pairs whose alias starts with `prefix` (by alias key).

        A range scan on the actor_aliases primary key; an empty prefix lists canonical names.
        """
        limit = max(0, min(limit, 100))
        key = alias_key(prefix)
        if not key:
            async with self._db.execute(
                "SELECT name FROM actors ORDER BY name_norm LIMIT ?", (limit,)
            ) as cur:
                return [(row[0], row[0]) for row in await cur.fetchall()]
        upper = key[:-1] + chr(ord(key[-1]) + 1)  # first key past every key with this prefix
        async with self._db.execute(
            "SELECT al.alias, a.name FROM actor_aliases AS al JOIN actors AS a"
            " ON a.id = al.actor_id WHERE al.alias_norm >= ? AND al.alias_norm < ?"
            " ORDER BY al.alias_norm, a.name_norm LIMIT ?",
            (key, upper, limit),
        ) as cur:
            return [(row[0], row[1]) for row in await cur.fetchall()]

    async def all_alias_names(self) -> list[str]:
        """Every name and alias once (for fuzzy "did you mean" suggestions)."""
        async with self._db.execute(
            "SELECT alias FROM actor_aliases GROUP BY alias ORDER BY alias"
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def alias_index(self) -> dict[str, list[int]]:
        """alias key → ids of the actors with that alias (two or more: ambiguous)."""
        index: dict[str, list[int]] = {}
        async with self._db.execute(
            "SELECT alias_norm, actor_id FROM actor_aliases ORDER BY alias_norm, actor_id"
        ) as cur:
            for row in await cur.fetchall():
                index.setdefault(row[0], []).append(row[1])
        return index

    async def alias_pairs(self) -> list[tuple[str, str]]:
        """(alias as written, canonical name) for every alias, canonical names included;
        what ActorTagger is built from."""
        async with self._db.execute(
            "SELECT al.alias, a.name FROM actor_aliases AS al JOIN actors AS a"
            " ON a.id = al.actor_id ORDER BY al.alias_norm, a.name_norm"
        ) as cur:
            return [(row[0], row[1]) for row in await cur.fetchall()]

    async def find_organisation(self, name: str) -> tuple[str, Actor | None] | None:
        """(organisation name, linked actor) when `name` is an operator-listed organisation."""
        key = alias_key(name)
        if not key:
            return None
        async with self._db.execute(
            "SELECT name, linked_actor_id FROM organisations WHERE name_norm = ?", (key,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        linked = await self.get(row[1]) if row[1] is not None else None
        return row[0], linked

    # --- operator overrides ---------------------------------------------------------------

    async def apply_overrides(self, overrides: Sequence[ActorOverride]) -> None:
        """Make the stored operator state exactly `overrides`; idempotent.

        Call after every replace_catalogue (start-up does both). Earlier overrides that are
        no longer listed are undone. Raises OverrideConflict, changing nothing, when an entry
        names an ambiguous actor or an organisation's actor is unknown.
        """
        async with Transaction(self._db):
            await self._db.execute(
                "UPDATE actors SET op_country = NULL, op_description = NULL, op_refs = '[]'"
            )
            await self._db.execute("DELETE FROM actor_aliases WHERE origin = 'operator'")
            await self._db.execute("DELETE FROM organisations")
            async with self._db.execute(
                "SELECT name_norm, id FROM actors WHERE origin = 'operator'"
            ) as cur:
                operator_ids = {row[0]: row[1] for row in await cur.fetchall()}
            keep: set[int] = set()
            for override in overrides:
                if override.kind == "actor":
                    keep.add(await self._apply_actor(override, operator_ids))
            stale = [(i,) for i in operator_ids.values() if i not in keep]
            await self._db.executemany("DELETE FROM actors WHERE id = ?", stale)
            for override in overrides:
                if override.kind == "organisation":
                    await self._apply_organisation(override)
            await self._bump_names_generation()

    async def _apply_actor(self, override: ActorOverride, operator_ids: dict[str, int]) -> int:
        # Operator aliases from before this call are gone, so this resolves against the
        # catalogue and the entries applied so far.
        matches = await self.resolve(override.name)
        if len(matches) > 1:
            names = ", ".join(a.name for a in matches)
            raise OverrideConflict(
                f"{override.where}: '{override.name}' is ambiguous ({names}); "
                "use the actor's canonical name"
            )
        key = alias_key(override.name)
        if matches and matches[0].origin == "catalogue":
            actor_id = int(matches[0].id or 0)
            await self._db.execute(
                "UPDATE actors SET op_country = COALESCE(?, op_country),"
                " op_description = COALESCE(?, op_description), op_refs = ? WHERE id = ?",
                (
                    override.country,
                    override.description,
                    json.dumps(await self._op_refs(actor_id) + list(override.refs)),
                    actor_id,
                ),
            )
        else:
            actor_id = matches[0].id if matches else operator_ids.get(key)
            if actor_id is None:
                actor_id = int(await self._db.insert_id(
                    "INSERT INTO actors (name, name_norm, origin) VALUES (?, ?, 'operator')"
                    " RETURNING id",
                    (override.name, key),
                ) or 0)
                operator_ids[key] = actor_id
            await self._db.execute(
                "UPDATE actors SET op_country = COALESCE(?, op_country),"
                " op_description = COALESCE(?, op_description), op_refs = ? WHERE id = ?",
                (
                    override.country,
                    override.description,
                    json.dumps(await self._op_refs(actor_id) + list(override.refs)),
                    actor_id,
                ),
            )
            await self._add_alias(override.name, actor_id, override)
        for alias in override.aliases:
            await self._add_alias(alias, actor_id, override)
        return actor_id

    async def _op_refs(self, actor_id: int) -> list[str]:
        async with self._db.execute("SELECT op_refs FROM actors WHERE id = ?", (actor_id,)) as c:
            row = await c.fetchone()
        return _json_list(row[0] if row else None)

    async def _add_alias(self, alias: str, actor_id: int, override: ActorOverride) -> None:
        key = alias_key(alias)
        if key:
            await self._db.execute(
                "INSERT INTO actor_aliases (alias_norm, alias, actor_id, origin, scheme)"
                " VALUES (?, ?, ?, 'operator', ?) ON CONFLICT DO NOTHING",
                (key, alias, actor_id, override.schemes.get(alias, "other")),
            )

    async def _apply_organisation(self, override: ActorOverride) -> None:
        linked_name = override.linked_actor or ""
        matches = await self.resolve(linked_name)
        if len(matches) != 1:
            problem = "is ambiguous" if matches else "is not a known actor"
            raise OverrideConflict(
                f"{override.where}: organisation '{override.name}': linked_actor "
                f"'{linked_name}' {problem}"
            )
        for name in (override.name, *override.aliases):
            key = alias_key(name)
            if key:
                await self._db.execute(
                    "INSERT INTO organisations (name_norm, name, linked_actor_id, linked_actor)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (name_norm) DO UPDATE SET"
                    " name = excluded.name, linked_actor_id = excluded.linked_actor_id,"
                    " linked_actor = excluded.linked_actor",
                    (key, override.name, matches[0].id, linked_name),
                )

    # --- reading rows into records --------------------------------------------------------

    async def _load(self, ids: Iterable[int]) -> list[Actor]:
        wanted = sorted(set(ids))
        if not wanted:
            return []
        param = json.dumps(wanted) if self._db.dialect == "sqlite" else wanted
        return await self._select(self._db.pick(_SELECT_BY_IDS), param)

    async def _select(self, sql: str, param: object) -> list[Actor]:
        async with self._db.execute(sql, (param,)) as cur:
            rows = await cur.fetchall()
        actors = [self._actor(row, json.loads(row[11] or "[]")) for row in rows]
        actors.sort(key=lambda a: (a.name.casefold(), a.name, a.id or 0))
        return actors

    @staticmethod
    def _actor(row: Any, alias_rows: list[list[str]]) -> Actor:
        actor_id, name, name_norm = row[0], row[1], row[2]
        schemes: dict[str, list[str]] = {
            k: list(v) for k, v in (json.loads(row[10] or "{}") or {}).items()
        }
        aliases: dict[str, str] = {}
        # Catalogue rows first, so an operator alias never displaces a catalogue spelling.
        for alias, key, origin, scheme in sorted(alias_rows, key=lambda r: r[2] != "catalogue"):
            if key == name_norm or key in aliases:
                continue
            aliases[key] = alias
            if origin == "operator":
                schemes.setdefault(scheme or "other", []).append(alias)
        if row[9] == "operator" and not any(name in v for v in schemes.values()):
            scheme = next((r[3] for r in alias_rows if r[1] == name_norm), "") or "other"
            schemes = {scheme: [name], **schemes}
        refs = [*_json_list(row[5]), *_json_list(row[6])]
        meta = json.loads(row[12] or "{}")
        return Actor(
            id=actor_id,
            name=name,
            aliases=_sort_names(aliases.values()),
            country=row[3],
            description=row[4] or "",
            refs=list(dict.fromkeys(refs)),
            related=_json_list(row[7]),
            mitre_id=row[8],
            origin=row[9],
            schemes=schemes,
            meta=meta if isinstance(meta, dict) else {},
        )
