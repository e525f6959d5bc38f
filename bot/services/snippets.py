"""Search snippets: the sentence of an article's own text that holds the words searched
for, never a sentence several hits on the page share (a newsletter box, a boilerplate
"About us" line), so different articles show different snippets."""

from __future__ import annotations

import re
from collections import Counter

from bot.intel.fingerprint import stem
from bot.intel.sentences import split_sentences

SNIPPET = 200
_WORDS = re.compile(r"\w+")


def _stems(text: str) -> list[str]:
    return [stem(w) for w in _WORDS.findall(text.lower())]


def _matches(sentence_stems: list[str], terms: list[str]) -> int:
    """How many of the query's terms occur in the sentence (a term matches a word with
    the same stem, or one it starts: "exploit" finds "exploitation")."""
    return sum(any(s == t or s.startswith(t) for s in sentence_stems) for t in terms)


def _may_match(lowered: str, probes: list[str]) -> bool:
    """Whether a sentence (lower-cased) can hold a query term: stem() only strips a
    suffix and may end the rest with "y", so a word whose stem starts with a term holds
    that term less its last letter. Spares stemming the sentences that cannot."""
    return any(probe in lowered for probe in probes)


def _key(sentence: str) -> str:
    return " ".join(_WORDS.findall(sentence.lower()))


def _around(sentence: str, terms: list[str], limit: int) -> str:
    """The sentence, or ``limit`` characters of it starting a little before the first
    matched word, with "…" where it was cut."""
    if len(sentence) <= limit:
        return sentence
    start = 0
    for match in _WORDS.finditer(sentence):
        word = stem(match.group().lower())
        if any(word == t or word.startswith(t) for t in terms):
            start = match.start()
            break
    start = max(0, min(start - limit // 4, len(sentence) - limit))
    if start:
        space = sentence.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    piece = sentence[start:start + limit - 2].rstrip()
    cut_end = start + len(piece) < len(sentence)
    if cut_end and " " in piece[limit // 2:]:
        piece = piece[: piece.rfind(" ")]
    return ("…" if start else "") + piece + ("…" if cut_end else "")


def choose_snippets(query: str, texts: list[str], limit: int = SNIPPET) -> list[str]:
    """One snippet per text, in order: its sentence holding the most query words (the
    earliest of equals), skipping sentences that two or more of the texts contain; the
    text's first unshared sentence when none holds a query word."""
    terms = list(dict.fromkeys(_stems(query)))
    probes = [term[:-1] for term in terms]
    sentences = [split_sentences(text) for text in texts]
    seen = Counter(key for per_text in sentences for key in {_key(s) for s in per_text})
    shared = {key for key, count in seen.items() if count >= 2}
    snippets = []
    for per_text in sentences:
        own = [s for s in per_text if _key(s) not in shared] or per_text
        if not own:
            snippets.append("")
            continue
        scores = [_matches(_stems(s), terms) if _may_match(s.lower(), probes) else 0
                  for s in own]
        best = max(range(len(own)), key=lambda k: (scores[k], -k))
        snippets.append(_around(own[best], terms, limit))
    return snippets
