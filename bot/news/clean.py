"""Turn untrusted HTML and scraped text into clean plain text.

- `html_to_text`: sanitized HTML → text with paragraph breaks.
- `strip_debris`: drops page-chrome lines an extractor lets through ("Listen to this
  Post", image credits, share buttons, cookie banners, newsletter prompts…).
- `strip_invisible`: zero-width and bidi control characters (used to hide or reorder
  text, or to dodge keyword and mention filters), and, through `strip_controls`,
  terminal escape sequences and C0/C1 control characters (tab and newline kept).
- `plain_text`: one-line plain text for titles and names.
"""

from __future__ import annotations

import html as html_lib
import re

from lxml import etree
from lxml import html as lxml_html
from lxml_html_clean import Cleaner

from bot.news.controls import strip_controls, strip_invisible
from bot.news.furniture import strip_furniture

__all__ = ["html_to_text", "plain_text", "strip_controls", "strip_debris", "strip_invisible"]

# Tags whose whole subtree is dropped: never readable text.
_KILL = (
    "script", "style", "noscript", "template", "iframe", "frame", "frameset", "object",
    "embed", "applet", "svg", "math", "canvas", "audio", "video", "head", "title",
    "button", "select", "textarea", "input",
)
_cleaner = Cleaner(
    scripts=True,
    javascript=True,
    comments=True,
    style=True,
    links=True,
    meta=True,
    page_structure=False,
    processing_instructions=True,
    embedded=True,
    frames=True,
    forms=False,  # keep the text of <form> wrappers some CMSs put around articles
    annoying_tags=True,
    remove_unknown_tags=False,
    safe_attrs_only=True,
    kill_tags=_KILL,
)

# Elements that end a paragraph (blank line) or a line (single newline).
_PARA = frozenset(
    (
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "dl", "table",
        "figure", "section", "article", "aside", "header", "footer", "main", "nav", "address",
        "hr", "details", "summary",
    )
)
_LINE = frozenset(
    (
        "br", "li", "dt", "dd", "div", "tr", "caption", "figcaption", "form", "fieldset", "legend",
    )
)
_CELL = frozenset(("td", "th"))

_SPACES_RE = re.compile(r"[ \t\f\v\r\n\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_XML_DECL_RE = re.compile(r"^\s*<\?xml[^>]*\?>")
_TAG_RE = re.compile(r"<[^>]*>")
_HSPACE_RE = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_MANY_NL_RE = re.compile(r"\n{3,}")
_PARA_MARK = "\x00P"
_LINE_MARK = "\x00L"
_MARK_RUN_RE = re.compile(r"(?:[ \t]*\x00[PL])+[ \t]*")


def _normalise_lines(text: str) -> str:
    lines = [line.strip() for line in text.split("\n")]
    out = "\n".join(lines)
    return _MANY_NL_RE.sub("\n\n", out).strip()


def html_to_text(html: str) -> str:
    """Sanitized plain text of an HTML fragment or document.

    Scripts, styles, iframes and other non-text elements are dropped with their
    content; block elements become line or paragraph breaks; entities are decoded;
    runs of whitespace collapse to one space; at most one blank line in a row.
    """
    if not html or not html.strip():
        return ""
    if "<" not in html:  # no markup: plain text (maybe with entities); keep its lines
        return _tidy(html_lib.unescape(html))
    # lxml refuses str input that carries an encoding declaration.
    html = _XML_DECL_RE.sub("", html, count=1)
    try:
        root = lxml_html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):  # nothing parseable: drop anything tag-like
        return _tidy(html_lib.unescape(_TAG_RE.sub(" ", html)))
    root = _cleaner.clean_html(root)

    parts: list[str] = []
    pre_depth = 0

    def emit(text: str | None) -> None:
        if text:
            parts.append(text if pre_depth else _SPACES_RE.sub(" ", text))

    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag if isinstance(el.tag, str) else ""
        tag = tag.lower()
        if event == "start":
            if tag in _PARA:
                parts.append(_PARA_MARK)
            elif tag in _LINE:
                parts.append(_LINE_MARK)
            elif tag in _CELL:
                parts.append(" ")
            if tag == "pre":
                pre_depth += 1
            if tag:
                emit(el.text)
        else:
            if tag == "pre":
                pre_depth -= 1
            if tag in _PARA:
                parts.append(_PARA_MARK)
            elif tag in _LINE and tag != "br":
                parts.append(_LINE_MARK)
            emit(el.tail)

    # A run of break marks (and the whitespace between them) becomes one break: a
    # paragraph if any mark in the run is one, else a line.
    text = _MARK_RUN_RE.sub(
        lambda m: "\n\n" if _PARA_MARK in m.group(0) else "\n", "".join(parts)
    )
    return _tidy(text)


