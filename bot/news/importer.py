"""Parse article files for `secbrief import`: the seed text format, Markdown and HTML.

Pure functions, no storage. Each parser returns an ``ImportedArticle`` with the page
debris ("Listen to this Post", image credits, stray "of the" fragments) removed and the
sections the file carries split out: numbered/bulleted key points, the analyst's
commentary ("What Undercode Say:", "Why it matters", "Analysis") and references.

The seed text format, as produced by the outlets the product imitates::

    Title line
    Listen to this Post                    <- debris
    2025-01-07                             <- date line (several formats)
    Lead paragraph.
    of the                                 <- debris
    1. Key point …                         <- "1." / "1)" / "-" / "•" bullets
    What Undercode Say:                    <- commentary heading
    Paragraphs, "1. Label: …" items, "In conclusion, …"
    References:
    Reported By: Securityweek.com          <- source
    https://…
    Image Source:                          <- debris section
    OpenAI: https://craiyon.com
    … Featured Image                       <- debris, sometimes glued to a URL
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from bot.intel.keypoints import is_debris

__all__ = [
    "ImportFormatError",
    "ImportedArticle",
    "parse_article_file",
    "parse_date",
    "parse_html",
    "parse_markdown",
    "parse_seed_text",
    "source_name",
]


@dataclass(slots=True)
class ImportedArticle:
    title: str
    published_at: datetime | None  # aware, UTC
    lead: str
    text: str  # all prose in reading order (lead, body, key points, commentary), no debris
    key_points: list[str] = field(default_factory=list)  # empty when the file has none
    commentary: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    source: str | None = None
    url: str | None = None
    format: str = "text"  # "text" | "markdown" | "html"


class ImportFormatError(ValueError):
    """The file can't be imported; the message says what is missing or wrong."""


# --------------------------------------------------------------------------- sources

_OUTLETS: dict[str, str] = {
    "securityweek.com": "SecurityWeek",
    "bleepingcomputer.com": "BleepingComputer",
    "thehackernews.com": "The Hacker News",
    "therecord.media": "The Record",
    "krebsonsecurity.com": "Krebs on Security",
    "darkreading.com": "Dark Reading",
    "arstechnica.com": "Ars Technica",
    "wired.com": "WIRED",
    "reuters.com": "Reuters",
    "theregister.com": "The Register",
    "theregister.co.uk": "The Register",
    "cyberscoop.com": "CyberScoop",
    "securityaffairs.com": "Security Affairs",
    "securityaffairs.co": "Security Affairs",
    "helpnetsecurity.com": "Help Net Security",
    "infosecurity-magazine.com": "Infosecurity Magazine",
    "zdnet.com": "ZDNET",
    "techcrunch.com": "TechCrunch",
    "hackread.com": "HackRead",
    "theverge.com": "The Verge",
    "bankinfosecurity.com": "BankInfoSecurity",
    "csoonline.com": "CSO Online",
    "scmagazine.com": "SC Media",
    "cybersecuritydive.com": "Cybersecurity Dive",
    "databreaches.net": "DataBreaches.net",
    "schneier.com": "Schneier on Security",
    "cisa.gov": "CISA",
    "ncsc.gov.uk": "NCSC",
    "microsoft.com": "Microsoft",
    "blog.google": "Google",
    "tripwire.com": "Tripwire",
    "nccgroup.com": "NCC Group",
    "research.nccgroup.com": "NCC Group",
}
_OUTLET_NAMES = {name.lower(): name for name in _OUTLETS.values()} | {
    "securityweek": "SecurityWeek",
    "bleeping computer": "BleepingComputer",
    "hacker news": "The Hacker News",
    "thehackernews": "The Hacker News",
    "the record by recorded future": "The Record",
}
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$", re.IGNORECASE)


def source_name(value: str | None) -> str | None:
    """Outlet display name for "Securityweek.com", "https://www.darkreading.com/…",
    "bleeping computer" …; an unknown domain falls back to the bare domain."""
    v = (value or "").strip().strip(".,;").strip()
    if not v:
        return None
    host: str | None = None
    if re.match(r"^[a-z][a-z0-9+.-]*://", v, re.IGNORECASE):
        host = urlsplit(v).hostname
    elif _DOMAIN.match(v.split("/", 1)[0]):
        host = v.split("/", 1)[0]
    if host:
        host = host.lower().removeprefix("www.")
        if host in _OUTLETS:
            return _OUTLETS[host]
        # A subdomain of a known outlet ("news.sophos.com" is not known, but
        # "feeds.bleepingcomputer.com" is).
        parts = host.split(".")
        for i in range(1, len(parts) - 1):
            parent = ".".join(parts[i:])
            if parent in _OUTLETS:
                return _OUTLETS[parent]
        return host
    return _OUTLET_NAMES.get(v.lower(), v)


