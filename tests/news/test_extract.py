import gzip
from pathlib import Path

import pytest

from bot.news.clean import strip_debris
from bot.news.extract import decode_html, extract_article_text

FIXTURES = Path(__file__).parent / "fixtures"
URL = "https://threatledger.example/2025/01/08/cinder-lynx-halvorsen-freight/"


@pytest.fixture(scope="module")
def article() -> str:
    text = extract_article_text((FIXTURES / "article_ransomware.html").read_bytes(), url=URL)
    assert text is not None
    return text


@pytest.mark.parametrize(
    "body_text",
    [
        "encrypted hundreds of servers at Halvorsen Freight",
        "exploited CVE-2024-51234, an authentication bypass",
        "roughly 310 gigabytes of documents",
        "Defenders who only watch for the encryption stage are too late.",
        "Known Exploited Vulnerabilities catalogue on December 20",
        "whether a ransom demand had been made.",
        "Data theft before encryption",  # subheadings are part of the story
    ],
)
def test_article_body_kept(article: str, body_text: str) -> None:
    assert body_text in article


@pytest.mark.parametrize(
    "chrome",
    [
        "We use cookies",
        "Accept all cookies",
        "Manage preferences",
        "Skip to content",
        "Vulnerabilities\n",  # nav menu
        "Webinars",
        "Breaking:",
        "Share on Facebook",
        "Tweet",
        "Share on LinkedIn",
        "Listen to this Post",
        "Image Source",
        "Advertisement",
        "Subscribe to our newsletter",
        "Related articles",
        "Why ransomware gangs keep hitting logistics firms",
        "Another appliance, another breach",  # reader comments
        "Most read",
        "All rights reserved",
        "Privacy Policy",
        "Follow us on",
        "gtag(",
        "dataLayer",
        "@context",
    ],
)
def test_page_chrome_dropped(article: str, chrome: str) -> None:
    assert chrome not in article


def test_article_order_and_paragraphs(article: str) -> None:
    first = article.index("A ransomware group that researchers track")
    last = article.index("The company has notified the drivers")
    assert first < last
    assert len(article.splitlines()) >= 10
    assert strip_debris(article) == article  # nothing left for the debris pass


def test_str_input_equals_bytes_input(article: str) -> None:
    html = (FIXTURES / "article_ransomware.html").read_text(encoding="utf-8")
    assert extract_article_text(html, url=URL) == article


def test_windows_1251_page_with_meta_charset() -> None:
    data = (FIXTURES / "article_cp1251_meta.html").read_bytes()
    text = extract_article_text(data)
    assert text is not None
    assert "«Серый журавль»" in text
    assert "резервные копии хранятся отдельно" in text
    assert "Читайте также" not in text and "Главная" not in text


def test_undeclared_windows_1252_page() -> None:
    data = (FIXTURES / "article_cp1252_undeclared.html").read_bytes()
    text = extract_article_text(data)
    assert text is not None
    assert "Sicherheitslücke" in text and "München" in text and "Überprüfung" in text
    assert "Das könnte Sie auch interessieren" not in text


def test_teaser_page_gives_none() -> None:
    assert extract_article_text((FIXTURES / "article_paywall_teaser.html").read_bytes()) is None


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        b"",
        "<html><body></body></html>",
        "<html><body><nav><a href='/'>Home</a></nav></body></html>",
        b"\x00\x01\x02 binary junk \xff\xfe",
        '<?xml version="1.0" encoding="utf-8"?><html><body><p>tiny</p></body></html>',
    ],
)
def test_nothing_useful_gives_none(html: str | bytes) -> None:
    assert extract_article_text(html) is None


def test_compressed_bytes_are_not_inflated() -> None:
    # The fetcher already undoes Content-Encoding; a compressed payload here is junk,
    # not something to inflate (trafilatura would otherwise decompress it).
    data = gzip.compress((FIXTURES / "article_ransomware.html").read_bytes())
    assert extract_article_text(data) is None


def test_decode_html() -> None:
    assert decode_html("<p>é</p>".encode()) == "<p>é</p>"
    assert decode_html(b"\xef\xbb\xbf<p>\xc3\xa9</p>") == "<p>é</p>"
    meta = '<meta charset="koi8-r"><p>Привет</p>'.encode("koi8-r")
    assert decode_html(meta) == '<meta charset="koi8-r"><p>Привет</p>'
    # A declared charset that cannot decode the bytes loses to UTF-8.
    lying = '<meta charset="ascii"><p>naïve</p>'.encode()
    assert "naïve" in decode_html(lying)
