"""Parse RSS / Atom / RDF bytes into plain entries, recovering what real feeds break.

Synchronous and CPU-bound: callers run it off the event loop. feedparser only ever
sees an in-memory stream (never a string, which it would treat as a URL or a file
name), and its SAX parser has external entities disabled, so parsing cannot fetch or
read anything.

Before feedparser runs, a few repairs make the strict XML parser succeed where it
otherwise falls back to the lossy loose parser: leading junk before `<?xml`, a BOM
with invalid bytes, an unknown or missing encoding (guessed with charset_normalizer),
and undeclared namespace prefixes (declared on the root element). Every repair is
reported through `ParsedFeed.ill_formed` / `problem`.
"""

from __future__ import annotations

import calendar
import codecs
import html
import html.entities
import io
import re
import time
import xml.sax
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import charset_normalizer
import feedparser
import feedparser.api
from feedparser.exceptions import NonXMLContentType

from bot.news.clean import plain_text

__all__ = ["FeedEntry", "FeedParseError", "ParsedFeed", "parse_feed"]


@dataclass
class FeedEntry:
    guid: str | None
    url: str | None  # absolute http(s) URL or None
    title: str  # plain text
    published_at: datetime | None  # aware, UTC
    summary_html: str  # sanitized HTML
    content_html: str  # sanitized HTML ("" when the feed has no full content)
    author: str | None


@dataclass
class ParsedFeed:
    title: str | None
    entries: list[FeedEntry]
    ill_formed: bool
    problem: str | None  # short reason when ill_formed