# ----------------------------------------------------------------------------- dates

_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for m in names
}
_DATE_PREFIX = re.compile(
    r"^(?:(?:published|posted|updated|last\s+updated|date|dated|released)(?:\s+on)?\s*:?\s*)",
    re.IGNORECASE,
)
_WEEKDAY = re.compile(
    r"^(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE
)
_TIME = r"(?:,?\s+(?:at\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?(?:\s*(?:utc|gmt|z))?)?"
_MDY = re.compile(
    r"^([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})" + _TIME + r"$", re.IGNORECASE
)
_DMY = re.compile(
    r"^(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,9})\.?,?\s+(\d{4})" + _TIME + r"$",
    re.IGNORECASE,
)
_YMD_SLASH = re.compile(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})$")
_NUMERIC = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")


def _mk(year: int, month: int, day: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime | None:
    if not 1990 <= year <= 2100:
        return None
    try:
        return datetime(year, month, day, hh, mm, ss, tzinfo=UTC)
    except ValueError:
        return None


def _clock(m: re.Match[str], first: int) -> tuple[int, int, int]:
    hh, mm, ss, ampm = m.group(first), m.group(first + 1), m.group(first + 2), m.group(first + 3)
    if hh is None:
        return 0, 0, 0
    h = int(hh)
    if ampm:
        pm = ampm.lower().startswith("p")
        h = (h % 12) + (12 if pm else 0)
    return h, int(mm), int(ss or 0)


def parse_date(value: str) -> datetime | None:
    """Parse a date line ("2025-01-07", "January 7, 2025", "7 Jan 2025", "2025/01/07",
    "Tue, 07 Jan 2025 10:00:00 GMT", ISO 8601 with zone, "Published: …") to aware UTC.

    All-numeric "01/07/2025" is read month-first unless the first number exceeds 12.
    Returns None for anything that isn't entirely a date.
    """
    s = (value or "").strip().strip("*_`").strip()
    s = _DATE_PREFIX.sub("", s).strip()
    if not s or len(s) > 60:
        return None
    iso = s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s
    if re.match(r"^\d{4}-\d{2}-\d{2}", iso):
        try:
            dt = datetime.fromisoformat(iso)
        except ValueError:
            dt = None
        if dt is not None:
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            dt = dt.astimezone(UTC)
            return dt if 1990 <= dt.year <= 2100 else None
    if m := _YMD_SLASH.match(s):
        return _mk(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _NUMERIC.match(s):
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        month, day = (b, a) if a > 12 else (a, b)
        return _mk(year, month, day)
    if re.search(r"\d{1,2}:\d{2}:\d{2}\s*(?:[+-]\d{4}|gmt|utc|[a-z]{3})$", s, re.IGNORECASE):
        try:
            dt = email.utils.parsedate_to_datetime(s)
        except (TypeError, ValueError, IndexError):
            dt = None
        if dt is not None:
            dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
            return dt if 1990 <= dt.year <= 2100 else None
    s = _WEEKDAY.sub("", s)
    if m := _MDY.match(s):
        month = _MONTHS.get(m.group(1).lower())
        if month:
            return _mk(int(m.group(3)), month, int(m.group(2)), *_clock(m, 4))
    if m := _DMY.match(s):
        month = _MONTHS.get(m.group(2).lower())
        if month:
            return _mk(int(m.group(3)), month, int(m.group(1)), *_clock(m, 4))
    return None


def _date_in_line(line: str) -> datetime | None:
    """A date line may carry a byline: "January 7, 2025 | By Jane Doe"."""
    if len(line) > 100:
        return None
    for part in re.split(r"\s+[|\u00b7\u2022]\s+|\s+[-\u2013\u2014]\s+", line):
        dt = parse_date(part)
        if dt:
            return dt
    return None


# -------------------------------------------------------------------------- sections

_SECTION_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("points", re.compile(
        r"^(?:key\s+(?:points|takeaways|findings|facts)|summary|highlights|tl;?\s?dr|"
        r"at\s+a\s+glance|in\s+brief|what\s+happened|the\s+essentials)$", re.IGNORECASE)),
    ("commentary", re.compile(
        r"^(?:what\s+undercode\s+says?|undercode\s+says?|why\s+it\s+matters|analysis|"
        r"our\s+(?:take|analysis|view)|commentary|expert\s+(?:analysis|commentary|view)|"
        r"editor'?s\s+(?:note|take)|the\s+bottom\s+line|bottom\s+line|"
        r"fact\s+checker\s+results?|predictions?|what\s+it\s+means)$", re.IGNORECASE)),
    ("references", re.compile(
        r"^(?:references?|sources?|further\s+reading|links|related\s+links|read\s+more)$",
        re.IGNORECASE)),
    ("images", re.compile(r"^(?:image\s+(?:sources?|credits?)|photo\s+credits?)\b.*$",
                          re.IGNORECASE)),
)


def _section_of(heading: str) -> str | None:
    h = _md_inline(heading).strip().rstrip(":").strip()
    h = re.sub(r"\s+", " ", h)
    for kind, pattern in _SECTION_PATTERNS:
        if pattern.match(h):
            return kind
    return None


def _pseudo_heading(line: str) -> str | None:
    """Section kind when a whole line is a section label ("What Undercode Say:",
    "**Key points**", "References:"), else None."""
    s = line.strip()
    if len(s) > 60:
        return None
    kind = _section_of(s)
    if kind == "images":
        return kind
    # Plain words like "Analysis" or "Summary" only count as labels when they look like one.
    plain = _md_inline(s).strip()
    if kind and (plain.endswith(":") or s.startswith(("*", "_", "#")) or len(plain.split()) > 1
                 or plain.istitle() or plain.isupper()):
        return kind
    return None


# ---------------------------------------------------------------------------- blocks

_ITEM = re.compile(r"^\s*(?:\(?\d{1,3}[.)]|[-*+\u2022\u25aa\u25cf\u2023\u2013])\s+(.*)$")
_FEATURED = re.compile(r"\s*Featured\s+Image\s*$", re.IGNORECASE)
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


@dataclass(slots=True)
class _Block:
    kind: str  # "heading" | "item" | "para"
    lines: list[str]
    level: int = 0  # heading level (Markdown); 0 for pseudo-headings

    @property
    def text(self) -> str:
        return " ".join(s.strip() for s in self.lines if s.strip())


def _clean_line(line: str) -> str:
    line = _INVISIBLE.sub("", line).replace("\u00a0", " ").replace("\t", " ").rstrip()
    if _FEATURED.search(line):
        line = _FEATURED.sub("", line)
    return line


def _blocks(lines: Iterable[str], *, markdown: bool) -> Iterator[_Block]:
    """Group lines into headings, list items (with wrapped continuation lines) and
    paragraphs. Blank lines end items and paragraphs."""
    current: _Block | None = None
    fence: list[str] | None = None
    for raw in lines:
        line = _clean_line(raw)
        stripped = line.strip()
        if markdown and stripped.startswith(("```", "~~~")):
            if fence is None:
                if current:
                    yield current
                    current = None
                fence = []
            else:
                if fence:
                    yield _Block("para", ["\n".join(fence)])
                fence = None
            continue
        if fence is not None:
            fence.append(line)
            continue
        if markdown and current and current.kind == "para" and len(current.lines) == 1 and (
            re.fullmatch(r"=+", stripped) or re.fullmatch(r"-+", stripped)
        ):
            # Setext heading: the previous line underlined with === or ---.
            yield _Block("heading", current.lines, level=1 if stripped[0] == "=" else 2)
            current = None
            continue
        if not stripped or (markdown and re.fullmatch(r"(?:[-*_]\s*){3,}", stripped)):
            if current:
                yield current
                current = None
            continue
        if markdown and (m := re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", stripped)):
            if current:
                yield current
                current = None
            yield _Block("heading", [m.group(2)], level=len(m.group(1)))
            continue
        if markdown and stripped.startswith(">"):
            stripped = stripped.lstrip("> ").strip()
            if not stripped:
                continue
        if _pseudo_heading(stripped) is not None:
            if current:
                yield current
                current = None
            yield _Block("heading", [stripped.rstrip(":").strip()], level=0)
            continue
        if m := _ITEM.match(stripped):
            if current:
                yield current
            current = _Block("item", [m.group(1)])
        elif current is None:
            current = _Block("para", [stripped])
        else:
            current.lines.append(stripped)
        if not markdown:
            # Seed text has one paragraph or item per line; Markdown soft-wraps.
            yield current
            current = None
    if fence:
        yield _Block("para", ["\n".join(fence)])
    if current:
        yield current


# --------------------------------------------------------------------------- inline

_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_MD_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_MD_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_EM_STAR = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")
_MD_EM_UNDER = re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])")
_MD_CODE = re.compile(r"`([^`]+)`")
_MD_STRIKE = re.compile(r"~~(.+?)~~")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|])")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def _md_inline(s: str, *, keep_urls: bool = False) -> str:
    s = _MD_IMAGE.sub("", s)
    if keep_urls:
        s = _MD_LINK.sub(lambda m: m.group(2) if m.group(1).strip() == m.group(2)
                         else f"{m.group(1)}: {m.group(2)}", s)
    else:
        s = _MD_LINK.sub(r"\1", s)
    s = _MD_AUTOLINK.sub(r"\1", s)
    s = _HTML_TAG.sub("", s)
    s = _MD_CODE.sub(r"\1", s)
    s = _MD_STRONG.sub(r"\2", s)
    s = _MD_EM_STAR.sub(r"\1", s)
    s = _MD_EM_UNDER.sub(r"\1", s)
    s = _MD_STRIKE.sub(r"\1", s)
    s = _MD_ESCAPE.sub(r"\1", s)
    return re.sub(r"\s{2,}", " ", s).strip()


