"""Is an imported file an article? A prose check run on every parsed import.

An article is mostly sentences: several words, mostly letters, ending in punctuation.
Files that are not (``/etc/shadow``, ``/etc/passwd``, CSV, logs, source code, tables)
parse "successfully" as seed text — the first line becomes a title — so the importer
asks this module before accepting one. Each line of the parsed text is cut into
sentence-like segments; lines with none are classified (key:value records, CSV rows,
log lines, code, data) so the refusal can say what the file looked like.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ProseCount", "count_prose", "prose_problem"]

MIN_WORDS = 5  # a sentence has at least this many words
MIN_LETTER_SHARE = 0.6  # of its letters, digits and symbols (spaces and , . ; : ' " ( ) - ignored)
MIN_PROSE_SHARE = 0.25  # of the text's characters that must be in sentences

_SPLIT = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=\S)")
_ENDS = re.compile(r"[.!?…][\"'”’)\]*_]*$")
_URL = re.compile(r"\(?(?:https?|ftp)://\S+")
_NEUTRAL = set(" \t,.;:'\"()-!?…‘’“”*_[]#>`")
_WORD = re.compile(r"[^\W\d_]{2,}")

_LOG = re.compile(
    r"^\s*[\[(]?(?:\d{4}-\d\d-\d\d[T ]\d\d:\d\d|\d\d:\d\d:\d\d|"
    r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|(?:DEBUG|INFO|WARN(?:ING)?|ERROR|CRITICAL|FATAL)\b)"
)
_KEY_VALUE = re.compile(r"^\s*[\w.@/\-]+\s*(?:=|:(?!//))")
_CODE_START = re.compile(
    r"^\s*(?:def |class |import |from \S+ import |return\b|if .*:$|elif |else:|for .* in |"
    r"while |try:|except\b|#include|#define|function\b|const |let |var |public |private |"
    r"static |package |func |fn |@\w+|//|/\*|\*/|<\?php|\$ )"
)
_CODE_END = re.compile(r"[{};(\[]\s*$|^\s*[}\])]")


@dataclass(slots=True)
class ProseCount:
    lines: int = 0  # non-blank lines looked at
    sentences: int = 0
    prose_chars: int = 0
    total_chars: int = 0
    records: Counter[str] | None = None  # kind -> lines without a sentence

    @property
    def prose_share(self) -> float:
        return self.prose_chars / self.total_chars if self.total_chars else 0.0


def letter_share(text: str) -> float:
    """Letters among the characters that are not spaces or ordinary punctuation."""
    text = _URL.sub("", text)
    counted = [c for c in text if c not in _NEUTRAL]
    if not counted:
        return 0.0
    return sum(c.isalpha() for c in counted) / len(counted)


def is_sentence(segment: str) -> bool:
    s = segment.strip()
    return (
        bool(_ENDS.search(s))
        and len(_WORD.findall(_URL.sub("", s))) >= MIN_WORDS
        and letter_share(s) >= MIN_LETTER_SHARE
    )


def record_kind(line: str) -> str:
    """What a line without a sentence looks like."""
    s = line.strip()
    if _LOG.match(s):
        return "log entries"
    if (s.count(",") >= 2 and len(s.split()) <= s.count(",") + 1) or s.count("\t") >= 2:
        return "CSV rows"
    if _KEY_VALUE.match(s) and (s.count(":") >= 2 or len(s.split()) <= 4 or "=" in s):
        return "key:value records"
    if _CODE_START.match(s) or _CODE_END.search(s) or "==" in s or "=>" in s or "->" in s:
        return "code"
    if letter_share(s) < 0.5:
        return "data"
    return "other"


def count_prose(lines: Iterable[str]) -> ProseCount:
    count = ProseCount(records=Counter())
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        count.lines += 1
        count.total_chars += len(line)
        found = False
        for segment in _SPLIT.split(line):
            if is_sentence(segment):
                found = True
                count.sentences += 1
                count.prose_chars += len(segment.strip())
        if not found:
            kind = record_kind(line)
            if kind != "other":
                count.records[kind] += 1
    return count


def prose_problem(lines: Iterable[str], *, only_records: bool = False) -> str | None:
    """Why these lines are not an article, or None when they read as one. With
    ``only_records``, None also when no line looks like a record, code or data (used
    to explain a file the parsers refused for another reason)."""
    count = count_prose(lines)
    records = count.records or Counter()
    if only_records and not records:
        return None
    described = ""
    if records:
        kind, n = records.most_common(1)[0]
        described = f"{n} line{'s' if n != 1 else ''} of {kind}"
    if count.sentences == 0:
        what = described or f"{count.lines} line{'s' if count.lines != 1 else ''}"
        return f"not an article: {what} and no prose sentences"
    if count.prose_share < MIN_PROSE_SHARE:
        what = f" among {described}" if described else ""
        plural = "s" if count.sentences != 1 else ""
        return (
            f"not an article: only {count.sentences} prose sentence{plural}{what} "
            f"({count.prose_share:.0%} of the text is prose, an article needs "
            f"{MIN_PROSE_SHARE:.0%})"
        )
    return None
