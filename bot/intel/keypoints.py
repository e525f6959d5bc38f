"""Extractive key points: pick the 3-6 sentences a security reader most needs.

Sentences are scored for concrete content (CVE IDs, numbers, the actors/terms the caller
boosts), for overlap with the title, and for coming early or from the lead. Page debris,
fragments, the title itself and near-duplicates are dropped; the winners are returned in
their original order so the points still read as a story.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from bot.intel.cves import find_cves
from bot.intel.fingerprint import STOPWORDS, stem, title_tokens
from bot.intel.sentences import split_sentences

MIN_CHARS = 40
MAX_CHARS = 300
DUPLICATE_JACCARD = 0.6

_DEBRIS = re.compile(
    r"""^(?:
        listen\ to\ this\ (?:post|article|story)
      | featured\ image
      | image\ (?:source|credit)s?\b.*
      | (?:photo|picture|illustration)\ (?:credit|by|source)\b.*
      | credit:.*
      | what\ undercode\ says?\b.*
      | references?\ *:?
      | sources?\ *:
      | reported\ by\ *:.*
      | (?:read|see)\ (?:more|also)\b.*
      | also\ read\b.*
      | related(?:\ articles?|\ stories|\ posts?|\ reading)?\ *:.*
      | advertisement | sponsored(?:\ content)?
      | share\ (?:this|on)\b.*
      | (?:subscribe|sign\ up)\b.*(?:newsletter|updates|inbox).*
      | click\ here\b.*
      | follow\ us\b.*
      | (?:this\ (?:website|site)\ uses\ )?cookies?\b.*(?:accept|consent|policy).*
      | all\ rights\ reserved.*
      | copyright\ (?:©|\(c\)|\d{4}).*
      | ©.*
      | table\ of\ contents
      | (?:posted|published|updated)\ (?:on|by)\ [^.]{0,60}
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")  # letters and digits, any script
_NUMBER = re.compile(r"(?<![\w-])\d")  # a number of its own, not "APT29" or "CVE-…"
_MONEY_PCT = re.compile(r"[$€£]\s?\d|\d\s?%|\b\d[\d,.]*\s?(?:million|billion)\b")
_WEAK_START = re.compile(
    r"^(?:this|that|these|those|it|its|they|he|she|however|but|also|and|so|meanwhile)\b",
    re.IGNORECASE,
)
_QUOTE_START = "\"'\u201c\u2018"


def is_debris(line: str) -> bool:
    """True for page furniture: "Listen to this Post", image credits, share/subscribe
    prompts, bare URLs or credit lines, and stray stopword fragments such as "of the"."""
    s = line.strip().strip("*_#>").strip()
    if not s:
        return True
    if _DEBRIS.match(s):
        return True
    words = _WORD.findall(s)
    if words and len(words) <= 3 and all(w.lower() in STOPWORDS for w in words):
        return True  # "of the", "and", "in the"
    if _URL.search(s):
        rest = _URL.sub(" ", s)
        if len(_WORD.findall(rest)) <= 5:
            return True  # "OpenAI: https://…", a bare link
    return False


def trim(sentence: str, limit: int = MAX_CHARS) -> str:
    """Cut ``sentence`` to at most ``limit`` characters at a word boundary, ending in "…"."""
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-\u2013\u2014(") + "\u2026"


def _tokens(text: str) -> frozenset[str]:
    return frozenset(w for w in (t.lower() for t in _WORD.findall(text)) if w not in STOPWORDS)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _norm(s: str) -> str:
    return " ".join(_WORD.findall(s.lower()))


def _boost_terms(terms: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({t.strip().lower() for t in terms if t and t.strip()}, key=len,
                        reverse=True))


def _count_terms(low: str, terms: tuple[str, ...]) -> int:
    """How many of ``terms`` occur in lower-cased ``low`` as whole words."""
    hits = 0
    for term in terms:
        start = low.find(term)
        while start != -1:
            end = start + len(term)
            before = low[start - 1] if start else " "
            after = low[end] if end < len(low) else " "
            if not (before.isalnum() or before in "_-") and not (after.isalnum() or after == "_"):
                hits += 1
                break
            start = low.find(term, start + 1)
    return hits


def key_points(
    title: str,
    text: str,
    *,
    lead: str | None = None,
    n_min: int = 3,
    n_max: int = 6,
    boost_terms: Iterable[str] = (),
) -> list[str]:
    """Extract ``n_min``..``n_max`` key sentences from ``text`` (fewer only if the text has
    fewer usable sentences), in their original order. Deterministic."""
    sentences = split_sentences(text or "")
    lead_sentences = split_sentences(lead or "")
    lead_norm = {_norm(s) for s in lead_sentences}
    body = [(s, _norm(s)) for s in sentences]
    text_norm = {n for _, n in body}
    # A lead that is not part of the body (feeds, imports) still competes, placed first.
    ordered = [(s, n) for s, n in ((s, _norm(s)) for s in lead_sentences) if n not in text_norm]
    ordered += body
    if not ordered:
        return []

    title_norm = _norm(title or "")
    title_words = title_tokens(title or "")
    title_set = _tokens(title or "")
    boost = _boost_terms(boost_terms)
    total = len(ordered)

    scored: list[tuple[float, int, str, frozenset[str]]] = []
    seen_norm: set[str] = set()
    for idx, (raw, norm) in enumerate(ordered):
        s = raw.strip()
        if len(s) < MIN_CHARS or s.endswith(":") or norm in seen_norm or is_debris(s):
            continue
        if title_norm and norm == title_norm:
            continue
        seen_norm.add(norm)
        words = norm.split()
        toks = frozenset(w for w in words if w not in STOPWORDS)
        if title_set and jaccard(toks, title_set) > 0.8:
            continue  # the title repeated as a sentence
        score = 0.0
        # Title overlap (stemmed): the sentence is about what the headline is about.
        if title_words:
            overlap = len({stem(w) for w in toks if len(w) > 1} & title_words)
            score += 3.0 * overlap / len(title_words)
        cves = find_cves(s)
        if cves:
            score += 2.0 + 0.5 * min(len(cves) - 1, 2)
        body_wo_cves = s
        for c in cves:
            body_wo_cves = body_wo_cves.replace(c, " ")
        if _NUMBER.search(body_wo_cves):
            score += 0.6
        if _MONEY_PCT.search(s):
            score += 0.3
        if boost:
            score += min(2.5 * _count_terms(s.lower(), boost), 5.0)
        if norm in lead_norm:
            score += 1.5
        score += 1.5 * (1.0 - idx / total)
        if idx == 0:
            score += 0.5
        # Less useful as a stand-alone point.
        if s.endswith("?"):
            score -= 1.5
        if s[0] in _QUOTE_START:
            score -= 0.7
        if _WEAK_START.match(s):
            score -= 0.5
        if len(s) < 60:
            score -= 0.5
        scored.append((score, idx, trim(s), toks))

    if not scored:
        return []
    want = min(n_max, max(n_min, math.ceil(len(scored) / 3)))
    chosen: list[tuple[int, str, frozenset[str]]] = []
    for _score, idx, sentence, toks in sorted(scored, key=lambda t: (-t[0], t[1])):
        if any(jaccard(toks, other) > DUPLICATE_JACCARD for _, _, other in chosen):
            continue
        chosen.append((idx, sentence, toks))
        if len(chosen) >= want:
            break
    chosen.sort(key=lambda t: t[0])
    return [sentence for _, sentence, _ in chosen]