# ------------------------------------------------------------------------- assemble

_URL_LINE = re.compile(
    r"^(?:url|link|original(?:\s+(?:article|url|story))?|source\s+url|canonical|"
    r"read\s+the\s+original(?:\s+article)?)\s*:\s*(https?://\S+)\s*$",
    re.IGNORECASE,
)
_REPORTED_BY = re.compile(r"^(?:reported\s+by|source|via|originally\s+published\s+by)\s*:\s*(.+)$",
                          re.IGNORECASE)
_BYLINE = re.compile(r"^by\s+[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,3}$")


@dataclass(slots=True)
class _Meta:
    title: str | None = None
    published_at: datetime | None = None
    source: str | None = None
    url: str | None = None
    lead: str | None = None


def _assemble(blocks: list[_Block], meta: _Meta, *, fmt: str, inline: bool) -> ImportedArticle:
    def clean(s: str) -> str:
        return _md_inline(s) if inline else re.sub(r"\s{2,}", " ", s).strip()

    title = meta.title
    if not title:
        raise ImportFormatError("no title found")
    published = meta.published_at
    section = "body"
    lead = meta.lead
    parts: list[str] = [lead] if lead else []
    body_items: list[str] = []
    points: list[str] = []
    commentary: list[str] = []
    references: list[str] = []
    source = meta.source
    url = meta.url
    seen_body = 0

    for block in blocks:
        if block.kind == "heading":
            section = _section_of(clean(block.text)) or "body"
            continue
        if section == "images":
            continue
        if section == "references":
            for raw in block.lines:
                ref = _md_inline(raw, keep_urls=True) if inline else raw.strip()
                ref = ref.strip()
                if ref and not _FEATURED.fullmatch(ref) and not _is_chrome_reference(ref):
                    references.append(ref)
            continue

        text = clean(block.text)
        if not text:
            continue
        # Metadata lines may sit anywhere before the references.
        if m := _URL_LINE.match(text):
            url = url or m.group(1)
            continue
        if section == "body" and seen_body < 3 and block.kind == "para":
            dt = _date_in_line(text)
            if dt is not None:
                published = published or dt
                continue
        if len(text) < 120 and _REPORTED_BY.match(text):
            references.append(text)
            continue
        if is_debris(text) or (section == "body" and _BYLINE.match(text)):
            continue

        if section == "body":
            seen_body += 1
            if block.kind == "item":
                body_items.append(text)
            elif lead is None:
                lead = text
            parts.append(text)
        elif section == "points":
            points.append(text)
            parts.append(text)
        else:  # commentary
            commentary.append(text)
            parts.append(text)

    for ref in references:
        if m := _REPORTED_BY.match(ref):
            value = m.group(1).strip()
            source = source or source_name(value)
            if url is None and re.match(r"https?://[^/]+/\S", value):
                url = value
        elif url is None and (m := _URL_LINE.match(ref)):
            url = m.group(1)
    return ImportedArticle(
        title=title,
        published_at=published,
        lead=lead or "",
        text="\n\n".join(parts),
        key_points=points or body_items,
        commentary=commentary,
        references=references,
        source=source,
        url=url,
        format=fmt,
    )


