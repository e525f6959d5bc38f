"""Near-duplicates inside one feed, analysed side by side, still become one story: the
story lookup and the insert are serialised (a real feed on 127.0.0.1, a real store)."""

from __future__ import annotations

import pytest

BODY = (
    "Acme Corp released an emergency patch for {cve}, a remote code execution flaw in its "
    "VPN gateway that attackers exploited in the wild before the fix. The company urged "
    "customers to update at once, rotate credentials and review gateway logs for signs of "
    "compromise, and said about {n} appliances exposed to the internet remain unpatched."
)


def near_duplicate_feed(base: str, cve: str) -> bytes:
    items = []
    for i, (title, n) in enumerate(
        [(f"Acme patches exploited VPN flaw {cve}", "4,000"),
         (f"Acme patches exploited VPN gateway flaw {cve}", "4,100")]
    ):
        items.append(
            f"<item><title>{title}</title><link>{base}wire/{i}</link>"
            f"<guid>{base}wire/{i}</guid>"
            "<pubDate>Tue, 25 Nov 2026 10:00:00 GMT</pubDate>"
            f"<description>{BODY.format(cve=cve, n=n)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Wire</title><link>{base}</link>" + "".join(items) + "</channel></rss>"
    ).encode()


@pytest.mark.parametrize("round_", range(6))
async def test_near_duplicates_in_one_feed_become_one_story(services, feed_server, round_):
    services.ingest._fetch_pages = False
    feed_server.add("/wire.xml", near_duplicate_feed(feed_server.url("/"), "CVE-2026-41234"))
    report = await services.ingest.poll([feed_server.url("/wire.xml")])
    assert (report.added, report.failed) == (2, 0)
    articles = await services.store.articles.get_many(report.added_ids)
    assert len({a.story_id for a in articles}) == 1
