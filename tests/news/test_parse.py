import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.news.parse import FeedParseError, parse_feed
from tests.feedserver import FeedServer, make_atom, make_rss

FIXTURES = Path(__file__).parent / "fixtures"
BASE = "https://feeds.example/path/feed.xml"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_generated_rss_and_atom() -> None:
    rss = parse_feed(make_rss(5, base="https://news.example/"), base_url=BASE)
    assert rss.title == "Generated feed" and not rss.ill_formed and rss.problem is None
    first = rss.entries[0]
    assert first.guid == "https://news.example/guid/0"
    assert first.url == "https://news.example/news/0"
    assert first.title == "Story 0: patch released for CVE-2025-1000"
    assert first.published_at == datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
    assert first.author == "Reporter 0"
    assert first.summary_html.startswith("<p>Summary of story 0")
    atom = parse_feed(make_atom(3), base_url=BASE)
    assert [e.url for e in atom.entries] == [f"http://127.0.0.1/posts/{i}" for i in range(3)]
    assert atom.entries[1].content_html == "<p>Body of entry 1.</p>"
    assert atom.entries[1].published_at.tzinfo is UTC


def test_leading_newline_and_undeclared_prefixes() -> None:
    feed = parse_feed(load("leading_newline_undeclared_prefixes.xml"), base_url=BASE)
    assert feed.ill_formed
    assert "whitespace before the XML declaration" in feed.problem
    assert "undeclared namespace prefix atom, dc" in feed.problem
    assert feed.title == "Patchwatch Daily"
    assert len(feed.entries) == 2
    first = feed.entries[0]
    assert first.title == "Router maker ships fix for actively exploited login bypass"
    assert first.author == "Mara Quill"  # dc:creator understood despite the missing xmlns
    assert first.published_at == datetime(2025, 1, 7, 13, 8, tzinfo=UTC)
    assert first.summary_html.startswith("A login bypass")


def test_bom_with_invalid_bytes() -> None:
    feed = parse_feed(load("bom_invalid_bytes.xml"), base_url=BASE)
    assert feed.ill_formed and "invalid UTF-8 bytes replaced" in feed.problem
    assert feed.title == "Bulletin Sécurité"
    assert feed.entries[0].title.startswith("Valid: été / invalid: Espa")
    assert feed.entries[1].title == "Second clean item — dash"


def test_koi8r_without_any_declaration() -> None:
    feed = parse_feed(load("koi8r_undeclared.xml"), base_url=BASE)
    assert feed.ill_formed and "no encoding declared" in feed.problem
    assert "koi8" in feed.problem
    assert feed.title == "Новости безопасности"
    assert feed.entries[0].title == "Вымогатели атаковали сеть региональных больниц"
    assert "шлюз удалённого доступа" in feed.entries[0].summary_html


def test_koi8r_with_wrong_http_charset() -> None:
    # The server claims UTF-8 but sends KOI8-R: the bytes win.
    feed = parse_feed(
        load("koi8r_undeclared.xml"), base_url=BASE, content_type="text/xml; charset=utf-8"
    )
    assert feed.entries[1].title.startswith("Исследователи нашли")
    assert "do not match declared encoding" in feed.problem


def test_bogus_encoding_declaration() -> None:
    feed = parse_feed(load("bogus_encoding.xml"), base_url=BASE)
    assert feed.ill_formed and "unknown encoding 'bogus-8'" in feed.problem
    assert feed.title == "Café Sécurité"
    assert feed.entries[0].title == "Zero-day in café Wi-Fi portals — patch now"


def test_http_charset_is_honoured() -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Übersicht</title>'
        "<item><title>Lücke in Äpp</title><link>https://x.example/1</link></item>"
        "</channel></rss>"
    ).encode("iso-8859-1")
    feed = parse_feed(body, base_url=BASE, content_type="application/rss+xml; charset=ISO-8859-1")
    assert feed.title == "Übersicht" and feed.entries[0].title == "Lücke in Äpp"


def test_wrong_http_charset_loses_to_a_utf8_document() -> None:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<item><title>Schwachstelle in Gerät — jetzt patchen</title>"
        "<link>https://x.example/1</link></item></channel></rss>"
    ).encode()
    feed = parse_feed(body, base_url=BASE, content_type="text/xml; charset=ISO-8859-1")
    assert feed.entries[0].title == "Schwachstelle in Gerät — jetzt patchen"
    assert "contradicts the document" in feed.problem


