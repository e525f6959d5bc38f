"""The shell's /search says how many results there are in all, and its /feeds status
reads a feed's state the way the Discord cog does (bot.services.feeds.poll_state)."""

from __future__ import annotations

import re

from bot.shell import Shell
from tests.feedserver import make_rss


async def test_shell_search_says_the_total_beyond_the_page(services, feed_server):
    services.ingest._fetch_pages = False
    feed_server.add("/many.xml", make_rss(14, base=feed_server.url("/")))
    assert (await services.ingest.poll([feed_server.url("/many.xml")])).added == 14
    shell = Shell(services)

    out = await shell.handle("/search patch released")
    assert out.splitlines()[0] == (
        "14 results for “patch released” (the newest 10 shown), newest first:")
    assert len(re.findall(r"^• ", out, flags=re.M)) == 10

    one = await shell.handle("/search CVE-2025-1003")
    assert one.splitlines()[0].startswith("1 result for “CVE-2025-1003”")


async def test_shell_feeds_status_pending_then_failing_with_next_try(services, feed_server):
    shell = Shell(services)
    feed_server.add("/f.xml", make_rss(2, base=feed_server.url("/")))
    url = feed_server.url("/f.xml")
    assert (await shell.handle(f"/feeds add {url}")).startswith("Added ")

    status = await shell.handle("/feeds status")
    assert f"• [pending] {url}" in status
    assert "not polled yet" in status
    assert f"• [pending] {url}" in await shell.handle("/feeds list")

    feed_server.add("/f.xml", "busy", status=503)
    await shell.handle("/ingest")
    feed = await services.store.feeds.get_by_url(url, guild_id=0)
    assert feed.failures == 1 and feed.next_poll_at is not None
    status = await shell.handle("/feeds status")
    assert f"• [failing] {url}" in status
    assert "1 failure in a row" in status
    assert f"next try {feed.next_poll_at:%Y-%m-%d %H:%M} UTC" in status
    assert "503" in status


async def test_shell_points_an_unknown_but_mentioned_name_at_its_own_search(services, tmp_path):
    article = tmp_path / "zorblax.md"
    article.write_text(
        "---\ntitle: \"Zorblax crew extorts logistics firms\"\ndate: 2026-11-20\n"
        "source: Shell Wire\n---\n\n# Zorblax crew extorts logistics firms\n\n"
        + "A group calling itself Zorblax stole shipping records from three logistics "
        "firms and demanded payment to keep them off its leak site. " * 3 + "\n")
    assert (await services.ingest.import_files([article])).added == 1
    out = await Shell(services).handle("/actor Zorblax")
    assert out.startswith("No actor called “Zorblax” in the catalogue.")
    assert "Try: /search Zorblax" in out
    assert "secbrief search" not in out