def _is_chrome_reference(line: str) -> bool:
    """Reference lines keep their "Name: URL" shape; only real chrome is dropped."""
    s = line.strip()
    return bool(re.fullmatch(r"(?:listen\s+to\s+this\s+post|featured\s+image)", s, re.IGNORECASE))


def _lines(text: str) -> list[str]:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


# ------------------------------------------------------------------------ seed text


def parse_seed_text(text: str) -> ImportedArticle:
    """Parse the seed's plain-text article format (see the module docstring)."""
    lines = _lines(text or "")
    if not any(line.strip() for line in lines):
        raise ImportFormatError("empty article: no text found")
    # The title is the first real line; it is taken before paragraph grouping so that a
    # lead written directly under it (no blank line) stays a separate paragraph.
    title: str | None = None
    rest: list[str] = []
    for i, raw in enumerate(lines):
        line = _clean_line(raw).strip()
        if not line or is_debris(line):
            continue
        if parse_date(line) or _ITEM.match(line) or _pseudo_heading(line):
            raise ImportFormatError(
                f"no title line: the first line of text is {line[:60]!r}, "
                "expected the article title"
            )
        if len(line) > 300:
            raise ImportFormatError(
                f"no title line: the first line is a {len(line)}-character paragraph"
            )
        title = line
        rest = lines[i + 1:]
        break
    if title is None:
        raise ImportFormatError("no title line: the file holds only page debris")
    article = _assemble(list(_blocks(rest, markdown=False)), _Meta(title=title), fmt="text",
                        inline=False)
    if not article.text:
        raise ImportFormatError(f"article {title[:60]!r} has a title but no body text")
    return article


