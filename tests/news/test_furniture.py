"""Page furniture (bot/news/furniture.py): the one rule, as extraction, the importers and
key points use it."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from bot.news.extract import extract_article_text
from bot.news.furniture import (
    author_points,
    is_furniture_heading,
    is_furniture_line,
    is_ioc_line,
    is_menu_line,
    is_promo_line,
    is_sentence_item,
    prune_tree,
    starts_comments,
    strip_furniture,
)
from bot.news.importer import parse_markdown

BODY = [
    "Attackers exploited a flaw in the Corvane TransitFile server to steal data from 58 firms.",
    "The vendor fixed the bug in version 15.2.1 and urged customers to update at once.",
    "Researchers said the first attacks began on May 3, eleven days before the patch.",
    "The stolen files include payroll records, contracts and scans of identity documents.",
]


@pytest.mark.parametrize("line", [
    "Home", "About THN", "Webinars", "Home | Newsletter | Webinars | About THN",
    "[Home](/) | [News](/news) | [Threat Intelligence](/ti) | [About THN](/about)",
    "- [LockBit](/tag/lockbit)", "Home / News / Ransomware", "Privacy Policy",
])
def test_menu_lines(line: str) -> None:
    assert is_menu_line(line)
    assert is_furniture_line(line)


@pytest.mark.parametrize("line", [
    *BODY, "References:", "2025-01-07", "2025/03/11", "Data theft before encryption",
    "https://example-news.test/ransomware-suppliers", "Reported By: Securityweek.com",
    "The flaw affects 7.0 | 7.2 | 7.4.",
])
def test_article_lines_are_not_menu_lines(line: str) -> None:
    assert not is_menu_line(line)
    assert not is_furniture_line(line)


@pytest.mark.parametrize("line", [
    "185.220.101[.]47", "hxxp://update-check[.]live/payload.bin",
    "SHA256: " + "3f1b2c9d" * 8, "MD5: b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9",
    "- `45.86.230[.]11`", "C2: 91.240.118.9:443",
])
def test_ioc_lines(line: str) -> None:
    assert is_ioc_line(line)


@pytest.mark.parametrize("line", [
    "The attackers used a server at 91.240.118.9 to control the implants for months.",
    "0,10.0.0.7,8000,2026-03-01",  # a CSV row: data, but the importer's business
    "Version 22.7R2.5 fixes the flaw.",
])
def test_not_ioc_lines(line: str) -> None:
    assert not is_ioc_line(line)


@pytest.mark.parametrize("heading", [
    "Trending", "Trending Now", "Related articles", "Most read", "Popular", "Newsletter",
    "Webinars", "Tags", "You may also like", "**Trending**", "## Related posts",
])
def test_furniture_headings(heading: str) -> None:
    assert is_furniture_heading(heading)


@pytest.mark.parametrize("heading", ["Key points", "Analysis", "Background", "References"])
def test_article_headings_are_not_furniture(heading: str) -> None:
    assert not is_furniture_heading(heading)


def test_comment_headings_end_the_article() -> None:
    for heading in ("3 Comments", "Comments", "Leave a reply", "About the author"):
        assert starts_comments(heading)
    assert not starts_comments("Comments from the vendor were not available.")


def test_promo_lines() -> None:
    assert is_promo_line("Join 120,000 security professionals who get our free weekly "
                         "briefing in their inbox.")
    assert is_promo_line("Subscribe to our newsletter")
    assert not is_promo_line("The gang asked victims to join a negotiation chat.")


def test_strip_furniture_drops_sidebars_menus_and_comments() -> None:
    lines = [
        "Home | News | Webinars | Newsletter",
        BODY[0],
        "",
        "Trending",
        "Volt Typhoon Returns With New KV Botnet Nodes",
        "PAN-OS Flaw CVE-2024-3400 Still Unpatched on 6,000 Firewalls",
        BODY[1],
        "Tags: Ransomware, Sandworm, Zero-Day",
        "185.220.101[.]47",
        "Newsletter",
        "Get the latest threat news in your inbox every Monday.",
        BODY[2],
        "2 Comments",
        "Great write-up, but I bet APT41 is behind this one too.",
        BODY[3],
    ]
    assert strip_furniture(lines) == [BODY[0], "", BODY[1], BODY[2]]


def test_sentence_items_and_author_points() -> None:
    assert is_sentence_item("The FBI disrupted the botnet with a court order last week.")
    for item in ("[Home](/)", "Webinars", "Windows 10 22H2", "https://example.com/a",
                 "185.220.101[.]47"):
        assert not is_sentence_item(item), item
    assert author_points(BODY) == BODY
    assert author_points(["Home", "News", "About THN", "Contact"]) == []
    assert author_points([*BODY[:2], "Home"]) == []  # two sentences are not a points list


def test_prune_tree_removes_classed_and_semantic_furniture() -> None:
    page = (
        '<html><body class="single has-sidebar"><header><nav><a>Home</a></nav></header>'
        '<div class="content-wrap"><main><article><h1>Title</h1>'
        + "".join(f"<p>{p}</p>" for p in BODY)
        + '<div class="post-tags"><a>Sandworm</a></div></article>'
        '<div class="newsletter-box"><p>Subscribe now</p></div></main>'
        '<aside><h3>Trending</h3><p>Kimsuky phishes think tanks</p></aside></div>'
        '<div id="comments"><p>APT41 again!</p></div><footer>About THN</footer>'
        "</body></html>"
    )
    root = prune_tree(lxml_html.document_fromstring(page))
    text = root.text_content()
    for gone in ("Home", "Sandworm", "Subscribe", "Kimsuky", "APT41", "About THN"):
        assert gone not in text
    for kept in BODY:
        assert kept in text


def test_prune_tree_keeps_a_mislabelled_wrapper_of_the_article() -> None:
    page = ('<html><body><div class="sidebar-layout">'
            + "".join(f"<p>{p}</p>" for p in BODY) + "</div></body></html>")
    text = prune_tree(lxml_html.document_fromstring(page)).text_content()
    assert all(p in text for p in BODY)


def test_extraction_leaves_out_a_trending_list_inside_the_article() -> None:
    page = (
        "<html><head><title>Flaw</title></head><body><article><h1>File-transfer flaw</h1>"
        + "".join(f"<p>{p}</p>" for p in BODY[:2])
        + "<h4>Trending</h4><ul><li><a href='/1'>Volt Typhoon Returns With New KV Botnet "
        "Nodes</a></li><li><a href='/2'>Kimsuky Phishes Think Tanks</a></li></ul>"
        + "".join(f"<p>{p}</p>" for p in BODY[2:])
        + "</article></body></html>"
    )
    text = extract_article_text(page)
    assert text is not None
    assert "Volt Typhoon" not in text and "Kimsuky" not in text
    assert all(p in text for p in BODY)


def test_markdown_menu_list_is_not_key_points() -> None:
    md = "\n".join([
        "- [Home](/)", "- [News](/news)", "- [Webinars](/webinars)", "", "# A title",
        "", *[p + "\n" for p in BODY], "## Related articles", "",
        "- BlackCat Affiliates Move to New Ransomware Brands", "- Turla Hijacks Servers", "",
        "## 2 Comments", "", "Great write-up, but I bet APT41 is behind this one too.",
    ])
    article = parse_markdown(md)
    assert article.key_points == []
    assert "Home" not in article.text and "BlackCat" not in article.text
    assert "APT41" not in article.text
    assert all(p in article.text for p in BODY)


def test_markdown_sentence_list_is_the_authors_key_points() -> None:
    md = "\n".join(["# A title", "", BODY[0], "", *[f"- {p}" for p in BODY[1:]],
                    *[f"- {p}" for p in BODY[:1]]])
    article = parse_markdown(md)
    assert article.key_points == [*BODY[1:], BODY[0]]
