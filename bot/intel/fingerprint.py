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

_WORD = re.compile(r"[^\W_]+")  # letters and digits, any script
_NON_WORD = re.compile(r"[^\w]+")


def _normalise(text: str) -> str:
    if text.isascii():  # NFKC is a no-op on ASCII and costs more than the rest
        return text.lower()
    return unicodedata.normalize("NFKC", text).casefold()


def content_hash(text: str) -> str:
    """sha256 (hex) of the text with case, punctuation and whitespace differences removed."""
    norm = _NON_WORD.sub(" ", _normalise(text or "")).strip()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


# SimHash sums, per bit position, the weights of the features whose hash has that bit set.
# Instead of 64 Python additions per feature, each hash is "spread" into a big integer with
# one 20-bit lane per bit, so one big-int multiply-add updates all 64 counters at once.
_LANE = 20  # lanes hold sums up to ~1M, far above the word count of MAX_TEXT
_LANE_MASK = (1 << _LANE) - 1
_SPREAD_BYTE = tuple(
    sum(1 << (i * _LANE) for i in range(8) if b >> i & 1) for b in range(256)
)


@lru_cache(maxsize=1 << 16)
def _spread(feature: str) -> int:
    h = int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "big")
    return sum(_SPREAD_BYTE[(h >> (8 * k)) & 0xFF] << (8 * k * _LANE) for k in range(8))


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
    acc = 0
    for feat, weight in feats.items():
        acc += _spread(feat) * weight
    total = sum(feats.values())
    value = 0
    for i in range(64):
        if ((acc >> (i * _LANE)) & _LANE_MASK) * 2 > total:
            value |= 1 << i
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


_TITLE_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def title_tokens(title: str) -> set[str]:
    """Lower-cased, stopword-free, lightly stemmed title words."""
    words = _TITLE_WORD.findall(_normalise(title or "").replace("\u2019", "'"))
    return {stem(w) for w in words if w not in STOPWORDS and len(w) > 1}


def title_similarity(a: str, b: str, *, ignore: Iterable[str] = ()) -> float:
    """Dice coefficient of the two titles' token sets (0..1), leaving out the words of
    ``ignore`` (names both articles share, which say nothing about the event)."""
    skip = set().union(*(title_tokens(name) for name in ignore)) if ignore else set()
    ta, tb = title_tokens(a) - skip, title_tokens(b) - skip
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
    # The shared actor's or CVE's own words would make "APT29 phishes diplomats" and
    # "APT29 hits cloud tenants" look alike; compare what the titles say about events.
    shared = (a.actors & b.actors) | (a.cves & b.cves)
    return title_similarity(a.title, b.title, ignore=shared) >= TITLE_SIMILAR
