"""The real SecBrief bot against the local fake Discord: a small Discord world, the bot
in-process (with an injectable clock) or as a `python -m bot run` subprocess, stories
added through the real analysis pipeline, and a check that nothing the bot posted can
ping anyone."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import SecBrief
from bot.config import Settings
from bot.news.analyse import RawArticle, analyse
from bot.services.caller import Caller
from bot.services.container import Services, open_services
from storage.timeutil import utcnow
from tests.conftest import REPO, Clock
from tests.fake_discord import (
    MANAGE_GUILD,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeUser,
    discord_py_pointed_at,
)

_urls = itertools.count(1)


@dataclass
class World:
    """One guild with three channels and the people the scenarios need."""

    fake: FakeDiscord
    guild: FakeGuild
    general: FakeChannel
    news: FakeChannel
    alerts: FakeChannel
    owner: FakeUser  # the guild's owner: notices go to their DM (no system channel)
    alice: FakeUser  # a plain member
    admin: FakeUser  # a member with Manage Server


def build_world(fake: FakeDiscord) -> World:
    owner = fake.add_user("owner")
    guild = fake.add_guild("secops", owner_id=owner.id, channels=("general", "news", "alerts"))
    alice, admin = fake.add_user("alice"), fake.add_user("admin")
    fake.add_member(guild.id, alice.id)
    fake.add_member(guild.id, admin.id, permissions=MANAGE_GUILD)
    general, news, alerts = fake.text_channels(guild.id)
    return World(fake, guild, general, news, alerts, owner, alice, admin)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    # 5 messages per 1 s per channel keeps the per-channel limit real but the tests short.
    async with FakeDiscord(message_limit=(5, 1.0)) as fake:
        yield build_world(fake)
        assert_nothing_pings(fake)  # whatever the test did, nothing the bot posted pings


@pytest.fixture
async def bot(world: World, settings: Settings, clock: Clock) -> AsyncIterator[SecBrief]:
    """The bot in-process, commands synced to the world's guild, on the test's clock."""
    dev = settings.model_copy(update={"dev_guild_id": world.guild.id})
    async with running_bot(world.fake, dev, clock=clock) as bot:
        yield bot


@asynccontextmanager
async def running_bot(
    fake: FakeDiscord, settings: Settings, *, clock: Callable[[], datetime] | None = None,
    quick_retries: bool = True,
) -> AsyncIterator[SecBrief]:
    """The real bot in this process, connected and READY, closed on exit."""
    with discord_py_pointed_at(fake):
        bot = SecBrief(settings, clock=clock or utcnow, guild_ready_timeout=0.05)
        runner: asyncio.Task | None = None
        caught_up = asyncio.Event()
        catch_up = bot.catch_up_briefings

        async def catch_up_then_say_so() -> None:
            try:
                await catch_up()
            finally:
                caught_up.set()

        # READY's catch-up job reads the schedules while the test goes on: one the test
        # makes meanwhile may be caught up or not, whichever is first (on PostgreSQL the
        # test often is). Yield once it is done, so the test starts from a settled bot.
        bot.catch_up_briefings = catch_up_then_say_so  # type: ignore[method-assign]
        try:
            await bot.login(fake.token)
            if quick_retries:  # keep the Deliverer's backoff from dominating test time
                bot.deliverer.retry_delay = 0.01
            runner = asyncio.create_task(bot.connect())
            await asyncio.wait_for(bot.wait_until_ready(), 10)
            await asyncio.wait_for(caught_up.wait(), 10)
            # Start the alert cursor now (what the start-up ingest round does anyway), so
            # every story a test adds from here on is new.
            await bot.alerts.plan_round()
            yield bot
        finally:
            await bot.close()
            if runner is not None:
                await asyncio.wait_for(runner, 10)


async def add_story(
    services: Services, title: str, text: str, *, source: str = "Wire A",
    url: str | None = None, published_at: datetime | None = None,
) -> int:
    """Store one article through the real analysis (tagging, key points, clustering) and
    return its story id."""
    raw = RawArticle(source=source, title=title, text=text,
                     url=url or f"https://news.example/{next(_urls)}",
                     published_at=published_at or services.clock())
    article = await asyncio.to_thread(analyse, raw, services.tagger)
    article_id = await services.ingest.store_article(article)
    assert article_id is not None, f"not stored (duplicate?): {title}"
    stored = await services.store.articles.get(article_id)
    assert stored is not None and stored.story_id is not None
    return stored.story_id


async def schedule_overdue_briefing(settings: Settings, clock: Clock, world: World) -> None:
    """The news channel's briefing due ten minutes ago and never sent (so a bot starting
    now sends it as its catch-up), with STORIES stored, published now."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    due = now - timedelta(minutes=10)
    async with open_services(settings, clock=clock) as services:
        admin = Caller(user_id=world.admin.id, guild_id=world.guild.id, can_manage_guild=True)
        clock.now = due - timedelta(minutes=1)  # scheduled before it was due
        await services.schedules.set(admin, world.news.id, f"{due:%H:%M}", "UTC")
        clock.now = now
        for title, text in STORIES:
            await add_story(services, title, text, published_at=clock.now)


def everything_posted(fake: FakeDiscord) -> list[dict[str, Any]]:
    """Every message the bot made: channel posts, DMs, interaction responses and followups
    (ephemeral ones too), each once."""
    seen: dict[str, dict[str, Any]] = {}
    for messages in fake.messages.values():
        for message in messages:
            seen[message["id"]] = message
    for interaction in fake.interactions.values():
        for message in interaction.messages:
            seen[message["id"]] = message
    return list(seen.values())


