"""What `/ingest` (the shell) and `secbrief ingest` say after a run: each failing feed
once (no WARNING log line repeating it), "… and N more" past ten, a hint when no feed
host could be reached, and the feeds skipped while they back off."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime, timedelta

from bot.news.fetch import Fetcher
from bot.news.ssrf import HostResolutionError
from bot.shell import OFFLINE_HINT, Shell, summary
from tests.feedserver import make_rss


def closed_port_urls(count: int) -> list[str]:
    """URLs on 127.0.0.1 ports nothing listens on (connection refused)."""
    urls = []
    for i in range(count):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        urls.append(f"http://127.0.0.1:{port}/feed{i}.xml")
    return urls


class NoDNS(Fetcher):
    """A fetcher on a machine whose resolver answers nothing."""

    async def check_hop(self, url: str) -> None:
        raise HostResolutionError("cannot resolve host feeds.example: "
                                  "[Errno -3] Temporary failure in name resolution")


async def test_offline_shell_ingest_summarises_without_flooding(services, settings, caplog):
    services.clock.now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # retries: same day
    urls = closed_port_urls(12)
    settings.feeds_file.write_text("\n".join(urls) + "\n")
    shell = Shell(services)
    with caplog.at_level(logging.INFO):
        text = await shell.handle("/ingest")
    lines = text.splitlines()
    assert lines[0].startswith("added 0, duplicates 0, failed 12")
    failures = [line for line in lines if line.startswith("  ! ")]
    assert len(failures) == 10
    assert all("cannot connect" in line for line in failures)
    assert "  … and 2 more" in lines
    assert lines[-1] == "  " + OFFLINE_HINT
    for url in urls[:10]:
        assert text.count(url) == 1
    warnings = [r for r in caplog.records
                if r.name == "bot.services.ingest" and r.levelno >= logging.WARNING]
    assert warnings == []

    # The next /ingest polls none of them: they are backing off, and it says so.
    services.clock.advance(seconds=5)
    waiting = await shell.handle("/ingest")
    soonest = min(f.next_poll_at for f in await services.feeds.operator_feeds())
    assert waiting.splitlines()[0].startswith("added 0, duplicates 0, failed 0")
    assert (f"12 feeds are backing off after failures (not polled), next retry "
            f"{soonest:%H:%M} UTC") in waiting
    assert OFFLINE_HINT not in waiting


async def test_backing_off_feeds_are_listed_in_the_json_report(services):
    urls = closed_port_urls(2)
    await services.ingest.poll(operator_urls=urls)
    report = await services.ingest.poll(operator_urls=urls)
    data = report.as_dict()
    assert data["feeds"] == [] and not report.all_failed
    assert sorted(b["url"] for b in data["backing_off"]) == sorted(urls)
    assert all(b["failures"] == 1 and b["next_retry"] > services.clock()
               for b in data["backing_off"])
    # a retry on another day shows its date
    services.clock.now = services.clock.now - timedelta(days=2)
    assert "next retry 20" in summary(await services.ingest.poll(operator_urls=urls))


async def test_dns_failures_count_as_offline_too(services):
    services.ingest._fetcher = NoDNS(services.session, services.ingest._fetcher.limits,
                                     allow_private=True)
    report = await services.ingest.poll(operator_urls=closed_port_urls(3))
    assert {o.error_kind for o in report.feeds} == {"dns"}
    assert report.unreachable and report.all_failed
    assert summary(report).endswith(OFFLINE_HINT)


async def test_no_offline_hint_when_some_host_answered(services, feed_server):
    services.ingest._fetch_pages = False
    feed_server.add("/gone.xml", "gone", status=410)
    feed_server.add("/ok.xml", make_rss(2, base=feed_server.url("/")))
    urls = [*closed_port_urls(2), feed_server.url("/gone.xml"), feed_server.url("/ok.xml")]
    report = await services.ingest.poll(operator_urls=urls)
    text = summary(report)
    assert report.failed == 3 and not report.unreachable and not report.all_failed
    assert OFFLINE_HINT not in text and "more" not in text
    assert text.count("  ! ") == 3
    kinds = sorted(o.error_kind for o in report.feeds if o.error_kind)
    assert kinds == ["connect", "connect", "fetch"]
