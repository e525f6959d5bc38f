"""Article-file import for `secbrief import`: format dispatch, and the importer's public API.

Pure functions, no storage. Each parser returns an ``ImportedArticle`` with the page
debris removed and the sections the file carries split out (key points, the analyst's
commentary, references). The parsers live beside this module:

- ``bot.news.import_text``: the seed text format (described there) and Markdown;
- ``bot.news.import_html``: HTML pages;
- ``bot.news.import_blocks`` / ``bot.news.import_assemble``: the shared block grouping and
  section assembly; ``bot.news.dates`` and ``bot.news.outlets``: date lines and outlet names.

Everything callers need is re-exported here, so ``from bot.news.importer import …`` keeps working.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.news.dates import parse_date
from bot.news.import_html import parse_html
from bot.news.import_model import ImportedArticle, ImportFormatError
from bot.news.import_prose import prose_problem
from bot.news.import_text import parse_markdown, parse_seed_text
from bot.news.outlets import source_name

__all__ = [
    "ImportFormatError",
    "ImportedArticle",
    "parse_article_file",
    "parse_date",
    "parse_html",
    "parse_markdown",
    "parse_seed_text",
    "sniff_format",
    "source_name",
]

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
    .html/.htm) or, for other suffixes, by sniffing the content. A file that parses but
    is not an article (records, code, logs: too little prose) is refused too."""
    path = Path(path)
    data = path.read_bytes()
    if not data.strip():
        raise ImportFormatError(f"{path.name}: empty file")
    try:
        article = _parse(path, data)
        problem = prose_problem([article.title, *article.text.split("\n")])
        if problem:
            raise ImportFormatError(problem)
        return article
    except ImportFormatError as e:
        message = str(e)
        if "no body" in message or "no title" in message:
            # A parser's "no title" or "no body" for a file of records or code: the
            # prose check says better what the file is.
            lines = _decode_text(data).splitlines()
            message = prose_problem(lines, only_records=True) or message
        if not message.startswith(path.name):
            message = f"{path.name}: {message}"
        raise ImportFormatError(message) from None


def _parse(path: Path, data: bytes) -> ImportedArticle:
    fmt = _SUFFIXES.get(path.suffix.lower())
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