def test_stylesheet_pi_is_not_an_xml_declaration() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?>\n<?xml-stylesheet type="text/xsl" href="/s.xsl"?>'
        b'<rss version="2.0"><channel><item><title>t</title><link>https://x.example/</link>'
        b"</item></channel></rss>"
    )
    feed = parse_feed(body, base_url=BASE)
    assert not feed.ill_formed and feed.entries[0].title == "t"


def test_utf16_with_bom() -> None:
    body = '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel>' \
        "<item><title>Wide ☃ item</title><link>https://x.example/w</link></item></channel></rss>"
    feed = parse_feed(body.encode("utf-16"), base_url=BASE)
    assert feed.entries[0].title == "Wide ☃ item"


def test_undeclared_namespace() -> None:
    feed = parse_feed(load("undeclared_namespace.xml"), base_url=BASE)
    assert feed.ill_formed and "undeclared namespace prefix itunes" in feed.problem
    assert feed.title == "Breach Podcast"
    assert feed.entries[0].published_at == datetime(2025, 1, 3, 6, 0, tzinfo=UTC)


def test_truncated_cdata_keeps_complete_items() -> None:
    feed = parse_feed(load("truncated_cdata.xml"), base_url=BASE)
    assert feed.ill_formed
    assert "ill-formed XML" in feed.problem
    assert [e.title for e in feed.entries] == ["Complete item one", "Complete item two"]
    assert [e.guid for e in feed.entries] == ["hw-1", "hw-2"]


def test_placeholder_dates_become_none() -> None:
    feed = parse_feed(load("placeholder_time.xml"), base_url=BASE)
    assert len(feed.entries) == 3
    assert all(e.published_at is None for e in feed.entries)
    assert feed.entries[0].summary_html == "Summary 0 of a generated blog feed."
    assert feed.entries[0].content_html == ""  # <content src=…/> has no text


@pytest.mark.parametrize(
    "date", ["TIME", "", "yesterday", "Mon, 99 Foo 2025 99:99:99 GMT", "0000-00-00T00:00:00Z"]
)
def test_bad_dates_never_crash(date: str) -> None:
    body = (
        f'<rss version="2.0"><channel><item><title>t</title><link>https://x.example/</link>'
        f"<pubDate>{date}</pubDate></item></channel></rss>"
    ).encode()
    assert parse_feed(body, base_url=BASE).entries[0].published_at is None


def test_xml_base_resolution() -> None:
    feed = parse_feed(load("xml_base_relative.xml"), base_url=BASE)
    assert not feed.ill_formed
    assert feed.title == "Lab notes"
    first, second = feed.entries
    assert first.url == "https://research.example/blog/posts/unpacking-a-loader.html"
    assert 'href="https://research.example/figures/fig1.png"' in first.content_html
    assert second.url == "https://cdn.research.example/archive/2019/old-notes.html"
    assert second.published_at == datetime(2019, 6, 1, 10, 0, tzinfo=UTC)


def test_relative_links_resolve_against_base_url() -> None:
    feed = parse_feed(load("rss_relative_links.xml"), base_url=BASE)
    assert feed.entries[0].url == "https://feeds.example/news/2025/relative-item"
    assert 'href="https://feeds.example/img/x.png"' in feed.entries[0].summary_html
    assert feed.entries[1].url == "https://mirror.relative.example/item-2"


def test_guids_are_kept_verbatim() -> None:
    body = (
        b'<rss version="2.0"><channel>'
        b"<item><title>a</title><guid>item-42</guid></item>"
        b"<item><title>b</title><guid>/p/43</guid></item></channel></rss>"
    )
    a, b = parse_feed(body, base_url="https://f.example/a/feed").entries
    assert (a.guid, a.url) == ("item-42", None)  # not a URL: no link invented
    assert (b.guid, b.url) == ("/p/43", "https://f.example/p/43")


def test_script_markup_is_sanitized_and_titles_are_plain() -> None:
    feed = parse_feed(load("script_markup.xml"), base_url=BASE)
    assert feed.title == "Active & Bold Feed"
    first, second = feed.entries
    assert first.title == "Exploit kit returns & spreads"
    for html in (first.summary_html, first.content_html):
        low = html.lower()
        for bad in ("<script", "onclick", "onerror", "javascript:", "<iframe", "<style",
                    "evil.example"):
            assert bad not in low
    assert "Kit is back" in first.summary_html and "in force." in first.summary_html
    assert second.title == "AT&T customers warned about “smishing”"  # invisible chars gone
    assert second.url is None  # javascript: link dropped
    assert second.guid == "active-2"
    assert second.author == "press@active.example (Dana Reyes)"


