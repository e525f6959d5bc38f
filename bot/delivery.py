"""Send planned batches (alerts, briefings) to Discord without loss or duplicates.

Each batch is rendered from the store, packed into messages (10 embeds / 6000
characters each) and sent in order; progress is recorded after every accepted message,
and each message carries a stable nonce derived from the ledger, so a retry or a
restart resumes where it stopped and Discord drops a repeat it already accepted.

Every request a round makes (opening a DM channel as well as each send) first takes a
slot from one global limiter, since discord.py learns of the global limit only from 429s;
the limiter's slots come from a budget in the store, shared by every bot process.

Several processes may send from one store: each claims the batches it sends (a lease
renewed while it sends, storage/claims.py), so a batch is sent by one of them; a process
that dies leaves its claims to be taken over once their lease runs out. A process running
some of the bot's shards sends only the channel batches of its own guilds (DMs: any).

A briefing digest's placement (its header in the channel, the cards in a thread started
from it, the channel when threads are refused) is bot/digest_delivery.py's.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import discord

from bot.digest_delivery import DigestSender, call_hook
from bot.ratelimit import RateLimiter, SharedRateLimiter
from bot.render.alerts import Outgoing, alert_messages
from bot.render.digest import digest_messages
from bot.render.embeds import pack, story_embed
from bot.render.kev_alerts import vuln_messages
from bot.services.briefings import BriefingItem, BriefingService
from storage.claims import ClaimRepository, process_id
from storage.models import Batch
from storage.store import Store

log = logging.getLogger(__name__)

RETRIES_NOW = 3  # quick retries within one round
MAX_ATTEMPTS = 8  # rounds before a batch is recorded as failed
ROUND_BACKOFF = 30.0  # seconds before the 2nd round; doubles each round, capped at an hour
NO_MENTIONS = discord.AllowedMentions.none()
DM_CACHE = 100_000  # user id -> DM channel id entries kept (discord.py keeps only 128)
CLAIM_CHUNK = 100  # batches claimed at a time: processes sharing a fan-out interleave

Messages = list[Outgoing]  # each message's embeds, and its buttons (alerts to a DM)


@dataclass
class DeliveryStats:
    sent: int = 0  # batches completed
    messages: int = 0  # messages Discord accepted
    retried: int = 0  # quick retries within the round, plus batches put off to a later round
    refused: int = 0
    failed: int = 0


def _legacy_briefing(batch: Batch) -> bool:
    """A briefing a version before digests began sending (cards only, in the channel):
    it is finished the way it started."""
    return batch.purpose == "briefing" and batch.sent_parts > 0 \
        and batch.header_message_id is None


class ClaimLost(Exception):
    """Another process took this batch over (our lease ran out): stop sending it."""


class Unreachable(Exception):
    """The target will not take messages (closed DMs, no access, deleted channel)."""


def _retry_after(exc: discord.HTTPException) -> float:
    """Seconds Discord asked us to wait, from the exception or the Retry-After header."""
    value = getattr(exc, "retry_after", None)
    if value is None and exc.response is not None:
        value = exc.response.headers.get("Retry-After")
    try:
        return max(float(value or 0), 0.0)
    except ValueError:
        return 0.0


class Deliverer:
    def __init__(
        self,
        client: discord.Client,
        store: Store,
        briefings: BriefingService,
        *,
        clock: Callable[[], datetime],
        rate: float = 45.0,
        concurrency: int = 25,
        on_refused: Callable[[Batch, str], object] | None = None,
        on_no_threads: Callable[[Batch, str, str], object] | None = None,
        retries_now: int = RETRIES_NOW,
        retry_delay: float = 0.5,
        max_attempts: int = MAX_ATTEMPTS,
        round_backoff: float = ROUND_BACKOFF,
        owns: Callable[[int], bool] | None = None,
        worker: str | None = None,
        lease: float = 30.0,
        shared_rate: bool = True,
    ) -> None:
        """``owns(guild_id)``: whether this process serves that guild's shard (None:
        every guild); ``worker``: who claims the batches; ``lease``: seconds a claim holds
        unrenewed; ``shared_rate``: pace with the store's budget, shared by processes;
        ``on_no_threads(batch, reason, missing)``: a digest's cards went to the channel
        for want of the permission ``missing`` (bot.digest_delivery's NO_THREAD_START or
        NO_THREAD_POSTS)."""
        self._client = client
        self._store = store
        self._briefings = briefings
        self._clock = clock
        self.claims = ClaimRepository(store.db)
        self.limiter: RateLimiter | SharedRateLimiter = (
            SharedRateLimiter(self.claims, rate) if shared_rate else RateLimiter(rate))
        self._owns = owns
        self.worker = worker or process_id()
        self.lease = lease
        self._held: set[int] = set()  # batches this process holds a live claim on
        self._concurrency = concurrency
        self._on_refused = on_refused
        self._lock = asyncio.Lock()
        self.retries_now = retries_now
        self.retry_delay = retry_delay  # first quick retry's delay; doubles each time
        self.max_attempts = max_attempts
        self.round_backoff = round_backoff
        self._dm_channels: dict[int, int] = {}
        self._digests = DigestSender(
            client, store, on_no_threads=on_no_threads,
            pace=lambda: self.limiter.acquire(),  # the limiter as it is then: it may be replaced
            send=self._send, send_parts=self._send_parts, still_mine=self._still_mine,
        )

    async def send_pending(self, *, purpose: str | None = None) -> DeliveryStats:
        """Send every batch that is due and not another process's: claimed a chunk at a
        time, so processes sharing a fan-out each take a part. One round at a time per
        process."""
        async with self._lock:
            stats = DeliveryStats()
            batches = await self._store.deliveries.pending(now=self._clock(), purpose=purpose)
            batches = await self._ours(batches)
            for start in range(0, len(batches), CLAIM_CHUNK):
                claimed = await self._claim(batches[start : start + CLAIM_CHUNK])
                if not claimed:
                    continue
                renewing = asyncio.create_task(self._renew())
                try:
                    await self._send_claimed(claimed, stats)
                finally:
                    renewing.cancel()
                    await asyncio.gather(renewing, return_exceptions=True)
                    held, self._held = self._held, set()
                    await self.claims.release_batches(self.worker, held)
            return stats

    async def _ours(self, batches: list[Batch]) -> list[Batch]:
        """Its own guilds' channel batches and every DM (a channel the store cannot place
        in a guild is tried, as before sharding)."""
        if self._owns is None:
            return batches
        channels = [b.target_id for b in batches if b.target_kind == "channel"]
        guilds = await self.claims.channel_guilds(channels)
        return [b for b in batches if b.target_kind != "channel"
                or b.target_id not in guilds or self._owns(guilds[b.target_id])]

    async def _claim(self, batches: list[Batch]) -> list[Batch]:
        """Those of ``batches`` this process now holds a claim on (no other process
        sends them meanwhile)."""
        if not batches:
            return []
        held = await self.claims.claim_batches(self.worker, [b.id for b in batches],
                                               now=self._clock(), lease=self.lease)
        self._held = set(held)
        fresh = []
        for batch in batches:  # as the store has it now: another process may have
            if batch.id in held:  # sent part of it since the pending list was read
                current = await self._store.deliveries.get(batch.id)
                if current is not None and current.status == "pending":
                    fresh.append(current)
        return fresh

    async def _renew(self) -> None:
        """Renew this round's claims every third of the lease, until cancelled."""
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                kept = await self.claims.renew_batches(self.worker, self._held,
                                                       now=self._clock(), lease=self.lease)
            except Exception:
                log.exception("renewing the claims on %s batches failed", len(self._held))
                continue
            lost = self._held - kept
            if lost:
                log.warning("claims on batches %s were taken over", sorted(lost)[:10])
            self._held &= kept

    def _still_mine(self, batch: Batch) -> None:
        if batch.id not in self._held:
            raise ClaimLost(batch.id)

    async def _send_claimed(self, batches: list[Batch], stats: DeliveryStats) -> None:
        by_target: dict[tuple[str, int], list[Batch]] = defaultdict(list)
        for batch in batches:
            by_target[batch.target_kind, batch.target_id].append(batch)
        gate = asyncio.Semaphore(self._concurrency)
        rendered: dict[tuple[int, ...], list[BriefingItem]] = {}  # one fan-out, one read

        async def target_round(queue: list[Batch]) -> None:
            async with gate:
                for batch in queue:  # in order: one target's messages never interleave
                    await self._deliver(batch, stats, rendered)

        await asyncio.gather(*(target_round(q) for q in by_target.values()))

    # -- destinations ---------------------------------------------------------------

    async def _destination(self, batch: Batch) -> discord.abc.Messageable:
        """Where to send, making as few requests as possible: a channel needs none, a user
        needs their DM channel opened once per process (one paced request)."""
        client = self._client
        if batch.target_kind == "user":
            channel_id = self._dm_channels.get(batch.target_id)
            if channel_id is None:
                channel_id = await self._open_dm(batch.target_id)
            return client.get_partial_messageable(channel_id, type=discord.ChannelType.private)
        channel = client.get_channel(batch.target_id)
        if channel is None:
            # Unknown to the cache: send anyway; Discord answers 404/403 if it is gone.
            return client.get_partial_messageable(batch.target_id)
        if not isinstance(channel, discord.abc.Messageable):
            raise Unreachable(f"channel {batch.target_id} cannot take messages")
        return channel

    async def _open_dm(self, user_id: int) -> int:
        await self.limiter.acquire()
        try:
            channel = await self._client.create_dm(discord.Object(id=user_id))
        except discord.HTTPException as exc:
            if exc.status in (400, 403, 404):  # unknown or deleted user, or no shared guild
                raise Unreachable(f"user {user_id}: {exc.text or exc}") from exc
            raise
        if len(self._dm_channels) >= DM_CACHE:
            self._dm_channels.pop(next(iter(self._dm_channels)))
        self._dm_channels[user_id] = channel.id
        return channel.id

    # -- one batch ------------------------------------------------------------------

    def _header(self, batch: Batch, count: int, part: int, parts: int) -> str:
        text = f"**New on what you follow** — {count} {'story' if count == 1 else 'stories'}"
        return text + (f" ({part}/{parts})" if parts > 1 else "")

    async def _render(
        self, batch: Batch, rendered: dict[tuple[int, ...], list[BriefingItem]]
    ) -> tuple[int, Messages]:
        if batch.purpose == "alert" and not batch.story_ids:  # a CVE entered KEV, …
            changes = await self._store.vuln_alerts.items(batch.id)
            dm_user = batch.target_id if batch.target_kind == "user" else None
            return len(changes), vuln_messages(changes, dm_user=dm_user)
        key = tuple(batch.story_ids)
        if key not in rendered:
            rendered[key] = await self._briefings.items(batch.story_ids)
        items = rendered[key]
        if batch.purpose == "alert":  # each card says what matched; a DM gets buttons
            reasons = await self._store.deliveries.reasons(batch.id)
            dm_user = batch.target_id if batch.target_kind == "user" else None
            return len(items), alert_messages(items, reasons, dm_user=dm_user)
        if _legacy_briefing(batch):
            return len(items), [Outgoing(m) for m in pack([story_embed(i) for i in items])]
        schedule = await self._store.schedules.get(batch.target_id)
        stack = (await self._briefings.your_stack(schedule.guild_id, items,
                                                  since=batch.period_start)
                 if schedule is not None else None)  # the server's watchlist, first
        return len(items), digest_messages(items, start=batch.period_start,
                                           end=batch.created_at, stack=stack)

    async def _deliver(
        self, batch: Batch, stats: DeliveryStats,
        rendered: dict[tuple[int, ...], list[BriefingItem]],
    ) -> None:
        try:
            count, messages = await self._render(batch, rendered)
            destination = await self._destination(batch)
            if batch.purpose == "briefing" and not _legacy_briefing(batch):
                last = await self._digests.send_digest(batch, destination, messages, stats)
            else:
                last = await self._send_parts(batch, destination, messages, stats,
                                              lambda i: self._header(batch, count, i + 1,
                                                                     len(messages)))
            await self._store.deliveries.mark_sent(batch.id, message_id=last,
                                                   now=self._clock())
            stats.sent += 1
        except ClaimLost:
            log.warning("batch %s: taken over by another process; it sends the rest",
                        batch.id)
        except (Unreachable, discord.Forbidden, discord.NotFound) as exc:
            await self._refused(batch, stats, str(exc) or type(exc).__name__)
        except (discord.HTTPException, OSError, TimeoutError) as exc:
            await self._put_off(batch, stats, f"{type(exc).__name__}: {exc}")
        except Exception as exc:
            # A bug or a store error must not end the round for every other target, nor
            # drop this batch: it is retried like a failed send, and logged in full.
            log.exception("batch %s: unexpected error", batch.id)
            await self._put_off(batch, stats, f"{type(exc).__name__}: {exc}")

    async def _send_parts(
        self, batch: Batch, destination: discord.abc.Messageable, messages: Messages,
        stats: DeliveryStats, header: Callable[[int], str], *, first: int = 0,
    ) -> int | None:
        """Send ``messages[i]`` for every part not yet accepted (from ``first``), in
        order, recording progress after each; returns the last message's id."""
        last = batch.message_id
        for index in range(max(batch.sent_parts, first), len(messages)):
            part = messages[index]
            self._still_mine(batch)
            message = await self._send(destination, part.content or header(index), part,
                                       batch.nonce(index), stats)
            await self._store.deliveries.mark_progress(batch.id, index + 1)
            stats.messages += 1
            batch.sent_parts = index + 1  # a fallback elsewhere goes on from here
            last = message.id
        return last

    async def _refused(self, batch: Batch, stats: DeliveryStats, reason: str) -> None:
        await self._store.deliveries.mark_final(batch.id, status="refused", error=reason)
        stats.refused += 1
        log.info("batch %s refused by %s %s: %s", batch.id, batch.target_kind,
                 batch.target_id, reason)
        if self._on_refused is not None:
            await call_hook(self._on_refused, batch, reason,
                            doing=f"handling the refusal of batch {batch.id}")

    async def _put_off(self, batch: Batch, stats: DeliveryStats, reason: str) -> None:
        """Retry the batch in a later round, or record it as failed after max_attempts."""
        deliveries = self._store.deliveries
        attempts = batch.attempts + 1
        reason = reason[:300]
        if attempts >= self.max_attempts:
            await deliveries.mark_final(batch.id, status="failed", error=reason)
            stats.failed += 1
            log.error("batch %s failed for good after %s attempts: %s", batch.id,
                      attempts, reason)
            return
        delay = min(self.round_backoff * 2 ** (attempts - 1), 3600)
        await deliveries.mark_retry(
            batch.id, error=reason, next_try_at=self._clock() + timedelta(seconds=delay)
        )
        stats.retried += 1
        log.warning("batch %s will be retried in %ss: %s", batch.id, delay, reason)

    async def _send(
        self, destination: discord.abc.Messageable, content: str,
        part: Outgoing, nonce: str, stats: DeliveryStats,
    ) -> discord.Message:
        """Send one message, retrying 429s and 5xx a few times with the same nonce (so
        Discord drops a repeat of a message it accepted but whose answer we lost)."""
        for attempt in range(self.retries_now + 1):
            await self.limiter.acquire()
            try:
                return await destination.send(
                    content=content, embeds=part.embeds, view=part.view, nonce=nonce,
                    allowed_mentions=NO_MENTIONS,
                )
            except discord.HTTPException as exc:
                retriable = exc.status == 429 or exc.status >= 500
                if not retriable or attempt == self.retries_now:
                    raise
                delay = max(_retry_after(exc), self.retry_delay * 2**attempt)
                if exc.status == 429:
                    self.limiter.slow_down(delay)
                stats.retried += 1
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")
