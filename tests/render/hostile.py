"""The hostile-string fixture (tests/fixtures/hostile_strings.txt), decoded."""

from __future__ import annotations

import re
from functools import cache

from tests.conftest import FIXTURES

HOSTILE_FILE = FIXTURES / "hostile_strings.txt"
_ESCAPES = re.compile(r"\\x([0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})|\\([ntr])")
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r"}


def decode(line: str) -> str:
    """Turn the fixture's written escapes (\\x1b, \\u202e, \\n, \\t, \\r) into characters;
    every other backslash stays as written."""
    def one(m: re.Match[str]) -> str:
        if m.group(1):
            return chr(int(m.group(1), 16))
        if m.group(2):
            return chr(int(m.group(2), 16))
        return _SIMPLE[m.group(3)]

    return _ESCAPES.sub(one, line)


@cache
def hostile_strings() -> tuple[str, ...]:
    lines = HOSTILE_FILE.read_text(encoding="utf-8").splitlines()
    return tuple(decode(line) for line in lines
                 if line.strip() and not line.startswith(";;"))


def combined(*, parts: int = 6, offset: int = 0) -> str:
    """Several hostile strings in one (for fields where one test string must carry
    many attacks), joined by spaces."""
    strings = hostile_strings()
    return " ".join(strings[(offset + i * 7) % len(strings)] for i in range(parts))