def test_duplicate_guids_keep_first_and_useless_items_dropped() -> None:
    feed = parse_feed(load("duplicate_guids.xml"), base_url=BASE)
    assert [e.title for e in feed.entries] == ["First copy", "Other story", "Link only dupe A"]
    assert feed.entries[0].url == "https://dupes.example/a"


def test_ten_thousand_items() -> None:
    # How long it takes is measured in bench/bench_parse_extract.py, not asserted here.
    feed = parse_feed(make_rss(10_000), base_url=BASE)
    assert len(feed.entries) == 10_000
    assert len({e.guid for e in feed.entries}) == 10_000
    assert feed.entries[0].title == "Story 0: patch released for CVE-2025-1000"
    assert feed.entries[-1].title == "Story 9999: patch released for CVE-2025-10999"


@pytest.mark.parametrize(
    ("body", "kind", "message"),
    [
        (b"", "empty", "empty body"),
        (b" \r\n\t ", "empty", "empty body"),
        ((FIXTURES / "not_a_feed.html").read_bytes(), "html", "not a feed: HTML page"),
        (b"<html><body><p>Hello</p></body></html>", "html", "not a feed: HTML page"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not_feed", "not a feed"),
        (b'{"items": [{"title": "json"}]}', "not_feed", "not a feed"),
        (b"/etc/hostname", "not_feed", "not a feed"),  # never opened as a file name
        (b'<rss version="2.0"><channel><title>Empty</title></channel></rss>', "no_entries",
         "no entries"),
        (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>',
         "no_entries", "no entries"),
    ],
)
def test_nothing_usable_raises(body: bytes, kind: str, message: str) -> None:
    with pytest.raises(FeedParseError, match=message) as info:
        parse_feed(body, base_url=BASE)
    assert info.value.kind == kind


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "file://{secret}">\n]>\n'
        '<rss version="2.0"><channel><title>x</title>'
        "<item><title>Leak &xxe; here</title><link>https://x.example/1</link>"
        "<description>&xxe;</description></item></channel></rss>"
    ).encode()
    feed = parse_feed(body, base_url=BASE)
    dumped = repr(feed)
    assert "TOP-SECRET-MARKER" not in dumped
    assert "DTD entity declarations ignored" in feed.problem
    assert feed.entries[0].url == "https://x.example/1"


def test_entity_expansion_bomb_is_harmless() -> None:
    lol = "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY l0 "lol">{lol}]>\n'
        '<rss version="2.0"><channel><item><title>&l9;</title>'
        "<link>https://x.example/1</link></item></channel></rss>"
    ).encode()
    feed = parse_feed(body, base_url=BASE)
    assert "DTD entity declarations ignored" in feed.problem
    # expanded, &l9; would be a billion "lol"s; its absence proves nothing expanded
    assert "lol" not in feed.entries[0].title


def test_plain_dtd_entities_still_work() -> None:
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY co "Acme Corp">\n'
        b'<!ENTITY nbsp "&#160;">\n]>\n<rss version="2.0"><channel><item>'
        b"<title>&co; patches&nbsp;bug</title><link>https://x.example/1</link>"
        b"</item></channel></rss>"
    )
    feed = parse_feed(body, base_url=BASE)
    assert feed.entries[0].title == "Acme Corp patches bug"
    assert not feed.ill_formed


async def test_parsing_fetches_nothing() -> None:
    # An external DTD and a SYSTEM entity pointing at a live local server: parsing
    # must not request either (run in a thread so a fetch would be answered).
    async with FeedServer() as srv:
        srv.add("/evil.dtd", b'<!ENTITY x "pwned">', content_type="application/xml-dtd")
        srv.add("/ent", b"pwned")
        body = (
            f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "{srv.url("/evil.dtd")}" [\n'
            f'<!ENTITY ext SYSTEM "{srv.url("/ent")}">\n]>\n'
            '<rss version="2.0"><channel><item><title>A &ext; B</title>'
            f'<link>{srv.url("/link")}</link></item></channel></rss>'
        ).encode()
        feed = await asyncio.to_thread(parse_feed, body, base_url=BASE)
        await asyncio.sleep(0.05)
        assert srv.hits["/evil.dtd"] == 0 and srv.hits["/ent"] == 0
        assert "pwned" not in repr(feed)


def _rss(items: str) -> bytes:
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}'
            "</channel></rss>").encode()