# ------------------------------------------------------------------------- markdown

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    data: dict[str, str] = {}
    for line in m.group(1).split("\n"):
        if mm := re.match(r"^([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$", line):
            value = mm.group(2)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            data[mm.group(1).lower()] = value
    return data, text[m.end():]


def _first(data: dict[str, str], *keys: str) -> str | None:
    for key in keys:
        if data.get(key):
            return data[key]
    return None


def parse_markdown(text: str) -> ImportedArticle:
    """Markdown: optional front matter (title, date, source, url), a ``# Title``,
    bullets under a "Key points" heading, and a "Why it matters"/"Analysis" section."""
    text = (text or "").lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ImportFormatError("empty article: no text found")
    data, body = _front_matter(text)
    meta = _Meta(
        title=_md_inline(data["title"]) if data.get("title") else None,
        published_at=parse_date(_first(data, "date", "published", "published_at", "pubdate")
                                or ""),
        url=_first(data, "url", "link", "canonical_url", "canonical"),
        lead=_first(data, "lead", "summary", "description"),
    )
    meta.source = source_name(_first(data, "source", "site", "publisher", "outlet")) or (
        source_name(meta.url) if meta.url else None
    )
    blocks = list(_blocks(body.split("\n"), markdown=True))
    if meta.title is None:
        first = next((b for b in blocks if b.kind == "heading" and b.level >= 1), None)
        if first is None or not _md_inline(first.text):
            raise ImportFormatError(
                "no title: expected a 'title:' front-matter field or a '# Title' heading"
            )
        meta.title = _md_inline(first.text)
        blocks.remove(first)
    article = _assemble(blocks, meta, fmt="markdown", inline=True)
    if not article.text:
        raise ImportFormatError(f"article {article.title[:60]!r} has a title but no body text")
    return article


# ----------------------------------------------------------------------------- HTML

_DATE_META = (
    "article:published_time", "og:published_time", "og:article:published_time",
    "datepublished", "pubdate", "publishdate", "publish-date", "publish_date",
    "parsely-pub-date", "sailthru.date", "dc.date.issued", "dc.date", "dcterms.created",
    "date", "article.published",
)


