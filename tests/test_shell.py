"""The terminal shell, driven with stdin lines on a real store: glob imports, counts in
good grammar, terminal wording, and the shell's own alerts after /import and /ingest
(feeds served on 127.0.0.1), shown once each through the delivery ledger."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from bot.services.alerts import AlertService
from bot.services.container import Services
from bot.shell import Shell, expand_paths
from storage.deliveries import TERMINAL_USER
from tests.feedserver import FeedServer

DISCORD_WORDS = ("this server", "This server", "ephemeral", "kind:", "`")


def article_md(title: str, body: str, when: datetime) -> str:
    return (f"---\ntitle: \"{title}\"\ndate: {when.isoformat()}\nsource: Shell Wire\n---\n\n"
            f"# {title}\n\n" + (body + " ") * 4 + "\n")


def write_articles(directory: Path, when: datetime) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    texts = {
        "apt29.md": ("APT29 targets embassies with fake wine tasting invitations",
                     "Investigators said APT29 sent embassy staff invitations to a wine "
                     "tasting that carried a loader, and the group then moved to mail "
                     "servers across three ministries over the following week."),
        "patch.md": ("Printer maker ships firmware fix for office devices",
                     "A printer maker shipped a firmware update for its office devices "
                     "after researchers reported a memory bug in the embedded web "
                     "server that could crash the device when sent a long request."),
    }
    paths = []
    for name, (title, body) in texts.items():
        path = directory / name
        path.write_text(article_md(title, body, when))
        paths.append(path)
    return paths


async def session(services: Services, *lines: str) -> str:
    """Everything the shell prints for these stdin lines, greeting included."""
    out = io.StringIO()
    await Shell(services).run(io.StringIO("".join(f"{line}\n" for line in lines)), out)
    return out.getvalue()


async def ledger(services: Services) -> list[tuple[str, int, str]]:
    async with services.store.db.execute(
        "SELECT target_kind, target_id, status FROM delivery_batches WHERE purpose = 'alert'"
        " ORDER BY id"
    ) as cur:
        return [tuple(row) for row in await cur.fetchall()]


async def test_import_expands_globs_and_a_glob_matching_nothing_changes_nothing(
    services: Services, tmp_path: Path
) -> None:
    write_articles(tmp_path / "news", services.clock())
    out = await session(services, f"/import {tmp_path}/news/*.txt")
    assert f"Error: No files match {tmp_path}/news/*.txt; nothing was imported." in out
    assert await services.store.articles.count() == 0
    out = await session(services, f"/import {tmp_path}/news/*.md")
    assert "added 2, duplicates 0, failed 0" in out
    assert await services.store.articles.count() == 2


def test_expand_paths_expands_the_home_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "news").mkdir()
    for name in ("b.md", "a.md", "c.txt"):
        (tmp_path / "news" / name).write_text("x")
    assert expand_paths("~/news/*.md 'plain name.md'") == [
        tmp_path / "news" / "a.md", tmp_path / "news" / "b.md", Path("plain name.md")]


async def test_counts_read_right_and_messages_use_terminal_wording(
    services: Services, tmp_path: Path
) -> None:
    (one,) = [p for p in write_articles(tmp_path / "news", services.clock())
              if p.name == "apt29.md"]
    await session(services, f"/import {one}")
    out = await session(
        services,
        "/search embassies",
        "/subscribe actor Cozy Bear",
        "/subscriptions",
        "/feeds list",
        "/feeds remove https://feeds.example/none.xml",
        "/subscribe vendor Blorpco",
        "/help",
    )
    assert "The store holds 1 article." in out
    assert "1 result for “embassies”" in out
    assert "You follow 1 thing:" in out
    assert "The operator's feed list is empty" in out
    assert "Error: The operator's feed list has no such feed; /feeds list shows its feeds." in out
    assert "follow it as a keyword instead (/subscribe keyword Blorpco)" in out
    for word in DISCORD_WORDS:
        assert word not in out.replace("`secbrief ingest --once` / `secbrief import`", "")
    assert "1 articles" not in out and "1 results" not in out


async def test_a_shell_subscription_shows_its_alerts_after_import_once(
    services: Services, tmp_path: Path
) -> None:
    apt29, patch = write_articles(tmp_path / "news", services.clock())
    out = await session(services, "/subscribe actor Cozy Bear", f"/import {apt29}")
    assert "New on what you follow — 1 story" in out
    assert "Matched: actor APT29 — you follow Cozy Bear" in out
    assert out.index("Matched: actor APT29") < out.index("APT29 targets embassies")
    # Shown means recorded as sent in the ledger, for the terminal user.
    assert await ledger(services) == [("user", TERMINAL_USER, "sent")]
    # An import matching nothing, another round and a new session show nothing again.
    out = await session(services, f"/import {patch}", f"/import {apt29}")
    assert "New on what you follow" not in out
    assert "added 1, duplicates 0" in out and "added 0, duplicates 1" in out
    assert await ledger(services) == [("user", TERMINAL_USER, "sent")]


async def test_the_bot_never_sends_the_shells_batches_and_the_next_shell_shows_them(
    services: Services, tmp_path: Path
) -> None:
    apt29, _ = write_articles(tmp_path / "news", services.clock())
    await session(services, "/subscribe actor APT29")
    # As with `secbrief ingest` in its own process and the bot's round planning it:
    rounds = AlertService(services.store, clock=services.clock)
    await rounds.plan_round()  # the first round sets the cursor
    await services.ingest.import_files([apt29])
    assert await rounds.plan_round()
    assert await services.store.deliveries.pending(now=services.clock()) == []
    assert await ledger(services) == [("user", TERMINAL_USER, "pending")]
    out = await session(services, "/quit")
    assert "New on what you follow — 1 story" in out and "Matched: actor APT29" in out
    assert await ledger(services) == [("user", TERMINAL_USER, "sent")]
    assert "New on what you follow" not in await session(services, "/quit")


def rss(base: str, items: list[tuple[str, str]], when: datetime) -> str:
    entries = "".join(
        f"<item><title>{title}</title><link>{base}/news/{i}</link>"
        f"<guid>{base}/guid/{i}</guid><pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
        f"<description>{text}</description></item>"
        for i, (title, text) in enumerate(items)
    )
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Loopback Wire</title><link>{base}</link><description>t</description>"
            f"{entries}</channel></rss>")


async def test_ingest_from_a_loopback_feed_shows_the_matching_stories(
    services: Services, feed_server: FeedServer
) -> None:
    now = services.clock()
    base = feed_server.url("")
    story = ("SharePoint servers hit by a new exploit chain",
             "Attackers chained two SharePoint bugs to take over servers at several firms; "
             "the vendor published mitigations while a patch is prepared for customers.")
    other = ("Router botnet grows across small offices",
             "A botnet of small-office routers doubled in size this month, researchers "
             "said, with most devices running firmware that is years out of date.")
    feed_server.add("/feed.xml", rss(base, [story, other], now - timedelta(hours=1)))
    services.settings.feeds_file.write_text(feed_server.url("/feed.xml") + "\n")
    services.settings.fetch_pages = False
    out = await session(services, "/subscribe keyword sharepoint", "/ingest", "/ingest")
    assert "added 2, duplicates 0, failed 0" in out
    assert out.count("New on what you follow — 1 story") == 1
    assert out.count("Matched: keyword: sharepoint") == 1
    assert "Router botnet" not in out.split("New on what you follow")[1]


def test_a_piped_session_prints_no_prompt(db_path: Path | str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SECBRIEF_")}
    env["SECBRIEF_DATABASE"] = str(db_path)
    done = subprocess.run([sys.executable, "-m", "bot", "shell"], input="/actor Flax Typhoon\n",
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "secbrief>" not in done.stdout
    assert "Flax Typhoon (CN)" in done.stdout


async def test_forget_counts_read_right(services: Services, tmp_path: Path) -> None:
    apt29, _ = write_articles(tmp_path / "news", services.clock())
    await session(services, "/subscribe actor APT29")
    rounds = AlertService(services.store, clock=services.clock)
    await rounds.plan_round()
    (article_id,) = (await services.ingest.import_files([apt29])).added_ids
    assert await rounds.plan_round()  # one batch waiting for the shell, with this story
    shell = Shell(services)
    out = await shell.handle(f"/forget {article_id}")
    assert "is gone, with 1 pending delivery." in out
    assert "from 1 tag count." in out
