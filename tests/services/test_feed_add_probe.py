"""`/feeds add` fetches the URL once (the real Fetcher and parser) before saving it:
an HTTP error, a web page or a private address is refused with the reason and nothing
is saved; `/feeds status` says "pending" until the first poll and when a failing feed
is retried."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.services.caller import Caller
from bot.services.errors import UserError
from bot.services.feeds import poll_state
from tests.feedserver import make_rss
from tests.snapshot import snapshot

ADMIN = Caller(user_id=102, guild_id=9001, can_manage_guild=True)
PAGE = "<!doctype html><html><head><title>News</title></head><body><p>Hi</p></body></html>"


async def test_a_feed_is_fetched_once_and_saved(services, feed_server):
    feed_server.add("/feed.xml", make_rss(3))
    feed = await services.feeds.add(ADMIN, feed_server.url("/feed.xml"))
    assert feed_server.hits["/feed.xml"] == 1
    assert [f.url for f in await services.feeds.list(ADMIN)] == [feed.url]
    assert poll_state(feed).state == "pending"


@pytest.mark.parametrize(
    ("path", "route", "message"),
    [
        ("/gone.xml", {"body": "no", "status": 404}, "HTTP 404"),
        ("/broken.xml", {"body": "oops", "status": 500}, "HTTP 500"),
        ("/page.html", {"body": PAGE, "content_type": "text/html"}, "web page"),
        ("/data.json", {"body": '{"a": 1}', "content_type": "application/json"},
         "not a feed"),
    ],
)
async def test_what_is_not_a_feed_is_refused_and_nothing_saved(services, feed_server, path,
                                                               route, message):
    feed_server.add(path, **route)
    before = await snapshot(services.store)
    with pytest.raises(UserError, match=message) as refused:
        await services.feeds.add(ADMIN, feed_server.url(path))
    assert "Nothing was added" in str(refused.value)
    assert await snapshot(services.store) == before


async def test_private_address_is_refused_before_any_fetch(services, feed_server):
    feed_server.add("/feed.xml", make_rss(1))
    services.feeds._allow_private = False
    services.feeds._fetcher.allow_private = False
    before = await snapshot(services.store)
    with pytest.raises(UserError, match="Refused"):
        await services.feeds.add(ADMIN, feed_server.url("/feed.xml"))
    assert feed_server.hits["/feed.xml"] == 0
    assert await snapshot(services.store) == before


async def test_poll_state_pending_ok_failing_disabled(services, feed_server):
    feed_server.add("/feed.xml", make_rss(1))
    feed = await services.feeds.add(ADMIN, feed_server.url("/feed.xml"))
    now = services.clock()
    store = services.store.feeds
    await store.record_success(feed.id, now=now, next_poll_at=now, etag=None,
                               last_modified=None, title="T")
    assert poll_state(await store.get(feed.id)).state == "ok"
    retry = now + timedelta(minutes=30)
    await store.record_failure(feed.id, now=now, error="HTTP 503", next_poll_at=retry,
                               disable=False)
    failing = poll_state(await store.get(feed.id))
    assert (failing.state, failing.retry_at) == ("failing", retry)
    await store.record_failure(feed.id, now=now, error="HTTP 503", next_poll_at=retry,
                               disable=True)
    assert poll_state(await store.get(feed.id)).state == "disabled"
