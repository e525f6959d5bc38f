"""The article importer: this project's own fixtures (one in the seed's text format, one
realistic news page) and variants."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.news.importer import (
    ImportedArticle,
    ImportFormatError,
    parse_article_file,
    parse_date,
    parse_html,
    parse_markdown,
    parse_seed_text,
    source_name,
)

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "articles"
SEED = FIXTURES / "000_seed_format.txt"  # the seed's format: points, commentary, debris
NEWS_PAGE = ROOT / "tests" / "fixtures" / "pages" / "circuit_ledger_printhub_exploit.html"

DEBRIS = (
    "Listen to this Post", "Image Source", "Featured Image", "craiyon.com", "Undercode AI DI v2",
    "Image credit", "Share this article", "All rights reserved",
)


def _all_strings(a: ImportedArticle) -> list[str]:
    return [a.title, a.lead, a.text, *a.key_points, *a.commentary, *a.references]


def _assert_no_debris(a: ImportedArticle) -> None:
    for s in _all_strings(a):
        for d in DEBRIS:
            assert d not in s, (d, s[:80])
    for block in (a.text.split("\n\n"), a.key_points, a.commentary):
        assert "of the" not in [x.strip() for x in block]
        assert "the" not in [x.strip() for x in block]


def _seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


# ------------------------------------------------------------ the seed's format


def test_seed_format() -> None:
    a = parse_article_file(SEED)
    assert a.format == "text"
    assert a.title == "Treasury Sanctions Chinese Network Contractor Over Flax Typhoon Intrusions"
    assert a.published_at == datetime(2025, 3, 11, tzinfo=UTC)
    assert a.lead.startswith("The U.S. Treasury Department on Tuesday sanctioned Lianhua")
    assert len(a.key_points) == 10
    assert a.key_points[0].startswith("The Treasury's Office of Foreign Assets Control")
    assert a.key_points[6].startswith("Treasury said Lianhua Cloudgate supplied servers")
    assert a.key_points[9].startswith("The action comes as U.S. officials are still assessing")
    assert not any(p[:1].isdigit() for p in a.key_points)
    # Intro + 10 numbered paragraphs + the conclusion, numbering removed, labels kept.
    assert len(a.commentary) == 12
    assert a.commentary[0].startswith("The action against Lianhua Cloudgate shows")
    assert a.commentary[1].startswith("Targeting the Supply Chain of Espionage:")
    assert a.commentary[10].startswith("Future Outlook:")
    assert a.commentary[-1].startswith("In conclusion,")
    assert a.references == [
        "Reported By: Therecord.media",
        "https://ofac.treasury.example/recent-actions/cyber-designations",
        "Wikipedia: https://www.wikipedia.org",
        "Undercode AI: https://ai.undercodetesting.com",
    ]
    assert a.source == "The Record"
    assert a.url is None
    assert a.lead in a.text and a.key_points[3] in a.text and a.commentary[-1] in a.text
    assert a.title not in a.text and "2025-03-11" not in a.text
    _assert_no_debris(a)


def test_seed_with_crlf_line_endings_parses_identically() -> None:
    raw = _seed_text()
    assert parse_seed_text(raw.replace("\n", "\r\n")) == parse_seed_text(raw)


def test_seed_without_date_and_with_other_date_formats() -> None:
    raw = _seed_text()
    assert parse_seed_text(raw.replace("2025-03-11\n", "")).published_at is None
    for line in ("March 11, 2025", "11 Mar 2025", "Published: Mar. 11, 2025", "2025/03/11",
                 "Tuesday, March 11th, 2025"):
        a = parse_seed_text(raw.replace("2025-03-11", line, 1))
        assert a.published_at == datetime(2025, 3, 11, tzinfo=UTC), line
        assert line not in a.text


def test_seed_variants_bullets_heading_and_missing_sections() -> None:
    raw = _seed_text()
    variant = (
        raw.replace("What Undercode Say:", "What Undercode Says:")
        .replace("\n1. The Treasury's", "\n1) The Treasury's")
        .replace("\n2. Officials", "\n- Officials")
        .replace("\n3. Lianhua", "\n\u2022 Lianhua")
    )
    assert variant.count("\n1) ") == variant.count("\n- ") == variant.count("\n\u2022 ") == 1
    a = parse_seed_text(variant)
    assert len(a.key_points) == 10 and len(a.commentary) == 12
    assert a.key_points[1].startswith("Officials said the company ran a pool")
    assert a.key_points[2].startswith("Lianhua Cloudgate said in a statement")
    # No commentary, references or image sections at all.
    cut = raw.split("What Undercode Say:")[0]
    b = parse_seed_text(cut)
    assert len(b.key_points) == 10
    assert b.commentary == [] and b.references == [] and b.source is None
    _assert_no_debris(b)


def test_seed_is_idempotent() -> None:
    assert parse_article_file(SEED) == parse_article_file(SEED)


# ---------------------------------------------------------------- our own fixtures


def test_fixture_corvane_zero_day() -> None:
    a = parse_article_file(FIXTURES / "001_corvane_securegate_zero_day.txt")
    assert a.title == "Corvane Patches SecureGate Zero-Day Exploited by Volt Typhoon"
    assert a.published_at == datetime(2025, 2, 14, tzinfo=UTC)
    assert a.source == "BleepingComputer"
    assert len(a.key_points) == 6 and "CVE-2025-21877" in a.key_points[0]
    assert len(a.commentary) == 5 and a.commentary[-1].startswith("In conclusion")
    assert a.commentary[1].startswith("Edge Devices as the Front Door:")
    assert a.references[0] == "Reported By: Bleepingcomputer.com"
    assert len(a.references) == 3
    _assert_no_debris(a)


def test_fixture_lumenwall_variant_date_paren_bullets_and_glued_featured_image() -> None:
    a = parse_article_file(FIXTURES / "002_lumenwall_ransomware_hospitals.txt")
    assert a.published_at == datetime(2025, 2, 3, tzinfo=UTC)
    assert a.source == "Dark Reading"
    assert len(a.key_points) == 5
    assert a.key_points[0].startswith("The attackers exploited CVE-2024-51770")
    assert len(a.commentary) == 4  # "What Undercode Says:" variant
    assert a.references[-1] == "https://www.lumenwall.example/advisories/LW-2024-011"
    _assert_no_debris(a)


def test_fixture_apt29_no_date_dash_bullets_no_commentary() -> None:
    a = parse_article_file(FIXTURES / "003_apt29_diplomats_phishing.txt")
    assert a.published_at is None
    assert a.source == "The Record"
    assert len(a.key_points) == 5 and a.key_points[0].startswith("The emails impersonated")
    assert a.commentary == []
    _assert_no_debris(a)


def test_fixture_quillbyte_no_blank_lines_byline_and_unknown_outlet() -> None:
    a = parse_article_file(FIXTURES / "004_quillbyte_customer_data_exposed.txt")
    assert a.published_at == datetime(2025, 3, 7, tzinfo=UTC)
    assert a.lead.startswith("Quillbyte, a maker of cloud-based invoicing software")
    assert "Quillbyte said the bucket was created" in a.text
    assert a.key_points == [] and a.commentary == []
    assert a.source == "example-security-daily.net"  # unknown outlet: the domain
    assert "Staff Writer" not in a.text
    _assert_no_debris(a)


def test_fixture_markdown_with_front_matter() -> None:
    a = parse_article_file(FIXTURES / "005_brightmesh_kev.md")
    assert a.format == "markdown"
    assert a.title == "CISA Orders Agencies to Patch Brightmesh IdentityHub Flaw Within Three Weeks"
    assert a.published_at == datetime(2025, 3, 18, 18, 30, tzinfo=UTC)
    assert a.source == "SecurityWeek"
    assert a.url == "https://www.securityweek.com/cisa-brightmesh-identityhub-kev/"
    assert len(a.key_points) == 4 and a.key_points[0].startswith("CISA added CVE-2025-30112")
    assert len(a.commentary) == 2 and a.commentary[0].startswith("Identity providers")
    assert a.references == [
        "CISA KEV catalog: https://www.cisa.gov/known-exploited-vulnerabilities-catalog",
        "Reported By: Securityweek.com",
    ]
    # Inline Markdown is flattened: no **, no [text](url), no image syntax.
    assert "**" not in a.text and "](" not in a.text and "![" not in a.text
    assert "tracked as CVE-2025-30112, to its Known" in a.text
    _assert_no_debris(a)


def test_fixture_markdown_setext_title_and_pseudo_headings() -> None:
    a = parse_article_file(FIXTURES / "006_talonix_vpn_scanning.md")
    assert a.title == "Talonix EdgeVPN Devices Face Mass Scanning After Proof-of-Concept Release"
    assert a.published_at == datetime(2025, 3, 24, tzinfo=UTC)
    assert a.lead.startswith("Attackers began mass-scanning")
    assert len(a.key_points) == 3 and a.key_points[2].startswith("Firmware 4.2.1")
    assert len(a.commentary) == 2
    assert a.source is None and a.url is None
    _assert_no_debris(a)


def test_fixture_html_with_metadata_and_sections() -> None:
    a = parse_article_file(FIXTURES / "007_hexacore_fileshare.html")
    assert a.format == "html"
    assert a.title == "Hexacore FileBridge Flaw Exploited in Data Theft Attacks"
    assert a.published_at == datetime(2025, 4, 2, 7, 15, tzinfo=UTC)
    assert a.source == "Example Security Daily"
    assert a.url == "https://news.example.org/2025/04/hexacore-filebridge-data-theft/"
    assert a.lead.startswith("An extortion group has been exploiting")
    assert len(a.key_points) == 3 and a.key_points[0].startswith("CVE-2025-31001")
    assert a.commentary == [
        "File transfer servers concentrate an organization's most sensitive documents in one "
        "internet-facing system, which is why extortion groups keep returning to them."
    ]
    assert a.references == [
        "Hexacore advisory HX-2025-004: https://hexacore.example.com/security/HX-2025-004"
    ]
    assert "Subscribe" not in a.text and "window.dataLayer" not in a.text
    _assert_no_debris(a)


def test_fixture_html_without_meta_uses_h1_and_time_element() -> None:
    a = parse_article_file(FIXTURES / "008_pylon_router_botnet.htm")
    assert a.title == "Botnet Hijacks Pylon Networks Routers for Proxy Service"
    assert a.published_at == datetime(2025, 5, 11, tzinfo=UTC)
    assert "CVE-2023-45109" in a.text
    assert a.key_points == []


def test_html_accepts_str_and_bytes_and_title_fallback() -> None:
    html = (FIXTURES / "008_pylon_router_botnet.htm").read_text(encoding="utf-8")
    assert parse_html(html) == parse_html(html.encode("utf-8"))
    no_h1 = html.replace("<h1>Botnet Hijacks Pylon Networks Routers for Proxy Service</h1>", "")
    # <title> minus nothing (no site name known) is still a usable title.
    assert parse_html(no_h1).title.startswith("Botnet Hijacks Pylon Networks Routers")


def test_realistic_news_page_with_site_chrome() -> None:
    # A full news-site page: nav, mega menus, login form, share asides, an image credit,
    # a quoted write-up with code, ad rails, author bio, comments, recommendations, footer.
    a = parse_article_file(NEWS_PAGE)
    assert a.format == "html"
    assert a.title == "Published exploit lets anyone knock Lanternfly print servers offline"
    assert a.published_at == datetime(2016, 9, 22, 14, 37, 5, tzinfo=UTC)  # <time datetime>
    assert a.source == "The Circuit Ledger"  # og:site_name
    assert a.url and a.url.startswith("https://circuitledger.example/security/2016/09/")
    assert a.lead.startswith("A weakness in Lanternfly PrintHub, the print server software")
    assert "a ticket that is forty bytes long" in a.text  # inside the blockquote
    assert "The Circuit Ledger has asked Lanternfly for comment" in a.text  # the last paragraph
    for chrome in ("Reader comments", "Share this story", "Sponsored", "Newsletter Signup",
                   "Front page layout", "Remember me", "Related Stories", "security editor",
                   "Stop the presses", "window.dataLayer", "Previous story"):
        assert chrome not in a.text, chrome
    _assert_no_debris(a)


# ------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\n \t\n", "empty"),
        ("debris.txt", b"Listen to this Post\n\nFeatured Image\nof the\n", "no title"),
        ("dated.txt", b"2025-01-07\n\nSome lead text that is long enough.\n", "no title"),
        ("titleonly.txt", b"Just A Title\n\nListen to this Post\n", "no body"),
        ("notitle.md", b"Some paragraph without any heading at all.\n", "no title"),
        ("notitle.html", b"<html><body><p>text</p></body></html>", "no title"),
        ("binary.pdf", b"%PDF-1.7\x00\x01\x02binary", "binary file"),
        ("data.json", b'{"title": "x"}\n', "unsupported file type '.json'"),
    ],
)
def test_bad_files_raise_clear_errors(tmp_path: Path, name: str, content: bytes,
                                      message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportFormatError) as info:
        parse_article_file(path)
    assert message in str(info.value)
    assert str(info.value).startswith(name)


def test_unknown_suffix_is_sniffed(tmp_path: Path) -> None:
    md = tmp_path / "story.mdx"
    md.write_text("# A Markdown Story Title\n\nBody paragraph of the story goes here.\n")
    assert parse_article_file(md).format == "markdown"
    html = tmp_path / "page.php"
    html.write_bytes((FIXTURES / "008_pylon_router_botnet.htm").read_bytes())
    assert parse_article_file(html).format == "html"
    txt = tmp_path / "story"
    txt.write_text(_seed_text())
    assert parse_article_file(txt).title.startswith("Treasury Sanctions Chinese")


def test_non_utf8_text_file_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Caf\u00e9 Hackers Hit Caf\u00e9 Chain\n\nA lead about the caf\u00e9 "
                     "chain breach that is long enough.\n".encode("cp1252"))
    a = parse_article_file(path)
    assert a.title == "Caf\u00e9 Hackers Hit Caf\u00e9 Chain"


def test_markdown_inline_and_title_from_heading() -> None:
    a = parse_markdown(
        "# **Bold** Title with `code`\n\n"
        "A [linked](https://example.com) lead with _emphasis_ and snake_case_name kept.\n"
        "It wraps onto a second line.\n\n"
        "> A quoted paragraph.\n"
    )
    assert a.title == "Bold Title with code"
    assert a.lead == (
        "A linked lead with emphasis and snake_case_name kept. It wraps onto a second line."
    )
    assert "A quoted paragraph." in a.text
    setext = parse_markdown(
        "Plain Title Here\n---\n\nBody paragraph text.\n\n***\n\nFinal remarks."
    )
    assert setext.title == "Plain Title Here"
    assert setext.text == "Body paragraph text.\n\nFinal remarks."


# ------------------------------------------------------------------------ helpers


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2025-01-07", datetime(2025, 1, 7, tzinfo=UTC)),
        ("2025-01-07T10:30:00Z", datetime(2025, 1, 7, 10, 30, tzinfo=UTC)),
        ("2025-01-07T12:30:00+02:00", datetime(2025, 1, 7, 10, 30, tzinfo=UTC)),
        ("2025-01-07 10:30", datetime(2025, 1, 7, 10, 30, tzinfo=UTC)),
        ("January 7, 2025", datetime(2025, 1, 7, tzinfo=UTC)),
        ("Jan 7 2025", datetime(2025, 1, 7, tzinfo=UTC)),
        ("Sept. 9, 2024", datetime(2024, 9, 9, tzinfo=UTC)),
        ("7 January 2025", datetime(2025, 1, 7, tzinfo=UTC)),
        ("7th of January, 2025", datetime(2025, 1, 7, tzinfo=UTC)),
        ("January 7, 2025 at 3:45 PM", datetime(2025, 1, 7, 15, 45, tzinfo=UTC)),
        ("Tue, 07 Jan 2025 10:00:00 GMT", datetime(2025, 1, 7, 10, tzinfo=UTC)),
        ("Tue, 07 Jan 2025 10:00:00 -0500", datetime(2025, 1, 7, 15, tzinfo=UTC)),
        ("2025/01/07", datetime(2025, 1, 7, tzinfo=UTC)),
        ("01/07/2025", datetime(2025, 1, 7, tzinfo=UTC)),  # month first by default
        ("25/12/2024", datetime(2024, 12, 25, tzinfo=UTC)),  # unambiguous day first
        ("Published: 2025-01-07", datetime(2025, 1, 7, tzinfo=UTC)),
        ("*Updated on March 3, 2025*", datetime(2025, 3, 3, tzinfo=UTC)),
    ],
)
def test_parse_date(value: str, expected: datetime) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "of the", "2025-13-45", "February 30, 2025", "TIME", "In 2025, attackers struck.",
     "1. The U.S. Treasury sanctioned a firm", "12345", "CVE-2025-1234"],
)
def test_parse_date_rejects_non_dates(value: str) -> None:
    assert parse_date(value) is None


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Securityweek.com", "SecurityWeek"),
        ("www.bleepingcomputer.com", "BleepingComputer"),
        ("https://www.darkreading.com/vulnerabilities-threats/some-story", "Dark Reading"),
        ("feeds.thehackernews.com", "The Hacker News"),
        ("bleeping computer", "BleepingComputer"),
        ("Some Newsletter", "Some Newsletter"),
        ("news.example.org", "news.example.org"),
        ("", None),
    ],
)
def test_source_name(value: str, expected: str | None) -> None:
    assert source_name(value) == expected
