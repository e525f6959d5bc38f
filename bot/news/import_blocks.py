"""Line cleaning, section labels and block grouping shared by the article importers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.news.furniture import (
    is_furniture_heading,
    is_furniture_line,
    is_promo_line,
    is_sidebar_entry,
    starts_comments,
)
from bot.news.markdown_inline import md_inline

__all__ = [
    "FEATURED",
    "INVISIBLE",
    "ITEM",
    "Block",
    "clean_line",
    "pseudo_heading",
    "section_of",
    "split_blocks",
]

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


def section_of(heading: str) -> str | None:
    h = md_inline(heading).strip().rstrip(":").strip()
    h = re.sub(r"\s+", " ", h)
    for kind, pattern in _SECTION_PATTERNS:
        if pattern.match(h):
            return kind
    return None


def pseudo_heading(line: str) -> str | None:
    """Section kind when a whole line is a section label ("What Undercode Say:",
    "**Key points**", "References:"), else None."""
    s = line.strip()
    if len(s) > 60:
        return None
    kind = section_of(s)
    if kind == "images":
        return kind
    # Plain words like "Analysis" or "Summary" only count as labels when they look like one.
    plain = md_inline(s).strip()
    if kind and (plain.endswith(":") or s.startswith(("*", "_", "#")) or len(plain.split()) > 1
                 or plain.istitle() or plain.isupper()):
        return kind
    return None


ITEM = re.compile(r"^\s*(?:\(?\d{1,3}[.)]|[-*+\u2022\u25aa\u25cf\u2023\u2013])\s+(.*)$")
FEATURED = re.compile(r"\s*Featured\s+Image\s*$", re.IGNORECASE)
INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


@dataclass(slots=True)
class Block:
    kind: str  # "heading" | "item" | "para"
    lines: list[str]
    level: int = 0  # heading level (Markdown); 0 for pseudo-headings

    @property
    def text(self) -> str:
        return " ".join(s.strip() for s in self.lines if s.strip())


def clean_line(line: str) -> str:
    line = INVISIBLE.sub("", line).replace("\u00a0", " ").replace("\t", " ").rstrip()
    if FEATURED.search(line):
        line = FEATURED.sub("", line)
    return line


def split_blocks(lines: Iterable[str], *, markdown: bool) -> Iterator[Block]:
    """Group lines into headings, list items (with wrapped continuation lines) and
    paragraphs, without the page furniture (``bot.news.furniture``). Blank lines end
    items and paragraphs."""
    return _without_furniture(_blocks(lines, markdown=markdown))


def _without_furniture(blocks: Iterable[Block]) -> Iterator[Block]:
    """Drop furniture blocks: a furniture heading ("Trending", "Related articles",
    "Newsletter") with the sidebar entries or pitches under it, menu, link, tag and IOC
    lines; a comments heading ends the article. Reference sections are left alone."""
    section: str | None = None
    in_furniture = False
    for block in blocks:
        text = block.text
        if block.kind == "heading":
            if starts_comments(text):
                return
            in_furniture = is_furniture_heading(text)
            if in_furniture:
                continue
            section = section_of(md_inline(text))
            yield block
            continue
        if section in ("references", "images"):
            yield block
            continue
        if in_furniture:
            if is_sidebar_entry(text) or is_promo_line(text) or is_furniture_line(text):
                continue
            in_furniture = False
        if is_furniture_line(text) or is_promo_line(text):
            continue
        yield block


def _blocks(lines: Iterable[str], *, markdown: bool) -> Iterator[Block]:
    current: Block | None = None
    fence: list[str] | None = None
    for raw in lines:
        line = clean_line(raw)
        stripped = line.strip()
        if markdown and stripped.startswith(("```", "~~~")):
            if fence is None:
                if current:
                    yield current
                    current = None
                fence = []
            else:
                if fence:
                    yield Block("para", ["\n".join(fence)])
                fence = None
            continue
        if fence is not None:
            fence.append(line)
            continue
        if markdown and current and current.kind == "para" and len(current.lines) == 1 and (
            re.fullmatch(r"=+", stripped) or re.fullmatch(r"-+", stripped)
        ):
            # Setext heading: the previous line underlined with === or ---.
            yield Block("heading", current.lines, level=1 if stripped[0] == "=" else 2)
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
            yield Block("heading", [m.group(2)], level=len(m.group(1)))
            continue
        if markdown and stripped.startswith(">"):
            stripped = stripped.lstrip("> ").strip()
            if not stripped:
                continue
        if pseudo_heading(stripped) is not None:
            if current:
                yield current
                current = None
            yield Block("heading", [stripped.rstrip(":").strip()], level=0)
            continue
        if m := ITEM.match(stripped):
            if current:
                yield current
            current = Block("item", [m.group(1)])
        elif current is None:
            current = Block("para", [stripped])
        else:
            current.lines.append(stripped)
        if not markdown:
            # Seed text has one paragraph or item per line; Markdown soft-wraps.
            yield current
            current = None
    if fence:
        yield Block("para", ["\n".join(fence)])
    if current:
        yield current