def assert_nothing_pings(fake: FakeDiscord) -> int:
    """Every message with content or embeds carried allowed_mentions with an empty parse
    list and no user/role lists. Returns how many messages were checked."""
    checked = 0
    for message in everything_posted(fake):
        if not (message.get("content") or message.get("embeds")):
            continue  # a "thinking…" placeholder never edited: nothing to ping with
        allowed = message.get("allowed_mentions")
        assert allowed is not None, f"no allowed_mentions on {message}"
        assert allowed.get("parse") == [], allowed
        assert not allowed.get("users") and not allowed.get("roles"), allowed
        assert not message.get("mention_everyone")
        checked += 1
    return checked


# -- the bot as a subprocess ------------------------------------------------------------


def bot_env(fake: FakeDiscord, settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a `python -m bot ...` subprocess pointed at the fake."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SECBRIEF_") and k != "DISCORD_TOKEN"}
    env.update(
        DISCORD_TOKEN=fake.token,
        SECBRIEF_DISCORD_API_BASE=fake.api_base,
        SECBRIEF_DISCORD_GATEWAY=fake.gateway_url,
        SECBRIEF_DATABASE=str(settings.database),
        SECBRIEF_WORKERS="0",
        SECBRIEF_ALLOW_PRIVATE_FEEDS="1",
        SECBRIEF_FEEDS=str(settings.feeds_file),
        SECBRIEF_ALERT_INTERVAL="1",
        SECBRIEF_FETCH_PAGES="0",
        # a killed process's claims are taken over 5 s after its last renewal
        SECBRIEF_CLAIM_LEASE="5",
        PYTHONUNBUFFERED="1",
        # No test reaches CISA, FIRST or NVD: a test that wants the sources points them
        # at 127.0.0.1 through ``extra``.
        SECBRIEF_KEV_URL="",
        SECBRIEF_EPSS_URL="",
        SECBRIEF_NVD_URL="",
    )
    env.update(extra)
    return env


class BotProcess:
    """`python -m bot run` (or another secbrief command) with its output in a log file."""

    def __init__(self, env: dict[str, str], log_path: Path, *args: str) -> None:
        self.env, self.log_path = env, log_path
        self.args = args or ("run",)
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> BotProcess:
        with self.log_path.open("a") as log:
            log.write(f"\n==== secbrief {' '.join(self.args)} ====\n")
            log.flush()
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", *self.args, env=self.env, cwd=REPO,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            )
        return self

    async def wait(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def kill(self) -> None:
        """SIGKILL: no cleanup, no flush — a crash."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if the process is still there 10 s later."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            await self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@asynccontextmanager
async def bot_process(env: dict[str, str], log_path: Path) -> AsyncIterator[BotProcess]:
    process = await BotProcess(env, log_path).start()
    try:
        yield process
    finally:
        await process.stop()


async def run_secbrief(env: dict[str, str], log_path: Path, *args: str,
                       timeout: float = 60.0) -> int:
    """Run a one-shot secbrief command (e.g. `ingest --once`) to completion."""
    process = await BotProcess(env, log_path, *args).start()
    try:
        return await process.wait(timeout)
    finally:
        await process.kill()


# Distinct stories (different vendors, actors, CVEs), so clustering keeps them apart.
STORIES: list[tuple[str, str]] = [
    ("Corvane patches SecureGate zero-day CVE-2025-21001",
     "Corvane fixed CVE-2025-21001 in its SecureGate appliance after attackers used it to "
     "plant web shells on exposed management interfaces."),
    ("Hospital chain hit by ransomware, surgeries postponed",
     "A ransomware crew encrypted scheduling systems at a regional hospital chain, which "
     "postponed surgeries and diverted ambulances for two days."),
    ("Flax Typhoon botnet of home routers dismantled",
     "Flax Typhoon ran a botnet of compromised home routers and cameras; police seized its "
     "command servers, the FBI said."),
    ("Quillbyte exposes customer records in open bucket",
     "Quillbyte left a storage bucket with customer names and invoices readable by anyone "
     "for three months before a researcher reported it."),
    ("BrightMesh flaw added to the KEV catalogue",
     "CISA added CVE-2024-55123 in BrightMesh controllers to its Known Exploited "
     "Vulnerabilities catalogue and set a three-week deadline for agencies."),
    ("Talonix VPN gateways scanned at scale",
     "Researchers saw scanning of Talonix VPN gateways jump tenfold within a day of a "
     "proof-of-concept for CVE-2025-30999 being published."),
    ("APT29 phishes diplomats with fake wine tastings",
     "APT29 sent embassy staff invitations to wine tastings that delivered a loader, a "
     "security firm reported on Tuesday."),
    ("Hexacore file-sharing servers wiped by extortion gang",
     "An extortion gang deleted data from unpatched Hexacore file-sharing servers and left "
     "ransom notes asking for payment in Monero."),
    ("Pylon routers conscripted into DDoS botnet",
     "End-of-life Pylon routers with default passwords were enrolled into a botnet that "
     "launched denial-of-service attacks against game servers."),
    ("Volt Typhoon lurked in water utility for months",
     "Volt Typhoon kept access to a water utility's network for nine months using stolen "
     "credentials and built-in administration tools."),
    ("Payroll provider confirms credential-stuffing attack",
     "A payroll provider said attackers reused leaked passwords to log in to employee "
     "accounts and redirect salary payments to mule accounts."),
    ("Browser update fixes actively exploited sandbox escape",
     "A browser maker shipped an emergency update for CVE-2025-40111, a sandbox escape "
     "that it said was exploited in targeted attacks."),
]
