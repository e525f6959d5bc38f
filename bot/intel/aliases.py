"""Alias normalisation, naming-scheme classification and fuzzy suggestions.

Pure helpers shared by the catalogue loader, the actor repository and the tagger.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from rapidfuzz import fuzz, process

from storage.actors import alias_key, name_key

__all__ = [
    "COMMON_WORDS",
    "SCHEMES",
    "Suggester",
    "alias_key_cased",
    "classify_scheme",
    "group_by_scheme",
    "name_key",
    "normalise_alias",
]


def _fold(name: str) -> str:
    # NFKD splits "é" into "e" + a combining accent, which the isalnum() filters then drop;
    # it also folds full-width and ligature forms onto plain letters.
    return unicodedata.normalize("NFKD", name)


def normalise_alias(name: str) -> str:
    """Lookup key for an alias: case-, space-, punctuation- and diacritic-insensitive.

    "APT 29", "apt-29" and "APT29" share the key "apt29"; "Storm-0919" and "storm 0919" share
    "storm0919". Only separators are dropped — every letter and digit is kept in order, so
    distinct names such as APT2 and APT29 keep distinct keys. Non-Latin letters survive.
    (The key is persisted, so the one implementation lives in storage.actors.)
    """
    return alias_key(name)


def alias_key_cased(name: str) -> str:
    """Like normalise_alias but case-preserving (the tagger's exact-case comparisons)."""
    return "".join(ch for ch in _fold(name) if ch.isalnum())


# --- naming schemes -------------------------------------------------------------------------

# Display order of the schemes (classification order is _SCHEME_PATTERNS').
SCHEMES: tuple[str, ...] = (
    "microsoft",
    "crowdstrike",
    "mandiant",
    "secureworks",
    "unit42",
    "mitre",
    "proofpoint",
    "recorded_future",
    "trend_micro",
    "ibm",
    "cert_ua",
    "other",
)

_MS_WEATHER = (
    "Blizzard|Typhoon|Sandstorm|Sleet|Tempest|Tsunami|Hail|Cyclone|Dust|Flood|Rain"
)
# Microsoft's pre-2023 scheme used chemical element names (NOBELIUM, STRONTIUM, ZINC ...).
_ELEMENTS = frozenset(
    {
        "hydrogen", "helium", "lithium", "beryllium", "boron", "carbon", "nitrogen", "oxygen",
        "fluorine", "neon", "sodium", "magnesium", "aluminum", "aluminium", "silicon", "phosphorus",
        "sulfur", "sulphur", "chlorine", "argon", "potassium", "calcium", "scandium", "titanium",
        "vanadium", "chromium", "manganese", "iron", "cobalt", "nickel", "copper", "zinc",
        "gallium", "germanium", "arsenic", "selenium", "bromine", "krypton", "rubidium",
        "strontium", "yttrium", "zirconium", "niobium", "molybdenum", "technetium", "ruthenium",
        "rhodium", "palladium", "silver", "cadmium", "indium", "tin", "antimony", "tellurium",
        "iodine", "xenon", "cesium", "caesium", "barium", "lanthanum", "cerium", "praseodymium",
        "neodymium", "promethium", "samarium", "europium", "gadolinium", "terbium", "dysprosium",
        "holmium", "erbium", "thulium", "ytterbium", "lutetium", "hafnium", "tantalum", "tungsten",
        "rhenium", "osmium", "iridium", "platinum", "gold", "mercury", "thallium", "lead",
        "bismuth", "polonium", "astatine", "radon", "francium", "radium", "actinium", "thorium",
        "protactinium", "uranium", "neptunium", "plutonium", "americium", "curium", "berkelium",
        "californium", "einsteinium", "fermium", "mendelevium", "nobelium", "lawrencium",
        "rutherfordium", "dubnium", "seaborgium", "bohrium", "hassium", "meitnerium",
        "darmstadtium", "roentgenium", "copernicium", "nihonium", "flerovium", "moscovium",
        "livermorium", "tennessine", "oganesson"
    }
)
_CS_ANIMALS = (
    "Bear|Panda|Kitten|Chollima|Spider|Jackal|Buffalo|Tiger|Ocelot|Leopard|Crane|Lynx|Wolf"
    "|Saiga|Eagle|Kangaroo|Hawk|Likho"
)
_SW_METALS = (
    "IRON|BRONZE|GOLD|COBALT|TIN|NICKEL|ALUMINUM|ALUMINIUM|PLATINUM|COPPER|ZINC|TUNGSTEN"
    "|TITANIUM"
)
_U42_CONSTELLATIONS = (
    "Ursa|Taurus|Libra|Serpens|Pisces|Scorpius|Draco|Aquarius|Orion|Lupus|Gemini|Cygnus"
)

_SCHEME_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("mitre", re.compile(r"G\d{4}", re.I)),
    (
        "microsoft",
        re.compile(rf"(?:[\w'-]+ ){{1,2}}(?:{_MS_WEATHER})|(?:Storm|DEV)-?\d{{3,4}}", re.I),
    ),
    ("unit42", re.compile(rf"[A-Za-z]+ (?:{_U42_CONSTELLATIONS})|CL-\w+-\d+", re.I)),
    ("crowdstrike", re.compile(rf"(?:[\w'-]+ ){{1,2}}(?:{_CS_ANIMALS})", re.I)),
    ("mandiant", re.compile(r"(?:APT|UNC|FIN)\s?-?\d{1,4}|TEMP[._][\w.]+", re.I)),
    (
        "secureworks",
        re.compile(rf"(?:{_SW_METALS}) (?!(?:Group|Gang|Team|Crew)$)[A-Za-z]+", re.I),
    ),
    ("proofpoint", re.compile(r"TA-?\d{3,4}|UNK_\w+", re.I)),
    (
        "recorded_future",
        re.compile(r"TAG-\d+|(?:Blue|Red|Green|Purple)[A-Z][a-z]+", re.ASCII),
    ),
    ("trend_micro", re.compile(r"(?:Earth|Water|Void) [A-Za-z]+")),
    ("ibm", re.compile(r"ITG\d+|Hive\d+", re.I)),
    ("cert_ua", re.compile(r"UAC-\d+", re.I)),
)


