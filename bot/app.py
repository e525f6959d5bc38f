"""The Discord application: a commands.Bot whose setup_hook wires store, services,
delivery and the scheduler. Cogs (in cogs/) are thin adapters over the services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pkgutil
import signal
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import discord
import yarl
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from discord import app_commands
from discord.ext import commands

import cogs
from bot.config import Settings
from bot.delivery import Deliverer
from bot.digest_delivery import NO_THREAD_POSTS
from bot.render.sanitise import discord_text, url_text
from bot.scheduling import Jobs, last_fire_before, missed
from bot.services.alerts import AlertService
from bot.services.container import Services, open_services
from bot.services.errors import UserError
from bot.services.maintenance import compact_search_index
from bot.services.vulns import ROUND_INTERVAL as VULN_ROUND_INTERVAL
from bot.services.vulns import SourceReport
from bot.sharding import ShardPlan
from bot.views import DYNAMIC_ITEMS
from storage.claims import process_id
from storage.models import Batch, Schedule
from storage.timeutil import utcnow

log = logging.getLogger(__name__)
NO_MENTIONS = discord.AllowedMentions.none()
COMPACT_INTERVAL = 24 * 3600  # the full-text indexes are merged into one segment daily


def point_at(settings: Settings) -> None:
    """Test hook: send REST and gateway traffic to a local fake Discord."""
    if settings.discord_api_base:
        discord.http.Route.BASE = settings.discord_api_base.rstrip("/")
    if settings.discord_gateway:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway)


class SecBriefTree(app_commands.CommandTree):
    """Turns refusals and bad input into ephemeral replies; logs everything else."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        original = getattr(error, "original", error)
        if isinstance(original, UserError):
            message = str(original)
        elif isinstance(error, app_commands.CheckFailure):
            message = str(error) or "You cannot use this command here."
        elif isinstance(error, app_commands.TransformerError):
            message = "That option value is not valid here; check the command's options."
        else:
            log.error("command %s failed", interaction.command and interaction.command.name,
                      exc_info=original)
            message = "Something went wrong on our side; it has been logged. Try again later."
        try:  # the message may echo the user's input: it goes out as plain text
            await reply(interaction, discord_text(message, 2000))
        except discord.HTTPException as exc:  # e.g. the interaction expired meanwhile
            log.warning("could not tell the user about an error (%s): %s", exc, message)


async def reply(interaction: discord.Interaction, message: str, **kwargs) -> None:
    """An ephemeral reply, using followup when the response is already done."""
    kwargs.setdefault("allowed_mentions", discord.AllowedMentions.none())
    if interaction.response.is_done():
        await interaction.followup.send(message, ephemeral=True, **kwargs)
    else:
        await interaction.response.send_message(message, ephemeral=True, **kwargs)


def extension_names() -> list[str]:
    """Every module of the cogs package, skipping _private ones."""
    return sorted(
        f"cogs.{m.name}" for m in pkgutil.iter_modules(cogs.__path__) if not m.name.startswith("_")
    )


