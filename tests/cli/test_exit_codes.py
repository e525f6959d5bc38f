"""The exit-code table (README, "Exit codes") and errors a script can rely on: each
row and each error runs the real `secbrief` entry point in a subprocess and checks the
exit code, a one-line message and that no traceback is printed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from aiohttp import web

from tests.cli import asecbrief, cli_env, command, count, secbrief
from tests.conftest import FIXTURES
from tests.feedserver import FeedServer, make_rss

ARTICLE = FIXTURES / "articles" / "001_corvane_securegate_zero_day.txt"
SHADOW = "".join(f"{user}:*:19700:0:99999:7:::\n"
                 for user in ("root", "daemon", "bin", "sys", "sync", "games", "man", "lp"))


def one_line(stderr: str, *expected: str) -> str:
    """The single `secbrief:` line of stderr, holding every expected fragment."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("secbrief")]
    assert len(lines) == 1, stderr
    for fragment in expected:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def env(db_path: Path | str, tmp_path: Path) -> dict[str, str]:
    return cli_env(db_path, tmp_path, SECBRIEF_FETCH_PAGES="0")


@pytest.fixture
def private_ok(env) -> dict[str, str]:
    return {**env, "SECBRIEF_ALLOW_PRIVATE_FEEDS": "1"}


# -- 0: the command did its job ------------------------------------------------------


async def test_ingest_with_some_failing_feeds_exits_0_and_reports_them(private_ok):
    async with FeedServer() as server:
        server.add("/good.xml", make_rss(3, base=server.url("/")))
        server.add("/broken.xml", b"oops", status=500)
        code, out, err = await asecbrief(private_ok, "ingest", "--once", "--json",
                                         "--feed", server.url("/good.xml"),
                                         "--feed", server.url("/broken.xml"))
    assert code == 0, err
    report = json.loads(out)
    assert report["added"] == 3
    assert [e["url"] for e in report["errors"]] == [server.url("/broken.xml")]


def test_import_and_forget_exit_0(env, db_path):
    done = secbrief(env, "import", str(ARTICLE), "--json")
    assert done.returncode == 0, done.stderr
    (article_id,) = json.loads(done.stdout)["added_ids"]
    forgot = secbrief(env, "forget", str(article_id), "--json")
    assert forgot.returncode == 0, forgot.stderr
    data = json.loads(forgot.stdout)
    assert data["removed"]["id"] == article_id and data["story_removed"] is True
    assert count(db_path, "articles") == 0
    again = secbrief(env, "import", str(ARTICLE), "--json")  # the import key went with it
    assert json.loads(again.stdout)["added"] == 1


# -- 1: nothing could be done --------------------------------------------------------


async def test_ingest_in_which_every_feed_failed_exits_1(private_ok):
    async with FeedServer() as server:
        server.add("/down.xml", b"down", status=503)
        code, out, err = await asecbrief(private_ok, "ingest", "--once", "--json",
                                         "--feed", server.url("/down.xml"),
                                         "--feed", server.url("/gone.xml"))
    assert code == 1, err
    assert "Traceback" not in err
    assert json.loads(out)["failed"] == 2


def test_unknown_actor_exits_1(env):
    done = secbrief(env, "actor", "Cozy Beer")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "Cozy Bear" in done.stdout


# -- 2: bad input, nothing changed -----------------------------------------------------


