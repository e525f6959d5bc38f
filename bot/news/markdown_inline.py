"""Inline Markdown to plain text: links, emphasis, code, images and stray HTML tags."""

from __future__ import annotations

import re

__all__ = ["md_inline"]

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


def md_inline(s: str, *, keep_urls: bool = False) -> str:
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