def _decode_html(data: bytes) -> str:
    head = data[:4096].decode("ascii", "ignore")
    m = re.search(r"charset=[\"']?([\w-]+)", head, re.IGNORECASE)
    for enc in ((m.group(1),) if m else ()) + ("utf-8", "cp1252"):
        try:
            return data.decode(enc)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def _jsonld_dates(doc: object) -> Iterator[str]:
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            value = node.get("datePublished") or node.get("dateCreated")
            if isinstance(value, str):
                yield value
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(node)


def _text_of(el: object) -> str:
    return re.sub(r"\s+", " ", el.text_content()).strip()  # type: ignore[attr-defined]


def _label_anchor(el: object) -> object | None:
    """The element whose following siblings hold a labelled section, or None when ``el``
    is not a stand-alone label (e.g. a bold lead-in inside a longer paragraph)."""
    if el.tag in ("h2", "h3", "h4", "h5", "h6"):  # type: ignore[attr-defined]
        return el
    anchor = el
    while anchor.tag in ("strong", "b", "span", "em"):  # type: ignore[attr-defined]
        parent = anchor.getparent()  # type: ignore[attr-defined]
        if parent is None or _text_of(parent) != _text_of(el):
            break
        anchor = parent
    return anchor if anchor.tag in ("p", "div") else None  # type: ignore[attr-defined]


def _html_sections(root: object) -> tuple[list[str], list[str], list[str]]:
    """Key points, commentary and references marked up under labelled headings."""
    points: list[str] = []
    commentary: list[str] = []
    references: list[str] = []
    done: set[int] = set()
    for h in root.xpath("//h2|//h3|//h4|//h5|//h6|//p/strong|//p/b"):  # type: ignore[attr-defined]
        kind = _section_of(_text_of(h))
        if kind not in ("points", "commentary", "references"):
            continue
        anchor = _label_anchor(h)
        if anchor is None or id(anchor) in done:
            continue
        done.add(id(anchor))
        for sib in anchor.itersiblings():  # type: ignore[attr-defined]
            if not isinstance(sib.tag, str):
                continue  # comments, processing instructions
            if sib.tag in ("h1", "h2", "h3", "h4", "h5", "h6") or (
                sib.tag == "p" and _section_of(_text_of(sib))
            ):
                break
            if kind == "references":
                links = list(sib.iter("a"))
                for a in links:
                    href = (a.get("href") or "").strip()
                    label = _text_of(a)
                    if href.startswith("http"):
                        references.append(href if label in ("", href) else f"{label}: {href}")
                if not links and _text_of(sib) and not is_debris(_text_of(sib)):
                    references.append(_text_of(sib))
                continue
            items = sib.xpath(".//li") if sib.tag in ("ul", "ol") else []
            texts = [_text_of(li) for li in items] if items else [_text_of(sib)]
            texts = [t for t in texts if t and not is_debris(t)]
            (points if kind == "points" else commentary).extend(texts)
    return points, commentary, references


