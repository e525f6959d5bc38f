"""Terminal escape injection: no control character or escape sequence is stored (ingest
and import alike, through ``analyse``) or printed (the shell and the CLI, even when an
older version stored one)."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.news.analyse import RawArticle, analyse
from bot.render.text import PrintableFormatter, printable
from bot.shell import Shell
from storage.models import Article
from tests.cli import cli_env as make_cli_env
from tests.cli import command
from tests.feedserver import FeedServer
from tests.render.hostile import hostile_strings

# C0 controls except tab and newline, DEL, C1 (ESC starts every 7-bit sequence; CSI,
# OSC, DCS… have 8-bit forms in C1).
UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
CLEAR = "\x1b[2J\x1b[H"
RETITLE = "\x1b]0;owned\x07"
C1_CSI = "\x9b31m"

PROSE = (
    "Corvane released an emergency fix for its SecureGate appliance on Tuesday after "
    "attackers used a flaw in the management interface to plant web shells. The company "
    "said the bug, tracked as CVE-2025-21001, lets an unauthenticated attacker run "
    "commands as root. Customers who cannot patch should block access to the interface "
    "from the internet, the advisory said, and review logs for unknown accounts."
)


def stored_text(article: Article) -> list[str]:
    return [article.title, article.source, article.lead, article.text, article.url or "",
            *article.key_points, *article.commentary]


def assert_clean(article: Article) -> None:
    for value in stored_text(article):
        assert not UNPRINTABLE.search(value), repr(value)


def test_printable_strips_every_hostile_string():
    for raw in hostile_strings():
        out = printable(raw)
        assert not UNPRINTABLE.search(out), (raw, out)
    assert printable(f"a{CLEAR}b{RETITLE}c{C1_CSI}d\te\nf") == "abcd\te\nf"
    assert printable("unterminated \x1b]0;title") == "unterminated 0;title"


def test_analyse_scrubs_every_field_of_a_raw_article():
    raw = RawArticle(
        source=f"Wire{CLEAR}", title=f"Title {RETITLE}with escapes{C1_CSI}",
        text=f"{PROSE}\n\nSecond {CLEAR}paragraph\x00 with a bell\x07 and \x1bc.",
        lead=f"Lead {CLEAR}", key_points=[f"Point {RETITLE}one", "Point \x9b2Jtwo"],
        commentary=[f"Note {CLEAR}"], url="https://news.example/1",
    )
    article = analyse(raw)
    values = [article.title, article.source, article.lead, article.text,
              *article.key_points, *article.commentary]
    assert all(not UNPRINTABLE.search(v) for v in values), values
    assert article.title == "Title with escapes"
    # the author's two points, scrubbed, topped up to three from the text
    assert article.key_points[:2] == ["Point one", "Point two"]
    assert len(article.key_points) == 3
    assert raw.title.startswith("Title \x1b")  # the caller's object is left alone


async def test_an_ingested_feed_stores_no_escapes(services, feed_server: FeedServer):
    page = (
        f"<html><head><title>Page {RETITLE}title</title></head><body><article>"
        f"<h1>SecureGate {CLEAR}zero-day</h1><p>{PROSE}</p>"
        f"<p>Second paragraph &#27;[2J with an entity-encoded escape and \x1b[31mcolour"
        f"\x1b[0m, and a C1 CSI {C1_CSI} too. {PROSE}</p></article></body></html>"
    )
    feed_server.add("/news/1", page.encode(), content_type="text/html")
    item_title = f"SecureGate {CLEAR}zero-day &#27;]0;x&#7; fixed {C1_CSI}"
    rss = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Wire {RETITLE}</title><link>{feed_server.url('/')}</link>"
        f"<item><title>{item_title}</title><link>{feed_server.url('/news/1')}</link>"
        f"<description>&lt;p&gt;{PROSE} {CLEAR} bell \x07&lt;/p&gt;</description>"
        "</item></channel></rss>"
    )
    feed_server.add("/feed.xml", rss.encode(), content_type="application/rss+xml")
    report = await services.ingest.poll([feed_server.url("/feed.xml")])
    assert report.added == 1, report.errors
    article = await services.store.articles.get(report.added_ids[0])
    assert_clean(article)
    assert article.title.startswith("SecureGate") and "zero-day" in article.title
    assert "Corvane released an emergency fix" in article.text


async def test_an_imported_html_file_stores_no_escapes(services, tmp_path: Path):
    path = tmp_path / "hostile.html"
    path.write_text(
        f"<html><head><title>SecureGate {CLEAR}zero-day {RETITLE}patched</title></head>"
        f"<body><h1>SecureGate {CLEAR}zero-day patched</h1>"
        f"<p>{PROSE}</p><p>More detail {C1_CSI} arrived later &#27;[2J the same day. "
        f"{PROSE}</p><h2>Key points</h2><ol>"
        f"<li>Corvane fixed CVE-2025-21001 {CLEAR}in SecureGate appliances.</li>"
        f"<li>Attackers planted web shells {RETITLE}on exposed interfaces.</li>"
        "<li>Customers should block internet access to the management interface.</li>"
        "</ol></body></html>",
        encoding="utf-8",
    )
    report = await services.ingest.import_files([path])
    assert report.added == 1, report.errors
    article = await services.store.articles.get(report.added_ids[0])
    assert_clean(article)
    assert "SecureGate" in article.title and "zero-day" in article.title


# -- printing rows an older version stored ---------------------------------------------


async def _poison(services) -> int:
    """Store an article, then write escapes into its row directly (as an older version
    might have stored them)."""
    raw = RawArticle(source="Wire", title="Flax Typhoon botnet of routers dismantled",
                     text=f"Flax Typhoon ran a botnet of routers. {PROSE}",
                     url="https://news.example/flax", published_at=services.clock())
    article_id = await services.ingest.store_article(analyse(raw, services.tagger))
    assert article_id is not None
    await services.store.db.execute(
        "UPDATE articles SET title = ?, source = ?, key_points = ? WHERE id = ?",
        (f"Flax Typhoon {CLEAR}botnet {RETITLE}dismantled {C1_CSI}",
         f"Wire{CLEAR}", json.dumps([f"Point {CLEAR}one", f"Point {C1_CSI}two",
                                     "Point three"]), article_id),
    )
    return article_id


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> bytes:
    """A real `secbrief` process; its stdout and stderr as bytes."""
    done = subprocess.run(command(*args), env=env,
                          input=stdin.encode() if stdin else None, capture_output=True,
                          timeout=120, check=False)
    assert b"Traceback" not in done.stderr, done.stderr.decode(errors="replace")
    return done.stdout + done.stderr


@pytest.fixture
def cli_env(db_path: Path | str, tmp_path: Path) -> dict[str, str]:
    return make_cli_env(db_path, tmp_path)


async def test_cli_and_shell_print_no_escapes_from_a_poisoned_row(
    services, cli_env: dict[str, str]
):
    await _poison(services)
    title = await services.store.db.fetchval(  # the row really holds them
        "SELECT title FROM articles WHERE url LIKE ?", ("%flax",))
    assert "\x1b" in title and "\x9b" in title

    outputs = {
        "actor": _cli(cli_env, "actor", "Flax", "Typhoon"),
        "actor --json": _cli(cli_env, "actor", "Flax", "Typhoon", "--json"),
        "search": _cli(cli_env, "search", "botnet"),
        "search --json": _cli(cli_env, "search", "botnet", "--json"),
        "briefing": _cli(cli_env, "briefing", "--since", "7d"),
        "briefing --json": _cli(cli_env, "briefing", "--since", "7d", "--json"),
        "shell": _cli(cli_env, "shell", stdin=(
            "/actor Flax Typhoon\n/search botnet\n/briefing 7d\n"
            f"/actor No{CLEAR}Such{RETITLE}Actor\n/subscribe keyword {CLEAR}x\n")),
    }
    for name, out in outputs.items():
        text = out.decode("utf-8")
        assert "Flax Typhoon" in text, (name, text[:500])
        assert not UNPRINTABLE.search(text), (name, repr(text[:2000]))
    assert "botnet dismantled" in outputs["search"].decode()  # the title, escapes gone


async def test_shell_output_path_strips_escapes_echoed_back(services):
    shell = Shell(services)
    out = await shell.handle(f"/actor No{CLEAR}Such{RETITLE}Actor")
    assert out is not None and not UNPRINTABLE.search(out), repr(out)


def test_log_lines_carry_no_escapes():
    formatter = PrintableFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord("bot.news", logging.WARNING, __file__, 1,
                               "feed %s failed: %s", (f"T{RETITLE}", f"E{CLEAR}"), None)
    assert formatter.format(record) == "WARNING feed T failed: E"
    try:
        raise ValueError(f"bad {CLEAR}{C1_CSI}value")
    except ValueError:
        record.exc_info = sys.exc_info()
    out = formatter.format(record)
    assert "bad value" in out and not UNPRINTABLE.search(out)