def classify_scheme(alias: str) -> str:
    """Which vendor naming scheme an alias follows ("other" when none is recognisable)."""
    name = alias.strip()
    if name.isalpha() and name.casefold() in _ELEMENTS and name.upper() == name:
        return "microsoft"  # legacy element names are written in capitals: NOBELIUM, ZINC
    if name.isalpha() and name.casefold() in _ELEMENTS and name.casefold().endswith("ium"):
        return "microsoft"  # "Nobelium" as some catalogues spell it
    for scheme, pattern in _SCHEME_PATTERNS:
        if pattern.fullmatch(name):
            return scheme
    return "other"


def group_by_scheme(names: Iterable[str]) -> dict[str, list[str]]:
    """Group names by scheme; keys in SCHEMES order, names in the order given, no empties."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(classify_scheme(name), []).append(name)
    return {scheme: groups[scheme] for scheme in SCHEMES if scheme in groups}


# --- common words ---------------------------------------------------------------------------

# Single-word aliases that are everyday English words (or product, company and place names a
# security article mentions for other reasons). The tagger never matches them on their own,
# and the catalogue never derives a short alias that is one of them. Hand-picked from the
# single-word aliases in the MISP/MITRE data; add to it when a false positive shows up.
COMMON_WORDS: frozenset[str] = frozenset(
    {
        "alibaba", "amoeba", "armageddon", "axiom", "basin", "beijing", "buckeye", "butterfly",
        "calc", "callisto", "calypso", "cardinal", "castle", "chimera", "chromium", "cicada",
        "cleaver", "cobalt", "comment", "copper", "dune", "equation", "fallout", "frankenstein",
        "gorilla", "hacking", "hangover", "hidden", "hippo", "inception", "indra", "iron", "kairos",
        "koala", "krypton", "lead", "lexus", "longhorn", "lurid", "mana", "mantis", "mask", "maze",
        "mercury", "mirage", "monsoon", "moonlight", "morpho", "nitro", "oxygen", "pickaxe",
        "pioneer", "platinum", "play", "polaris", "popeye", "poseidon", "pupa", "rancor", "reaper",
        "scarab", "siesta", "silence", "silicon", "snake", "snowglobe", "sodium", "strider",
        "summit", "superman", "tick", "trident", "tsar", "vermin", "watchdog", "wicked",
        "wildcard", "zinc",
        "boron", "bromine", "calcium", "helium", "magnesium", "manganese", "potassium", "radium",
        "sulphur", "plutonium", "nickel", "carbon", "gold", "silver", "tin", "group", "team",
        "gang", "crew", "unit", "actor", "operation", "apt", "the", "honeybee"
    }
)


# --- fuzzy suggestions ----------------------------------------------------------------------


class Suggester:
    """Fuzzy "did you mean" over a fixed list of names, normalised once.

    Compared on normalised keys, so "apt 92" is near "APT29" and "cosy bear" near "Cozy Bear".
    Candidates whose keys coincide ("COZY BEAR", "Cozy Bear") are offered once.
    """

    def __init__(self, candidates: Iterable[str]) -> None:
        self._first_by_key: dict[str, str] = {}
        for candidate in candidates:
            key = normalise_alias(candidate)
            if key:
                self._first_by_key.setdefault(key, candidate)
        self._keys = list(self._first_by_key)

    def suggest(self, name: str, limit: int = 5) -> list[str]:
        """The candidates closest to `name` (best first, distinct, at most `limit`)."""
        query = normalise_alias(name)
        if not query or limit <= 0:
            return []
        # WRatio rewards partial overlap, which suits "flax" → "Flax Typhoon"; the cutoff
        # keeps a merely similar-looking word ("Pioneer Kitten" for "Integrity Tech") from
        # being offered at all.
        hits = process.extract(query, self._keys, scorer=fuzz.WRatio, limit=None,
                               score_cutoff=75)
        # A transposition ("APT92" for APT29) keeps every character: a small bonus lifts
        # it above near misses like APT2. Then closer length, then alphabetical.
        letters = sorted(query)
        hits.sort(
            key=lambda hit: (
                -(round(hit[1], 3) + (10 if sorted(hit[0]) == letters else 0)),
                abs(len(hit[0]) - len(query)),
                hit[0],
            )
        )
        return [self._first_by_key[key] for key, _score, _index in hits[:limit]]