@pytest.mark.parametrize(
    "args, expected",
    [
        (("actor", ""), "actor name"),
        (("search", " "), "words to search for"),
        (("briefing", "--since", "0h"), "--since 0h covers nothing"),
        (("briefing", "--since", "yesterday"), "24h"),
        (("search", "ransomware", "--limit", "0"), "--limit: must be from 1 to 100"),
        (("search", "ransomware", "--limit", "many"), "--limit: 'many' is not a number"),
        (("forget", "424242"), "No stored article has id 424242"),
        (("forget", "https://nowhere.example/story?utm_source=x"),
         "No stored article has the URL https://nowhere.example/story"),
        (("forget", ""), "article's id or URL"),
        (("import", "/no/such/article.txt"), "not imported: /no/such/article.txt"),
        (("ingest", "--once", "--feed", "ftp://feeds.example/rss"), "http:// or https://"),
        (("ingest", "--once", "--feed", "http://127.0.0.1:9/feed.xml"),
         "SECBRIEF_ALLOW_PRIVATE_FEEDS"),
        (("bogus-command",), "invalid choice"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_bad_input_exits_2_with_one_line(env, db_path, args, expected):
    before = (count(db_path, "articles"), count(db_path, "feeds"))
    done = secbrief(env, *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    one_line(done.stderr, expected)
    assert (count(db_path, "articles"), count(db_path, "feeds")) == before


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("SECBRIEF_LOG_LEVEL", "LOUD", "unknown log level 'LOUD'"),
        ("SECBRIEF_DATABASE", "", "SECBRIEF_DATABASE: Value error, is empty"),
        ("SECBRIEF_POLL_INTERVAL", "soon", "SECBRIEF_POLL_INTERVAL"),
    ],
)
def test_bad_settings_exit_2(env, name, value, expected):
    done = secbrief({**env, name: value}, "search", "ransomware")
    assert done.returncode == 2
    one_line(done.stderr, "bad configuration", expected)


def test_log_level_is_case_insensitive(env):
    done = secbrief({**env, "SECBRIEF_LOG_LEVEL": "debug"}, "search", "ransomware")
    assert done.returncode == 0, done.stderr


def test_a_file_that_is_not_an_article_is_refused(env, db_path, tmp_path):
    shadow = tmp_path / "shadow"
    shadow.write_text(SHADOW)
    done = secbrief(env, "import", str(shadow))
    assert done.returncode == 2
    one_line(done.stderr, f"{shadow}: not an article: 8 lines of key:value records "
                          "and no prose sentences")
    assert count(db_path, "articles") == 0


def test_import_of_good_and_bad_files_imports_the_good_and_exits_2(env, db_path, tmp_path):
    shadow = tmp_path / "shadow"
    shadow.write_text(SHADOW)
    done = secbrief(env, "import", str(ARTICLE), str(shadow), str(tmp_path / "missing.md"),
                    "--json")
    assert done.returncode == 2
    report = json.loads(done.stdout)
    assert (report["added"], report["failed"]) == (1, 2)
    assert "Traceback" not in done.stderr
    assert len([ln for ln in done.stderr.splitlines() if "not imported" in ln]) == 2
    assert count(db_path, "articles") == 1


async def test_a_refused_feed_exits_2_before_polling_and_changes_nothing(env, db_path):
    async with FeedServer() as server:
        server.add("/feed.xml", make_rss(5, base=server.url("/")))
        code, out, err = await asecbrief(env, "ingest", "--once", "--json",
                                         "--feed", server.url("/feed.xml"))
        assert server.hits["/feed.xml"] == 0
    assert code == 2
    one_line(err, "refused", "SECBRIEF_ALLOW_PRIVATE_FEEDS")
    report = json.loads(out)  # --json still prints its one document
    assert (report["added"], report["failed"]) == (0, 1)
    assert (count(db_path, "feeds"), count(db_path, "articles")) == (0, 0)


async def test_good_feeds_beside_a_refused_one_are_polled_and_exit_is_2(private_ok):
    async with FeedServer() as server:
        server.add("/feed.xml", make_rss(4, base=server.url("/")))
        code, out, err = await asecbrief(private_ok, "ingest", "--once", "--json",
                                         "--feed", "gopher://feeds.example/x",
                                         "--feed", server.url("/feed.xml"))
    assert code == 2
    one_line(err, "--feed gopher://feeds.example/x")
    report = json.loads(out)
    assert report["added"] == 4 and report["failed"] == 1


# -- errors that must not print a traceback --------------------------------------------


def unusable_store_paths(tmp_path: Path) -> list[tuple[Path, str]]:
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    junk = tmp_path / "junk.db"
    junk.write_text("this is not SQLite, just some text that fills the header\n" * 20)
    paths = [(a_file / "secbrief.db", "cannot create its directory"),
             (junk, "not a secbrief store")]
    if Path("/proc/self").is_dir():  # a directory no one may write to, even root
        paths.append((Path("/proc/secbrief.db"), "cannot be opened or created"))
    return paths


@pytest.mark.sqlite_only  # store files: a directory that is a file, a file not SQLite
def test_unusable_store_paths_say_what_to_do(env, tmp_path):
    for path, expected in unusable_store_paths(tmp_path):
        done = secbrief({**env, "SECBRIEF_DATABASE": str(path)}, "search", "ransomware")
        assert done.returncode == 2, (path, done.stderr)
        one_line(done.stderr, f"cannot open the store {path}", expected, "SECBRIEF_DATABASE")


@pytest.mark.sqlite_only
@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_directory(env, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        done = secbrief({**env, "SECBRIEF_DATABASE": str(locked / "s.db")}, "search", "x")
    finally:
        locked.chmod(0o700)
    assert done.returncode == 2
    one_line(done.stderr, "cannot open the store", "SECBRIEF_DATABASE")


def test_an_unreachable_postgresql_store_says_what_to_do(tmp_path):
    url = f"postgresql://nobody@127.0.0.1:{closed_port()}/secbrief?connect_timeout=5"
    done = secbrief(cli_env(url, tmp_path), "search", "ransomware")
    assert done.returncode == 2, done.stderr
    one_line(done.stderr, "cannot open the PostgreSQL store", "SECBRIEF_DATABASE")


@pytest.fixture
def seeded(env) -> dict[str, str]:
    paths = sorted(str(p) for p in (FIXTURES / "articles").iterdir())
    done = secbrief(env, "import", *paths)
    assert done.returncode == 0, done.stderr
    return env


def test_output_into_a_closed_pipe_exits_quietly(seeded):
    proc = subprocess.Popen(command("search", "the", "--limit", "100"), env=seeded,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before anything is written, as after head -1
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141
    assert err == b""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_on_output_is_one_line(seeded):
    with open("/dev/full", "w") as full:
        done = subprocess.run(command("search", "the"), env=seeded, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    assert done.returncode == 1
    one_line(done.stderr, "cannot write the output", "No space left on device")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_discord_unreachable_at_start_is_retried_one_line_per_attempt(env):
    port = closed_port()
    bot_env = {**env, "DISCORD_TOKEN": "not.a.real-token",
               "SECBRIEF_DISCORD_API_BASE": f"http://127.0.0.1:{port}/api/v10"}
    proc = subprocess.Popen(command("run"), env=bot_env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            if sum("Discord unreachable" in ln for ln in lines) == 2:
                break
    finally:
        proc.terminate()
        rest = proc.communicate(timeout=60)[1]
    stderr = "".join(lines) + rest
    attempts = [ln for ln in lines if "Discord unreachable" in ln]
    assert len(attempts) == 2, stderr
    assert "Cannot connect to host 127.0.0.1" in attempts[0]
    assert attempts[0].rstrip().endswith("retrying in 5 s (attempt 2)")
    assert attempts[1].rstrip().endswith("retrying in 10 s (attempt 3)")
    assert "Traceback" not in stderr
    assert "voice will NOT be supported" not in stderr
    assert proc.returncode == 0


async def test_a_token_discord_refuses_is_not_retried(env):
    async def unauthorized(request: web.Request) -> web.Response:
        return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)

    async with FeedServer() as server:
        server.handler("/api/v10/users/@me", unauthorized)
        bot_env = {**env, "DISCORD_TOKEN": "revoked.token.value",
                   "SECBRIEF_DISCORD_API_BASE": server.url("/api/v10")}
        code, _, err = await asecbrief(bot_env, "run")
    assert code == 2
    one_line(err, "Discord refused the token", "DISCORD_TOKEN")
    assert "Discord unreachable" not in err
    assert "voice will NOT be supported" not in err
