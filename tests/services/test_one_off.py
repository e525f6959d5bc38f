"""`ingest --once --feed URL` is a one-off poll: the URL joins no feed list, a repeat is
conditional, and a refused URL leaves every table of the store as it was."""

from __future__ import annotations

from datetime import timedelta

from bot.services.caller import Caller
from storage.store import Store
from tests.feedserver import make_rss

OPERATOR = Caller(user_id=0, guild_id=0, can_manage_guild=True)
ADMIN = Caller(user_id=7, guild_id=4242, can_manage_guild=True)


async def dump(store: Store) -> dict[str, list[tuple]]:
    """Every row of every table (FTS shadow tables included)."""
    async with store.db.execute(store.db.pick({
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        "postgres": "SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = 'public' ORDER BY table_name",
    })) as cur:
        tables = [row[0] for row in await cur.fetchall()]
    contents = {}
    for table in tables:
        async with store.db.execute(f'SELECT * FROM "{table}"') as cur:
            contents[table] = [tuple(row) for row in await cur.fetchall()]
    return contents


async def test_one_off_poll_joins_no_list_and_repeats_conditionally(services, feed_server):
    services.ingest._fetch_pages = False
    feed_server.add("/once.xml", make_rss(4, base=feed_server.url("/")), etag='"e1"',
                    last_modified="Mon, 30 Nov 2026 08:00:00 GMT")
    url = feed_server.url("/once.xml")
    first = await services.ingest.poll([url])
    assert first.added == 4 and first.feeds[0].status == "ok"

    assert await services.feeds.operator_feeds() == []  # `/feeds list` does not show it
    later = services.clock() + timedelta(days=30)
    assert await services.store.feeds.due(later) == []  # never polled by the bot
    assert await services.store.feeds.count_for_guild(0) == 0
    bot_round = await services.ingest.poll(operator_urls=[])
    assert bot_round.feeds == [] and feed_server.hits["/once.xml"] == 1

    again = await services.ingest.poll([url])
    assert again.feeds[0].status == "not_modified" and again.added == 0
    conditional = feed_server.requests["/once.xml"][1]
    assert conditional.get("If-None-Match") == '"e1"'
    assert conditional.get("If-Modified-Since") == "Mon, 30 Nov 2026 08:00:00 GMT"


async def test_refused_urls_leave_the_store_unchanged(services, feed_server):
    services.ingest._fetcher.allow_private = False
    feed_server.add("/f.xml", make_rss(2, base=feed_server.url("/")))
    refused = [
        feed_server.url("/f.xml"),  # loopback, private addresses not allowed
        "http://10.1.2.3/feed.xml",
        "ftp://example.com/feed.xml",
        "http://user:secret@example.com/feed.xml",
        "file:///etc/passwd",
        "  ",
    ]
    before = await dump(services.store)
    report = await services.ingest.poll(refused)
    assert await dump(services.store) == before
    assert feed_server.hits["/f.xml"] == 0
    assert [o.status for o in report.feeds] == ["error"] * len(refused)
    kinds = [o.error_kind for o in report.feeds]
    assert kinds == ["refused", "refused", "invalid", "refused", "invalid", "invalid"]
    assert "SECBRIEF_ALLOW_PRIVATE_FEEDS" in report.feeds[0].error
    assert report.all_failed and report.failed == len(refused)


async def test_one_off_poll_of_an_operator_feed_keeps_it_as_it_was(services, feed_server):
    services.ingest._fetch_pages = False
    feed_server.add("/op.xml", make_rss(3, base=feed_server.url("/")))
    url = feed_server.url("/op.xml")
    added = await services.feeds.add(OPERATOR, url)
    await services.ingest.poll([url])
    [feed] = await services.feeds.operator_feeds()
    assert (feed.id, feed.url, feed.added_by, feed.one_off) == (added.id, url, 0, False)
    assert feed.last_success_at is not None
    assert [f.id for f in await services.store.feeds.due(services.clock() + timedelta(days=1),
                                                          operator_urls=[])] == [feed.id]


async def test_one_off_poll_of_a_guild_feed_leaves_the_guild_feed_alone(services, feed_server):
    services.ingest._fetch_pages = False
    feed_server.add("/g.xml", make_rss(3, base=feed_server.url("/")))
    url = feed_server.url("/g.xml")
    await services.feeds.add(ADMIN, url)
    [before] = await services.store.feeds.list_for_guild(ADMIN.guild_id)
    report = await services.ingest.poll([url])
    assert report.added == 3
    assert await services.store.feeds.list_for_guild(ADMIN.guild_id) == [before]
    assert await services.feeds.operator_feeds() == []


async def test_adding_a_polled_once_url_makes_it_a_feed(services, feed_server):
    services.ingest._fetch_pages = False
    feed_server.add("/later.xml", make_rss(2, base=feed_server.url("/")), etag='"v7"')
    url = feed_server.url("/later.xml")
    await services.ingest.poll([url])
    feed = await services.feeds.add(OPERATOR, url)
    assert not feed.one_off and feed.etag == '"v7"'  # its validators are kept
    assert [f.url for f in await services.feeds.operator_feeds()] == [url]
    assert [f.id for f in await services.store.feeds.due(services.clock(), operator_urls=[])] == [
        feed.id
    ]


async def test_failing_one_off_url_is_never_disabled(services, feed_server):
    services.ingest._disable_after = 2
    feed_server.add("/gone.xml", "gone", status=410)
    url = feed_server.url("/gone.xml")
    for _ in range(3):
        report = await services.ingest.poll([url])
        assert report.feeds[0].status == "error" and "410" in report.feeds[0].error
    feed = await services.store.feeds.get_by_url(url, guild_id=0)
    assert feed.one_off and not feed.disabled and feed.failures == 3
    assert report.all_failed
