"""Reading the MISP `threat-actor` and MITRE `intrusion-set` galaxy files into clusters."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bot.intel.aliases import normalise_alias

__all__ = ["CLUSTER_FILES", "Cluster", "galaxy_data_dir", "read_clusters"]

CLUSTER_FILES = ("threat-actor.json", "mitre-intrusion-set.json")


@dataclass
class Cluster:
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


def galaxy_data_dir() -> Path:
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


def read_clusters(data_dir: Path) -> list[Cluster]:
    clusters: list[Cluster] = []
    for filename in CLUSTER_FILES:
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
                Cluster(
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
