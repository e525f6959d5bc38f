"""Send planned batches (alerts, briefings) to Discord without loss or duplicates.

Each batch is rendered from the store, packed into messages (10 embeds / 6000
characters each) and sent in order; progress is recorded after every accepted message,
and each message carries a stable nonce derived from the ledger, so a retry or a
restart resumes where it stopped and Discord drops a repeat it already accepted.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import discord

from bot.ratelimit import RateLimiter
from bot.render.embeds import pack, story_embed
from bot.services.briefings import BriefingService
from storage.models import Batch
from storage.store import Store

log = logging.getLogger(__name__)

RETRIES_NOW = 3  # quick retries within one round
MAX_ATTEMPTS = 8  # rounds before a batch is recorded as failed
NO_MENTIONS = discord.AllowedMentions.none()


@dataclass
class DeliveryStats:
    sent: int = 0
    messages: int = 0
    retried: int = 0
    refused: int = 0
    failed: int = 0


class Unreachable(Exception):
    """The target will not take messages (closed DMs, no access, deleted channel)."""


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
    ) -> None:
        self._client = client
        self._store = store
        self._briefings = briefings
        self._clock = clock
        self._limiter = RateLimiter(rate)
        self._concurrency = concurrency
        self._on_refused = on_refused
        self._lock = asyncio.Lock()

    async def send_pending(self, *, purpose: str | None = None) -> DeliveryStats:
        """Send every batch that is due. One round at a time per process."""
        async with self._lock:
            stats = DeliveryStats()
            batches = await self._store.deliveries.pending(now=self._clock(), purpose=purpose)
            by_target: dict[tuple[str, int], list[Batch]] = defaultdict(list)
            for batch in batches:
                by_target[batch.target_kind, batch.target_id].append(batch)
            gate = asyncio.Semaphore(self._concurrency)

            async def target_round(queue: list[Batch]) -> None:
                async with gate:
                    for batch in queue:  # in order: one target's messages never interleave
                        await self._deliver(batch, stats)

            await asyncio.gather(*(target_round(q) for q in by_target.values()))
            return stats

    async def _destination(self, batch: Batch) -> discord.abc.Messageable:
        try:
            if batch.target_kind == "user":
                user = self._client.get_user(batch.target_id) or await self._client.fetch_user(
                    batch.target_id
                )
                return user.dm_channel or await user.create_dm()
            channel = self._client.get_channel(batch.target_id) or await self._client.fetch_channel(
                batch.target_id
            )
        except (discord.NotFound, discord.Forbidden) as exc:
            raise Unreachable(f"{batch.target_kind} {batch.target_id}: {exc.text or exc}") from exc
        if not isinstance(channel, discord.abc.Messageable):
            raise Unreachable(f"channel {batch.target_id} cannot take messages")
        return channel

    def _header(self, batch: Batch, count: int, part: int, parts: int) -> str:
        if batch.purpose == "briefing":
            text = f"**Daily briefing** — {count} {'story' if count == 1 else 'stories'}"
        else:
            text = f"**New on what you follow** — {count} {'story' if count == 1 else 'stories'}"
        return text + (f" ({part}/{parts})" if parts > 1 else "")

    async def _deliver(self, batch: Batch, stats: DeliveryStats) -> None:
        deliveries = self._store.deliveries
        try:
            destination = await self._destination(batch)
            items = await self._briefings.items(batch.story_ids)
            messages = pack([story_embed(item) for item in items])
            for index in range(batch.sent_parts, len(messages)):
                content = self._header(batch, len(items), index + 1, len(messages))
                message = await self._send(destination, content, messages[index],
                                           batch.nonce(index), stats)
                await deliveries.mark_progress(batch.id, index + 1)
                stats.messages += 1
                if index == len(messages) - 1:
                    await deliveries.mark_sent(batch.id, message_id=message.id, now=self._clock())
            if not messages:
                await deliveries.mark_sent(batch.id, message_id=None, now=self._clock())
            stats.sent += 1
        except (Unreachable, discord.Forbidden, discord.NotFound) as exc:
            reason = str(exc) or type(exc).__name__
            await deliveries.mark_final(batch.id, status="refused", error=reason)
            stats.refused += 1
            log.info("batch %s refused by %s %s: %s", batch.id, batch.target_kind,
                     batch.target_id, reason)
            if self._on_refused is not None:
                result = self._on_refused(batch, reason)
                if asyncio.iscoroutine(result):
                    await result
        except (discord.HTTPException, OSError, TimeoutError) as exc:
            attempts = batch.attempts + 1
            reason = f"{type(exc).__name__}: {exc}"[:300]
            if attempts >= MAX_ATTEMPTS:
                await deliveries.mark_final(batch.id, status="failed", error=reason)
                stats.failed += 1
                log.error("batch %s failed for good after %s attempts: %s", batch.id,
                          attempts, reason)
            else:
                delay = min(30 * 2 ** (attempts - 1), 3600)
                await deliveries.mark_retry(
                    batch.id, error=reason, next_try_at=self._clock() + timedelta(seconds=delay)
                )
                stats.retried += 1
                log.warning("batch %s will be retried in %ss: %s", batch.id, delay, reason)

    async def _send(
        self, destination: discord.abc.Messageable, content: str,
        embeds: list[discord.Embed], nonce: str, stats: DeliveryStats,
    ) -> discord.Message:
        """Send one message, retrying 429s and 5xx a few times with the same nonce."""
        for attempt in range(RETRIES_NOW + 1):
            await self._limiter.acquire()
            try:
                return await destination.send(
                    content=content, embeds=embeds, nonce=nonce, allowed_mentions=NO_MENTIONS
                )
            except discord.HTTPException as exc:
                retriable = exc.status == 429 or exc.status >= 500
                if not retriable or attempt == RETRIES_NOW:
                    raise
                retry_after = float(getattr(exc, "retry_after", 0) or 0)
                delay = max(retry_after, 0.5 * 2**attempt)
                if exc.status == 429:
                    self._limiter.slow_down(delay)
                stats.retried += 1
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")
