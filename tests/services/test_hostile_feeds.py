"""Hostile feeds: each case runs beside a healthy feed in the same poll. The run must not
crash, the healthy feed must land, and the hostile feed's error must be recorded where
`/feeds status` and `secbrief ingest --json` read it. Memory stays bounded: bodies are
capped while streaming (see tests/news/test_fetch.py for the peak-memory checks)."""

from __future__ import annotations

import resource

import pytest

from bot.news.fetch import Fetcher, FetchLimits
from tests.feedserver import FeedServer, make_rss

MB = 1_000_000


def _hostile(server: FeedServer, case: str) -> str:
    """Register the hostile route for ``case``; returns its path."""
    path = f"/{case}.xml"
    if case == "body_50mb":
        server.big(path, 50 * MB)
    elif case == "gzip_bomb":
        server.gzip_bomb(path, 200 * MB)
    elif case == "trickle":
        server.trickle(path, make_rss(3), interval=0.2)
    elif case == "redirect_loop":
        server.redirect(path, "/redirect_loop2.xml")
        server.redirect("/redirect_loop2.xml", path)
    elif case == "too_many_redirects":
        for hop in range(8):
            server.redirect(f"/hop{hop}.xml", f"/hop{hop + 1}.xml")
        server.redirect(path, "/hop0.xml")
    elif case in ("404", "410", "500", "503"):
        server.add(path, "nope", status=int(case))
    elif case == "429":
        server.add(path, "slow down", status=429, headers={"Retry-After": "600"})
    elif case == "html":
        server.add(path, "<html><body><h1>Welcome</h1><p>Not a feed</p></body></html>",
                   content_type="text/html")
    elif case == "empty":
        server.add(path, b"")
    elif case == "garbage":
        server.add(path, bytes(range(256)) * 40)
    else:
        raise AssertionError(case)
    return path


CASES = ["body_50mb", "gzip_bomb", "trickle", "redirect_loop", "too_many_redirects", "404",
         "410", "429", "500", "503", "html", "empty", "garbage"]


@pytest.mark.parametrize("case", CASES)
async def test_hostile_feed_is_contained(services, feed_server, case):
    services.ingest._fetch_pages = False
    # small limits so each case stays quick: 2 MB cap, 1.5 s for a whole fetch
    services.ingest._fetcher = Fetcher(
        services.session,
        FetchLimits(read_timeout=1.0, total_timeout=1.5, max_bytes=2 * MB, max_redirects=5),
        allow_private=True,
    )
    feed_server.add("/good.xml", make_rss(5, base=feed_server.url("/")))
    hostile_url = feed_server.url(_hostile(feed_server, case))
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    report = await services.ingest.poll([feed_server.url("/good.xml"), hostile_url])

    by_url = {o.url: o for o in report.feeds}
    assert by_url[feed_server.url("/good.xml")].added == 5
    outcome = by_url[hostile_url]
    assert outcome.status == "error" and outcome.error
    assert {"url": hostile_url, "error": outcome.error} in report.as_dict()["errors"]
    feed = await services.store.feeds.get_by_url(hostile_url, guild_id=0)
    assert feed.failures == 1 and feed.last_error == outcome.error
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kb < 100_000, f"peak memory grew by {grown_kb} KB"
    if case == "429":
        assert (feed.next_poll_at - services.clock()).total_seconds() >= 600


async def test_huge_feed_lands_whole(services, feed_server):
    # 1,500 items keep this well inside the timeout on a busy machine; the 10,000-item
    # variant (3.7 MB) is bench/bench_big_feed.py.
    services.ingest._fetch_pages = False
    feed_server.add("/huge.xml", make_rss(1500, base=feed_server.url("/")))
    report = await services.ingest.poll([feed_server.url("/huge.xml")])
    assert (report.added, report.failed) == (1500, 0)
    assert len(set(report.added_ids)) == 1500
    assert await services.store.articles.count() == 1500


async def test_mentions_markdown_and_invisible_characters_are_stored_as_plain_text(
    services, feed_server
):
    services.ingest._fetch_pages = False
    title = "@everyone <@&123> **URGENT** patch\u200b now\u202e"
    body = ("<p>Hey @here, <@456> says [click](https://evil.example) now\u200d.</p>" * 3)
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Loud</title>'
        f"<item><title>{title.replace('&', '&amp;').replace('<', '&lt;')}</title>"
        "<link>https://loud.example/1</link>"
        f"<description>{body.replace('&', '&amp;').replace('<', '&lt;')}</description>"
        "</item></channel></rss>"
    ).encode()
    feed_server.add("/loud.xml", rss)
    report = await services.ingest.poll([feed_server.url("/loud.xml")])
    article = await services.store.articles.get(report.added_ids[0])
    assert "\u200b" not in article.title and "\u202e" not in article.title
    assert "\u200d" not in article.text
    assert "@everyone" in article.title  # kept as text; rendering escapes it (see below)

    from bot.render.embeds import story_embed

    item = (await services.briefings.items([article.story_id]))[0]
    embed = story_embed(item)
    rendered = f"{embed.title}\n{embed.description}"
    assert "@everyone" not in rendered and "@\u200beveryone" in rendered
    assert "\\*\\*URGENT\\*\\*" in rendered
