"""Several processes on one store refresh each due vulnerability source once: the
refresh is claimed per source with a lease (storage/claims.py). Two VulnServices, each
on its own connection to the store (as two processes are), against KEV / EPSS / NVD
served from 127.0.0.1; a dead process's claim is taken over once its lease runs out;
`--force` leaves a live claim alone and says so."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.services.container import open_services
from storage.claims import ClaimRepository
from storage.models import NewArticle
from tests.cli import asecbrief, cli_env
from tests.conftest import Clock
from tests.feedserver import FeedServer
from tests.services.vuln_files import GZ, JSON, MakeVulns, vuln_maker
from tests.vulns.conftest import fixture

DEAD = "otherhost:999999:dead00"  # a process that claimed a refresh and died
SLOW = 0.5  # seconds each source takes to answer: both refreshes are under way at once


@pytest.fixture
async def make_vulns(clock: Clock) -> AsyncIterator[MakeVulns]:
    async for make in vuln_maker(clock):
        yield make


def serve_sources(server: FeedServer, *, delay: float = 0.0) -> dict[str, str]:
    server.add("/kev.json", fixture("kev.json"), content_type=JSON, delay=delay)
    server.add("/epss.csv.gz", fixture("epss_scores.csv.gz"), content_type=GZ, delay=delay)
    server.add("/nvd", fixture("nvd_CVE-2024-3400.json"), content_type=JSON, delay=delay)
    return {"kev": server.url("/kev.json"), "epss": server.url("/epss.csv.gz"),
            "nvd": server.url("/nvd")}


HITS = {"kev": "/kev.json", "epss": "/epss.csv.gz", "nvd": "/nvd"}


async def test_two_processes_refreshing_at_once_fetch_each_source_once(
    settings: Settings, clock: Clock, feed_server: FeedServer, make_vulns: MakeVulns,
):
    urls = serve_sources(feed_server, delay=SLOW)
    async with open_services(settings, clock=clock) as one, \
            open_services(settings, clock=clock) as two:
        assert one.store.db is not two.store.db
        await one.store.articles.add(  # a CVE for NVD to be asked about
            NewArticle(source="Wire", title="PAN-OS flaw CVE-2024-3400 exploited",
                       url="https://wire.example.test/pan-os", text="text",
                       published_at=clock(), cves=["CVE-2024-3400"]),
            story_id=None, now=clock())
        first = make_vulns(one.store, **urls, worker="host-a:1:aaaaaa")
        second = make_vulns(two.store, **urls, worker="host-b:2:bbbbbb")
        reports = await asyncio.gather(first.refresh(), second.refresh())
        for source, path in HITS.items():
            assert feed_server.hits[path] == 1, source
            pair = [next(r for r in rs if r.source == source) for rs in reports]
            assert sorted(r.outcome for r in pair) == ["claimed_elsewhere", "updated"], source
            elsewhere = next(r for r in pair if r.outcome == "claimed_elsewhere")
            winner = first if elsewhere is pair[1] else second
            assert elsewhere.claimed_by == winner.worker
            assert elsewhere.claimed_until is not None and elsewhere.claimed_until > clock()
            # released once done
            assert await ClaimRepository(one.store.db).source_claim(source) == (None, None)
        assert await one.store.vulns.kev_count() == 3
        assert await one.store.vulns.epss_count() == 5
        assert await one.store.vulns.cvss_count(source="nvd") == 1
        # nothing is due now: neither fetches again
        for rs in await asyncio.gather(first.refresh(), second.refresh()):
            assert {r.outcome for r in rs} == {"not_due"}
        assert sum(feed_server.hits[p] for p in HITS.values()) == 3


async def test_a_dead_processs_claim_is_taken_over_once_its_lease_runs_out(
    store, clock: Clock, feed_server: FeedServer, make_vulns: MakeVulns,
):
    urls = serve_sources(feed_server)
    service = make_vulns(store, kev=urls["kev"], claim_lease=30.0)
    claims = ClaimRepository(store.db)
    assert await claims.claim_source(DEAD, "kev", now=clock(), lease=30.0, due_by=None)

    kev = (await service.refresh())[0]
    assert (kev.outcome, kev.claimed_by) == ("claimed_elsewhere", DEAD)
    assert kev.claimed_until == clock() + timedelta(seconds=30)
    # --force refreshes what is not due, but never beside a live claim
    kev = (await service.refresh(force=True))[0]
    assert (kev.outcome, kev.claimed_by) == ("claimed_elsewhere", DEAD)
    assert feed_server.hits["/kev.json"] == 0
    assert await claims.source_claim("kev") == (DEAD, clock() + timedelta(seconds=30))

    clock.advance(seconds=31)  # the dead process's lease has run out
    kev = (await service.refresh())[0]
    assert (kev.outcome, kev.records) == ("updated", 3)
    assert feed_server.hits["/kev.json"] == 1
    assert await claims.source_claim("kev") == (None, None)


async def test_a_failed_refresh_releases_its_claim(
    store, clock: Clock, feed_server: FeedServer, make_vulns: MakeVulns,
):
    feed_server.add("/kev.json", b"<html>maintenance</html>", content_type="text/html")
    service = make_vulns(store, kev=feed_server.url("/kev.json"))
    kev = (await service.refresh())[0]
    assert kev.outcome == "failed"
    claims = ClaimRepository(store.db)
    assert await claims.source_claim("kev") == (None, None)
    # another process may retry it as soon as it is due again
    clock.advance(minutes=6)
    assert await claims.claim_source("host-b:2:bbbbbb", "kev", now=clock(), lease=30.0,
                                     due_by=clock())


async def test_cli_json_says_claimed_elsewhere_with_and_without_force(
    db_path: Path | str, tmp_path: Path, settings: Settings, feed_server: FeedServer,
):
    urls = serve_sources(feed_server)
    async with open_services(settings, clock=lambda: datetime.now(UTC)) as services:
        assert await ClaimRepository(services.store.db).claim_source(
            DEAD, "kev", now=datetime.now(UTC), lease=600.0, due_by=None)
    env = cli_env(db_path, tmp_path, SECBRIEF_ALLOW_PRIVATE_FEEDS="1",
                  SECBRIEF_KEV_URL=urls["kev"], SECBRIEF_EPSS_URL="", SECBRIEF_NVD_URL="")
    for args in (("--json",), ("--force", "--json")):
        code, out, err = await asecbrief(env, "vulns", "refresh", *args)
        assert code == 0, err
        kev = next(s for s in json.loads(out)["sources"] if s["source"] == "kev")
        assert (kev["outcome"], kev["claimed_by"]) == ("claimed_elsewhere", DEAD), args
        assert kev["claimed_until"] and kev["error"] is None
    code, out, err = await asecbrief(env, "vulns", "refresh", "--force")
    assert code == 0, err
    assert (f"CISA KEV: being refreshed by another process ({DEAD}, lease until" in out
            and "--force does not take over a live claim" in out)
    assert feed_server.hits["/kev.json"] == 0
