"""FIRST's daily EPSS scores: a gzip'd CSV of about 300,000 rows, read as a stream.

    #model_version:v2025.03.14,score_date:2026-02-28T00:00:00+0000
    cve,epss,percentile
    CVE-1999-0001,0.01141,0.78122

The body may still be gzip (a ``.csv.gz`` served as a file, not with Content-Encoding)
or already plain. Decompression is incremental and capped at ``max_bytes`` of output,
so a gzip bomb is refused after reading at most that much; the rows are handed out one
by one, so neither the text nor the rows are ever held whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from bot.vulns import CVE_ID, VulnFormatError, body_hint
from bot.vulns.gzipcap import pieces

_SCORE_DATE = re.compile(r"score_date:(\d{4}-\d{2}-\d{2})")
_MODEL = re.compile(r"model_version:([^,\s]+)")
_LONGEST_LINE = 4096  # a real row is about 35 bytes


def _lines(body: bytes, max_bytes: int) -> Iterator[str]:
    rest = b""
    for piece in pieces(body, max_bytes, what="EPSS file"):
        block = rest + piece
        *complete, rest = block.split(b"\n")
        if len(rest) > _LONGEST_LINE:
            raise VulnFormatError("not an EPSS CSV (a line thousands of bytes long)")
        for raw in complete:
            yield raw.decode("utf-8", "replace").rstrip("\r")
    if rest.strip():
        yield rest.decode("utf-8", "replace").rstrip("\r")


@dataclass
class EpssFile:
    """The file's header, read at once; ``rows()`` streams the scores (and raises
    VulnFormatError at the first malformed row, or at the end of a file with none)."""

    model_version: str
    score_date: date | None
    _lines: Iterator[str]

    def rows(self) -> Iterator[tuple[str, float, float]]:
        count = 0
        for number, line in enumerate(self._lines, start=3):
            if not line.strip():
                continue
            yield _row(line, number)
            count += 1
        if count == 0:
            raise VulnFormatError("the EPSS file holds no scores")


def _row(line: str, number: int) -> tuple[str, float, float]:
    parts = line.split(",")
    if len(parts) != 3 or not CVE_ID.fullmatch(parts[0]):
        raise VulnFormatError(f"EPSS line {number} is not 'cve,epss,percentile': "
                              f"{line[:40]!r}")
    try:
        score, percentile = float(parts[1]), float(parts[2])
    except ValueError:
        raise VulnFormatError(f"EPSS line {number}: scores are not numbers") from None
    if not (0.0 <= score <= 1.0 and 0.0 <= percentile <= 1.0):
        raise VulnFormatError(f"EPSS line {number}: scores outside 0–1")
    return parts[0], score, percentile


def open_epss(body: bytes, *, max_bytes: int) -> EpssFile:
    """Read the header of an EPSS body; raises VulnFormatError when it is not one."""
    lines = _lines(body, max_bytes)
    first = next(lines, "")
    model, score_date = "", None
    if first.startswith("#"):
        if m := _MODEL.search(first):
            model = m.group(1)
        if m := _SCORE_DATE.search(first):
            try:
                score_date = date.fromisoformat(m.group(1))
            except ValueError:
                raise VulnFormatError(f"EPSS score_date {m.group(1)!r} is not a date") from None
        first = next(lines, "")
    if first.strip().lower().replace(" ", "") != "cve,epss,percentile":
        raise VulnFormatError(f"not an EPSS CSV (begins {body_hint(first.encode())})")
    return EpssFile(model_version=model, score_date=score_date, _lines=lines)
