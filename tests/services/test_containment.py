"""One bad feed never stops the others, in the default worker mode (SECBRIEF_WORKERS=1:
a real worker process). Good feeds share one ingest run with an HTML page, an empty
body, a feed of nothing but undefined entities, a truncated feed, and a feed whose
request kills the worker process while it is busy: every good feed lands whole, each
bad one has its own error. Once through IngestService.poll, once through the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web

from bot.services.container import Services, open_services
from bot.services.workers import WorkerPool
from tests.conftest import REPO, Clock, make_settings
from tests.feedserver import FeedServer, make_atom, make_rss

KILL_WAIT = 30.0  # seconds the killing route waits for a busy worker (a busy machine)

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    b"<body><h1>Checking your browser before accessing the site</h1></body></html>"
)


def entities_only() -> bytes:
    item = ("<item><title>&foo;</title><link>&foo;</link><guid>&foo;</guid>"
            "<description>&foo;</description><pubDate>&foo;</pubDate></item>")
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>&foo;</title>'
        f"<link>&foo;</link><description>&foo;</description>{item * 4}</channel></rss>"
    ).encode()


def truncated(base: str) -> bytes:
    """Six items, cut off in the middle of the fourth."""
    body = make_rss(6, base=base, title_prefix="Tau")
    fourth = body.index(b"<item>", body.index(b"<item>", body.index(b"<item>") + 1) + 1)
    fourth = body.index(b"<item>", fourth + 1)
    return body[: fourth + 40]


GOOD = {"/alpha.xml": 30, "/beta.xml": 30, "/gamma.xml": 30, "/kill.xml": 5}
BAD = {
    "/page.html": "not a feed: HTML page",
    "/empty.xml": "empty body",
    "/entities.xml": "no entries",
}


def serve_mixed(server: FeedServer, kill: Callable[[], object]) -> list[str]:
    """Register every route; ``kill`` runs when /kill.xml is requested. Returns URLs."""
    server.add("/alpha.xml", make_rss(30, base=server.url("/alpha/"), title_prefix="Alpha"))
    server.add("/beta.xml", make_atom(30, base=server.url("/beta/"), title_prefix="Beta"))
    server.add("/gamma.xml", make_rss(30, base=server.url("/gamma/"), title_prefix="Gamma"))
    server.add("/page.html", HTML_PAGE, content_type="text/html; charset=utf-8")
    server.add("/empty.xml", b"")
    server.add("/entities.xml", entities_only())
    server.add("/truncated.xml", truncated(server.url("/tau/")))
    kill_feed = make_rss(5, base=server.url("/kappa/"), title_prefix="Kappa")

    async def killing(request: web.Request) -> web.StreamResponse:
        await kill()
        return web.Response(body=kill_feed, content_type="application/rss+xml")

    server.handler("/kill.xml", killing)
    return [server.url(p) for p in (*GOOD, *BAD, "/truncated.xml")]


def check_outcomes(server: FeedServer, feeds: list[dict]) -> None:
    by_url = {f["url"]: f for f in feeds}
    for path, count in GOOD.items():
        outcome = by_url[server.url(path)]
        assert (outcome["status"], outcome["added"], outcome["failed"]) == ("ok", count, 0), path
    for path, message in BAD.items():
        outcome = by_url[server.url(path)]
        assert outcome["status"] == "error", path
        assert message in outcome["error"] and outcome["error_kind"] == "parse", path
    assert "undefined entit" in by_url[server.url("/entities.xml")]["error"]
    cut = by_url[server.url("/truncated.xml")]
    assert (cut["status"], cut["added"]) == ("ok", 3)  # the complete items before the cut
    assert cut["ill_formed"]
    assert all("BrokenProcessPool" not in (f["error"] or "") for f in feeds)


@pytest.fixture
async def worker_services(db_path: Path, tmp_path: Path, clock: Clock) -> AsyncIterator[Services]:
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("")
    settings = make_settings(db_path, SECBRIEF_WORKERS=1, SECBRIEF_FETCH_PAGES=0,
                             SECBRIEF_FEEDS=feeds)
    async with open_services(settings, clock=clock) as services:
        yield services


async def test_one_run_contains_every_bad_feed_and_a_killed_worker(worker_services, feed_server):
    pool = worker_services.ingest._executor
    assert isinstance(pool, WorkerPool)  # the default mode: a real worker process
    killed: list[int] = []

    async def kill() -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + KILL_WAIT
        while not pool.busy() and loop.time() < deadline:
            await asyncio.sleep(0.001)
        busy = pool.busy()
        assert busy, "the worker never became busy"
        os.kill(busy[0][0], signal.SIGKILL)
        killed.append(busy[0][0])

    urls = serve_mixed(feed_server, kill)
    report = await worker_services.ingest.poll(urls)

    assert killed and pool.rebuilds >= 1
    data = report.as_dict()
    check_outcomes(feed_server, data["feeds"])
    assert report.added == sum(GOOD.values()) + 3
    assert report.failed == len(BAD)
    assert sorted(e["url"] for e in report.errors) == sorted(feed_server.url(p) for p in BAD)
    assert await worker_services.store.articles.count() == report.added
    # the pool keeps working after the run
    again = await worker_services.ingest.poll([feed_server.url("/alpha.xml")])
    assert again.feeds[0].status in ("ok", "not_modified") and again.failed == 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[-1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] not in (b"Z", b"X"):
                found.append(int(entry))
    return found


async def test_cli_ingest_once_contains_them_too(db_path, tmp_path, feed_server):
    process: asyncio.subprocess.Process | None = None
    killed: list[int] = []

    async def kill() -> None:  # the CLI's worker is its only child process
        loop = asyncio.get_running_loop()
        deadline = loop.time() + KILL_WAIT
        while loop.time() < deadline:
            children = _children(process.pid) if process else []
            if children:
                os.kill(children[0], signal.SIGKILL)
                killed.append(children[0])
                return
            await asyncio.sleep(0.005)
        raise AssertionError("the CLI never started a worker process")

    urls = serve_mixed(feed_server, kill)
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECBRIEF_")}
    env.update(SECBRIEF_DATABASE=str(db_path), SECBRIEF_ALLOW_PRIVATE_FEEDS="1",
               SECBRIEF_FETCH_PAGES="0", SECBRIEF_FEEDS=str(feeds), SECBRIEF_FETCH_TIMEOUT="40",
               PYTHONPATH=str(REPO))
    args = [arg for url in urls for arg in ("--feed", url)]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "ingest", "--once", *args, "--json",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=150)
    assert process.returncode == 0, stderr.decode()
    assert killed
    data = json.loads(stdout)
    check_outcomes(feed_server, data["feeds"])
    assert {"added", "duplicates", "failed", "added_ids", "feeds", "errors"} <= data.keys()
    assert data["added"] == sum(GOOD.values()) + 3 and data["failed"] == len(BAD)
    assert b"Traceback" not in stderr
