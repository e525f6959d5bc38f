"""Fingerprints for duplicate and same-story detection.

- ``content_hash``: exact duplicates (the same body fetched twice, or from two URLs).
- ``simhash``: near-duplicate bodies (a wire story republished with small edits).
- ``same_story``: the grouping rule a briefing uses to show a story once with all sources.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

MASK64 = (1 << 64) - 1
SIMHASH_NEAR = 3  # hamming distance at or below which two bodies are near-duplicates
TITLE_SIMILAR = 0.35
SAME_STORY_WINDOW = timedelta(days=3)

STOPWORDS = frozenset((
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "amid", "an", "and",
    "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between",
    "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each",
    "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers",
    "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more",
    "most", "my", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or", "other",
    "our", "ours", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than",
    "that", "the", "their", "theirs", "them", "then", "there", "these", "they", "this", "those",
    "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when",
    "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
    "yours", "says", "said", "say", "new", "via", "per", "amongst", "upon", "may", "might", "must",
    "shall", "us"
))

_WORD = re.compile(r"[a-z0-9]+")
_NON_WORD = re.compile(r"[^\w]+")


def _normalise(text: str) -> str:
    if text.isascii():  # NFKC is a no-op on ASCII and costs more than the rest
        return text.lower()
    return unicodedata.normalize("NFKC", text).casefold()


def content_hash(text: str) -> str:
    """sha256 (hex) of the text with case, punctuation and whitespace differences removed."""
    norm = _NON_WORD.sub(" ", _normalise(text or "")).strip()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1 << 16)
def _bits(feature: str) -> str:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    return format(int.from_bytes(digest, "big"), "064b")


def _to_signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _features(text: str) -> Counter[str]:
    # Term-frequency weighted words. Measured on news-length texts, unigrams keep a one-word
    # edit within ~1-4 bits; bigram or trigram shingles flip twice as many bits per edit
    # (each edit touches several shingles) without separating unrelated stories any better.
    return Counter(w for w in _WORD.findall(_normalise(text)) if len(w) > 1 and w not in STOPWORDS)


def simhash(text: str) -> int:
    """64-bit SimHash of ``text`` as a signed int64 (fits an SQLite INTEGER). 0 for no text."""
    feats = _features(text or "")
    if not feats:
        return 0
    rows: list[str] = []
    for feat, weight in feats.items():
        bits = _bits(feat)
        rows.extend([bits] * weight if weight > 1 else (bits,))
    half = len(rows)
    # zip(*rows) transposes in C: one tuple per bit position, most significant first.
    value = 0
    for column in zip(*rows, strict=True):
        value = (value << 1) | (column.count("1") * 2 > half)
    return _to_signed(value)


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit fingerprints (signed or unsigned)."""
    return ((a ^ b) & MASK64).bit_count()


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """Light suffix stripping of a lower-case word: enough for "hackers"/"hacker",
    "exploited"/"exploits", "vulnerabilities"/"vulnerability", "patches"/"patched"."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("'s"):
        word = word[:-2]
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
        if word.endswith("i"):
            word = word[:-1] + "y"
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]  # "targetted"/"stopped" -> "target"/"stop"
    return word


_TITLE_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def title_tokens(title: str) -> set[str]:
    """Lower-cased, stopword-free, lightly stemmed title words."""
    words = _TITLE_WORD.findall(_normalise(title or "").replace("\u2019", "'"))
    return {stem(w) for w in words if w not in STOPWORDS and len(w) > 1}


def title_similarity(a: str, b: str) -> float:
    """Dice coefficient of the two titles' token sets (0..1)."""
    ta, tb = title_tokens(a), title_tokens(b)
    if not ta or not tb:
        return 0.0
    return 2 * len(ta & tb) / (len(ta) + len(tb))


@dataclass(frozen=True, slots=True)
class StoryKey:
    title: str
    simhash: int
    cves: frozenset[str] = field(default_factory=frozenset)
    actors: frozenset[str] = field(default_factory=frozenset)
    published_at: datetime | None = None

    @classmethod
    def build(
        cls,
        title: str,
        text: str,
        *,
        cves: Iterable[str] = (),
        actors: Iterable[str] = (),
        published_at: datetime | None = None,
    ) -> StoryKey:
        return cls(title, simhash(text), frozenset(cves), frozenset(actors), published_at)


def _close_in_time(a: datetime | None, b: datetime | None, window: timedelta) -> bool:
    if a is None or b is None:
        return True  # an undated article can't rule itself out
    return abs(a - b) <= window


def same_story(a: StoryKey, b: StoryKey) -> bool:
    """Do two articles tell the same story?

    Near-duplicate bodies always do. Otherwise they need a shared CVE or actor, similar
    titles and publication within three days, so two different stories about one actor
    (or two CVEs of one vendor) stay apart.
    """
    if a.simhash and b.simhash and hamming(a.simhash, b.simhash) <= SIMHASH_NEAR:
        return True
    if not (a.cves & b.cves or a.actors & b.actors):
        return False
    if not _close_in_time(a.published_at, b.published_at, SAME_STORY_WINDOW):
        return False
    return title_similarity(a.title, b.title) >= TITLE_SIMILAR
