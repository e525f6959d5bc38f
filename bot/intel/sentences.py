"""A rule-based sentence splitter tuned for security news.

No NLTK/spaCy: a boundary is terminal punctuation, optional closing quotes/brackets,
whitespace, and something that can start a sentence. Abbreviations, initials, version
numbers, IP addresses, CVE IDs, decimals and URLs are protected, and every line break and
bullet is a boundary too (feeds and seeds put one point per line).
"""

from __future__ import annotations

import re

# Abbreviations after which a full stop never ends a sentence (titles, months, "No. 5").
_NEVER_END = frozenset((
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "rev", "gen", "col", "lt", "sgt", "capt",
    "cmdr", "adm", "gov", "sen", "rep", "pres", "supt", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "no", "nos", "vol", "vols", "fig", "figs", "pp",
    "approx", "est", "dept", "univ", "ca", "cf", "al", "ref", "refs", "ver", "vs", "v", "e.g",
    "i.e", "a.k.a", "viz"
))
# Abbreviations that usually continue ("U.S. Treasury", "Acme Inc. said") but may end a
# sentence: they end one only when a typical sentence opener follows.
_MAYBE_END = frozenset((
    "u.s", "u.k", "u.n", "e.u", "inc", "corp", "ltd", "co", "llc", "plc", "bros", "etc", "a.m",
    "p.m"
))
_OPENERS = frozenset((
    "the", "this", "that", "these", "those", "it", "its", "in", "on", "at", "a", "an", "as", "he",
    "she", "they", "we", "our", "i", "but", "however", "meanwhile", "according", "officials",
    "researchers", "after", "before", "when", "while", "there", "also", "if", "since", "for",
    "separately", "additionally", "moreover", "still", "yet", "some", "many", "most", "one", "two",
    "three", "both", "all", "users", "attackers"
))

# Candidate boundary: terminal punctuation, closing quotes/brackets, whitespace.
_BOUNDARY = re.compile(r"(?:\.{2,}|[.!?\u2026]+)[\"'\u201d\u2019)\]]*(?=\s+\S)")
# Word (with inner dots, e.g. "U.S", "e.g") immediately before a full stop.
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.?$")
# Bullet glyphs or list numbering at the start of a line ("1.", "2)", "-", "*", "•").
_LIST_MARK = re.compile(r"^\s*(?:[-*\u2022\u2023\u25aa\u25cf\u2013\u2014>]+|\(?\d{1,3}[.)])\s+")
# Inline bullets ("… patch now • CISA adds …").
_INLINE_BULLET = re.compile(r"\s+[\u2022\u25aa\u25cf]\s+")
_WS = re.compile(r"[ \t\u00a0\u2009\u202f]+")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences, in order, whitespace-normalised, empties dropped."""
    if not text:
        return []
    out: list[str] = []
    for raw_line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _LIST_MARK.sub("", raw_line, count=1)
        line = _WS.sub(" ", line).strip()
        if not line:
            continue
        for piece in _INLINE_BULLET.split(line):
            out.extend(_split_line(piece.strip()))
    return out


def _split_line(line: str) -> list[str]:
    if not line:
        return []
    # Fast path: no terminal punctuation followed by a space anywhere.
    if not _BOUNDARY.search(line):
        return [line]
    parts: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(line):
        end = m.end()
        if _is_boundary(line, m.start(), end):
            chunk = line[start:end].strip()
            if chunk:
                parts.append(chunk)
            start = end
    tail = line[start:].strip()
    if tail:
        parts.append(tail)
    return parts


def _next_word(line: str, pos: int) -> str:
    rest = line[pos:].lstrip()
    m = re.match(r"[\"'\u201c\u2018(\[]*([^\s]*)", rest)
    return m.group(1) if m else ""


def _starts_sentence(line: str, pos: int) -> bool:
    rest = line[pos:].lstrip()
    if not rest:
        return False
    c = rest[0]
    if c.isupper() or c.isdigit() or c in "\"'\u201c\u2018([":
        return True
    # "iOS", "iPhone", "macOS", "vCenter": lower-case start but a brand-style capital.
    word = _next_word(line, pos)
    return c.islower() and any(ch.isupper() for ch in word[1:5])


def _is_boundary(line: str, punct_start: int, end: int) -> bool:
    if not _starts_sentence(line, end):
        return False
    punct = line[punct_start:end].rstrip("\"'\u201d\u2019)]")
    if not punct.endswith(".") or punct.endswith(".."):
        return True  # "!", "?", "…", "..." followed by a sentence start
    before = line[max(0, punct_start - 60) : punct_start]
    m = _WORD_BEFORE.search(before)
    if not m:
        return True  # after a digit, quote, bracket: "in 2024. The", "v1.2.3. Next"
    word = m.group(1).rstrip(".")
    if not word:
        return True
    # The full token before the dot must not continue a URL, path or domain.
    token_start = before.rfind(" ") + 1
    token = before[token_start:]
    if "://" in token or "/" in token or "@" in token:
        return True
    low = word.lower()
    if low in _NEVER_END:
        return False
    # Single-letter initial ("John F. Kennedy") or dotted acronym ("U.S", "a.k.a").
    dotted = "." in word
    if len(word) == 1 and word.isupper():
        return False
    if low in _MAYBE_END or (dotted and all(len(p) <= 2 for p in word.split("."))):
        nxt = _next_word(line, end).lower().strip(",;:")
        return nxt in _OPENERS
    return True