class FeedParseError(ValueError):
    """Nothing usable in the body. `kind`: empty | html | not_feed | no_entries."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind

    def __reduce__(self) -> tuple:
        # Raised in worker processes: the default reduce would call cls(message) in
        # the parent, which fails (kind is required) and breaks the process pool.
        return (_feed_parse_error, (str(self), self.kind))


def _feed_parse_error(message: str, kind: str) -> FeedParseError:
    return FeedParseError(message, kind=kind)


# Well-known prefixes feeds use without declaring them.
_KNOWN_NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "media": "http://search.yahoo.com/mrss/",
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "slash": "http://purl.org/rss/1.0/modules/slash/",
    "wfw": "http://wellformedweb.org/CommentAPI/",
    "sy": "http://purl.org/rss/1.0/modules/syndication/",
    "feedburner": "http://rssnamespace.org/feedburner/ext/1.0",
    "georss": "http://www.georss.org/georss",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xhtml": "http://www.w3.org/1999/xhtml",
}
# feedparser resolves RSS permalink <guid>s like links, turning "item-42" into
# "https://feed.example/path/item-42" — and into something else when the feed moves.
# Keep identifiers exactly as published (links are still resolved).
for _cls in (feedparser.api.StrictFeedParser, feedparser.api.LooseFeedParser):
    _cls.can_be_relative_uri = frozenset(_cls.can_be_relative_uri - {"id"})

_DOCTYPE_RE = re.compile(rb"<!DOCTYPE\s+([\w:.-]+)([^\[>]*)(\[)?")
_SUBSET_END_RE = re.compile(rb"\]\s*>")
_SAFE_ENTITY_RE = re.compile(rb"""<!ENTITY\s+(\w+)\s+"(&#\w+;|[^&"%<]*)"\s*>""")
_XML_DECL_RE = re.compile(rb"<\?xml\s[^>]*\?>")  # not <?xml-stylesheet …?>
_DECL_ENCODING_RE = re.compile(rb"""\bencoding\s*=\s*["']([A-Za-z0-9._:-]*)["']""")
_ROOT_RE = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_PREFIX_USE_RE = re.compile(rb"</?([A-Za-z_][\w.-]*):[A-Za-z_]|\s([A-Za-z_][\w.-]*):[\w.-]+\s*=")
_PREFIX_DECL_RE = re.compile(rb"xmlns:([A-Za-z_][\w.-]*)\s*=")
_URLISH_RE = re.compile(r"(?:https?:)?/|[\w.-]+\.[a-z]{2,}/", re.I)
_HTML_SNIFF_RE = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.I)
_FEED_SNIFF_RE = re.compile(rb"<(?:[\w-]+:)?(?:rss|feed|RDF|channel)[\s>]")
_CLOSE_TAG_RE = re.compile(r"</[A-Za-z][\w:-]*\s*>")
_LEFTOVER_ENTITY_RE = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_ENTITY_REF_RE = re.compile(rb"&([A-Za-z_][\w.-]*);")
_CDATA_RE = re.compile(rb"<!\[CDATA\[.*?(?:\]\]>|\Z)", re.S)
_XML_ENTITIES = frozenset((b"lt", b"gt", b"amp", b"quot", b"apos"))
_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?([^\s;\"']+)", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _set_declared_utf8(data: bytes) -> bytes:
    """Make the XML declaration (if any) say UTF-8 — the bytes have been transcoded."""
    m = _XML_DECL_RE.match(data)
    if not m:
        return data
    decl = m.group(0)
    if _DECL_ENCODING_RE.search(decl):
        decl = _DECL_ENCODING_RE.sub(b'encoding="utf-8"', decl, count=1)
    return decl + data[m.end() :]


@dataclass
class _Prepared:
    data: bytes
    content_type: str | None
    notes: list[str]


def _prepare(body: bytes, content_type: str | None) -> _Prepared:
    notes: list[str] = []
    data = body
    transcoded = False
    header_charset = None
    if content_type:
        m = _CHARSET_RE.search(content_type)
        header_charset = m.group(1) if m else None

    # 1. A BOM decides the encoding; invalid bytes after it are replaced, not fatal.
    for bom, enc in _BOMS:
        if data.startswith(bom):
            rest = data[len(bom) :]
            try:
                text = rest.decode(enc)
            except UnicodeDecodeError:
                text = rest.decode(enc, "replace")
                notes.append(f"invalid {enc.upper()} bytes replaced")
            data, transcoded = text.encode("utf-8"), True
            break

    # 2. Junk before the XML declaration (whitespace, comments) makes strict parsers
    #    refuse the document: drop leading whitespace, move the declaration first.
    stripped = data.lstrip()
    if len(stripped) != len(data) and stripped.startswith(b"<?xml"):
        notes.append("whitespace before the XML declaration")
    data = stripped
    m = _XML_DECL_RE.search(data, 0, 4096)
    if m and m.start() > 0:
        notes.append("XML declaration not at the start")
        data = m.group(0) + data[: m.start()] + data[m.end() :]

    # 3. A DTD internal subset can define entities that expand exponentially
    #    ("billion laughs"); feedparser's own DOCTYPE handling misses or mangles it.
    data, dropped = _strip_doctype(data)
    if dropped:
        notes.append("DTD entity declarations ignored")

    # 4. Without a BOM: keep the declared encoding (HTTP charset, else the XML
    #    declaration) when it decodes the bytes; otherwise UTF-8 if that decodes,
    #    else guess. Guessing needs the bytes transcoded, as feedparser cannot be told.
    if not transcoded:
        m = _XML_DECL_RE.match(data)
        decl = _DECL_ENCODING_RE.search(m.group(0)) if m else None
        declared = decl.group(1).decode("ascii", "replace") if decl else None
        header_enc = _codec(header_charset)
        if (
            header_enc not in (None, "utf-8")
            and _codec(declared) == "utf-8"
            and not data.isascii()
            and _decodes(data, "utf-8")
        ):
            # A server default (charset=ISO-8859-1) contradicting a document that says
            # and is UTF-8: believe the document.
            notes.append(f"HTTP charset {header_charset!r} contradicts the document")
            transcoded = True
        elif header_enc:
            declared = header_charset
        enc = _codec(declared)
        if declared and enc is None:
            notes.append(f"unknown encoding {declared!r} declared")
        if enc is None or not _decodes(data, enc):
            if _decodes(data, "utf-8"):
                transcoded = declared is not None  # bytes already UTF-8; fix the label
            else:
                best = charset_normalizer.from_bytes(data[:200_000]).best()
                guessed = best.encoding if best else "windows-1252"
                if enc is not None:
                    notes.append(f"bytes do not match declared encoding {declared!r}")
                elif not declared:
                    notes.append("no encoding declared")
                notes.append(f"decoded as {guessed}")
                data, transcoded = data.decode(guessed, "replace").encode("utf-8"), True
    if transcoded:
        data = _set_declared_utf8(data)
        content_type = _with_charset(content_type, "utf-8")
    return _Prepared(data, content_type, notes)


def _strip_doctype(data: bytes) -> tuple[bytes, bool]:
    """Remove a DOCTYPE that precedes the root element, internal subset included.

    Entities declared as plain text or a single character reference are substituted
    into the document; any other declaration (nested or external entities) is dropped.
    Returns (data, whether a declaration was dropped).
    """
    m = _DOCTYPE_RE.search(data, 0, 65536)
    if m is None or _ROOT_RE.search(data, 0, m.start()):
        return data, False
    if m.group(3):  # internal subset: up to "]" then ">"
        close = _SUBSET_END_RE.search(data, m.end())
        if close is None:
            return data, False
        subset, end = data[m.end() : close.start()], close.end()
    else:
        subset, end = b"", m.end() + (data[m.end() : m.end() + 1] == b">")
    safe = dict(_SAFE_ENTITY_RE.findall(subset))
    dropped = subset.count(b"<!ENTITY") > len(safe)
    rest = data[end:]
    if safe:
        rest = re.sub(rb"&(\w+);", lambda r: safe.get(r.group(1), r.group(0)), rest)
    return data[: m.start()] + rest, dropped


def _with_charset(content_type: str | None, charset: str) -> str:
    base = (content_type or "application/xml").split(";", 1)[0].strip() or "application/xml"
    return f"{base}; charset={charset}"


def _declare_missing_prefixes(data: bytes) -> tuple[bytes, set[str]]:
    used = set()
    for m in _PREFIX_USE_RE.finditer(data):
        used.add((m.group(1) or m.group(2)).decode("ascii", "replace"))
    used -= {"xml", "xmlns"}
    if not used:
        return data, set()
    declared = {m.group(1).decode("ascii", "replace") for m in _PREFIX_DECL_RE.finditer(data)}
    missing = used - declared
    if not missing:
        return data, set()
    # The root element: first tag that is not a declaration, comment or PI.
    root = _ROOT_RE.search(data)
    if root is None:
        return data, set()
    decls = "".join(
        f' xmlns:{p}="{_KNOWN_NS.get(p, "urn:x-undeclared:" + p)}"' for p in sorted(missing)
    ).encode()
    return data[: root.end()] + decls + data[root.end() :], missing


def _replace_undefined_entities(data: bytes) -> tuple[bytes, set[str]]:
    """Entity references XML does not define (`&nbsp;`, `&rsquo;`, `&foo;`): HTML's
    named characters become character references, anything else is removed — an
    unknown entity stands for nothing. CDATA sections are left as they are. Without
    this, feedparser falls back to its loose parser, which keeps "&foo;" as text and
    turns `<link>&foo;</link>` into a made-up URL."""
    replaced: set[str] = set()

    def sub(m: re.Match[bytes]) -> bytes:
        name = m.group(1)
        if name in _XML_ENTITIES:
            return m.group(0)
        replaced.add(name.decode("ascii", "replace"))
        chars = html.entities.html5.get(name.decode("ascii", "replace") + ";", "")
        return "".join(f"&#{ord(c)};" for c in chars).encode("ascii")

    parts: list[bytes] = []
    pos = 0
    for m in _CDATA_RE.finditer(data):
        parts.append(_ENTITY_REF_RE.sub(sub, data[pos : m.start()]))
        parts.append(m.group(0))
        pos = m.end()
    parts.append(_ENTITY_REF_RE.sub(sub, data[pos:]))
    return b"".join(parts), replaced


def _describe(exc: BaseException) -> str:
    if isinstance(exc, xml.sax.SAXParseException):
        return f"ill-formed XML: {exc.getMessage()} (line {exc.getLineNumber()})"
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _to_utc(st: time.struct_time | None) -> datetime | None:
    if not st:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(st), UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def _safe_url(value: str | None, base_url: str) -> str | None:
    if not value:
        return None
    try:  # each raises ValueError on a broken URL ("http://[::1": invalid IPv6 URL)
        url = urljoin(base_url, value.strip())
        parts = urlsplit(url)
        parts.port  # noqa: B018 — "port out of range", "port could not be cast"
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def _as_html(detail: dict | None, value: str) -> str:
    """feedparser values are sanitized HTML unless the feed declared plain text (RSS
    titles feedparser did not find HTML in, Atom type="text"): that is escaped, so
    "XSS via <svg> tag" stays text. Entity references left in plain text (feeds that
    escape twice: "AT&amp;amp;T") are decoded first."""
    kind = (detail or {}).get("type") or "text/html"
    if kind == "text/plain":
        return html.escape(_LEFTOVER_ENTITY_RE.sub(_unescape, value), quote=False)
    return value


def _unescape(m: re.Match[str]) -> str:
    return html.unescape(m.group(0))


def _title(e: feedparser.FeedParserDict, *, declared: bool) -> str:
    """Plain text. Atom declares a title's type; an RSS title is plain text unless
    feedparser found HTML in it or it carries closing tags ("<b>x</b>", "<script>…
    </script>"): "XSS via <svg> tag" and "History of the <blink> tag" stay as written."""
    value = e.get("title") or ""
    detail = e.get("title_detail")
    if not declared and _CLOSE_TAG_RE.search(value):
        detail = None  # markup after all
    return plain_text(_as_html(detail, value))


def _entry(e: feedparser.FeedParserDict, base_url: str, *, declared: bool) -> FeedEntry:
    guid = (e.get("id") or "").strip() or None
    link = (e.get("link") or "").strip()
    if e.get("guidislink") and link == guid and not _URLISH_RE.match(link):
        link = ""  # a permalink guid that is no URL at all ("item-42") is no link
    url = _safe_url(link, base_url)
    # dict.get: FeedParserDict's own lookup maps updated→published with a warning.
    published = (
        _to_utc(dict.get(e, "published_parsed"))
        or _to_utc(dict.get(e, "updated_parsed"))
        or _to_utc(dict.get(e, "created_parsed"))
    )
    summary = _as_html(e.get("summary_detail"), e.get("summary") or "")
    contents = [
        _as_html(c, c.get("value") or "") for c in (e.get("content") or []) if c.get("value")
    ]
    author = plain_text(e.get("author")) or None
    return FeedEntry(
        guid=guid,
        url=url,
        title=_title(e, declared=declared),
        published_at=published,
        summary_html=summary,
        content_html="\n".join(contents),
        author=author,
    )


def _no_entries(body: bytes, version: str, problem: str | None) -> FeedParseError:
    head = body[:4096]
    if _HTML_SNIFF_RE.search(head) and not _FEED_SNIFF_RE.search(head):
        return FeedParseError("not a feed: HTML page", kind="html")
    if version or _FEED_SNIFF_RE.search(head):
        reason = "no entries" + (f" ({problem})" if problem else "")
        return FeedParseError(reason, kind="no_entries")
    return FeedParseError("not a feed: unrecognised content", kind="not_feed")


def _feedparser(data: bytes, headers: dict[str, str]) -> feedparser.FeedParserDict:
    return feedparser.parse(
        io.BytesIO(data),  # a stream: feedparser must not treat it as a URL or path
        response_headers=headers,
        resolve_relative_uris=True,
        sanitize_html=True,
    )


def parse_feed(body: bytes, *, base_url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse feed bytes. Relative links resolve against xml:base, then `base_url`.

    Raises FeedParseError when there is nothing to use: an empty body, an HTML page,
    something that is not a feed, or a feed without a single usable entry.
    """
    if not body or not body.strip():
        raise FeedParseError("empty body", kind="empty")
    prep = _prepare(body, content_type)
    headers = {"content-location": base_url}
    if prep.content_type:
        headers["content-type"] = prep.content_type
    parsed = _feedparser(prep.data, headers)
    problems = list(prep.notes)
    exc = parsed.get("bozo_exception")
    if isinstance(exc, xml.sax.SAXParseException) and "unbound prefix" in exc.getMessage():
        # Undeclared atom:/dc:/itunes: prefixes: feedparser fell back to its lossy
        # loose parser. Declare them on the root element and parse strictly again.
        repaired, added = _declare_missing_prefixes(prep.data)
        if added:
            problems.append("undeclared namespace prefix " + ", ".join(sorted(added)))
            parsed = _feedparser(repaired, headers)
            exc = parsed.get("bozo_exception")
    if isinstance(exc, xml.sax.SAXParseException) and "undefined entity" in exc.getMessage():
        repaired, names = _replace_undefined_entities(prep.data)
        if names:
            shown = ", ".join(f"&{n};" for n in sorted(names)[:3])
            problems.append(f"undefined entities replaced or removed ({shown})")
            parsed = _feedparser(repaired, headers)
            exc = parsed.get("bozo_exception")
    if parsed.get("bozo") and exc is not None and not isinstance(exc, NonXMLContentType):
        problems.append(_describe(exc))
    problem = "; ".join(dict.fromkeys(problems)) or None

    declared = (parsed.get("version") or "").startswith("atom")  # types declared
    entries: list[FeedEntry] = []
    seen: set[tuple[str, str]] = set()
    for raw in parsed.entries:
        entry = _entry(raw, base_url, declared=declared)
        if not (entry.guid or entry.url or entry.title):
            continue
        key = ("guid", entry.guid) if entry.guid else ("url", entry.url or entry.title)
        if key in seen:  # duplicate within one feed: the first one wins
            continue
        seen.add(key)
        entries.append(entry)
    if not entries:
        raise _no_entries(prep.data, parsed.get("version") or "", problem)
    return ParsedFeed(
        title=plain_text(parsed.feed.get("title")) or None,
        entries=entries,
        ill_formed=problem is not None,
        problem=problem,
    )
