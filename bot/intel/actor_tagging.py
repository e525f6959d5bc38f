"""Find the threat actors an article names.

`ActorTagger` is built once from (alias, canonical name) pairs — `ActorRepository.
alias_pairs()` or `ActorTagger.from_actors(load_catalogue())` — and is picklable, so ingest
workers get a copy. Matching is one pass over the text's words with dictionary look-ups
(no per-alias regex), so thousands of aliases cost the same as a handful.

Precision rules, decided per alias:

- Word boundaries: an alias matches whole words only ("APT2" never inside "APT29"). Its
  words may be joined in the text by a space, a hyphen, a dot, an underscore or an
  apostrophe, or by nothing ("APT 29", "APT-29" and "APT29" all match APT29).
- Case: proper names are written capitalised, so each word of letters only must start with
  a capital ("Cozy Bear", "COZY BEAR"; not "cozy bear market"), unless the text spells the
  alias exactly as the catalogue does ("menuPass"). Small words (of, the …) and generic
  suffixes (group, team …) are exempt; words with digits ("apt29") never need capitals.
- Never matched: one-word aliases that are common English words or product names
  (`aliases.COMMON_WORDS`: "Equation", "Lead", "Snake", "Cobalt", "Chromium" …), one-word
  aliases the catalogue only writes in lower case, letter-only aliases under 4 characters
  ("GOP", "TSB"), and a few phrases that are ordinary English ("Animal Farm").
- Aliases shorter than 4 characters that contain digits match only as written.
- An alias shared by several actors is ambiguous and tags none of them — unless it is
  exactly one of them's canonical name ("Carbanak", also listed under FIN7). An actor it
  may mean is tagged only when another, unambiguous alias of it is in the text too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.intel.aliases import COMMON_WORDS, alias_key_cased, name_key, normalise_alias
from storage.actors import Actor

__all__ = ["ActorTagger"]

_WORD = re.compile(r"[^\W_]+")
_SPLIT = re.compile(r"([^\W_]+)")
_FIRST_WORD = re.compile(r"[^\W_]+")
# Stripped from a chunk's ends before the quick look (quotes, brackets, sentence marks).
_EDGE_PUNCT = "".join(chr(c) for c in range(33, 127) if not chr(c).isalnum()) + (
    "\u2018\u2019\u201c\u201d\u00ab\u00bb\u2026\u2013\u2014\u00b7\u2022"
)
# What may stand between two words of one alias in running text.
_JOINERS = frozenset(
    [" ", "  ", "\n", "\u00a0", "-", "\u2010", "\u2011", "\u2013", ".", "_", "'", "\u2019"]
)
_SMALL_WORDS = frozenset({"of", "the", "and", "de", "al", "el", "a", "an", "for", "in", "on"})
_GENERIC_WORDS = frozenset({"group", "team", "gang", "crew", "apt", "unit", "actor"})
_NEVER_PHRASES = frozenset(
    normalise_alias(p)
    for p in (
        "Animal Farm", "Prince of Persia", "Storm Cloud", "Dust Storm", "Evil Eye", "Red Eyes",
        "Lucky Cat", "Rotten Tomato", "The Big Bang", "Sands Casino", "PLA Navy", "Big Panda",
        "Test Panda", "The Mask",
    )
)
_GENERIC_NUMBERED = re.compile(r"(?:group|unit|team|actor)\s*\d{1,2}", re.IGNORECASE)

_NEVER, _EXACT, _CAPITALISED = 0, 1, 2


@dataclass(slots=True)
class _Entry:
    names: tuple[str, ...]  # canonical names this alias key denotes (≥2: ambiguous)
    spellings: frozenset[str]  # case-preserving keys of the catalogue's spellings
    mode: int  # _EXACT or _CAPITALISED


def _mode(alias: str) -> int:
    words = _WORD.findall(alias)
    key = normalise_alias(alias)
    if not words or key in _NEVER_PHRASES or _GENERIC_NUMBERED.fullmatch(alias.strip()):
        return _NEVER
    if len(words) == 1:
        word = words[0]
        if word.isalpha():
            if len(key) < 4 or key in COMMON_WORDS or word.islower():
                return _NEVER
        elif len(key) < 4:
            return _NEVER if key.isdigit() else _EXACT
    elif len(key) < 4:
        return _EXACT
    return _CAPITALISED


def _capitalised(words: list[str]) -> bool:
    # The first word must be capitalised; later small words and generic suffixes need not.
    for n, word in enumerate(words):
        if word[0].islower() and word.isalpha():
            low = word.lower()
            if n == 0 or (low not in _SMALL_WORDS and low not in _GENERIC_WORDS):
                return False
    return True


class ActorTagger:
    """Tags text with canonical actor names; see the module docstring for the rules."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        """`pairs`: (alias as written, canonical name), canonical names included."""
        names: dict[str, dict[str, None]] = {}  # key → canonical names, in first-seen order
        spellings: dict[str, set[str]] = {}
        modes: dict[str, int] = {}
        lower_first: set[tuple[str, str]] = set()
        kept: list[tuple[str, str]] = []
        for alias, canonical in pairs:
            kept.append((alias, canonical))
            key = normalise_alias(alias)
            if not key:
                continue
            first = _WORD.search(alias)
            if first and first.group()[0].islower():
                lower_first.add((key, first.group()))
            names.setdefault(key, {})[canonical] = None
            spellings.setdefault(key, set()).add(alias_key_cased(alias))
            # The most permissive spelling decides: "Lazarus Group" may match where
            # "Lazarus group" alone would not.
            modes[key] = max(modes.get(key, _NEVER), _mode(alias))
        self._entries: dict[str, _Entry] = {
            key: _Entry(tuple(names[key]), frozenset(spellings[key]), modes[key])
            for key in names
            if modes[key] != _NEVER
        }
        self._prefixes = frozenset(k[:i] for k in self._entries for i in range(1, len(k) + 1))
        # First words of the aliases the catalogue writes with a lower-case initial
        # ("menuPass", "the Lamberts"): the only lower-case words worth trying.
        self._lower_first_words = frozenset(
            first
            for key, first in lower_first
            if key in self._entries and first.lower() not in _SMALL_WORDS
        )
        self._window = 1 + max(
            (len(_WORD.findall(alias)) for alias, _ in kept), default=1
        )

    @classmethod
    def from_actors(cls, actors: Iterable[Actor]) -> ActorTagger:
        return cls((n, a.name) for a in actors for n in a.all_names)

    def __len__(self) -> int:
        return len(self._entries)

    def tag(self, text: str) -> list[str]:
        """Canonical names of the actors `text` names, in order of first mention."""
        # Walk whitespace-separated chunks (str.split runs in C); only the few chunks that
        # could start an alias get a closer, word-level look at a small window.
        found: dict[str, None] = {}
        chunks = text.split()
        n, k = len(chunks), 0
        while k < n:
            k += self._scan(chunks, k, found) if self._may_start(chunks, k) else 1
        return list(found)

    def _may_start(self, chunks: list[str], k: int) -> bool:
        chunk = chunks[k]
        core = chunk if chunk.isalpha() else chunk.strip(_EDGE_PUNCT)
        if not core.isalpha():
            return bool(core)  # digits, inner punctuation, other scripts: look closely
        if core[0].islower() and core not in self._lower_first_words:
            return False  # "cozy bear": lower-case initials only where spelled so
        key = _key(core)
        if key in self._entries:
            return True
        if key not in self._prefixes or not chunk.endswith(core) or k + 1 >= len(chunks):
            return False
        # A longer alias needs the next chunk to continue it ("Flax" + "Typhoon").
        nxt = chunks[k + 1]
        if nxt.isalnum():
            return key + _key(nxt) in self._prefixes
        first = _FIRST_WORD.match(nxt)
        return first is not None and key + _key(first.group()) in self._prefixes

    def _scan(self, chunks: list[str], k: int, found: dict[str, None]) -> int:
        """Match aliases starting in chunks[k]; returns how many chunks to move on."""
        window = chunks[k : k + self._window]
        parts = _SPLIT.split(" ".join(window))  # separator, word, separator, …
        words = parts[1::2]
        starts: list[int] = []
        pos = len(parts[0])
        for idx, word in enumerate(words):
            starts.append(pos)
            pos += len(word) + len(parts[2 * idx + 2])
        prefixes, entries = self._prefixes, self._entries
        first_len, end_char, n, i = len(window[0]), 0, len(words), 0
        while i < n and starts[i] < first_len:
            key = _key(words[i])
            best: tuple[int, _Entry] | None = None
            j = i
            while key in prefixes:
                entry = entries.get(key)
                if entry is not None and _case_ok(entry, words[i : j + 1]):
                    best = (j, entry)
                if j + 1 >= n or parts[2 * j + 2] not in _JOINERS:
                    break
                j += 1
                key += _key(words[j])
            if best is None:
                i += 1
                continue
            end, entry = best
            self._record(entry, words[i : end + 1], found)
            end_char = starts[end] + len(words[end])
            i = end + 1
        if end_char <= first_len:
            return 1
        # The last match ran into a later chunk: skip the chunks it covered, but look at
        # the one it ended in again if more text follows there ("Cozy Bear/Turla").
        covered, acc = 0, -1
        for chunk in window:
            acc += len(chunk) + 1
            covered += 1
            if acc >= end_char:
                break
        rest = window[covered - 1][len(window[covered - 1]) - (acc - end_char) :]
        return covered if not rest.strip(_EDGE_PUNCT) else covered - 1

    @staticmethod
    def _record(entry: _Entry, words: list[str], found: dict[str, None]) -> None:
        if len(entry.names) == 1:
            found.setdefault(entry.names[0], None)
            return
        # Ambiguous: only an exact canonical name picks one. Otherwise it adds nothing;
        # an actor it might mean is tagged only through another, unambiguous alias.
        written = name_key(" ".join(words))
        exact = [c for c in entry.names if name_key(c) == written]
        if len(exact) == 1:
            found.setdefault(exact[0], None)


def _key(word: str) -> str:
    return word.lower() if word.isascii() else normalise_alias(word)


def _case_ok(entry: _Entry, words: list[str]) -> bool:
    if "".join(words) in entry.spellings:
        return True
    return entry.mode == _CAPITALISED and _capitalised(words)
