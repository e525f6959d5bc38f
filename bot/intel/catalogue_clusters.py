"""Reading the catalogue's sources into clusters, one per entry.

pymispgalaxies ships the galaxy files read here (only these files are read: no network,
and not `pymispgalaxies.Clusters()`, which parses every galaxy):

- `threat-actor` (MISP) and `mitre-intrusion-set` (MITRE ATT&CK groups);
- `microsoft-activity-group` (Microsoft's groups as MISP lists them) and `tidal-groups`
  (Tidal Cyber's groups, with targeted sectors, countries and motivations);
- `ransomware`: only the entries that ``data/ransomware_operators.json`` lists as
  operations acting as groups — every other entry is a malware family, not an actor.

The package's own data adds Microsoft's naming table (``bot.intel.catalogue_sources``)
and a curated supplement for names no source has.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from bot.intel.aliases import normalise_alias
from bot.intel.catalogue_profile import profile_from_meta

__all__ = [
    "AUTHORITATIVE_SOURCES",
    "CLUSTER_FILES",
    "Cluster",
    "clean_name",
    "galaxy_data_dir",
    "package_data_dir",
    "read_clusters",
]

CLUSTER_FILES = (
    "threat-actor.json",
    "mitre-intrusion-set.json",
    "microsoft-activity-group.json",
    "tidal-groups.json",
    "ransomware.json",
)
_SOURCE_OF = {
    "threat-actor.json": "misp",
    "mitre-intrusion-set.json": "mitre",
    "microsoft-activity-group.json": "msag",
    "tidal-groups.json": "tidal",
    "ransomware.json": "ransomware",
}
# Sources whose names for a group are that group's own: MITRE's group and its aliases,
# a row of Microsoft's naming table, a curated supplement entry. Another record that lists
# such a name as a loose synonym loses it (see bot.intel.catalogue).
AUTHORITATIVE_SOURCES = frozenset({"mitre", "microsoft", "curated"})


@dataclass
class Cluster:
    source: str  # misp | mitre | msag | tidal | ransomware | microsoft | curated
    uuid: str
    name: str
    synonyms: list[str]
    country: str | None
    description: str
    refs: list[str]
    related: list[tuple[str, str]]  # (relation type, destination uuid)
    mitre_id: str | None = None  # ATT&CK G-number (MITRE's own entries and Tidal's copies)
    revoked_by: str | None = None  # uuid of the MITRE group that replaced this one
    profile: dict[str, Any] = field(default_factory=dict)  # see catalogue_profile
    row: int | None = None  # the Microsoft naming-table row (microsoft source only)

    @property
    def ransomware(self) -> bool:
        return self.profile.get("kind") == "ransomware"


def galaxy_data_dir() -> Path:
    # Found without importing pymispgalaxies (which loads jsonschema): every command
    # checks the data's stamp at start, and a lookup should not pay for the package.
    spec = importlib.util.find_spec("pymispgalaxies")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pymispgalaxies is not installed")
    base = Path(next(iter(spec.submodule_search_locations)))
    return base / "data" / "misp-galaxy" / "clusters"


def package_data_dir() -> Path:
    return Path(str(resources.files("bot.intel") / "data"))


_MITRE_SUFFIX = re.compile(r"\s+-\s+G\d{4}$")
_QUALIFIER = re.compile(r"\s+\([^()]*\)$")  # "APT-C-38 (QiAnXin)" → "APT-C-38"
_RANSOM_SUFFIX = re.compile(r"\s+ransoms?ware$", re.IGNORECASE)  # "PLAY Ransomware" → "PLAY"
# Tidal names a ransomware operation's people: "LockBit Ransomware Actors & Affiliates".
_TIDAL_SUFFIX = re.compile(
    r"\s+(?:Ransomware\s+)?(?:Threat\s+)?(?:Actors?|Affiliates|Operators|Group|Gang)"
    r"(?:\s*&\s*Affiliates)?$"
)
_ATTACK_ID = re.compile(r"G[01]\d{3}")  # MITRE's range; Tidal's own ids (G3xxx) are not
_UNIT = re.compile(r"\b[Uu]nit (\d{5})\b")


def clean_name(raw: Any) -> str | None:
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


_SUP = re.compile(r"<sup>.*?</sup>", re.DOTALL)  # Tidal's reference marks
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")  # markdown links → their text
_CITATION = re.compile(r"\s*\(Citation:[^)]*\)")


def clean_description(text: str) -> str:
    if "<sup>" in text:
        text = _SUP.sub("", text)
    if "](" in text:
        text = _LINK.sub(r"\1", text)
    if "(Citation:" in text:
        text = _CITATION.sub("", text)
    return " ".join(text.split())


def attributed_unit(description: str) -> str | None:
    """"Unit 26165" when a MITRE description attributes the group to a military unit.

    MITRE's descriptions open with the attribution ("… (GTsSS) military unit 26165"); later
    units they name are other groups' ("with the assistance of GRU Unit 74455"), so only
    the first counts."""
    found = _UNIT.search(description)
    return f"Unit {found.group(1)}" if found else None


def read_clusters(data_dir: Path, operators: dict[str, str]) -> list[Cluster]:
    """Every usable entry of the galaxy files; `operators` maps a `ransomware` entry's
    name to the operation it belongs to (entries not listed are skipped)."""
    clusters: list[Cluster] = []
    for filename in CLUSTER_FILES:
        doc = json.loads((data_dir / filename).read_text(encoding="utf-8"))
        source = _SOURCE_OF[filename]
        for value in doc.get("values", []):
            cluster = _read_entry(source, value, operators)
            if cluster is not None:
                clusters.append(cluster)
    return clusters


def _read_entry(source: str, value: dict[str, Any], operators: dict[str, str]) -> Cluster | None:
    meta = value.get("meta") or {}
    raw_name = str(value.get("value", ""))
    kind: str | None = None
    synonyms_raw: list[Any] = list(meta.get("synonyms") or [])
    mitre_id: str | None = None
    if source == "mitre":
        raw_name = _MITRE_SUFFIX.sub("", raw_name)
        mitre_id = meta.get("external_id") if isinstance(meta.get("external_id"), str) else None
    elif source == "tidal":
        if "(deprecated)" in raw_name.casefold():
            return None
        if "ransomware" in raw_name.casefold():
            kind = "ransomware"
        if kind or re.search(r"(?:Actors?|Affiliates|Operators)$", raw_name):
            raw_name = _TIDAL_SUFFIX.sub("", raw_name)
        attack_id = str(meta.get("group_attack_id", ""))
        if meta.get("source") == "MITRE" and _ATTACK_ID.fullmatch(attack_id):
            mitre_id = attack_id
    elif source == "ransomware":
        operation = operators.get(raw_name)
        if operation is None:
            return None
        kind = "ransomware"
        synonyms_raw = [_RANSOM_SUFFIX.sub("", raw_name), *synonyms_raw]
        raw_name = operation
    name = clean_name(raw_name)
    if name is None:
        return None
    related = [
        (str(r.get("type", "")), str(r.get("dest-uuid", "")))
        for r in value.get("related") or []
        if r.get("type") != "uses" and source != "ransomware"
    ]
    revoked = [dest for rel, dest in related if rel == "revoked-by"]
    synonyms = [s for s in map(clean_name, synonyms_raw) if s]
    description = clean_description(value.get("description") or "")
    if source == "mitre" and (unit := attributed_unit(description)):
        synonyms.append(unit)
    profile = profile_from_meta(meta, kind=kind)
    if kind == "ransomware":
        others = [m for m in profile["motivation"] if m != "financial"]
        profile["motivation"] = ["financial", *others]
    return Cluster(
        source=source,
        uuid=str(value.get("uuid", "")),
        name=name,
        synonyms=synonyms,
        country=_country(meta.get("country")),
        description=description,
        refs=[r for r in meta.get("refs") or [] if isinstance(r, str)],
        related=related,
        mitre_id=mitre_id,
        revoked_by=revoked[0] if revoked else None,
        profile=profile,
    )
