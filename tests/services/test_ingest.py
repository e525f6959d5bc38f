"""Feed ingestion end to end: feeds served by a real aiohttp server on 127.0.0.1, a real
SQLite store, the real pipeline (fetch, parse, extract, analyse, cluster, store)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.feedserver import make_rss
from tests.snapshot import snapshot

NEWS_FIXTURES = Path(__file__).parents[1] / "news" / "fixtures"

ODD_FEEDS = [
    "bogus_encoding.xml",
    "bom_invalid_bytes.xml",
    "koi8r_undeclared.xml",
    "leading_newline_undeclared_prefixes.xml",
    "placeholder_time.xml",
    "truncated_cdata.xml",
    "undeclared_namespace.xml",
    "script_markup.xml",
    "duplicate_guids.xml",
]


async def test_large_feed_lands_whole_and_second_run_is_conditional(services, feed_server):
    services.ingest._fetch_pages = False
    feed_server.add("/big.xml", make_rss(1000, base=feed_server.url("/")), etag='"v1"',
                    last_modified="Tue, 25 Nov 2026 10:00:00 GMT")
    report = await services.ingest.poll([feed_server.url("/big.xml")])
    assert (report.added, report.failed) == (1000, 0)
    assert len(report.added_ids) == 1000
    assert await services.store.articles.count() == 1000

    again = await services.ingest.poll([feed_server.url("/big.xml")])
    assert (again.added, again.duplicates, again.failed) == (0, 0, 0)
    assert again.feeds[0].status == "not_modified"
    second_request = feed_server.requests["/big.xml"][1]
    assert second_request.get("If-None-Match") == '"v1"'
    assert second_request.get("If-Modified-Since") == "Tue, 25 Nov 2026 10:00:00 GMT"


async def test_unchanged_feed_without_validators_adds_nothing(services, feed_server):
    services.ingest._fetch_pages = False
    feed_server.add("/plain.xml", make_rss(20, base=feed_server.url("/")))
    assert (await services.ingest.poll([feed_server.url("/plain.xml")])).added == 20
    again = await services.ingest.poll([feed_server.url("/plain.xml")])
    assert (again.added, again.duplicates) == (0, 20)


async def test_ill_formed_feeds_and_broken_ones_in_one_run(services, feed_server):
    services.ingest._fetch_pages = False
    urls = []
    for name in ODD_FEEDS:
        feed_server.add(f"/{name}", (NEWS_FIXTURES / name).read_bytes(), content_type="text/xml")
        urls.append(feed_server.url(f"/{name}"))
    feed_server.add("/gone.xml", "gone", status=410)
    feed_server.add("/page.html", (NEWS_FIXTURES / "not_a_feed.html").read_bytes(),
                    content_type="text/html")
    feed_server.add("/empty.xml", b"")
    broken = [feed_server.url(p) for p in ("/gone.xml", "/page.html", "/empty.xml")]
    report = await services.ingest.poll(urls + broken)

    by_url = {o.url: o for o in report.feeds}
    for url in urls:
        assert by_url[url].status == "ok", (url, by_url[url].error)
        assert by_url[url].added >= 1, url
    for url in broken:
        assert by_url[url].status == "error" and by_url[url].error
    assert {e["url"] for e in report.errors} == set(broken)
    feed = await services.store.feeds.get_by_url(broken[0], guild_id=0)
    assert feed.failures == 1 and "410" in feed.last_error
    assert feed.next_poll_at > services.clock()


async def test_script_markup_never_reaches_the_store(services, feed_server):
    services.ingest._fetch_pages = False
    feed_server.add("/s.xml", (NEWS_FIXTURES / "script_markup.xml").read_bytes())
    report = await services.ingest.poll([feed_server.url("/s.xml")])
    assert report.added >= 1
    for article in await services.store.articles.get_many(report.added_ids):
        for text in (article.title, article.text, *article.key_points):
            assert "<script" not in text.lower() and "alert(" not in text
            assert "location.href" not in text and "onclick" not in text


async def test_article_pages_are_fetched_and_extracted(services, feed_server):
    page = (NEWS_FIXTURES / "article_ransomware.html").read_bytes()
    feed_server.add("/news/0", page, content_type="text/html")
    feed_server.add("/f.xml", make_rss(1, base=feed_server.url("/")))
    report = await services.ingest.poll([feed_server.url("/f.xml")])
    article = await services.store.articles.get(report.added_ids[0])
    assert len(article.text) > 500  # the page's body, not the one-line feed summary
    assert 3 <= len(article.key_points) <= 6
    assert feed_server.hits["/news/0"] == 1


async def test_loopback_feed_refused_without_override(services, feed_server):
    services.ingest._fetcher.allow_private = False
    feed_server.add("/f.xml", make_rss(3, base=feed_server.url("/")))
    report = await services.ingest.poll([feed_server.url("/f.xml")])
    assert report.added == 0 and report.feeds[0].status == "error"
    assert "SECBRIEF_ALLOW_PRIVATE_FEEDS" in report.feeds[0].error
    assert feed_server.hits["/f.xml"] == 0  # refused before any request


async def test_failing_feed_backs_off_and_is_disabled(services, feed_server):
    services.ingest._disable_after = 3
    feed_server.add("/down.xml", "busy", status=503, headers={"Retry-After": "120"})
    url = feed_server.url("/down.xml")
    delays = []
    for _ in range(3):
        report = await services.ingest.poll(operator_urls=[url])
        feed = await services.store.feeds.get_by_url(url, guild_id=0)
        delays.append(feed.next_poll_at - services.clock())
        # not due while it backs off: the next run says so instead of polling it
        waiting = await services.ingest.poll(operator_urls=[url])
        assert waiting.feeds == [] and waiting.failed == 0
        if not feed.disabled:
            assert [(b.url, b.failures) for b in waiting.backing_off] == [(url, feed.failures)]
            assert waiting.backing_off[0].next_retry == feed.next_poll_at
        services.clock.now = feed.next_poll_at
    assert feed_server.hits["/down.xml"] == 3
    assert delays[0] >= timedelta(seconds=120)
    assert delays[0] < delays[1] < delays[2]
    assert feed.disabled and feed.failures == 3
    assert report.feeds[0].status == "disabled" and "disabled after 3" in feed.last_error
    # a disabled feed is no longer due (nor reported as backing off)
    assert feed not in await services.store.feeds.due(services.clock() + timedelta(days=3))
    assert (await services.ingest.poll(operator_urls=[url])).backing_off == []


async def test_bad_feed_url_changes_nothing(services):
    before = await snapshot(services.store)
    report = await services.ingest.poll(["ftp://example.com/feed"])
    assert report.feeds[0].status == "error" and "http" in report.feeds[0].error
    assert await snapshot(services.store) == before


async def test_same_item_republished_with_new_date_is_one_article(services, feed_server):
    services.ingest._fetch_pages = False
    base = feed_server.url("/")
    feed_server.add("/r.xml", make_rss(5, base=base))
    await services.ingest.poll([feed_server.url("/r.xml")])
    republished = make_rss(5, base=base).replace(b"2026", b"2027")
    feed_server.add("/r.xml", republished)
    again = await services.ingest.poll([feed_server.url("/r.xml")])
    assert again.added == 0 and again.duplicates == 5


async def test_import_is_idempotent_and_drops_debris(services):
    # 000_seed_format.txt among them: the seed's format with all of its page debris
    paths = sorted((Path(__file__).parents[1] / "fixtures" / "articles").iterdir())
    assert len(paths) >= 9
    first = await services.ingest.import_files(paths)
    assert first.added == len(paths) and first.failed == 0
    second = await services.ingest.import_files(paths)
    assert (second.added, second.duplicates) == (0, len(paths))
    for article in await services.store.articles.get_many(first.added_ids):
        blob = "\n".join([article.title, article.text, *article.key_points, *article.commentary])
        for debris in ("Listen to this Post", "Image Source", "Featured Image"):
            assert debris not in blob
        assert article.key_points


async def test_import_reports_bad_files(services, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    before = await snapshot(services.store)
    report = await services.ingest.import_files([empty, tmp_path / "missing.md"])
    assert (report.added, report.failed) == (0, 2)
    assert all(e["error"] for e in report.errors)
    assert await snapshot(services.store) == before


async def test_plain_text_titles_and_broken_links_survive_ingest(services, feed_server):
    services.ingest._fetch_pages = False
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Odd</title>'
        b"<item><title>XSS via &lt;svg&gt; tag</title><link>https://odd.example/1</link>"
        b"<description>An SVG payload runs script in the admin panel.</description></item>"
        b"<item><title>History of the &lt;blink&gt; tag</title><link>http://[::1</link>"
        b"<guid>blink-1</guid><description>Some markup is older than others.</description>"
        b"</item>"
        b'<item><title>Third</title><guid isPermaLink="true">http://[::1/x</guid>'
        b"<description>A permalink guid that is no valid URL.</description></item>"
        b"</channel></rss>"
    )
    feed_server.add("/odd.xml", rss)
    report = await services.ingest.poll([feed_server.url("/odd.xml")])
    assert (report.added, report.failed) == (3, 0)
    articles = await services.store.articles.get_many(report.added_ids)
    by_title = {a.title: a for a in articles}
    assert set(by_title) == {"XSS via <svg> tag", "History of the <blink> tag", "Third"}
    assert by_title["XSS via <svg> tag"].url == "https://odd.example/1"
    assert by_title["History of the <blink> tag"].url is None  # the link lost, not the entry
    assert by_title["History of the <blink> tag"].guid == "blink-1"
