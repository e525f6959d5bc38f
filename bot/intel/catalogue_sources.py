"""The package's own catalogue data (``bot/intel/data/``), read into clusters.

- ``microsoft_mapping_<date>.json``: Microsoft's threat-actor naming table, from the public
  GitHub repository microsoft/mstic (PublicFeeds/ThreatActorNaming/MicrosoftMapping.json,
  content licensed CC BY 4.0), dated by its last commit. One cluster per row: the current
  name, and the old and other vendors' names as synonyms.
- ``actor_supplement.json``: a few names the sources lack, each with a source note.
- ``ransomware_operators.json``: which `ransomware` galaxy entries are operations acting
  as groups, under the operation's usual spelling.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bot.intel.catalogue_clusters import Cluster, clean_name
from bot.intel.catalogue_profile import empty_profile

__all__ = [
    "microsoft_mapping_file",
    "read_microsoft_mapping",
    "read_operators",
    "read_supplement",
    "source_files",
]

SUPPLEMENT_FILE = "actor_supplement.json"
OPERATORS_FILE = "ransomware_operators.json"

_COUNTRIES = {
    "china": "CN", "russia": "RU", "iran": "IR", "north korea": "KP", "korea": "KR",
    "south korea": "KR", "lebanon": "LB", "israel": "IL", "türkiye": "TR", "turkey": "TR",
    "vietnam": "VN", "united arab emirates": "AE", "austria": "AT", "singapore": "SG",
    "ukraine": "UA", "belarus": "BY", "united states": "US", "pakistan": "PK", "india": "IN",
}
_LABELS = {  # Microsoft's "Origin/Threat" labels that are not countries
    "financially motivated": ("financial", "cybercrime"),
    "influence operations": ("influence", "influence"),
    "private sector offensive actor": (None, "psoa"),
}


def microsoft_mapping_file(data_dir: Path) -> Path:
    """The newest dated copy of Microsoft's table shipped in `data_dir`."""
    found = sorted(data_dir.glob("microsoft_mapping_*.json"))
    if not found:
        raise FileNotFoundError(f"no microsoft_mapping_<date>.json in {data_dir}")
    return found[-1]


def source_files(data_dir: Path) -> list[Path]:
    """The package data files the catalogue is built from (for its version)."""
    return [microsoft_mapping_file(data_dir), data_dir / SUPPLEMENT_FILE, data_dir / OPERATORS_FILE]


def _split_names(raw: Any) -> list[str]:
    if not isinstance(raw, str):
        return []
    return [n for n in (clean_name(part) for part in raw.split(",")) if n]


def read_microsoft_mapping(path: Path) -> list[Cluster]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    clusters: list[Cluster] = []
    for index, row in enumerate(rows):
        name = clean_name(row.get("Threat actor name"))
        if name is None:
            continue
        country: str | None = None
        profile = empty_profile()
        for label in (p.strip().casefold() for p in str(row.get("Origin/Threat", "")).split(",")):
            if label in _COUNTRIES and country is None:
                country = _COUNTRIES[label]
            elif label in _LABELS:
                motive, kind = _LABELS[label]
                if motive:
                    profile["motivation"].append(motive)
                profile["kind"] = profile["kind"] or kind
        if country and profile["kind"] is None:
            profile["kind"] = "apt"  # Microsoft's nation-state families
        clusters.append(
            Cluster(
                source="microsoft",
                uuid=f"microsoft-mapping:{index}",
                name=name,
                synonyms=[n for n in _split_names(row.get("Other names")) if n != name],
                country=country,
                description="",
                refs=[],
                related=[],
                profile=profile,
                row=index,
            )
        )
    return clusters


def read_supplement(path: Path) -> list[Cluster]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    clusters: list[Cluster] = []
    for index, entry in enumerate(doc.get("actors", [])):
        name = clean_name(entry.get("name"))
        if name is None or not str(entry.get("source", "")).strip():
            raise ValueError(f"{path}: entry {index + 1} needs a name and a source note")
        profile = empty_profile()
        profile["kind"] = entry.get("kind")
        if entry.get("kind") in ("ransomware", "cybercrime"):
            profile["motivation"] = ["financial"]
        country = entry.get("country")
        clusters.append(
            Cluster(
                source="curated",
                uuid=f"supplement:{index}",
                name=name,
                synonyms=[n for n in map(clean_name, entry.get("aliases", [])) if n],
                country=country if isinstance(country, str) and re.fullmatch(r"[A-Z]{2}", country)
                else None,
                description="",
                refs=[],
                related=[],
                profile=profile,
            )
        )
    return clusters


def read_operators(path: Path) -> dict[str, str]:
    """`ransomware` galaxy entry name → the operation's name."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {
        entry: op["name"] for op in doc.get("operations", []) for entry in op.get("entries", [])
    }
