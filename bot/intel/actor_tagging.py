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
- Context: one-word names of ransomware operations that are also ordinary words or names
  (`aliases.CONTEXT_WORDS`: Hive, Play, Royal, Akira, Medusa, Cactus …) match only in the
  actor's sense — capitalised and next to a word like "ransomware", "gang", "group",
  "affiliates", "operators", "crew" or "extortion" ("Hive ransomware", "the Play gang",
  "Akira's affiliates"); "play a role" and "a hive of activity" tag nothing. A list of
  actor names joined by commas, "and", "or", "&" or "as well as" counts as one: a cue
  before or after the list puts every name in it in context ("Hive, Play and Royal
  ransomware", "ransomware groups such as Akira and Medusa"); each name in the list must
  be a catalogue alias, so "Royal Mail and Hive ransomware" tags only Hive.
- An alias shared by several actors is ambiguous and tags none of them — unless it is
  exactly one of them's canonical name, or only one of them spells it with these word
  breaks ("COLDRIVER" is Star Blizzard's, "Cold River" another record). An actor it may
  mean is tagged only when another, unambiguous alias of it is in the text too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.intel.aliases import (
    COMMON_WORDS,
    CONTEXT_WORDS,
    alias_key_cased,
    name_key,
    normalise_alias,
)
from storage.actors import Actor

__all__ = ["ActorTagger"]

_WORD = re.compile(r"[^\W_]+")  # letters and digits; "_" separates like punctuation
_SPLIT = re.compile(r"([^\W_]+)")
# Stripped from a chunk's ends before the quick look (quotes, brackets, sentence marks).
_EDGE_PUNCT = "".join(chr(c) for c in range(33, 127) if not chr(c).isalnum()) + (
    "\u2018\u2019\u201c\u201d\u00ab\u00bb\u2026\u2013\u2014\u00b7\u2022"
)
# What may stand between two words of one alias in running text.
_JOINERS = frozenset(
    [" ", "  ", "\n", "\u00a0", "-", "\u2010", "\u2011", "\u2013", ".", "_", "'", "\u2019",
     "$", "$ "]
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

_NEVER, _EXACT, _CAPITALISED, _CONTEXT = 0, 1, 2, 3
_BREAKS = frozenset(".,;:!?()[]")  # a cue beyond one of these is in another clause
# Words that put a CONTEXT_WORDS name in the actor's sense, before or after it.
_CONTEXT_CUES = frozenset(
    {
        "ransomware", "gang", "group", "affiliate", "affiliates", "operator", "operators",
        "crew", "extortion", "cartel", "raas", "actors", "locker", "gangs", "groups",
        "crews",
    }
)
# Lists of names sharing one cue ("Hive, Play and Royal ransomware"): the joins between
# two names, in text order (the Oxford comma included), and what may stand between a cue
# and the list after it ("ransomware groups such as Hive and Play").
_TOKEN = re.compile(r"[^\W_]+|[^\w\s]|_")  # a word (as _WORD) or one punctuation mark
_LIST_JOINS = [(*comma, *join) for comma in ((), (",",))
               for join in (("and",), ("or",), ("&",), ("as", "well", "as"))] + [(",",)]
_LIST_INTROS = [("such", "as"), ("including",), ("like",)]
_LIST_STARTS = frozenset({"and", "or", "&", "as"})  # a list may go on after a bare name
_LIST_LEADS = _LIST_STARTS | {"including", "like"}  # a word a listed name may follow
_LIST_REACH = 16  # chunks read on either side of a name for its list
_LIST_NAMES = 8  # names followed along a list before giving up
_LIST_MEMBER_WORDS = 4  # words one listed name may have


def _by_nearest(choices: list[tuple[str, ...]], forward: bool
                ) -> dict[str, list[tuple[str, ...]]]:
    """Token sequences as met walking away from a name, by their first token, longest
    first."""
    table: dict[str, list[tuple[str, ...]]] = {}
    for choice in sorted(choices, key=len, reverse=True):
        met = choice if forward else choice[::-1]
        table.setdefault(met[0], []).append(met)
    return table


_JOINS = {True: _by_nearest(_LIST_JOINS, True), False: _by_nearest(_LIST_JOINS, False)}
_INTROS_BEFORE = _by_nearest(_LIST_INTROS, False)
_SKIP_CACHE_MAX = 100_000


@dataclass(slots=True)
class _Entry:
    names: tuple[str, ...]  # canonical names this alias key denotes (≥2: ambiguous)
    spellings: frozenset[str]  # case-preserving keys of the catalogue's spellings
    mode: int  # _EXACT, _CAPITALISED or _CONTEXT
    # Ambiguous keys only: name key of a spelling → the canonical names spelling it so.
    spelt_by: dict[str, tuple[str, ...]] | None = None


def _mode(alias: str) -> int:
    words = _WORD.findall(alias)
    key = normalise_alias(alias)
    if not words or key in _NEVER_PHRASES or _GENERIC_NUMBERED.fullmatch(alias.strip()):
        return _NEVER
    if len(words) == 1:
        word = words[0]
        if word.isalpha() and key in CONTEXT_WORDS:
            return _CONTEXT
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
        spelt: dict[str, dict[str, dict[str, None]]] = {}  # key → name key → canonical names
        spellings: dict[str, set[str]] = {}
        modes: dict[str, int] = {}
        lower_first: set[tuple[str, str]] = set()
        most_words = 1
        for alias, canonical in pairs:
            key = normalise_alias(alias)
            if not key:
                continue
            most_words = max(most_words, len(_WORD.findall(alias)))
            first = _WORD.search(alias)
            if first and first.group()[0].islower():
                lower_first.add((key, first.group()))
            names.setdefault(key, {})[canonical] = None
            spelt.setdefault(key, {}).setdefault(name_key(alias), {})[canonical] = None
            spellings.setdefault(key, set()).add(alias_key_cased(alias))
            # The most permissive spelling decides: "Lazarus Group" may match where
            # "Lazarus group" alone would not.
            modes[key] = max(modes.get(key, _NEVER), _mode(alias))
        self._entries: dict[str, _Entry] = {
            key: _Entry(
                tuple(names[key]),
                frozenset(spellings[key]),
                modes[key],
                {nk: tuple(c) for nk, c in spelt[key].items()} if len(names[key]) > 1 else None,
            )
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
        self._window = most_words + 1  # chunks an alias can span, and one to spare
        self._skip: set[str] = set()

    @classmethod
    def from_actors(cls, actors: Iterable[Actor]) -> ActorTagger:
        return cls((n, a.name) for a in actors for n in a.all_names)

    def __len__(self) -> int:
        return len(self._entries)

    def tag(self, text: str) -> list[str]:
        """Canonical names of the actors `text` names, in order of first mention."""
        # Walk whitespace-separated chunks (str.split runs in C) with cheap tests inline;
        # only chunks that could start an alias get a word-level look at a small window.
        found: dict[str, None] = {}
        listed: set[int] = set()  # chunks starting a name a list puts in context
        chunks = text.split()
        prefixes, entries, lower_first = self._prefixes, self._entries, self._lower_first_words
        # Most chunks are lower-case words ("the", "attackers,"), which start no alias
        # unless the catalogue spells one so ("menuPass"); a comprehension drops them fast.
        # `skip` remembers chunks that start nothing whatever follows them ("Researchers",
        # "42", "U.S."): text repeats them endlessly, and a set look-up is cheaper than
        # deciding again.
        skip = self._skip
        if len(skip) > _SKIP_CACHE_MAX:
            skip.clear()
        candidates = [
            k
            for k, chunk in enumerate(chunks)
            if (
                not chunk[0].islower()
                or (
                    chunk in lower_first
                    if chunk.isalpha()
                    else not (core := chunk.rstrip(_EDGE_PUNCT)).isalpha() or core in lower_first
                )
            )
            and chunk not in skip
        ]
        resume = 0
        for k in candidates:
            if k < resume:
                continue  # inside the previous match
            chunk = chunks[k]
            core = chunk if chunk.isalpha() else chunk.strip(_EDGE_PUNCT)
            if not core.isalpha():
                # Several words ("U.S.", "pro-Turla", "Storm-0919"), digits or other scripts.
                if core and self._any_start(core):
                    consumed, context_free = self._scan(chunks, k, found, listed)
                    if consumed:
                        resume = k + consumed
                        continue
                    if not context_free:
                        continue
                skip.add(chunk)
                continue
            # One word. A lower-case initial counts only where the catalogue spells an
            # alias so ("menuPass"); otherwise "cozy bear" would match.
            if core[0].islower() and core not in lower_first:
                skip.add(chunk)
                continue
            key = core.lower() if core.isascii() else normalise_alias(core)
            if key not in entries:
                if key not in prefixes or not chunk.endswith(core):
                    skip.add(chunk)
                    continue
                if not self._continues(key, chunks, k + 1):
                    continue
            consumed, _ = self._scan(chunks, k, found, listed)
            resume = k + max(consumed, 1)
        return list(found)

    def _any_start(self, core: str) -> bool:
        """Could any word of a punctuated chunk start an alias?"""
        lower_first, prefixes = self._lower_first_words, self._prefixes
        for word in _WORD.findall(core):
            startable = not word[0].islower() or not word.isalpha() or word in lower_first
            if startable and _key(word) in prefixes:
                return True
        return False

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state["_skip"] = set()  # a cache: not worth shipping to worker processes
        return state

    def _continues(self, key: str, chunks: list[str], k: int) -> bool:
        """Could chunks[k] continue an alias that starts with `key` ("Flax" + "Typhoon")?"""
        if k >= len(chunks):
            return False
        nxt = chunks[k]
        if nxt.isalnum():
            return key + _key(nxt) in self._prefixes
        first = _WORD.match(nxt)
        return first is not None and key + _key(first.group()) in self._prefixes

    def _scan(self, chunks: list[str], k: int, found: dict[str, None],
              listed: set[int]) -> tuple[int, bool]:
        """Match aliases that start in chunks[k].

        Returns (chunks to move on, 0 when nothing matched; whether the outcome depended on
        chunks[k] alone). Later chunks are split only while an alias could continue.
        """
        parts = _SPLIT.split(chunks[k])  # separator, word, separator, …, separator
        words, gaps = parts[1::2], parts[2::2]  # gaps[i]: the text after words[i]
        chunk_of = [0] * len(words)
        first_count, loaded = len(words), 1
        prefixes, entries = self._prefixes, self._entries
        last: int | None = None
        peeked = False
        i = 0
        while i < first_count:
            key = _key(words[i])
            best: tuple[int, _Entry] | None = None
            j = i
            while key in prefixes:
                entry = entries.get(key)
                if entry is not None and (
                    _in_context(chunks, k, words, gaps, chunk_of, i, j, self, listed)
                    if entry.mode == _CONTEXT
                    else _case_ok(entry, words[i : j + 1])
                ):
                    best = (j, entry)
                if j + 1 == len(words):
                    # Continue into the next chunk only across bare whitespace (or after
                    # a "$" that ends a word: "Scattered LAPSUS$ Hunters").
                    if gaps[j] and gaps[j] != "$":
                        break
                    peeked = True
                    if loaded >= self._window or k + loaded >= len(chunks):
                        break
                    more = _SPLIT.split(chunks[k + loaded])
                    if more[0]:
                        break
                    gaps[j] = " "
                    words += more[1::2]
                    gaps += more[2::2]
                    chunk_of += [loaded] * (len(more) // 2)
                    loaded += 1
                elif gaps[j] not in _JOINERS:
                    break
                j += 1
                key += _key(words[j])
            if best is None:
                i += 1
                continue
            last, entry = best
            self._record(entry, words[i : last + 1], found)
            i = last + 1
        if last is None:
            return 0, not peeked
        if chunk_of[last] == 0:
            return 1, False
        # The last match ran into a later chunk: move past it, but look at the chunk it
        # ended in again when more words follow there ("Cozy Bear/Turla").
        ended_in = chunk_of[last]
        ends_chunk = last + 1 == len(words) or chunk_of[last + 1] != ended_in
        return (ended_in + 1 if ends_chunk else ended_in), False

    @staticmethod
    def _record(entry: _Entry, words: list[str], found: dict[str, None]) -> None:
        if len(entry.names) == 1:
            found.setdefault(entry.names[0], None)
            return
        # Ambiguous: only an exact canonical name picks one. Otherwise it adds nothing;
        # an actor it might mean is tagged only through another, unambiguous alias.
        written = name_key(" ".join(words))
        exact = [c for c in entry.names if name_key(c) == written]
        if len(exact) != 1 and entry.spelt_by:  # "COLDRIVER", not the "Cold River" record
            exact = list(entry.spelt_by.get(written, ()))
        if len(exact) == 1:
            found.setdefault(exact[0], None)


def _key(word: str) -> str:
    return word.lower() if word.isascii() else normalise_alias(word)


def _case_ok(entry: _Entry, words: list[str]) -> bool:
    if "".join(words) in entry.spellings:
        return True
    return entry.mode == _CAPITALISED and _capitalised(words)


def _in_context(
    chunks: list[str],
    k: int,
    words: list[str],
    gaps: list[str],
    chunk_of: list[int],
    i: int,
    j: int,
    tagger: ActorTagger,
    listed: set[int],
) -> bool:
    """Is words[i..j] (a CONTEXT_WORDS name) capitalised, with a cue word beside it in the
    same clause, or in a list of names with a cue at one end? ``listed``: chunks where an
    earlier walk along a list found a name in context (this text only), so a list of n
    names costs n short walks."""
    if not words[i][:1].isupper():
        return False
    if i == 0 and k in listed:
        return True
    end = k + chunk_of[j]  # the chunk the name ends in
    gap = gaps[j]
    # Could a list go on after it? Cheap tests: most names here have no join beside them.
    joined = gap[:1] == "," or (
        gap in ("", " ") and end + 1 < len(chunks) and chunks[end + 1].lower() in _LIST_STARTS)
    if not joined:
        return (_cue_beside(chunks, k, words, gaps, chunk_of, i, j)
                or _list_before(chunks, k, words, gaps, i, end, gap, tagger))
    after = _after(chunks, end, chunk_of, j)
    if not _cue_beside(chunks, k, words, gaps, chunk_of, i, j):
        if _list_cue(after, tagger, forward=True, listed=listed):
            return True  # "Hive, Play and Royal ransomware": Play and Royal marked too
        if not _list_before(chunks, k, words, gaps, i, end, gap, tagger):
            return False
    _mark_list(after, tagger, listed)  # "ransomware groups Hive, Play and Royal"
    return True


def _after(chunks: list[str], end: int, chunk_of: list[int], j: int) -> _Stream:
    """The tokens after words[j], which ends in chunks[end]."""
    own = _TOKEN.findall(chunks[end])
    return _Stream(own[_word_token(own, j - chunk_of.index(chunk_of[j])) + 1 :], chunks,
                   end + 1, 1)


def _cue_beside(
    chunks: list[str],
    k: int,
    words: list[str],
    gaps: list[str],
    chunk_of: list[int],
    i: int,
    j: int,
) -> bool:
    """Is there a cue word right beside words[i..j] in the same clause (no sentence mark
    or comma between them)?"""
    if i > 0:
        before = words[i - 1] if not _BREAKS.intersection(gaps[i - 1]) else ""
    elif k > 0 and not _BREAKS.intersection(chunks[k - 1][-1:]):
        before = _last_word(chunks[k - 1])
    else:
        before = ""
    if before.lower() in _CONTEXT_CUES:
        return True
    if _BREAKS.intersection(gaps[j]):
        return False
    after = words[j + 1 : j + 3]
    nxt = k + chunk_of[-1] + 1
    if (  # read on into the next chunks, unless a sentence mark or bracket comes first
        len(after) < 2
        and nxt < len(chunks)
        and not _BREAKS.intersection(gaps[-1] + chunks[nxt][:1])
    ):
        after += _WORD.findall(" ".join(chunks[nxt : nxt + 2]))
    if after and after[0].lower() == "s" and gaps[j] in ("'", "\u2019"):  # "Akira's crew"
        after = after[1:]
    return bool(after) and after[0].lower() in _CONTEXT_CUES


def _list_before(
    chunks: list[str],
    k: int,
    words: list[str],
    gaps: list[str],
    i: int,
    end: int,
    gap: str,
    tagger: ActorTagger,
) -> bool:
    """Is words[i..] in a list with a cue before it ("ransomware groups Hive, Play and
    Royal")? Not when a capitalised word follows it ("… and Royal Mail")."""
    if i > 0:
        lead = gaps[i - 1].strip()
    elif k > 0:
        lead = chunks[k - 1]
    else:
        return False
    if not lead.endswith(",") and lead.lower() not in _LIST_LEADS:
        return False
    if gap in ("", " ") and end + 1 < len(chunks) and chunks[end + 1][:1].isupper():
        return False
    own = _TOKEN.findall(chunks[k])
    rest = own[: _word_token(own, i)][::-1]
    return _list_cue(_Stream(rest, chunks, k - 1, -1), tagger, forward=False)


class _Stream:
    """The tokens on one side of a name, nearest first, read a chunk at a time as a list
    walk needs them. Going forward it also notes, per token, the chunk it starts (the
    chunk's first word) or -1."""

    __slots__ = ("_chunks", "_end", "_next", "_step", "starts", "tokens")

    def __init__(self, tokens: list[str], chunks: list[str], start: int, step: int) -> None:
        self.tokens, self._chunks, self._next, self._step = tokens, chunks, start, step
        self.starts = [-1] * len(tokens)
        self._end = (min(start + _LIST_REACH, len(chunks)) if step > 0
                     else max(start - _LIST_REACH, -1))

    def take(self, n: int, size: int) -> list[str]:
        tokens = self.tokens
        while len(tokens) < n + size and self._next != self._end:
            more = _TOKEN.findall(self._chunks[self._next])
            if self._step > 0:
                starts = [-1] * len(more)
                first = next((m for m, t in enumerate(more) if t.isalnum()), None)
                if first is not None:
                    starts[first] = self._next
                self.starts += starts
                tokens += more
            else:
                tokens += more[::-1]
            self._next += self._step
        return tokens[n : n + size]


def _word_token(tokens: list[str], n: int) -> int:
    """Index in ``tokens`` (one chunk's) of its n-th word, counting from 0."""
    seen = -1
    for index, token in enumerate(tokens):
        if token.isalnum():
            seen += 1
            if seen == n:
                return index
    return len(tokens)  # not reached: _TOKEN's words are _SPLIT's


def _list_cue(stream: _Stream, tagger: ActorTagger, *, forward: bool,
              listed: set[int] | None = None) -> bool:
    """Does a list of names go on from a name and end at a cue? ``stream``: the text
    after the name (``forward``: the names passed go in ``listed`` when it does) or
    before it."""
    if not forward and _cue_at(stream, 0, forward):  # "gangs such as Akira"
        return True
    n = 0
    passed: list[int] = []
    for _ in range(_LIST_NAMES):
        join = _match(stream, n, _JOINS[forward])
        if not join:
            return False
        n += join
        name = _list_name(stream, n, tagger, forward)
        if not name:
            return False
        passed.append(n)
        n += name
        if _cue_at(stream, n, forward):
            if listed is not None:
                listed.update(stream.starts[p] for p in passed)
            return True
    return False


def _mark_list(stream: _Stream, tagger: ActorTagger, listed: set[int]) -> None:
    """The names listed after a name in context are in context too ("ransomware groups
    Hive, Play and Royal"), up to one that runs on into a capitalised word."""
    n = 0
    for _ in range(_LIST_NAMES):
        join = _match(stream, n, _JOINS[True])
        name = _list_name(stream, n + join, tagger, True) if join else 0
        if not name:
            return
        following = stream.take(n + join + name, 1)
        if following and following[0][:1].isupper() and following[0].isalnum():
            return  # "… and Royal Mail"
        listed.add(stream.starts[n + join])
        n += join + name


def _match(stream: _Stream, n: int, table: dict[str, list[tuple[str, ...]]]) -> int:
    """Length of the longest sequence of ``table`` at token n, or 0."""
    first = stream.take(n, 1)
    for met in table.get(first[0].lower(), ()) if first else ():
        if len(met) == 1 or [t.lower() for t in stream.take(n, len(met))] == list(met):
            return len(met)
    return 0


def _list_name(stream: _Stream, n: int, tagger: ActorTagger, forward: bool) -> int:
    """Tokens taken by the longest catalogue alias at token n, written as an actor's
    name (capitalised; a CONTEXT_WORDS name needs no cue of its own here), or 0."""
    entries, prefixes = tagger._entries, tagger._prefixes
    near: list[str] = []  # nearest first
    for token in stream.take(n, _LIST_MEMBER_WORDS):
        if not token.isalnum() or token.lower() in _LIST_STARTS:
            break
        near.append(token)
    best, key = 0, ""
    for size in range(1, len(near) + 1):
        if forward:  # the key grows word by word while an alias could go on
            key += _key(near[size - 1])
            if key not in prefixes:
                break
            written = near[:size]
        else:
            written = near[size - 1 :: -1]
            if _key(written[0]) not in prefixes:
                continue
            key = "".join(_key(w) for w in written)
        entry = entries.get(key)
        if entry is not None and (
            written[0][:1].isupper() if entry.mode == _CONTEXT else _case_ok(entry, written)
        ):
            best = size
    return best


def _cue_at(stream: _Stream, n: int, forward: bool) -> bool:
    if forward:
        if stream.take(n, 1) in (["'"], ["\u2019"]) and stream.take(n + 1, 1) in (["s"], ["S"]):
            n += 2  # "Hive and Akira's affiliates"
    elif intro := _match(stream, n, _INTROS_BEFORE):  # "gangs such as Hive and Play"
        n += intro + (stream.take(n + intro, 1) == [","])  # "gangs, including Hive"
    word = stream.take(n, 1)
    return bool(word) and word[0].lower() in _CONTEXT_CUES


def _last_word(chunk: str) -> str:
    found = _WORD.findall(chunk)
    return found[-1] if found else ""
