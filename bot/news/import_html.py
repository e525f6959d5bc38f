"""The HTML article parser (``parse_html``): metadata, labelled sections, trafilatura body."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime

from bot.intel.keypoints import is_debris
from bot.news.dates import parse_date
from bot.news.furniture import is_sentence_item, prune_tree, strip_furniture
from bot.news.import_blocks import INVISIBLE, ITEM, section_of
from bot.news.import_model import ImportedArticle, ImportFormatError
from bot.news.outlets import source_name

__all__ = ["parse_html"]

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
        kind = section_of(_text_of(h))
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
                sib.tag == "p" and section_of(_text_of(sib))
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
            if kind == "points":
                points.extend(t for t in texts if is_sentence_item(t))
            else:
                commentary.extend(texts)
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

    prune_tree(root)  # menus, sidebars, trending lists, newsletter boxes, comments
    points, commentary, references = _html_sections(root)

    extracted = trafilatura.bare_extraction(
        root, url=url, with_metadata=True, include_comments=False, include_tables=False,
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
    for line in strip_furniture(body.split("\n")):
        line = re.sub(r"\s+", " ", INVISIBLE.sub("", line)).strip()
        if m := ITEM.match(line):
            line = m.group(1).strip()  # trafilatura renders list items as "- item"
        if not line or line == title or is_debris(line) or section_of(line):
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
