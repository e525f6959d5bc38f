"""One rule for vendor and product names: "Palo Alto", "Palo Alto Networks" and
"paloaltonetworks" fold to the same key, so KEV entries, watchlists and autocomplete
agree on what one vendor is."""

from __future__ import annotations

import re
import unicodedata

# Whole words dropped wherever they stand (legal forms, filler).
_DROP_WORDS = frozenset({
    "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited",
    "llc", "plc", "gmbh", "ag", "sa", "se", "bv", "nv", "the",
})
# Trailing words dropped (also glued on, as in "paloaltonetworks"); long enough that
# removing them from the end of a joined name cannot cut a real name short.
_TRAILING = ("networks", "network", "systems", "software", "technologies",
             "technology", "foundation", "corporation", "incorporated")
_WORD = re.compile(r"[a-z0-9]+")


def normalise_name(name: str) -> str:
    """The comparison key of a vendor or product name ('' for a name with no letters
    or digits)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = _WORD.findall(folded.replace("&", " and "))
    kept = [w for w in words if w not in _DROP_WORDS] or words
    key = "".join(kept)
    stripped = True
    while stripped:
        stripped = False
        for suffix in _TRAILING:
            if key.endswith(suffix) and len(key) > len(suffix) + 2:
                key = key[: -len(suffix)]
                stripped = True
    return key
