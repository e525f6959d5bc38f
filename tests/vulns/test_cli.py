"""`secbrief vulns refresh|status [--json]` as real processes against 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import asecbrief, cli_env
from tests.feedserver import FeedServer
from tests.vulns.conftest import fixture


@pytest.fixture
def env(db_path: Path | str, tmp_path: Path) -> dict[str, str]:
    return cli_env(db_path, tmp_path, SECBRIEF_ALLOW_PRIVATE_FEEDS="1", SECBRIEF_KEV_URL="",
                   SECBRIEF_EPSS_URL="", SECBRIEF_NVD_URL="")


async def test_refresh_then_status(env: dict[str, str], feed_server: FeedServer) -> None:
    feed_server.add("/kev.json", fixture("kev.json"), content_type="application/json",
                    etag='"k1"')
    feed_server.add("/epss.csv.gz", fixture("epss_scores.csv.gz"),
                    content_type="application/gzip")
    env = {**env, "SECBRIEF_KEV_URL": feed_server.url("/kev.json"),
           "SECBRIEF_EPSS_URL": feed_server.url("/epss.csv.gz")}
    code, out, err = await asecbrief(env, "vulns", "refresh", "--json")
    assert code == 0, err
    sources = {s["source"]: s for s in json.loads(out)["sources"]}
    assert (sources["kev"]["outcome"], sources["kev"]["records"],
            sources["kev"]["data_date"]) == ("updated", 3, "2026-02-27")
    assert (sources["epss"]["records"], sources["epss"]["data_date"]) == (5, "2026-02-28")
    assert (sources["nvd"]["enabled"], sources["nvd"]["outcome"]) == (False, "off")

    code, out, err = await asecbrief(env, "vulns", "refresh")
    assert code == 0, err
    assert "CISA KEV: not due until" in out and "--force" in out
    assert feed_server.hits["/kev.json"] == 1

    code, out, _ = await asecbrief(env, "vulns", "refresh", "--force")
    assert code == 0 and "CISA KEV: not modified (3 entries, data of 2026-02-27)" in out

    code, out, err = await asecbrief(env, "vulns", "status", "--json")
    assert code == 0, err
    status = {s["source"]: s for s in json.loads(out)["sources"]}
    assert status["kev"]["records"] == 3 and status["kev"]["last_success"]
    assert status["epss"]["data_date"] == "2026-02-28" and status["epss"]["next_refresh"]
    assert status["nvd"] == {**status["nvd"], "enabled": False, "url": None}
    code, out, _ = await asecbrief(env, "vulns", "status")
    assert code == 0
    assert out.splitlines()[0].startswith("CISA KEV: 3 entries, data of 2026-02-27; last success")
    assert "NVD CVSS: off" in out


async def test_every_enabled_source_failing_exits_1(
    env: dict[str, str], feed_server: FeedServer
) -> None:
    feed_server.add("/kev.json", b"<html>maintenance</html>", content_type="text/html")
    env = {**env, "SECBRIEF_KEV_URL": feed_server.url("/kev.json")}
    code, out, err = await asecbrief(env, "vulns", "refresh")
    assert code == 1, err
    assert "CISA KEV: failed — not KEV JSON" in out


async def test_one_source_failing_of_two_exits_0(
    env: dict[str, str], feed_server: FeedServer
) -> None:
    feed_server.add("/kev.json", fixture("kev.json"), content_type="application/json")
    env = {**env, "SECBRIEF_KEV_URL": feed_server.url("/kev.json"),
           "SECBRIEF_EPSS_URL": feed_server.url("/missing.csv.gz")}
    code, out, _ = await asecbrief(env, "vulns", "refresh", "--json")
    assert code == 0
    outcomes = [(s["source"], s["outcome"]) for s in json.loads(out)["sources"]]
    assert outcomes == [("kev", "updated"), ("epss", "failed"), ("nvd", "off")]


async def test_bad_input_exits_2(env: dict[str, str]) -> None:
    code, _, err = await asecbrief({**env, "SECBRIEF_KEV_URL": "ftp://example.test/kev"},
                                   "vulns", "status")
    assert code == 2 and "SECBRIEF_KEV_URL" in err and "not an http(s) URL" in err
    code, _, err = await asecbrief({**env, "SECBRIEF_EPSS_ALERT": "1.5"}, "vulns", "status")
    assert code == 2 and "SECBRIEF_EPSS_ALERT" in err
    code, _, err = await asecbrief(env, "vulns", "reload")
    assert code == 2 and err.count("\n") == 1