def parse_html(html: str | bytes) -> ImportedArticle:
    """HTML page: title from og:title/<h1>/<title>, date from article:published_time,
    JSON-LD or <time datetime>, body text via trafilatura (no network)."""
    import trafilatura  # heavy import; only the HTML path needs it
    from lxml import html as lxml_html

    if isinstance(html, bytes):
        html = _decode_html(html)
    html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html or "")
    if not html.strip():
        raise ImportFormatError("empty HTML document")
    try:
        root = lxml_html.document_fromstring(html)
    except Exception as e:  # lxml raises several unrelated types for junk input
        raise ImportFormatError(f"unreadable HTML: {e}") from None

    meta: dict[str, str] = {}
    for el in root.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").lower().strip()
        content = (el.get("content") or "").strip()
        if key and content:
            meta.setdefault(key, content)

    page_title = _text_of(root.find(".//title")) if root.find(".//title") is not None else ""
    h1 = root.find(".//h1")
    title = meta.get("og:title") or meta.get("twitter:title") or (
        _text_of(h1) if h1 is not None else ""
    )
    site = meta.get("og:site_name") or meta.get("application-name")
    if not title and page_title:
        title = page_title
        if site:  # "Story headline | Site" / "Story headline - Site"
            title = re.sub(rf"\s+[|\-\u2013\u2014:]\s+{re.escape(site)}\s*$", "", title)
    title = re.sub(r"\s+", " ", title).strip()

    url = None
    for link in root.iter("link"):
        if (link.get("rel") or "").lower() == "canonical" and link.get("href"):
            url = link.get("href").strip()
            break
    url = url or meta.get("og:url") or None

    published: datetime | None = None
    for key in _DATE_META:
        if key in meta and (published := parse_date(meta[key])):
            break
    if published is None:
        for script in root.xpath('//script[@type="application/ld+json"]'):
            try:
                doc = json.loads(script.text or "")
            except ValueError:
                continue
            for value in _jsonld_dates(doc):
                if published := parse_date(value):
                    break
            if published:
                break
    if published is None:
        for t in root.xpath("//article//time[@datetime]|//time[@datetime]"):
            if published := parse_date(t.get("datetime")):
                break

    points, commentary, references = _html_sections(root)

    extracted = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=False,
        include_images=False, include_links=False,
    )
    body = (getattr(extracted, "text", None) or "") if extracted else ""
    if published is None and extracted is not None and getattr(extracted, "date", None):
        published = parse_date(extracted.date)
    if not title and extracted is not None and getattr(extracted, "title", None):
        title = extracted.title.strip()
    if not body:
        body = "\n".join(_text_of(p) for p in root.xpath("//article//p|//main//p") or
                         root.xpath("//p"))
    if not title:
        raise ImportFormatError("no title found (looked for og:title, <h1> and <title>)")

    paragraphs: list[str] = []
    for line in body.split("\n"):
        line = re.sub(r"\s+", " ", _INVISIBLE.sub("", line)).strip()
        if m := _ITEM.match(line):
            line = m.group(1).strip()  # trafilatura renders list items as "- item"
        if not line or line == title or is_debris(line) or _section_of(line):
            continue
        paragraphs.append(line)
    if not paragraphs:
        raise ImportFormatError(f"page {title[:60]!r} has a title but no article text")
    lead = next((p for p in paragraphs if len(p) >= 60), paragraphs[0])
    return ImportedArticle(
        title=title,
        published_at=published,
        lead=lead,
        text="\n\n".join(paragraphs),
        key_points=points,
        commentary=commentary,
        references=references,
        source=source_name(site) if site else (source_name(url) if url else None),
        url=url,
        format="html",
    )


# ---------------------------------------------------------------------------- files

_SUFFIXES = {
    ".txt": "text", ".text": "text",
    ".md": "markdown", ".markdown": "markdown", ".mdown": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
}


def _decode_text(data: bytes) -> str:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def sniff_format(text: str) -> str | None:
    """Guess "html", "markdown" or "text" from content, or None when it's none of them."""
    head = text.lstrip("\ufeff \t\r\n")[:2048]
    low = head.lower()
    if low.startswith(("<!doctype html", "<html", "<?xml")) or re.search(
        r"<(?:html|head|body|article)\b", low
    ):
        return "html"
    if head.startswith("---\n") or re.match(r"#\s+\S", head):
        return "markdown"
    first = head.split("\n", 1)[0].strip()
    if first and first[0] not in "{[<" and len(first) <= 300 and "\n" in head.strip():
        return "text"
    return None


def parse_article_file(path: Path) -> ImportedArticle:
    """Parse one article file, choosing the parser by suffix (.txt seed text, .md/.markdown,
    .html/.htm) or, for other suffixes, by sniffing the content."""
    path = Path(path)
    data = path.read_bytes()
    if not data.strip():
        raise ImportFormatError(f"{path.name}: empty file")
    fmt = _SUFFIXES.get(path.suffix.lower())
    try:
        if fmt == "html":
            return parse_html(data)
        if b"\x00" in data[:8192]:
            raise ImportFormatError(
                f"binary file ({path.suffix or 'no suffix'}); expected .txt, .md or .html"
            )
        text = _decode_text(data)
        if fmt is None:
            fmt = sniff_format(text)
            if fmt is None:
                raise ImportFormatError(
                    f"unsupported file type {path.suffix or '(no suffix)'!r} and the content "
                    "is not recognisable as seed text, Markdown or HTML; "
                    "use .txt, .md/.markdown or .html/.htm"
                )
            if fmt == "html":
                return parse_html(data)
        return parse_markdown(text) if fmt == "markdown" else parse_seed_text(text)
    except ImportFormatError as e:
        message = str(e)
        if not message.startswith(path.name):
            message = f"{path.name}: {message}"
        raise ImportFormatError(message) from None

