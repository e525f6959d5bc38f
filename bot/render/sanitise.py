"""The one sanitiser for untrusted text on its way to Discord.

Feed titles and bodies, source names, catalogue text and anything a user typed reach
Discord only through these functions:

- ``discord_text`` for surfaces that render markdown (message content, embed titles,
  descriptions, field names and values): masked links ``[x](y)`` become ``x (y)``, so
  the real URL shows; every markdown character (``\\ * _ ~ | ` [ ]``) is escaped, as
  are headings, quotes, subtext and list markers at a line start; ``@everyone`` and
  ``@here`` get a zero-width space after the ``@``, and so does every ``<``, so that
  mention-like tokens (``<@…>``, ``<#…>``, ``</x:id>``, ``<t:…>``, whatever the ID's
  length) are text. (A backslash before ``<`` would not do: Discord's link rule takes
  a URL up to the ``<``, backslash included.) URLs Discord would link anyway are kept
  verbatim (an escape inside one would change the link).
- ``label`` for surfaces that render no markdown (footers, author names, button labels,
  autocomplete choices, select options): one line, no controls, no pings.
- ``link``, ``url_text`` and ``safe_url`` for our own links (``[text](url)``,
  ``<url>``): the text sanitised (brackets softened), the URL a validated http(s) URL
  that cannot break out of ``(…)`` or ``<…>``.
- ``code_text`` for untrusted text inside our own inline code span.
- ``fit_lines`` to cut text made of sanitised lines at a line boundary.

All of them strip control characters and terminal escapes first (``strip_invisible``)
and cut to a limit on whole tokens, so a cut never splits an escape or re-creates
markup.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bot.news.controls import strip_invisible

ZWSP = "\u200b"
ELLIPSIS = "…"
URL_LIMIT = 2000

# [text](url) or [text](<url>): shown as "text (url)". Anything fancier (nested
# brackets, a title) stays as escaped text, which shows the real URL as well.
_MASKED_LINK_RE = re.compile(r"\[([^\[\]\n]*)\]\(\s*<?([^\s()<>]*)>?\s*\)")

# A URL kept verbatim: http(s), not glued to a word, starting with a host character, of
# RFC 3986 characters without the markdown-significant ones Discord might end a link
# at; not ending in punctuation (Discord leaves a trailing . , : ; ' ) out of the link).
_URL_CHARS = r"A-Za-z0-9\-._~:/?#@!$&'()*+,;=%"
_URL_END = r"A-Za-z0-9\-_~/?#@!$&(*+=%"
URL_TOKEN = rf"(?<![A-Za-z0-9])https?://[A-Za-z0-9][{_URL_CHARS}]*[{_URL_END}]"

_PING_RE = re.compile(r"@(?i:everyone|here)")
_TOKEN_RE = re.compile(
    rf"(?P<url>{URL_TOKEN})"
    r"|(?P<ping>@(?i:everyone|here))"
    # at a line start: heading, quote, subtext, bullet or numbered list marker
    r"|(?P<lead>(?<![^\n])[ \t]*(?:[#>]|[-*+](?=[ \t#])|\d+[.)](?=[ \t])))"
    r"|(?P<md>[\\*_~|`\[\]])"
    r"|(?P<lt><)"
    r"|(?P<space>[^\S\n]+|\n)"  # a newline alone: what follows it is a line start
    r"|(?P<other>[^\\*_~|`\[\]<\s@h]+|[\s\S])"
)


def _no_ping(match: re.Match[str]) -> str:
    return "@" + ZWSP + match.group()[1:]


def _tokens(text: str) -> list[str]:
    """The sanitised text as atomic pieces: a cut between two never splits an escape,
    a neutralised ping or a URL."""
    out: list[str] = []
    for match in _TOKEN_RE.finditer(text):
        kind, value = match.lastgroup, match.group()
        if kind == "ping":
            out.append(_no_ping(match))
        elif kind == "lead":
            marker = value.lstrip(" \t")
            if marker[-1] in ".)" and marker[0].isdigit():
                out.append(value[:-1] + "\\" + value[-1])
            else:
                out.append(value[: len(value) - len(marker)] + "\\" + marker)
        elif kind == "md":
            out.append("\\" + value)
        elif kind == "lt":  # not a backslash: a URL just before would swallow it
            out.append("<" + ZWSP)
        elif kind == "url":
            out.append(_PING_RE.sub(_no_ping, value))
        else:
            out.append(value)
    return out


def _cut(tokens: list[str], limit: int) -> str:
    """Join tokens, or as many as fit in ``limit`` with an ellipsis, preferring a cut at
    whitespace when that keeps most of the text."""
    if sum(map(len, tokens)) <= limit:
        return "".join(tokens)
    if limit <= 0:
        return ""
    room = limit - len(ELLIPSIS)
    kept: list[str] = []
    size = 0
    last_space = -1
    for token in tokens:
        if size + len(token) > room:
            break
        if token.isspace():
            last_space = len(kept)
        kept.append(token)
        size += len(token)
    if last_space >= 0 and sum(map(len, kept[:last_space])) > limit * 0.6:
        kept = kept[:last_space]
    # No escape, neutralised ping or URL ends in one of these, so stripping is safe.
    return "".join(kept).rstrip(" \n,;:") + ELLIPSIS


def _unmask_links(text: str) -> str:
    return _MASKED_LINK_RE.sub(
        lambda m: f"{m.group(1).strip()} ({m.group(2)})" if m.group(1).strip()
        else f"({m.group(2)})",
        text,
    )


def discord_text(text: str | None, limit: int = 4096) -> str:
    """Untrusted text for a markdown surface: renders as exactly the text it is, pings
    no one, and is at most ``limit`` characters (cut on whole tokens, with "…")."""
    text = strip_invisible(text or "").replace("\t", " ")
    text = _unmask_links(text.strip())
    if len(text) > 2 * limit + 16:  # tokens never shrink: the rest would be cut anyway
        text = text[: 2 * limit + 16]
    return _cut(_tokens(text), limit)


_SPACES_RE = re.compile(r"\s+")


def label(text: str | None, limit: int = 100) -> str:
    """Untrusted text for a surface that renders no markdown (footers, author names,
    button labels, autocomplete choices, select options): one line, no control
    characters, no pings, at most ``limit`` characters."""
    text = _unmask_links(_SPACES_RE.sub(" ", strip_invisible(text or "")).strip())
    text = _PING_RE.sub(_no_ping, text)
    if len(text) <= limit:
        return text
    return text[: max(limit - len(ELLIPSIS), 0)].rstrip() + ELLIPSIS


def code_text(text: str | None, limit: int = 100) -> str:
    """Untrusted text as our own inline code span (`/search …`): inside one, Discord
    renders no markdown and no mentions, so the text only loses what ``label`` strips
    and its backticks (which would end the span early). "" when nothing is left."""
    inner = label(text, max(limit - 2, 0)).replace("`", "'").strip()
    return f"`{inner}`" if inner else ""


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an http(s) URL with a host that can sit in a masked link or
    ``<…>`` without breaking out (no whitespace, controls, quotes, angle brackets or
    backslashes; parentheses percent-encoded); else None."""
    if not url or len(url) > URL_LIMIT or url != strip_invisible(url):
        return None
    if re.search(r"[\s<>\"\\`|{}^]", url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url.replace("(", "%28").replace(")", "%29")


def link(text: str | None, url: str | None, limit: int = 150) -> str:
    """Our own masked link ``[text](url)``: the text sanitised to at most ``limit``
    characters (its brackets made round, so it cannot close the link early), the URL
    validated. Just the sanitised text when the URL is not safe."""
    soft = _unmask_links(strip_invisible(text or "")).replace("[", "(").replace("]", ")")
    shown = discord_text(soft, limit)
    target = safe_url(url)
    if target is None:
        return shown
    return f"[{shown or 'link'}]({target})"


def url_text(url: str | None, limit: int = 300) -> str:
    """A URL shown as ``<url>`` (a link without a preview) when it is safe, else as
    sanitised text."""
    target = safe_url(url)
    if target is not None and len(target) + 2 <= limit:
        return f"<{target}>"
    return discord_text(url, limit)


def fit_lines(lines: list[str], limit: int) -> str:
    """Join already-sanitised lines with newlines, dropping whole lines from the end
    (with a last "…" line) when they do not fit, so no line is cut in the middle. A
    single line longer than ``limit`` is dropped too (callers bound each line)."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    size = len(ELLIPSIS)
    for line in lines:
        if size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join([*kept, ELLIPSIS])
