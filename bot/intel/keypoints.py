"""Extractive key points: pick the 3-6 sentences a security reader most needs.

Each candidate is a sentence of the article (page debris, furniture, fragments, the
title itself and near-duplicates dropped) scored for

- centrality: TextRank (PageRank over a graph whose edges are the IDF-weighted word
  overlap of two sentences) — what the article keeps coming back to;
- position: news puts the facts first (the lead, the first sentences);
- what a security reader needs: CVE IDs, the actors, CVEs and vendors the caller boosts,
  versions, counts, money, dates, and status words ("patched", "exploited", "ransom");
- overlap with the title;

and chosen by maximal marginal relevance (MMR), so the points say different things. The
winners come back in their original order, so they still read as a story. Own code, not
sumy: measured on the quality set (bench/bench_quality.py) it covers as much, needs no
NLTK data and runs several times faster (see README, "Quality").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from itertools import chain

from bot.intel.cves import find_cves
from bot.intel.fingerprint import STOPWORDS, stem, title_tokens
from bot.intel.sentences import split_sentences
from bot.news.furniture import is_furniture_line, is_promo_line, is_sidebar_entry

MIN_CHARS = 40
MAX_CHARS = 300
DUPLICATE_JACCARD = 0.6
MIN_POINTS = 3  # the fewest points an item gets when its text has them (DESIGN.md: 3-6)
MAX_POINTS = 6  # the most points any surface shows (DESIGN.md: 3-6 per item)
RANKED = 80  # sentences ranked per article: news puts what matters in the first 80

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


_DIGIT = re.compile(r"\d")
_ENDS_SENTENCE = re.compile(r"[.!?…][\"'”’)\]]*$")
_VERSION = re.compile(r"\b\d+\.\d+(?:\.\d+)*\b")
_DATE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b"
    r"|\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b"
    r"|\b(?:19|20)\d{2}-\d{2}-\d{2}\b",
    re.IGNORECASE,
)
# Status and impact words a security reader scans for (stems, see fingerprint.stem).
_STATUS = frozenset(stem(w) for w in (
    "patched", "patch", "fixed", "exploited", "exploitation", "zero-day", "zeroday", "ransom",
    "ransomware", "encrypted", "stole", "stolen", "exfiltrated", "leaked", "breach", "breached",
    "compromised", "sanctioned", "sanctions", "indicted", "charged", "arrested", "seized",
    "attributed", "disclosed", "backdoor", "wiper", "espionage", "extortion", "kev", "advisory",
    "mitigation", "update", "upgrade", "versions", "affected", "victims", "customers",
))


_stem = lru_cache(maxsize=1 << 16)(stem)  # news repeats its words; stemming is the cost


def _stems(norm: str) -> frozenset[str]:
    return frozenset(_stem(w) for w in norm.split() if w not in STOPWORDS and len(w) > 1)


def centrality(bags: Sequence[frozenset[str]], *, damping: float = 0.85,
               iterations: int = 20) -> list[float]:
    """TextRank scores (0..1) of sentences given as sets of word stems: PageRank over edges
    weighted by the summed IDF of the words two sentences share, normalised by their
    lengths (TextRank's overlap / (log|A| + log|B|)). Words in one sentence only, or in
    more than half of them, are dropped first; each pair costs one small intersection."""
    n = len(bags)
    if n == 0:
        return []
    df = Counter(chain.from_iterable(bags))
    common_limit = max(2, n // 2)  # a word in half the sentences links everything
    idf = {w: math.log(1.0 + n / c) for w, c in df.items() if 1 < c <= common_limit}
    shared = [b & idf.keys() for b in bags]
    norms = [math.log(len(b) + 1.0) + 1.0 for b in bags]
    edges: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for a in range(n):
        sa = shared[a]
        if not sa:
            continue
        for b in range(a + 1, n):
            common = sa & shared[b]
            if common:
                w = sum(idf[t] for t in common) / (norms[a] + norms[b])
                edges[a].append((b, w))
                edges[b].append((a, w))
    out_sum = [sum(w for _, w in e) or 1.0 for e in edges]
    rank = [1.0 / n] * n
    base = (1.0 - damping) / n
    for _ in range(iterations):
        nxt = [base] * n
        for a, e in enumerate(edges):
            if e:
                share = damping * rank[a] / out_sum[a]
                for b, w in e:
                    nxt[b] += share * w
        rank = nxt
    top = max(rank)
    return [r / top for r in rank]


def _candidates(title: str, text: str, lead_norm: dict[str, str]
                ) -> list[tuple[str, str, frozenset[str]]]:
    """(sentence, normalised, content words) of the sentences that may become points: the
    lead's sentences (``lead_norm``: normalised → sentence) that are not part of the body
    first, then the body's; debris, furniture, fragments, repeats and the title dropped."""
    body = [(s, _norm(s)) for s in split_sentences(text or "")]
    text_norm = {n for _, n in body}
    ordered = [(s, n) for n, s in lead_norm.items() if n not in text_norm]
    ordered += body
    title_norm = _norm(title or "")
    title_set = _tokens(title or "")
    out: list[tuple[str, str, frozenset[str]]] = []
    seen: set[str] = set()
    for raw, norm in ordered:
        s = raw.strip()
        if len(s) < MIN_CHARS or s.endswith(":") or norm in seen or (title_norm and
                                                                      norm == title_norm):
            continue
        if is_debris(s) or is_promo_line(s) or (not _ENDS_SENTENCE.search(s) and (
                is_furniture_line(s) or is_sidebar_entry(s))):
            continue  # menus, headings and linked headlines never end like a sentence
        toks = frozenset(w for w in norm.split() if w not in STOPWORDS)
        if title_set and jaccard(toks, title_set) > 0.8:
            continue  # the title repeated as a sentence
        seen.add(norm)
        out.append((s, norm, toks))
        if len(out) >= RANKED:
            break
    return out


def _reader_score(s: str, boost: tuple[str, ...], bag: frozenset[str]) -> float:
    """What a security reader needs in a sentence: CVEs, named actors and vendors,
    versions, counts, money, dates, status words."""
    score = 0.35 * min(len(bag & _STATUS), 3)
    low = s.lower()
    if boost:
        score += min(1.6 * _count_terms(low, boost), 3.2)
    if not _DIGIT.search(s):
        return score  # no CVE, number, version, money or date
    cves = find_cves(s) if "cve" in low else []
    if cves:
        score += 2.0 + 0.4 * min(len(cves) - 1, 2)
    rest = s
    for c in cves:
        rest = rest.replace(c, " ")
    if _NUMBER.search(rest):
        score += 0.5
    if _MONEY_PCT.search(s):
        score += 0.4
    if _VERSION.search(rest):
        score += 0.4
    if _DATE.search(s):
        score += 0.3
    return score


def _style_penalty(s: str) -> float:
    """Less useful as a stand-alone point: questions, quotes, dangling openers."""
    penalty = 0.0
    if s.endswith("?"):
        penalty += 1.5
    if s[0] in _QUOTE_START:
        penalty += 0.7
    if _WEAK_START.match(s):
        penalty += 0.5
    if len(s) < 60:
        penalty += 0.5
    return penalty


def key_points(
    title: str,
    text: str,
    *,
    lead: str | None = None,
    n_min: int = MIN_POINTS,
    n_max: int = MAX_POINTS,
    boost_terms: Iterable[str] = (),
    rank: Callable[[Sequence[frozenset[str]]], list[float]] = centrality,
) -> list[str]:
    """Extract ``n_min``..``n_max`` key sentences from ``text`` (fewer only if the text has
    fewer usable sentences), in their original order. Deterministic. ``rank`` scores the
    sentences' centrality from their word stems, 0..1 (bench/bench_quality.py swaps in
    sumy's rankers to compare)."""
    lead_norm = {_norm(s): s for s in split_sentences(lead or "")}
    candidates = _candidates(title, text, lead_norm)
    if not candidates:
        return []
    title_words = title_tokens(title or "")
    boost = _boost_terms(boost_terms)
    bags = [_stems(norm) for _, norm, _ in candidates]
    central = rank(bags)
    total = len(candidates)

    scored: list[tuple[float, int, str, frozenset[str], frozenset[str]]] = []
    for idx, (s, norm, toks) in enumerate(candidates):
        bag = bags[idx]
        score = 2.5 * central[idx]
        if title_words:
            score += 2.5 * len(bag & title_words) / len(title_words)
        score += _reader_score(s, boost, bag)
        if norm in lead_norm or idx == 0:
            score += 1.2
        score += 1.5 * (1.0 - idx / total) + (0.6 if idx < 3 else 0.0)
        score -= _style_penalty(s)
        scored.append((score, idx, trim(s), toks, bag))

    want = min(n_max, max(n_min, math.ceil(total / 2)))
    return [scored[i][2] for i in sorted(_mmr(scored, want))]


def top_up(given: Sequence[str], extracted: Sequence[str], *,
           n_min: int = MIN_POINTS) -> list[str]:
    """An author's ``given`` points, then as many ``extracted`` ones as it takes to reach
    ``n_min``, skipping any that repeat a point already kept (word overlap above
    DUPLICATE_JACCARD). ``given`` is kept whole, however long."""
    points = list(given)
    kept = [_tokens(p) for p in points]
    for point in extracted:
        if len(points) >= n_min:
            break
        toks = _tokens(point)
        if any(jaccard(toks, other) > DUPLICATE_JACCARD for other in kept):
            continue
        points.append(point)
        kept.append(toks)
    return points


def _mmr(scored: list[tuple[float, int, str, frozenset[str], frozenset[str]]],
         want: int, *, penalty: float = 2.0) -> list[int]:
    """Indexes of ``want`` sentences chosen greedily by score minus ``penalty`` times the
    highest word-stem overlap with those already chosen; near-duplicates never both."""
    chosen: list[int] = []
    left = set(range(len(scored)))
    redundancy = [0.0] * len(scored)  # highest overlap with a chosen sentence so far
    while left and len(chosen) < want:
        best = max(left, key=lambda i: (scored[i][0] - penalty * redundancy[i], -i))
        left.discard(best)
        toks, bag = scored[best][3], scored[best][4]
        if any(jaccard(toks, scored[j][3]) > DUPLICATE_JACCARD for j in chosen):
            continue
        chosen.append(best)
        if len(chosen) == want:
            break
        for i in left:
            redundancy[i] = max(redundancy[i], jaccard(bag, scored[i][4]))
    return chosen


def named_first(points: Sequence[str], names: Iterable[str] = ()) -> list[str]:
    """``points`` with those naming one of ``names`` (actors, CVEs, vendors) first, each
    group in the article's order."""
    terms = _boost_terms(names)
    if not terms:
        return list(points)
    naming = [p for p in points if _count_terms(p.lower(), terms)]
    return naming + [p for p in points if not _count_terms(p.lower(), terms)]


def shown_points(points: Sequence[str], names: Iterable[str] = (),
                 limit: int = MAX_POINTS) -> list[str]:
    """The points a surface shows: at most ``limit``, those naming ``names`` first."""
    return named_first(points, names)[:limit]
