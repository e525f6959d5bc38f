"""The CLI contract outside acceptance tests rely on (DESIGN.md): real `secbrief`
processes, a real store, feeds served on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from tests.cli import asecbrief, secbrief
from tests.conftest import FIXTURES
from tests.feedserver import FeedServer, make_rss

SEED = FIXTURES / "articles" / "000_seed_format.txt"  # the seed's format, our own story
DEBRIS = ("Listen to this Post", "Image Source", "Featured Image", "craiyon", "Undercode AI DI")


@pytest.fixture
def seeded(env) -> dict[str, str]:
    done = secbrief(env, "import", str(SEED), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["added"], report["duplicates"], report["failed"]) == (1, 0, 0)
    assert report["added_ids"]
    return env


def test_seed_briefing_actor_and_search(seeded):
    briefing = json.loads(secbrief(seeded, "briefing", "--since", "100000h", "--json").stdout)
    (item,) = briefing["items"]
    assert item["title"] == (
        "Treasury Sanctions Chinese Network Contractor Over Flax Typhoon Intrusions"
    )
    assert len(item["key_points"]) == 10 and item["commentary"]
    assert item["sources"] == ["The Record"]
    assert {"Flax Typhoon", "Salt Typhoon"} <= set(item["actors"])
    for key in ("url", "cves"):
        assert key in item
    assert not any(d in json.dumps(briefing) for d in DEBRIS)

    hits = json.loads(secbrief(seeded, "search", "sanctions", "--json").stdout)
    assert hits["results"][0]["title"] == item["title"]

    flax = json.loads(secbrief(seeded, "actor", "Flax Typhoon", "--json").stdout)
    assert flax["name"] == "Flax Typhoon" and flax["country"] == "CN"
    assert "Ethereal Panda" in flax["aliases"] and flax["description"]
    assert [a["title"] for a in flax["articles"]] == [item["title"]]
    assert set(flax["articles"][0]) >= {"id", "title", "url", "published_at"}
    panda = json.loads(secbrief(seeded, "actor", "Ethereal", "Panda", "--json").stdout)
    assert panda["name"] == "Flax Typhoon"
    salt = json.loads(secbrief(seeded, "actor", "Salt Typhoon", "--json").stdout)
    assert salt["articles"] and salt["articles"][0]["title"] == item["title"]

    unknown = secbrief(seeded, "actor", "Lianhua Cloudgate Technology")
    assert unknown.returncode == 1
    assert "appears in 1 stored story, with Flax Typhoon" in unknown.stdout


def test_import_twice_adds_nothing(seeded):
    again = json.loads(secbrief(seeded, "import", str(SEED), "--json").stdout)
    assert (again["added"], again["duplicates"]) == (0, 1)


def test_unknown_actor_exits_1_with_suggestions(env):
    done = secbrief(env, "actor", "Cozy Beer", "--json")
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["status"] == "unknown" and "Cozy Bear" in data["suggestions"]


def test_shell_reads_commands_from_stdin(seeded):
    done = secbrief(seeded, "shell", stdin="/actor cozy bear\n/search sanctions\n/bogus\n")
    assert done.returncode == 0
    assert "APT29" in done.stdout and "Midnight Blizzard" in done.stdout
    assert "1 result for" in done.stdout
    assert "Unknown command" in done.stdout


def test_run_without_token_starts_the_shell(env):
    done = secbrief(env, "run", stdin="/help\n")
    assert done.returncode == 0
    assert "DISCORD_TOKEN is not set" in done.stderr
    assert "The store is empty" in done.stdout and "/import" in done.stdout


def test_bad_input_exits_non_zero_with_advice(env):
    bad_since = secbrief(env, "briefing", "--since", "yesterday")
    assert bad_since.returncode == 2 and "24h" in bad_since.stderr
    empty_search = secbrief(env, "search", "--json", "!!!")
    assert empty_search.returncode == 2 and "words" in empty_search.stderr
    bad_setting = secbrief({**env, "SECBRIEF_POLL_INTERVAL": "soon"}, "briefing")
    assert bad_setting.returncode == 2 and "SECBRIEF_POLL_INTERVAL" in bad_setting.stderr
    no_feeds = secbrief({**env, "SECBRIEF_FEEDS": "/nonexistent/feeds.txt"}, "ingest", "--once")
    assert no_feeds.returncode == 2 and "SECBRIEF_FEEDS" in no_feeds.stderr


def test_bad_actors_file_is_reported(env, tmp_path):
    broken = tmp_path / "actors.toml"
    broken.write_text('[[actor]]\nname = "Unclosed\n')
    done = secbrief({**env, "SECBRIEF_ACTORS_FILE": str(broken)}, "actor", "APT29")
    assert done.returncode == 2 and "actors.toml" in done.stderr
    assert "Traceback" not in done.stderr


async def test_ingest_once_json_and_ssrf_refusal(env):
    async with FeedServer() as server:
        server.add("/feed.xml", make_rss(30, base=server.url("/")), etag='"1"')
        url = server.url("/feed.xml")
        _, out, _ = await asecbrief({**env, "SECBRIEF_FETCH_PAGES": "0"}, "ingest", "--once",
                                    "--feed", url, "--json")
        report = json.loads(out)
        assert report["added"] == 0 and report["failed"] == 1
        assert "SECBRIEF_ALLOW_PRIVATE_FEEDS" in report["errors"][0]["error"]
        assert server.hits["/feed.xml"] == 0

        allowed = {**env, "SECBRIEF_FETCH_PAGES": "0", "SECBRIEF_ALLOW_PRIVATE_FEEDS": "1"}
        first = json.loads((await asecbrief(allowed, "ingest", "--once", "--feed", url,
                                            "--json"))[1])
        assert (first["added"], first["failed"]) == (30, 0) and len(first["added_ids"]) == 30
        second = json.loads((await asecbrief(allowed, "ingest", "--once", "--feed", url,
                                             "--json"))[1])
        assert (second["added"], second["duplicates"]) == (0, 0)
        assert second["feeds"][0]["status"] == "not_modified"


def test_wire_story_from_two_sources_is_one_briefing_item(env):
    wire = FIXTURES / "wire"
    done = secbrief(env, "import", str(wire / "wire_a.txt"), str(wire / "wire_b.txt"), "--json")
    assert json.loads(done.stdout)["added"] == 2
    briefing = json.loads(secbrief(env, "briefing", "--since", "100000h", "--json").stdout)
    (item,) = briefing["items"]
    assert item["sources"] == ["SecurityWeek", "BleepingComputer"]
    assert item["cves"] == ["CVE-2026-21887"]
    assert len(item["key_points"]) >= 3 and item["commentary"]
    assert any("2 sources" in line for line in item["commentary"])
