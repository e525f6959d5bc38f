"""Assemble grouped blocks into an ``ImportedArticle``: sections, metadata lines, debris."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.intel.keypoints import is_debris
from bot.news.dates import date_in_line
from bot.news.furniture import author_points
from bot.news.import_blocks import FEATURED, Block, section_of
from bot.news.import_model import ImportedArticle, ImportFormatError
from bot.news.markdown_inline import md_inline
from bot.news.outlets import source_name

__all__ = ["Meta", "assemble"]

_URL_LINE = re.compile(
    r"^(?:url|link|original(?:\s+(?:article|url|story))?|source\s+url|canonical|"
    r"read\s+the\s+original(?:\s+article)?)\s*:\s*(https?://\S+)\s*$",
    re.IGNORECASE,
)
_REPORTED_BY = re.compile(r"^(?:reported\s+by|source|via|originally\s+published\s+by)\s*:\s*(.+)$",
                          re.IGNORECASE)
_BYLINE = re.compile(r"^by\s+[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,3}$")


@dataclass(slots=True)
class Meta:
    title: str | None = None
    published_at: datetime | None = None
    source: str | None = None
    url: str | None = None
    lead: str | None = None


def assemble(blocks: list[Block], meta: Meta, *, fmt: str, inline: bool) -> ImportedArticle:
    def clean(s: str) -> str:
        return md_inline(s) if inline else re.sub(r"\s{2,}", " ", s).strip()

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
    listed_points = False  # the points section is a list (not paragraphs)

    for block in blocks:
        if block.kind == "heading":
            section = section_of(clean(block.text)) or "body"
            listed_points = False
            continue
        if section == "images":
            continue
        if section == "references":
            for raw in block.lines:
                ref = md_inline(raw, keep_urls=True) if inline else raw.strip()
                ref = ref.strip()
                if ref and not FEATURED.fullmatch(ref) and not _is_chrome_reference(ref):
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
            dt = date_in_line(text)
            if dt is not None:
                published = published or dt
                continue
        if len(text) < 120 and _REPORTED_BY.match(text):
            references.append(text)
            continue
        if is_debris(text) or (section == "body" and _BYLINE.match(text)):
            continue
        if section == "points" and block.kind == "para" and listed_points:
            section = "body"  # a paragraph after the points' list: the article goes on

        if section == "body":
            seen_body += 1
            if block.kind == "item":
                body_items.append(text)
            elif lead is None:
                lead = text
            parts.append(text)
        elif section == "points":
            listed_points = listed_points or block.kind == "item"
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
        key_points=points or author_points(body_items),
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
