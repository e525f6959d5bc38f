"""A small model of how Discord renders text, to check what the bot sends.

``violations(text)`` lists every place where ``text`` would render as something other
than plain text: markup (bold, italics, underline, strike, spoilers, code, masked
links, headings, quotes, subtext, lists), mention-like tokens, ``@everyone``/``@here``,
control characters and terminal escapes. It follows Discord's (simple-markdown's)
rules: a backslash before a symbol escapes it; a URL (``https?://`` anywhere, up to
whitespace or ``<``, not ending in punctuation) is a link whose characters are not
markup — backslashes included; block markers count at a line start. It is stricter than
Discord where that costs nothing: a lone unescaped ``*``, ``_``, ``~``, ``|``, backtick
or ``[`` counts, as does any ``<`` without a zero-width space after it.

Our own markup (a bold label, a channel mention, a masked link to a URL we stored) is
allowed explicitly: ``own`` patterns are blanked out first, and ``link_ok`` says which
masked-link targets are ours.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

# Control characters, terminal escapes' ESC and C1, and bidi overrides/isolates (they
# reorder what a reader sees).
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
DISCORD_URL = re.compile(r"https?://[^\s<]+[^<.,:;\"')\]\s]")
PING = re.compile(r"@(?:everyone|here)", re.I)
LINE_START = re.compile(r"[ \t]*(?:#{1,3}[ \t]|-#[ \t]|>|[-*+][ \t]|\d+\.[ \t])")
MARKUP = set("*_~|`[")
ZWSP = "\u200b"
# [text](target): text without unescaped brackets, target up to the closing parenthesis.
OWN_LINK = re.compile(r"\[((?:\\.|[^\[\]\\])*)\]\(([^()\s]+)\)")


def violations(
    text: str,
    *,
    own: Iterable[str] = (),
    link_ok: Callable[[str], bool] | None = None,
) -> list[str]:
    """Every way ``text`` would not render as plain text on Discord (empty: it is safe)."""
    found = [f"control character {m.group()!r} at {m.start()}" for m in CONTROL.finditer(text)]
    for pattern in own:
        text = re.sub(pattern, lambda m: "X" * len(m.group()), text)
    if link_ok is not None:
        def blank(m: re.Match[str]) -> str:
            if not link_ok(m.group(2)):
                found.append(f"masked link to {m.group(2)!r}")
            return "X" + m.group(1) + "X" * (len(m.group()) - len(m.group(1)) - 1)
        text = OWN_LINK.sub(blank, text)
    i, n = 0, len(text)
    while i < n:
        if i == 0 or text[i - 1] == "\n":
            start = LINE_START.match(text, i)
            if start:
                found.append(f"line-start markup {start.group()!r} at {i}")
        char = text[i]
        if char == "\\":
            if i + 1 < n and not (text[i + 1].isalnum() or text[i + 1].isspace()):
                i += 2  # an escaped symbol: literal
                continue
            found.append(f"lone backslash at {i}")
        url = DISCORD_URL.match(text, i)
        if url:
            if PING.search(url.group()):
                found.append(f"ping inside URL {url.group()!r}")
            i = url.end()
            continue
        ping = PING.match(text, i)
        if ping:
            found.append(f"{ping.group()} at {i}")
        elif char == "<" and text[i + 1 : i + 2] != ZWSP:
            found.append(f"'<' (mention, timestamp, autolink) at {i}: {text[i:i + 20]!r}")
        elif char == "]" and text[i + 1 : i + 2] == "(":
            found.append(f"'](' (masked link) at {i}: {text[max(i - 20, 0):i + 20]!r}")
        elif char in MARKUP:
            found.append(f"unescaped {char!r} at {i}: {text[max(i - 20, 0):i + 20]!r}")
        i += 1
    return found


def plain_violations(text: str) -> list[str]:
    """For surfaces that render no markdown (footers, labels, choices): no controls,
    no newlines, no pings."""
    found = [f"control character {m.group()!r}" for m in CONTROL.finditer(text)]
    found += [f"newline at {m.start()}" for m in re.finditer("\n", text)]
    found += [f"{m.group()} at {m.start()}" for m in PING.finditer(text)]
    return found
