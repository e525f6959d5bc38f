"""Characters that must never reach a terminal or a stored row: terminal escape
sequences, C0/C1 control characters, and zero-width and bidi controls.

Kept apart from `bot.news.clean` (which needs lxml for HTML) so that everything that
prints — the shell, the CLI, the sanitiser — imports only this.
"""

from __future__ import annotations

import re

# Zero-width characters, soft hyphen, word joiner/invisible operators, BOM, bidi
# embeddings/overrides/isolates and directional marks, Mongolian vowel separator.
_INVISIBLE_RE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
)

# Terminal escape sequences: OSC/DCS/SOS/PM/APC strings up to their terminator (BEL or
# ST), CSI sequences, then any other escape (ESC, optional intermediates, a final byte),
# in their 7-bit (ESC-prefixed) and 8-bit (C1) forms. What is left of a broken
# sequence (a lone ESC, an unterminated OSC's introducer) goes with the control
# characters: C0 except tab and newline, DEL, and C1.
_ESCAPE_RE = re.compile(
    r"(?:\x1b[\]P^_X]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x9c]{0,4096}?(?:\x07|\x1b\\|\x9c)"
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|\x1b[ -/]*[0-~]"
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_BREAKS_RE = re.compile(r"\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def strip_controls(text: str) -> str:
    """Remove terminal escape sequences and control characters, keeping tab and
    newline (carriage returns and other line or page breaks become newlines)."""
    text = _BREAKS_RE.sub("\n", text)
    return _CONTROL_RE.sub("", _ESCAPE_RE.sub("", text))


def strip_invisible(text: str) -> str:
    """Remove terminal escapes and control characters (tab and newline kept), and
    zero-width, soft-hyphen and bidi control characters."""
    return _INVISIBLE_RE.sub("", strip_controls(text))
