"""Alias normalisation, naming-scheme classification and fuzzy suggestions.

Pure helpers shared by the catalogue loader, the actor repository and the tagger.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Protocol

from rapidfuzz import fuzz, process

from storage.actors import alias_key, name_key

__all__ = [
    "COMMON_WORDS",
    "CONTEXT_WORDS",
    "SCHEMES",
    "Suggester",
    "alias_key_cased",
    "best_known_names",
    "classify_scheme",
    "group_by_scheme",
    "name_key",
    "name_tier",
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

# Display order of the schemes, the names people use most first: Microsoft, CrowdStrike,
# Mandiant, MITRE, then the others (classification order is _SCHEME_PATTERNS').
SCHEMES: tuple[str, ...] = (
    "microsoft",
    "crowdstrike",
    "mandiant",
    "mitre",
    "unit42",
    "secureworks",
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


@lru_cache(maxsize=1 << 15)
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
    """Group names by scheme; keys in SCHEMES order, names in the order given, no empties.

    Give the names best-known first (see `order_names`) and each scheme lists them so."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(classify_scheme(name), []).append(name)
    return {scheme: groups[scheme] for scheme in SCHEMES if scheme in groups}


_WEATHER_NAME = re.compile(rf"(?:[\w'-]+ ){{1,2}}(?:{_MS_WEATHER})", re.I)
_APT_NUMBER = re.compile(r"APT\s?-?\d{1,3}", re.I)
_FIN_NUMBER = re.compile(r"FIN\s?-?\d{1,3}", re.I)
# Tracking codes and catalogue numbers nobody says aloud: ATK7, TG-4127, SIG40, T-APT-12.
_CODE = re.compile(r"[A-Za-z]{1,6}(?:[-_ .]?[A-Za-z]{1,4})?[-_ .]?\d+[A-Za-z]?")
_SECONDARY = frozenset({"unit42", "secureworks", "recorded_future", "trend_micro"})
_CODED = frozenset({"mitre", "proofpoint", "ibm", "cert_ua"})


def name_tier(name: str, scheme: str | None = None) -> int:
    """How well known a kind of name is: 0 the vendor names people use (Midnight Blizzard,
    Cozy Bear, APT29, Turla), 1 older or secondary vendors' names (NOBELIUM, FIN7, IRON
    HEMLOCK), 2 tracking codes (Storm-0558, UNC2452, TA446, ATK7), 3 MITRE G-numbers."""
    scheme = scheme or classify_scheme(name)
    if scheme == "mitre":
        return 3
    if scheme == "microsoft":
        return 0 if _WEATHER_NAME.fullmatch(name) else 1 if name.isalpha() else 2
    if scheme == "mandiant":
        return 0 if _APT_NUMBER.fullmatch(name) else 1 if _FIN_NUMBER.fullmatch(name) else 2
    if scheme == "crowdstrike":
        return 0
    if scheme in _SECONDARY:
        return 1
    if scheme in _CODED or _CODE.fullmatch(name.strip()):
        return 2
    return 0


def order_names(names: Iterable[str], weight: Mapping[str, int] | None = None) -> list[str]:
    """Names best-known first: by tier, then scheme (SCHEMES order), then `weight` (by alias
    key, higher first: the catalogue passes how many sources list the name), then the
    order given. Never alphabetical."""
    weight = weight or {}
    rank = {scheme: i for i, scheme in enumerate(SCHEMES)}

    def key(item: tuple[int, str]) -> tuple[int, int, int, int]:
        pos, name = item
        scheme = classify_scheme(name)
        return (name_tier(name, scheme), rank[scheme], -weight.get(normalise_alias(name), 0), pos)

    return [name for _, name in sorted(enumerate(names), key=key)]


class _Named(Protocol):
    name: str
    schemes: dict[str, list[str]]


def best_known_names(actor: _Named, n: int = 3) -> list[str]:
    """The `n` best-known names of `actor` besides its canonical name, for "a.k.a.".

    Walks the actor's names in the catalogue's best-known order (tier, then scheme in
    SCHEMES order, then each scheme's own order): an article about Midnight Blizzard is
    glossed "APT29, Cozy Bear", never "ATK7". Variants of the canonical name itself
    ("Lazarus" for Lazarus Group, "LockBit 3.0" for LockBit) are not other names."""
    rank = {scheme: i for i, scheme in enumerate(SCHEMES)}
    canonical = normalise_alias(actor.name)
    seen = {canonical}
    candidates: list[tuple[int, int, int, str]] = []
    for scheme, names in actor.schemes.items():
        for pos, name in enumerate(names):
            key = normalise_alias(name)
            if key in seen or canonical in key or key in canonical:
                continue
            seen.add(key)
            candidates.append((name_tier(name, scheme), rank.get(scheme, len(rank)), pos, name))
    return [name for *_, name in sorted(candidates)[: max(n, 0)]]


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
        "gang", "crew", "unit", "actor", "operation", "apt", "the", "honeybee",
        # one-word names the issue-10 sources added (Microsoft's table, Tidal, MISP's
        # Microsoft galaxy) that are ordinary words: resolvable, never tagged alone
        "aeon", "anonymous", "bottle", "bowser", "chameleon", "combine", "covenant", "fidel",
        "foxtrot", "golem", "haymaker", "hellfire", "horde", "kaos", "karst", "paladin",
        "parasite", "phantom", "reuse", "scimitar", "shell", "templar", "underground",
    }
)


# Single-word names of ransomware and extortion operations that are also ordinary words or
# names (Hive, Play, Royal, Akira …). The tagger matches them only in the actor's sense:
# capitalised and next to a word like "ransomware", "gang" or "affiliates"
# (bot.intel.actor_tagging). Taking precedence over COMMON_WORDS.
CONTEXT_WORDS: frozenset[str] = frozenset(
    {
        "agenda", "akira", "anubis", "avaddon", "babuk", "beast", "cactus", "conti", "cuba",
        "daixin", "devman", "egregor", "embargo", "everest", "fog", "ghost", "gunra", "hellcat",
        "hive", "hunters", "hydra", "interlock", "karakurt", "lorenz", "lynx", "mallox", "maze",
        "medusa", "monti", "phobos", "play", "quantum", "royal", "ryuk", "sarcoma", "sinobi",
        "snatch", "termite", "trigona", "warlock", "zeppelin",
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
