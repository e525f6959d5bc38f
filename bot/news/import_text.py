"""The seed text and Markdown article parsers (``parse_seed_text``, ``parse_markdown``).

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

import re

from bot.intel.keypoints import is_debris
from bot.news.dates import parse_date
from bot.news.import_assemble import Meta, assemble
from bot.news.import_blocks import ITEM, clean_line, pseudo_heading, split_blocks
from bot.news.import_model import ImportedArticle, ImportFormatError
from bot.news.markdown_inline import md_inline
from bot.news.outlets import source_name

__all__ = ["parse_markdown", "parse_seed_text"]


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
        line = clean_line(raw).strip()
        if not line or is_debris(line):
            continue
        if parse_date(line) or ITEM.match(line) or pseudo_heading(line):
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
    article = assemble(list(split_blocks(rest, markdown=False)), Meta(title=title), fmt="text",
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
    meta = Meta(
        title=md_inline(data["title"]) if data.get("title") else None,
        published_at=parse_date(_first(data, "date", "published", "published_at", "pubdate")
                                or ""),
        url=_first(data, "url", "link", "canonical_url", "canonical"),
        lead=_first(data, "lead", "summary", "description"),
    )
    meta.source = source_name(_first(data, "source", "site", "publisher", "outlet")) or (
        source_name(meta.url) if meta.url else None
    )
    blocks = list(split_blocks(body.split("\n"), markdown=True))
    if meta.title is None:
        first = next((b for b in blocks if b.kind == "heading" and b.level >= 1), None)
        if first is None or not md_inline(first.text):
            raise ImportFormatError(
                "no title: expected a 'title:' front-matter field or a '# Title' heading"
            )
        meta.title = md_inline(first.text)
        blocks.remove(first)
    article = assemble(blocks, meta, fmt="markdown", inline=True)
    if not article.text:
        raise ImportFormatError(f"article {article.title[:60]!r} has a title but no body text")
    return article