class SecBrief(commands.AutoShardedBot):
    services: Services
    deliverer: Deliverer
    jobs: Jobs

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        sync_only: bool = False,
        **options: Any,
    ) -> None:
        """``clock`` dates what the bot stores and plans (the scheduler keeps real time);
        ``options`` go to discord.py (tests pass e.g. guild_ready_timeout)."""
        intents = discord.Intents.none()
        intents.guilds = True
        # SECBRIEF_SHARD_COUNT / _SHARD_IDS: this process runs those shards only (unset:
        # every shard of Discord's recommended count, in this one process).
        if settings.shard_count is not None:
            options.setdefault("shard_count", settings.shard_count)
            if settings.shard_id_list is not None:
                options.setdefault("shard_ids", settings.shard_id_list)
        self.shard_plan = ShardPlan.of(options.get("shard_count"), options.get("shard_ids"))
        self.worker = process_id()  # who holds this process's claims in the store
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=SecBriefTree,
            help_command=None,
            **options,
        )
        self.settings = settings
        self.clock = clock
        self._stack = AsyncExitStack()
        self.failed_extensions: list[str] = []
        self.sync_only = sync_only  # `secbrief sync`: commands only, no store or jobs
        self._logged_in = False

    async def load_cogs(self) -> None:
        for name in extension_names():
            try:
                await self.load_extension(name)
            except commands.ExtensionError:
                log.exception("could not load %s; going on without it", name)
                self.failed_extensions.append(name)

    async def setup_hook(self) -> None:
        # Nothing here waits for READY: setup_hook runs before the gateway connects.
        if self.sync_only:
            await self.load_cogs()
            return
        self.services = await self._stack.enter_async_context(
            open_services(self.settings, clock=self.clock)
        )
        self.alerts = AlertService(self.services.store, clock=self.clock,
                                   max_age=timedelta(hours=self.settings.alert_max_age))
        self.deliverer = Deliverer(
            self, self.services.store, self.services.briefings, clock=self.clock,
            rate=self.settings.send_rate, on_refused=self._on_refused,
            on_no_threads=self._on_no_threads,
            owns=None if self.shard_plan.everything else self.shard_plan.owns,
            worker=self.worker, lease=self.settings.claim_lease,
        )
        await self.load_cogs()
        # Alert buttons keep working across restarts: their state is in the custom_id.
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        self.jobs = Jobs(AsyncIOScheduler(timezone=UTC))
        # The scheduler runs on real time whatever the injected clock says.
        self.jobs.every("ingest", self.settings.poll_interval, self.ingest_round,
                        first_run=datetime.now(UTC))
        self.jobs.every("alerts", self.settings.alert_interval, self.alert_round)
        self.jobs.every("compact", COMPACT_INTERVAL, self.compact_round)
        # KEV / EPSS / NVD: each round refreshes the sources that are due (first round
        # one interval after start; `secbrief vulns refresh` fetches at once).
        self.jobs.every("vulns", VULN_ROUND_INTERVAL, self.vulns_round)
        for schedule in await self.services.store.schedules.all():
            if self.serves(schedule):
                self.jobs.set_briefing(schedule, self.briefing_round)
        self.jobs.scheduler.start()
        # Closed first (a stack unwinds in reverse): no round may outlive the store.
        self._stack.push_async_callback(self.jobs.shutdown)
        if self.settings.dev_guild_id:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
            log.info("synced commands to the dev guild %s", self.settings.dev_guild_id)

    async def on_ready(self) -> None:
        # May fire more than once (reconnects): only idempotent work here. The catch-up
        # runs as a scheduler job, so shutdown waits for it like any other round.
        log.info("connected as %s (%s), %s", self.user, self.user and self.user.id,
                 self.shard_plan.describe())
        if not self.sync_only:
            self.jobs.once("catch-up", self.catch_up_briefings)

    async def catch_up_briefings(self) -> None:
        now = self.clock()
        for schedule in await self.services.store.schedules.all():
            if self.serves(schedule) and missed(schedule, now):
                log.info("sending the briefing missed in channel %s", schedule.channel_id)
                await self.briefing_round(schedule.channel_id)

    def serves(self, schedule: Schedule) -> bool:
        """Whether this process posts the schedule's briefings (its guild is on one of
        this process's shards; the process that has the guild posts them otherwise)."""
        return self.shard_plan.owns(schedule.guild_id)

    async def login(self, token: str) -> None:
        self._logged_in = True  # from here on there is a session to close
        await super().login(token)

    async def close(self) -> None:
        await self._stack.aclose()
        if not self._logged_in:
            # Never logged in (a bot built for its command tree only): AutoShardedClient's
            # close() expects what login() sets up, so close as a plain client does.
            for name in tuple(self.extensions):
                await self.unload_extension(name)
            for name in tuple(self.cogs):
                await self.remove_cog(name)
            await discord.Client.close(self)
            return
        await super().close()

    # -- jobs ----------------------------------------------------------------------

    async def ingest_round(self) -> None:
        try:
            report = await self.services.ingest.poll(operator_urls=self.settings.feed_urls())
            log.info("ingest: added %s, duplicates %s, failed %s", report.added,
                     report.duplicates, report.failed)
            await self.notify_disabled_feeds(report)
        except Exception:
            log.exception("ingest round failed")
        await self.alert_round()

    async def alert_round(self) -> None:
        try:
            await self.alerts.plan_round()
            await self.services.vuln_alerts.plan_round()  # a CVE entered KEV, …
            await self.deliverer.send_pending()
        except Exception:
            log.exception("alert round failed")

    async def vulns_round(self) -> None:
        """Refresh the due sources; when that brought something to alert on, the alert
        round runs now rather than up to SECBRIEF_ALERT_INTERVAL later."""
        try:
            reports = await self.services.vulns.refresh()
        except Exception:
            log.exception("vulnerability refresh round failed")
            return
        for report in reports:
            if report.outcome in ("updated", "failed"):
                log.info("vulns: %s %s (%s records)%s", report.source, report.outcome,
                         report.records, f": {report.error}" if report.error else "")
        if any(brings_alerts(report) for report in reports):
            await self.alert_round()

    async def compact_round(self) -> None:
        try:
            await compact_search_index(self.services.store)
        except Exception:
            log.exception("search index compaction failed")

    async def briefing_round(self, channel_id: int) -> None:
        try:
            schedule = await self.services.store.schedules.get(channel_id)
            if schedule is None or schedule.paused or not self.serves(schedule):
                return
            # The run is claimed per (schedule, due time): one process plans each.
            due = last_fire_before(schedule, self.clock())
            await self.services.briefings.plan_scheduled(schedule, due_at=due,
                                                         worker=self.worker)
            await self.deliverer.send_pending(purpose="briefing")
        except Exception:
            log.exception("briefing for channel %s failed", channel_id)

    async def reschedule(self, channel_id: int) -> None:
        """Called by the briefing cog after a change, so the job matches the store."""
        schedule = await self.services.store.schedules.get(channel_id)
        if schedule is None or not self.serves(schedule):
            self.jobs.remove_briefing(channel_id)
        else:
            self.jobs.set_briefing(schedule, self.briefing_round)

    # -- notices -------------------------------------------------------------------

    async def _on_refused(self, batch: Batch, reason: str) -> None:
        """A channel refused a briefing: pause it and tell the guild's admins."""
        if batch.purpose != "briefing" or batch.target_kind != "channel":
            return
        schedule = await self.services.store.schedules.get(batch.target_id)
        if schedule is None:
            return
        await self.services.store.schedules.pause(batch.target_id, f"channel refused: {reason}")
        self.jobs.remove_briefing(batch.target_id)
        await self.tell_admins(
            schedule.guild_id,
            f"The daily briefing for <#{batch.target_id}> is paused: Discord refused the "
            f"post ({discord_text(reason, 300)}). Give the bot Send Messages and Embed "
            "Links there, then run `/briefing schedule` again.",
        )

    async def _on_no_threads(self, batch: Batch, reason: str, missing: str) -> None:
        """A briefing could not start its thread, or not post in it (``missing`` names
        the permission): its cards follow in the channel; the guild's admins are told
        (the Deliverer calls this once until threads work)."""
        schedule = await self.services.store.schedules.get(batch.target_id)
        if schedule is None:
            return
        if missing == NO_THREAD_POSTS:
            problem, grant = ("can start its thread but may not post in it",
                              "Send Messages in Threads")
        else:
            problem, grant = ("cannot start a thread",
                              "Create Public Threads and Send Messages in Threads")
        await self.tell_admins(
            schedule.guild_id,
            f"The daily briefing in <#{batch.target_id}> {problem} "
            f"({discord_text(reason, 300)}), so its story cards follow in the channel "
            f"itself. Give the bot {grant} there to keep the channel to one message a day.",
        )

    async def notify_disabled_feeds(self, report) -> None:
        for outcome in report.feeds:
            if outcome.status != "disabled":
                continue
            for feed in await self.services.store.feeds.with_url(outcome.url):
                if feed.guild_id and feed.notify_channel_id:
                    await self.post_notice(
                        feed.notify_channel_id,
                        f"Feed disabled: {url_text(feed.url)} — "
                        f"{discord_text(feed.last_error, 1000)}",
                    )

    async def tell_admins(self, guild_id: int, text: str) -> bool:
        """Tell a guild's admins: in its system channel, else (none, or it refuses too)
        by DM to the owner. Returns whether a notice went out."""
        guild = self.get_guild(guild_id)
        if guild is None:
            log.warning("guild %s is not in the cache; could not tell its admins: %s",
                        guild_id, text)
            return False
        if guild.system_channel is not None:
            try:
                await guild.system_channel.send(text, allowed_mentions=NO_MENTIONS)
                return True
            except discord.HTTPException as exc:
                log.info("guild %s system channel refused a notice: %s", guild_id, exc)
        if guild.owner_id:
            try:
                owner_dm = await self.create_dm(discord.Object(id=guild.owner_id))
                await owner_dm.send(text, allowed_mentions=NO_MENTIONS)
                return True
            except discord.HTTPException as exc:
                log.info("guild %s owner refused a notice: %s", guild_id, exc)
        log.warning("could not tell guild %s admins: %s", guild_id, text)
        return False

    async def post_notice(self, channel_id: int, text: str) -> None:
        try:
            channel = self.get_channel(channel_id) or await self.fetch_channel(channel_id)
            await channel.send(text[:2000], allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.warning("could not post a notice to channel %s", channel_id)


RETRY_FIRST, RETRY_MAX = 5.0, 300.0  # seconds between attempts to reach Discord at start


def brings_alerts(report: SourceReport) -> bool:
    """Did this refresh add what alerts are about: CVEs entering KEV, EPSS scores
    crossing SECBRIEF_EPSS_ALERT? A first load counts too (its round sets the baseline
    that makes the next addition alert)."""
    kev, epss = report.kev, report.epss
    return bool(kev and (kev.added or kev.first_load)) or bool(
        epss and (epss.crossed or epss.first_load))


def retry_delay(attempt: int) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1, 2, …): 5, 10, 20 … 300."""
    return min(RETRY_MAX, RETRY_FIRST * 2 ** (attempt - 1))


def quiet_voice() -> None:
    """The bot has no voice: discord.py's "PyNaCl is not installed" (and, in newer
    versions, "davey is not installed") warnings are noise."""
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False


def unreachable_reason(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__).splitlines()[0][:200]


async def run_bot(settings: Settings) -> int:
    """Log in and serve until closed. Discord unreachable at start: retried with backoff,
    one line per attempt; a token Discord refuses: UserError (exit 2), not retried."""
    quiet_voice()
    point_at(settings)
    token = settings.discord_token.get_secret_value() if settings.discord_token else ""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    current: list[SecBrief] = []
    closing: set[asyncio.Task] = set()

    # SIGTERM (systemd, docker stop) and Ctrl-C close the bot properly: rounds in flight
    # are cancelled and awaited, the store is closed and the gateway session ended,
    # instead of the process dying wherever it was. While waiting to retry, they end it.
    def stop(signame: str) -> None:
        log.info("%s received: shutting down", signame)
        stopping.set()
        if current:
            task = asyncio.ensure_future(current[-1].close())
            closing.add(task)
            task.add_done_callback(closing.discard)

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
            loop.add_signal_handler(sig, stop, sig.name)
    attempt = 1
    while not stopping.is_set():
        async with SecBrief(settings) as bot:
            current[:] = [bot]
            try:
                await bot.login(token)
            except discord.LoginFailure as exc:
                raise UserError(f"Discord refused the token ({exc}); check DISCORD_TOKEN.") \
                    from None
            except (OSError, TimeoutError, aiohttp.ClientError,
                    discord.DiscordServerError) as exc:
                reason = unreachable_reason(exc)
            else:
                await bot.connect()
                return 0
        delay = retry_delay(attempt)
        attempt += 1
        print(f"Discord unreachable ({reason}); retrying in {delay:g} s (attempt {attempt})",
              file=sys.stderr, flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), delay)
    return 0


async def sync_commands(settings: Settings, *, guild_id: int | None) -> int:
    """`secbrief sync`: log in over REST only, register the commands, leave."""
    quiet_voice()
    point_at(settings)
    token = settings.discord_token.get_secret_value() if settings.discord_token else ""
    async with SecBrief(settings, sync_only=True) as bot:
        try:
            await bot.login(token)  # runs setup_hook, which loads the cogs only
        except discord.LoginFailure as exc:
            raise UserError(f"Discord refused the token ({exc}); check DISCORD_TOKEN.") \
                from None
        except (OSError, TimeoutError, aiohttp.ClientError, discord.DiscordServerError) as exc:
            print(f"Discord unreachable ({unreachable_reason(exc)}); try again later.",
                  file=sys.stderr)
            return 1
        guild = discord.Object(id=guild_id) if guild_id else None
        if guild:
            bot.tree.copy_global_to(guild=guild)
        synced = await bot.tree.sync(guild=guild)
        where = f"to guild {guild_id}" if guild else "globally"
        print(f"Synced {len(synced)} commands {where}.")
    return 0
