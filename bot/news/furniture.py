"""Page furniture: what on a news page is not the article. The one rule, used by page
extraction (``bot.news.extract``), the HTML importer and the Markdown/text importers.

Furniture is navigation and chrome around the story: menus ("Home", "Newsletter",
"Webinars", "About THN"), "trending" / "related" / "popular" lists, sidebars, tag clouds,
newsletter boxes, comment sections, and indicator-of-compromise lines (IPs, hashes,
defanged URLs) that are data, not prose. It is removed before tagging and key points, so
a sidebar naming other actors or CVEs never tags the article.

Three entry points:

- ``prune_tree``: drops furniture elements from an lxml HTML tree (nav, aside, footer,
  and elements whose class or id says sidebar, trending, related, newsletter, comments…);
- ``strip_furniture``: drops furniture lines from extracted text — a furniture heading
  ("Trending", "Related articles", "Newsletter", "3 Comments") and the headline-like or
  promotional lines under it, menu runs, tag lines and IOC lines;
- ``is_sentence_item``: whether a list item is a sentence an author wrote (a Markdown list
  counts as the author's key points only when its items are), not a link or menu entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "author_points",
    "is_furniture_heading",
    "is_furniture_line",
    "is_ioc_line",
    "is_menu_line",
    "is_promo_line",
    "is_sentence_item",
    "is_sidebar_entry",
    "prune_tree",
    "starts_comments",
    "strip_furniture",
]

# Headings that open a furniture block (sidebar lists, newsletter boxes, tag clouds).
_BLOCK_HEADING = re.compile(
    r"""^(?:
        trending(?:\ (?:now|news|stories|today|topics))?
      | popular(?:\ (?:now|this\ week|stories|posts|articles|news))?
      | most\ (?:read|viewed|shared|popular)(?:\ (?:stories|articles|this\ week))?
      | related(?:\ (?:articles?|stories|posts?|news|reading|content|coverage))?
      | you\ (?:may|might)\ (?:also\ )?like | recommended(?:\ for\ you)?
      | more\ (?:from|on)\ .{1,40}
      | (?:latest|top|breaking)\ (?:news|stories|headlines|articles|posts)
      | editor'?s?\ picks?
      | (?:cybersecurity\ |security\ )?(?:webinars?|resources|events|podcasts?|whitepapers?)
      | (?:free\ |weekly\ |daily\ )?newsletter(?:\ sign[- ]?up)?
      | (?:subscribe|sign\ up|stay\ (?:informed|updated|ahead)|get\ the\ latest).{0,60}
      | tags?|topics?|categories|filed\ under
      | (?:indicators\ of\ compromise|iocs?)(?:\ \(iocs?\))?
      | follow\ us.{0,40} | share\ this.{0,30} | sponsored(?:\ content)?
    )[\s:.!…»›|]*$""",
    re.IGNORECASE | re.VERBOSE,
)
# Headings after which nothing is the article any more (comments, author boxes).
_END_HEADING = re.compile(
    r"""^(?:
        \d+\ comments?|comments?(?:\ \(\d+\))?|leave\ a\ (?:reply|comment)|join\ the\ discussion
      | (?:reader\ )?comments?\ (?:are\ closed|section)|post\ a\ comment
      | about\ the\ author
    )[\s:.!…]*$""",
    re.IGNORECASE | re.VERBOSE,
)
# Entries of site menus and footers (a line made only of these is a menu line).
_MENU_WORDS = frozenset((
    "home", "news", "newsletter", "newsletters", "webinar", "webinars", "about", "contact",
    "contact us", "about us", "login", "log in", "sign in", "sign up", "register", "subscribe",
    "search", "menu", "podcast", "podcasts", "events", "careers", "jobs", "advertise",
    "privacy", "privacy policy", "terms", "terms of service", "terms of use", "cookie policy",
    "sitemap", "rss", "videos", "video", "resources", "whitepapers", "deals", "store", "shop",
    "downloads", "forums", "forum", "blog", "tips", "tutorials", "reviews", "guides",
    "expert insights", "threat intelligence", "vulnerabilities", "data breaches",
    "data breach", "cyber attacks", "ransomware", "malware", "cloud security", "security",
    "more", "latest", "trending", "popular", "editions", "write for us", "partners",
))
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_WORD = re.compile(r"[^\W_][\w'’.$-]*")
_LINK_ITEM = re.compile(r"^\[[^\]]*\]\([^)]*\)$")  # a Markdown link and nothing else
_BARE_URL = re.compile(r"^<?https?://\S+>?$")
_TAG_LINE = re.compile(r"^(?:tags?|topics?|filed\ under|categories|posted\ in|labels?)\s*:\s*\S",
                       re.IGNORECASE | re.VERBOSE)
_PROMO = re.compile(
    r"\b(?:newsletter|inbox|subscribe|sign\ up|unsubscribe|email\ address|webinar|"
    r"register\ now|join\ (?:\d[\d,]*\ |our\ |thousands)|free\ (?:trial|e-?book|report)|"
    r"download\ (?:the|our|now))\b",
    re.IGNORECASE | re.VERBOSE,
)
# Indicators of compromise: hashes, IPv4 (plain or defanged), defanged URLs and domains.
_IOC = re.compile(
    r"""(?:
        \b[a-f0-9]{32}\b|\b[a-f0-9]{40}\b|\b[a-f0-9]{64}\b
      | \b\d{1,3}(?:\[?\.\]?\d{1,3}){3}(?::\d+)?\b
      | \bhxxps?\[?:\]?//\S+
      | \b[\w-]+(?:\[\.\][\w-]+)+\S*
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_IOC_LABEL = re.compile(
    r"^(?:(?:md5|sha-?1|sha-?256|ip(?:v4)?|domain|url|c2|c&c|hash|file(?:name)?|sample)\b"
    r"[\w ()/-]{0,30}[:=\s-]\s*)",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*(?:[-*+\u2022\u25aa\u25cf\u2023\u2013]|\(?\d{1,3}[.)])\s+")
_SEPARATORS = re.compile(r"\s*[|·•>»›]\s*|\s+[/\-–]\s+")


def _plain(line: str) -> str:
    s = _BULLET.sub("", line.strip(), count=1)
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)  # Markdown links → their text
    return s.strip().strip("*_#>`").strip()


def _words(s: str) -> list[str]:
    return _WORD.findall(s)


def is_furniture_heading(line: str) -> bool:
    """A heading that opens a furniture block ("Trending", "Related articles", "Tags")."""
    s = _plain(line)
    return len(s) <= 60 and bool(_BLOCK_HEADING.match(s))


def starts_comments(line: str) -> bool:
    """A heading after which nothing is the article ("3 Comments", "Leave a reply")."""
    s = _plain(line)
    return len(s) <= 60 and bool(_END_HEADING.match(s))


def is_menu_line(line: str) -> bool:
    """A menu or footer line: known menu entries ("Home | Newsletter | Webinars"), a bare
    link, or a one- or two-word entry without sentence punctuation ("About THN")."""
    raw = line.strip()
    if _LINK_ITEM.match(_BULLET.sub("", raw, count=1).strip()):
        return True
    s = _plain(raw)
    if not s:
        return False
    parts = [p.strip(" .:") for p in _SEPARATORS.split(s) if p.strip(" .:")]
    if parts and all(p.lower() in _MENU_WORDS for p in parts):
        return True
    if len(parts) >= 3 and all(len(_words(p)) <= 3 and not _SENTENCE_END.search(p)
                               and any(c.isalpha() for c in p) for p in parts):
        return True  # "Home | Webinars | Threat Intelligence | About THN"
    if s.endswith(":") or (_SENTENCE_END.search(s) and not s.endswith("...")):
        return False  # a label ("References:") or a sentence
    return len(_words(s)) <= 2 and not any(ch.isdigit() for ch in s)


def is_ioc_line(line: str) -> bool:
    """An indicator line: hashes, IPs, defanged URLs or domains, optionally labelled."""
    if line.count(" ") > 12:
        return False  # indicators come one or a few to a line, with a label at most
    s = _IOC_LABEL.sub("", _plain(line))
    if not s or s.count(",") >= 2 or "\t" in s or not _IOC.search(s):
        return False  # tabular rows are data of another kind, left to the importer
    rest = _IOC.sub(" ", s)
    return len(_words(rest)) <= 3


def is_sidebar_entry(line: str) -> bool:
    """An entry under a sidebar heading: a short line without sentence punctuation (a
    linked headline such as "Volt Typhoon Hits Guam Utility Again")."""
    s = _plain(line)
    return bool(s) and not _SENTENCE_END.search(s) and len(_words(s)) <= 16


def is_promo_line(line: str) -> bool:
    """A newsletter or webinar pitch ("Join 50,000 defenders who read our newsletter.")."""
    if len(line) > 300 or not _PROMO_START.match(line.lstrip(" -*+>#_`[\u2022")):
        return False  # the cheap test first: a pitch starts like one
    s = _plain(line)
    return bool(_PROMO_START.match(s) and _PROMO.search(s)) and len(_words(s)) <= 30


def is_furniture_line(line: str) -> bool:
    """A single line that is furniture wherever it stands (menu, tag line, IOC line)."""
    s = line.strip()
    if len(s) > 400:
        return False  # a paragraph: prose, however it ends
    return bool(s) and (is_menu_line(s) or is_ioc_line(s) or bool(_TAG_LINE.match(_plain(s))))


def is_sentence_item(item: str) -> bool:
    """A list item an author wrote as a point: a sentence of at least five words, not a
    link, menu entry or indicator."""
    s = _plain(item)
    if not s or is_furniture_line(item) or is_promo_line(item) or _BARE_URL.match(s):
        return False
    return len(_words(s)) >= 5 and (bool(_SENTENCE_END.search(s)) or len(_words(s)) >= 8)


def author_points(items: Iterable[str]) -> list[str]:
    """The list items that count as an author's key points: the sentence items, when
    there are at least three of them (a list of links or menu entries counts for none)."""
    points = [item for item in items if is_sentence_item(item)]
    return points if len(points) >= 3 else []


def strip_furniture(lines: Iterable[str]) -> list[str]:
    """The lines that are the article. Drops furniture lines, and a furniture heading
    with the sidebar entries or pitches under it; a comments or author-box heading ends
    the article. Blank lines are kept (paragraph breaks)."""
    out: list[str] = []
    in_block = False
    for line in lines:
        s = line.strip()
        if not s:
            out.append(line)
            continue
        if starts_comments(s):
            break
        if is_furniture_heading(s):
            in_block = True
            continue
        if in_block:
            if is_sidebar_entry(s) or is_promo_line(s) or is_furniture_line(s):
                continue
            in_block = False
        if is_furniture_line(s) or is_promo_line(s):
            continue
        out.append(line)
    return out


_PROMO_START = re.compile(
    r"^(?:subscribe|sign\ up|join|get\ (?:the|our)|register|download|don'?t\ miss|"
    r"stay\ (?:informed|ahead|updated)|enter\ your\ email|never\ miss)\b",
    re.IGNORECASE | re.VERBOSE,
)


# --- HTML trees ---------------------------------------------------------------------------

_DROP_TAGS = ("nav", "aside", "footer")
_CLASS_PARTS = re.compile(r"[_-]+")
_FURNITURE_PARTS = frozenset((
    "sidebar", "widget", "widgets", "trending", "related", "popular", "mostread",
    "recommended", "newsletter", "subscribe", "signup", "subscription", "tags", "tagcloud",
    "comments", "comment", "disqus", "respond", "share", "sharing", "social", "menu", "navbar",
    "nav", "navigation", "breadcrumb", "breadcrumbs", "footer", "cookie", "cookies", "consent",
    "promo", "advert", "advertisement", "ads", "banner", "authorbox", "webinar", "webinars",
    "masthead", "topbar",
))
_LAYOUT_PREFIXES = ("has-", "with-", "no-", "is-", "js-")
_ROLES = frozenset(("navigation", "complementary", "contentinfo", "banner"))
_KEEP_TAGS = frozenset(("html", "body", "main", "article"))


def _marked_as_furniture(el: object) -> bool:
    get = el.get  # type: ignore[attr-defined]
    if (get("role") or "").strip().lower() in _ROLES:
        return True
    for name in f"{get('class') or ''} {get('id') or ''}".lower().split():
        if name.startswith(_LAYOUT_PREFIXES):
            continue  # "has-sidebar" is a layout hint on the page's main container
        if any(part in _FURNITURE_PARTS for part in _CLASS_PARTS.split(name)):
            return True
    return False


def _is_furniture_element(el: object) -> bool:
    tag = el.tag if isinstance(el.tag, str) else ""  # type: ignore[attr-defined]
    if tag in _KEEP_TAGS:
        return False
    if tag in _DROP_TAGS:
        return True
    if tag == "header" and el.find(".//h1") is None:  # type: ignore[attr-defined]
        return True  # the site header; an article's own <header> holds its <h1>
    return _marked_as_furniture(el)


def prune_tree(root: object) -> object:
    """Remove furniture elements from an lxml HTML tree, in place; returns ``root``.
    Never removed: ``article``, ``main``, ``body``, an element holding the ``h1`` or an
    ``article``, or one holding most of the page's paragraphs (a mislabelled wrapper)."""
    paragraphs = sum(1 for _ in root.iter("p"))  # type: ignore[attr-defined]
    doomed = [el for el in root.iter() if isinstance(el.tag, str)  # type: ignore[attr-defined]
              and _is_furniture_element(el)]
    for el in doomed:
        parent = el.getparent()  # type: ignore[attr-defined]
        if parent is None or el.find(".//h1") is not None or el.find(".//article") is not None:
            continue
        if paragraphs >= 4 and 2 * sum(1 for _ in el.iter("p")) > paragraphs:
            continue
        tail = el.tail  # type: ignore[attr-defined]
        if tail and tail.strip():
            prev = el.getprevious()  # type: ignore[attr-defined]
            if prev is not None:
                prev.tail = (prev.tail or "") + tail
            else:
                parent.text = (parent.text or "") + tail
        parent.remove(el)
    return root
