"""Loading and validating the operator's actor overrides TOML file (``load_overrides``)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from bot.intel.aliases import classify_scheme, normalise_alias
from storage.actors import ActorOverride

__all__ = ["OverridesError", "load_overrides"]


class OverridesError(ValueError):
    """The overrides file cannot be used; the message names the file and line."""


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