def _tidy(text: str) -> str:
    """Strip invisible characters, collapse spaces within lines, trim the lines and
    allow at most one blank line in a row."""
    text = strip_invisible(text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "\n".join(_HSPACE_RE.sub(" ", line) for line in text.split("\n"))
    return _normalise_lines(text)


def plain_text(s: str | None) -> str:
    """Single-line plain text for titles: tags stripped, entities decoded, invisible
    characters removed, whitespace collapsed."""
    if not s:
        return ""
    text = html_to_text(s) if ("<" in s or "&" in s) else strip_invisible(s)
    return _SPACES_RE.sub(" ", text).strip()


# --- debris -----------------------------------------------------------------------------

_SOCIAL = frozenset(
    (
        "facebook", "twitter", "x", "linkedin", "reddit", "whatsapp", "telegram", "email",
        "e-mail", "print", "pinterest", "mastodon", "bluesky", "threads", "copy", "link", "share",
        "tweet", "pin", "it", "hacker", "news", "flipboard", "pocket", "messenger", "sms", "mail",
    )
)
_STOPWORDS = frozenset(
    (
        "of", "the", "a", "an", "and", "or", "to", "in", "on", "for", "by", "with", "at", "from",
        "as", "is", "are", "was", "be", "it", "this", "that", "its", "into",
    )
)

# Lines dropped when the whole line matches (case-insensitive, after trimming).
_WHOLE_LINE = re.compile(
    r"""^(?:
        listen\ to\ (?:this|the)\ (?:post|article|story)
      | featured\ image
      | advertisements?
      | sponsored(?:\ content)?
      | (?:story\ )?continues\ below(?:\ advertisement)?
      | skip\ to\ (?:main\ )?content
      | share(?:\ this)?(?:\ (?:article|post|story|page))?
      | share\ (?:on|via|to|with)\ .{1,40}
      | (?:click\ to\ )?(?:tweet|share|email|print)(?:\ this)?(?:\ on\ .{1,30})?
      | (?:follow|like)\ us\ on\ .{1,60}
      | accept(?:\ all)?(?:\ cookies)?
      | reject\ all(?:\ cookies)?
      | (?:manage|cookie)\ (?:settings|preferences|cookies)
      | cookie\ (?:policy|notice|consent)
      | (?:read|see)\ (?:more|also)(?::|\ »|\ ›)?
      | related(?:\ (?:articles|posts|stories|news))?:?
      | (?:image|photo|picture)\ (?:source|credit|credits)s?(?::.*)?
      | (?:image|photo):\ .{1,80}
    )[\s.!:…»›|]*$""",
    re.IGNORECASE | re.VERBOSE,
)
# Lines dropped when they start like this and are short (banners, prompts).
_PROMPT = re.compile(
    r"""^(?:
        (?:we|this\ (?:web)?site|our\ (?:web)?site)\ uses?\ cookies
      | by\ (?:continuing|using)\ (?:to\ (?:use|browse)\ )?(?:this|our)\ (?:web)?site
      | subscribe\ (?:to|for)\ (?:our|the)\ .{0,40}newsletter
      | (?:sign\ up|register)\ (?:for|to)\ (?:our|the)\ .{0,40}newsletter
      | get\ (?:the\ latest|our).{0,60}(?:newsletter|inbox)
      | don'?t\ miss\ (?:out|a\ story)
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_IMAGE_SOURCE_HEAD = re.compile(r"^(?:image|photo|picture)\s+(?:source|credits?)\s*:?\s*$", re.I)
_URL_RE = re.compile(r"https?://\S+|www\.\S+", re.I)
_FEATURED_SUFFIX = re.compile(r"\s*featured\s+image\s*$", re.I)


def _is_social_line(line: str) -> bool:
    words = re.findall(r"[a-z][a-z-]*", line.lower())
    return bool(words) and len(line) <= 120 and all(w in _SOCIAL for w in words)


def _is_stray_fragment(line: str) -> bool:
    words = re.findall(r"[\w'-]+", line.lower())
    return 0 < len(words) <= 3 and all(w in _STOPWORDS for w in words)


def _is_credit_line(line: str) -> bool:
    """`Name: https://…` or a bare URL: what follows an "Image Source:" heading."""
    if len(line) > 160:
        return False
    return bool(_URL_RE.search(line)) and len(_URL_RE.sub("", line).split()) <= 8


def strip_debris(text: str) -> str:
    """Drop page-debris lines from extracted article text, and page furniture (menus,
    sidebar lists, newsletter pitches, IOC lines: ``bot.news.furniture``); keeps
    paragraph breaks."""
    out: list[str] = []
    in_credits = False
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            if not in_credits:  # blank lines inside a credits block go with it
                out.append("")
            continue
        # "…https://credit.example/xFeatured Image": a caption glued to the line.
        unglued = _FEATURED_SUFFIX.sub("", line)
        glued = unglued != line
        if glued:
            if not unglued or _is_credit_line(unglued):
                continue
            line = unglued
        if in_credits:
            if _is_credit_line(line):
                continue
            in_credits = False
        if _IMAGE_SOURCE_HEAD.match(line):
            in_credits = True
            continue
        if (
            _WHOLE_LINE.match(line)
            or (_PROMPT.match(line) and len(line) <= 300)
            or _is_social_line(line)
            or _is_stray_fragment(line)
        ):
            continue
        out.append(line if glued else raw.rstrip())
    return _MANY_NL_RE.sub("\n\n", "\n".join(strip_furniture(out))).strip()