@pytest.mark.parametrize("bad", ["http://[::1", "https://[fe80::1/x", "http://[::1]:99999/"])
def test_an_invalid_link_or_guid_loses_that_link_not_the_feed(bad: str) -> None:
    body = _rss(
        f"<item><title>Link</title><link>{bad}</link><guid>g-1</guid></item>"
        f'<item><title>Permalink guid</title><guid isPermaLink="true">{bad}p</guid></item>'
        f"<item><title>Plain guid</title><guid>{bad}g</guid></item>"
        "<item><title>Fine</title><link>https://ok.example/4</link></item>"
    )
    entries = parse_feed(body, base_url=BASE).entries
    assert [e.title for e in entries] == ["Link", "Permalink guid", "Plain guid", "Fine"]
    assert [e.url for e in entries] == [None, None, None, "https://ok.example/4"]
    assert [e.guid for e in entries] == ["g-1", bad + "p", bad + "g", None]  # kept as is


def test_plain_text_titles_keep_their_angle_brackets() -> None:
    rss = parse_feed(_rss(
        "<item><title>XSS via &lt;svg&gt; tag</title><guid>1</guid></item>"
        "<item><title><![CDATA[History of the <blink> tag]]></title><guid>2</guid></item>"
        "<item><title>AT&amp;amp;T fixes &amp;lt;iframe&amp;gt; bug</title><guid>3</guid></item>"
    ), base_url=BASE)
    assert [e.title for e in rss.entries] == [
        "XSS via <svg> tag", "History of the <blink> tag", "AT&T fixes <iframe> bug"
    ]
    atom = parse_feed((
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        b'<entry><id>1</id><title type="text">XSS via &lt;svg&gt; tag</title></entry>'
        b'<entry><id>2</id><title>History of the &lt;blink&gt; tag</title></entry>'
        b'<entry><id>3</id><title type="text">&lt;b&gt;not bold&lt;/b&gt;</title></entry>'
        b"</feed>"
    ), base_url=BASE)
    assert [e.title for e in atom.entries] == [
        "XSS via <svg> tag", "History of the <blink> tag", "<b>not bold</b>"
    ]


def test_html_titles_are_still_converted_to_text() -> None:
    atom = parse_feed((
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        b'<entry><id>1</id><title type="html">&lt;b&gt;Bold&lt;/b&gt; news &amp;amp; more'
        b"</title></entry>"
        b'<entry><id>2</id><title type="html">Patch &lt;script&gt;x()&lt;/script&gt;now'
        b"</title></entry>"
        b'<entry><id>3</id><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
        b"An <em>xhtml</em> title</div></title></entry></feed>"
    ), base_url=BASE)
    assert [e.title for e in atom.entries] == ["Bold news & more", "Patch now",
                                               "An xhtml title"]
    # RSS titles with real markup (closing tags) are markup, whatever feedparser guessed
    rss = parse_feed(_rss(
        "<item><title>&lt;script&gt;alert(1)&lt;/script&gt;Kit &lt;em&gt;returns&lt;/em&gt;"
        "</title><guid>1</guid></item>"
    ), base_url=BASE)
    assert rss.entries[0].title == "Kit returns"


def test_a_feed_of_undefined_entities_is_an_error_of_its_own() -> None:
    item = ("<item><title>&foo;</title><link>&foo;</link><guid>&foo;</guid>"
            "<description>&foo;</description></item>")
    with pytest.raises(FeedParseError, match=r"no entries.*undefined entit") as info:
        parse_feed(_rss(item * 3), base_url=BASE)
    assert info.value.kind == "no_entries"


def test_html_entities_xml_does_not_define_are_repaired() -> None:
    feed = parse_feed(_rss(
        "<item><title>It&rsquo;s&nbsp;patched &mdash; &bogus;really</title>"
        "<link>https://ok.example/1?a=1&amp;b=2</link>"
        "<description><![CDATA[<p>Kept &amp; &bogus; as written</p>]]></description></item>"
        "<item><title>Second &hellip;</title><link>https://ok.example/2</link></item>"
    ), base_url=BASE)
    first, second = feed.entries
    assert first.title == "It’s patched — really"
    assert first.url == "https://ok.example/1?a=1&b=2"
    assert "Kept &amp; &amp;bogus" in first.summary_html  # CDATA is not rewritten
    assert second.title == "Second …"
    assert feed.ill_formed and "undefined entities" in feed.problem and "&bogus;" in feed.problem


def test_feed_parse_error_survives_pickle() -> None:
    import pickle

    for body, kind in ((b"", "empty"), (b"<html><body>x</body></html>", "html"),
                       (_rss("<item></item>"), "no_entries")):
        with pytest.raises(FeedParseError) as info:
            parse_feed(body, base_url=BASE)
        copy = pickle.loads(pickle.dumps(info.value))
        assert (type(copy), str(copy), copy.kind) == (FeedParseError, str(info.value), kind)
