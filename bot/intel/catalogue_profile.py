"""Actor profile metadata (``Actor.meta``) from the galaxy entries' own meta fields.

Keys, all optional (missing means an empty list, or None for ``kind``):

- ``motivation``: e.g. ["espionage"], ["financial"] — from Tidal's observed_motivations,
  MISP's cfr-type-of-incident and motive, Microsoft's "Financially motivated" /
  "Influence operations" labels; ransomware operations are financial;
- ``sectors``: targeted sectors — Tidal target_categories, MISP cfr-target-category and
  targeted-sector, the Microsoft activity-group galaxy's sector;
- ``targets``: targeted countries by name — MISP cfr-suspected-victims, Tidal's
  observed_countries (ISO codes, named with pycountry);
- ``kind``: "ransomware" | "psoa" (private-sector offensive actor) | "apt" | "hacktivist" |
  "influence" | "cybercrime", the first that fits the evidence, in that order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pycountry

__all__ = ["KINDS", "empty_profile", "merge_profiles", "profile_from_meta"]

KINDS = ("ransomware", "psoa", "apt", "hacktivist", "influence", "cybercrime")

_MOTIVES = (
    (re.compile(r"espionage|intelligence", re.I), "espionage"),
    (re.compile(r"financ|theft|cybercrime|extortion|fraud|business email", re.I), "financial"),
    (re.compile(r"destruct|sabotage|wiper", re.I), "destruction"),
    (re.compile(r"disrupt|denial of service|defacement", re.I), "disruption"),
    (re.compile(r"ideolog|hacktivis|nationalis", re.I), "ideology"),
    (re.compile(r"influence|information operation", re.I), "influence"),
)
_COUNTRY_NAMES = {"RU": "Russia", "PS": "Palestine", "MO": "Macau", "US": "United States"}
_COUNTRY_ALIASES = {
    "usa": "US", "us": "US", "uk": "GB", "russia": "RU", "turkey": "TR", "iran": "IR",
    "south korea": "KR", "north korea": "KP", "vietnam": "VN", "taiwan": "TW", "syria": "SY",
    "palestine": "PS", "macau": "MO", "czech republic": "CZ", "laos": "LA",
}
_by_name: dict[str, str] = {}


def _country_code(name: str) -> str | None:
    """ISO code of a country written by name ("Germany", "South Korea"); None otherwise."""
    if not _by_name:
        for entry in pycountry.countries:
            for attr in ("name", "common_name", "official_name"):
                value = getattr(entry, attr, None)
                if value:
                    _by_name[str(value).casefold()] = str(entry.alpha_2)
        _by_name.update({k: v for k, v in _COUNTRY_ALIASES.items() if len(k) > 2})
    return _by_name.get(" ".join(name.split()).casefold())


def empty_profile() -> dict[str, Any]:
    return {"motivation": [], "sectors": [], "targets": [], "kind": None}


def _strings(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [s for s in (" ".join(raw.split()),) if s]
    if isinstance(raw, list):
        return [" ".join(s.split()) for s in raw if isinstance(s, str) and s.strip()]
    return []


def motives(texts: Iterable[str]) -> list[str]:
    found: list[str] = []
    for text in texts:
        for pattern, motive in _MOTIVES:
            if pattern.search(text) and motive not in found:
                found.append(motive)
    return found


def country_name(code: str) -> str | None:
    code = code.strip().upper()
    if code in _COUNTRY_NAMES:
        return _COUNTRY_NAMES[code]
    entry = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    if entry is None:
        return None
    return str(getattr(entry, "common_name", None) or entry.name)


def profile_from_meta(meta: dict[str, Any], *, kind: str | None = None) -> dict[str, Any]:
    """The profile one galaxy entry's meta supports; `kind` when the source decides it."""
    motivation = motives(
        [
            *_strings(meta.get("observed_motivations")),
            *_strings(meta.get("cfr-type-of-incident")),
            *_strings(meta.get("motive")),
        ]
    )
    sectors = [
        s
        for s in (
            *_strings(meta.get("target_categories")),
            *_strings(meta.get("cfr-target-category")),
            *_strings(meta.get("targeted-sector")),
            *_strings(meta.get("sector")),
        )
        if _country_code(s) is None  # a few entries list a country as a sector
    ]
    # Victims are countries and organisations ("Sony Pictures Entertainment"): countries only.
    codes = [_country_code(v) for v in _strings(meta.get("cfr-suspected-victims"))]
    codes += _strings(meta.get("observed_countries"))
    targets = [n for n in map(country_name, (c for c in codes if c)) if n]
    if kind is None:
        sponsored = bool(_strings(meta.get("cfr-suspected-state-sponsor")))
        if "espionage" in motivation or sponsored:
            kind = "apt"
        elif "ideology" in motivation:
            kind = "hacktivist"
        elif "financial" in motivation:
            kind = "cybercrime"
    return {
        "motivation": motivation,
        "sectors": _dedupe(sectors),
        "targets": _dedupe(targets),
        "kind": kind,
    }


def merge_profiles(profiles: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """One record's profile: lists united in order, the strongest kind (KINDS order)."""
    merged = empty_profile()
    kinds: set[str] = set()
    for profile in profiles:
        for key in ("motivation", "sectors", "targets"):
            merged[key] = _dedupe([*merged[key], *profile.get(key, [])])
        if profile.get("kind"):
            kinds.add(profile["kind"])
    merged["kind"] = next((k for k in KINDS if k in kinds), None)
    return merged


def _dedupe(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        key = item.casefold()
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
