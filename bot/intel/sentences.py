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
# (Written as one class then a run of it, which re scans for far faster than the
# equivalent "(?:\.{2,}|[.!?…]+)".)
_BOUNDARY = re.compile(r"[.!?\u2026][.!?\u2026]*[\"'\u201d\u2019)\]]*(?=\s+\S)")
# Bullet glyphs or list numbering at the start of a line ("1.", "2)", "-", "*", "•").
_LIST_MARK = re.compile(r"^\s*(?:[-*\u2022\u2023\u25aa\u25cf\u2013\u2014>]+|\(?\d{1,3}[.)])\s+")
# Inline bullets ("… patch now • CISA adds …").
_BULLETS = "\u2022\u25aa\u25cf"
_INLINE_BULLET = re.compile(rf"\s+[{_BULLETS}]\s+")
_WS = re.compile(r"[ \t\u00a0\u2009\u202f]+")
_ODD_SPACE = ("  ", "\t", "\u00a0", "\u2009", "\u202f")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences, in order, whitespace-normalised, empties dropped."""
    if not text:
        return []
    out: list[str] = []
    for raw_line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = _LIST_MARK.sub("", raw_line, count=1)
        # (The substitutions are skipped when they would change nothing: most lines of
        # most texts, and most of the splitter's time before.)
        if any(space in line for space in _ODD_SPACE):
            line = _WS.sub(" ", line)
        line = line.strip()
        if not line:
            continue
        if any(bullet in line for bullet in _BULLETS):
            for piece in _INLINE_BULLET.split(line):
                out.extend(_split_line(piece.strip()))
        else:
            out.extend(_split_line(line))
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


_OPEN = "\"'\u201c\u2018(["
_CLOSE = "\"'\u201d\u2019)]"


def _word_at(line: str, j: int) -> str:
    k = line.find(" ", j)
    return line[j:k if k != -1 else len(line)].lstrip(_OPEN)


def _is_boundary(line: str, punct_start: int, end: int) -> bool:
    # What follows must be able to start a sentence.
    n = len(line)
    j = end
    while j < n and line[j].isspace():
        j += 1
    if j >= n:
        return False
    c = line[j]
    starts = c.isupper() or c.isdigit() or c in _OPEN or (
        # "iOS", "iPhone", "macOS", "vCenter": lower-case start but a brand-style capital.
        c.islower() and any(ch.isupper() for ch in _word_at(line, j)[1:5])
    )
    if not starts:
        return False
    punct = line[punct_start:end].rstrip(_CLOSE)
    if not punct.endswith(".") or punct.endswith(".."):
        return True  # "!", "?", "…", "..." followed by a sentence start
    token = line[line.rfind(" ", 0, punct_start) + 1:punct_start]
    if "://" in token or "/" in token or "@" in token:
        return True  # the end of a URL, path or address, then a new sentence
    word = token.lstrip(_OPEN).rstrip(".")
    if not word or not all(ch.isalpha() or ch == "." for ch in word):
        return True  # after a number or version: "in 2024. The", "v1.2.3. Next"
    low = word.lower()
    if low in _NEVER_END:
        return False
    if len(word) == 1 and word.isupper():
        return False  # an initial: "John F. Kennedy"
    # Dotted acronyms ("U.S", "a.k.a") and company suffixes end a sentence only when a
    # typical sentence opener follows.
    if low in _MAYBE_END or ("." in word and all(len(p) <= 2 for p in word.split("."))):
        return _word_at(line, j).lower().strip(",;:") in _OPENERS
    return True
