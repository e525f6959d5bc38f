"""Place a briefing digest: its header in the channel, a thread started from the header,
the cards in that thread, and the channel itself when threads are refused there.

The Deliverer (bot/delivery.py) renders and claims the batch and hands its messages here;
sending, pacing and the claim check stay the Deliverer's, passed in as callables, so this
module never imports it. Every step is recorded in the store before the next, so a
restart resumes the digest where it stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord

from bot.render.digest import thread_name
from storage.models import Batch
from storage.store import Store

if TYPE_CHECKING:
    from bot.delivery import DeliveryStats, Messages
    from bot.render.alerts import Outgoing

# The Deliverer's log, as before these steps moved here: the same name in log lines and
# for level settings.
log = logging.getLogger("bot.delivery")

THREAD_EXISTS = 160004  # Discord: "A thread has already been created for this message"
THREAD_ARCHIVE = 1440  # minutes of quiet before a digest's thread is hidden
NO_THREADS_NOTICE = "digest.no_threads."  # + channel id: its admins were told
# The permission a digest lacked when its cards went to the channel (the notice names it).
NO_THREAD_START = "Create Public Threads"
NO_THREAD_POSTS = "Send Messages in Threads"


async def call_hook(hook: Callable[..., object], batch: Batch, *args: str,
                    doing: str) -> None:
    """Call the bot's hook (plain or async); its failure is logged, never raised."""
    try:
        result = hook(batch, *args)
        if asyncio.iscoroutine(result):
            await result
    except Exception:
        log.exception("%s failed", doing)


class DigestSender:
    """Sends the Deliverer's digest batches, each its header, thread and cards."""

    def __init__(
        self,
        client: discord.Client,
        store: Store,
        *,
        pace: Callable[[], Awaitable[None]],
        send: Callable[[discord.abc.Messageable, str, Outgoing, str, DeliveryStats],
                       Awaitable[discord.Message]],
        send_parts: Callable[..., Awaitable[int | None]],
        still_mine: Callable[[Batch], None],
        on_no_threads: Callable[[Batch, str, str], object] | None,
    ) -> None:
        """``pace()``: take a slot from the global limiter before a request; ``send`` and
        ``send_parts``: the Deliverer's, for one message and for the parts not yet
        accepted; ``still_mine(batch)``: raises once another process took the batch over;
        ``on_no_threads(batch, reason, missing)``: see the Deliverer."""
        self._client = client
        self._store = store
        self._pace = pace
        self._send = send
        self._send_parts = send_parts
        self._still_mine = still_mine
        self._on_no_threads = on_no_threads
        self._undeletable: set[int] = set()  # channels whose unused threads were left: logged

    async def send_digest(
        self, batch: Batch, channel: discord.abc.Messageable, messages: Messages,
        stats: DeliveryStats,
    ) -> int | None:
        """The header in the channel (part 0), a thread started from it, the cards
        (parts 1…) in the thread. Each step is recorded, so a restart resumes in the
        same thread: the header is not sent again once recorded (nor, within Discord's
        nonce window, once accepted), and the thread is made once. A thread that refuses
        the cards (403, or 404: deleted) gives way to the channel, recorded before any card
        goes there, so a restart sends the rest there and nowhere else."""
        header_id = batch.header_message_id
        if len(messages) < 2:  # its stories were forgotten while it was rendered
            return header_id
        if batch.sent_parts == 0 or header_id is None:
            self._still_mine(batch)
            header = await self._send(channel, messages[0].content or "", messages[0],
                                      batch.nonce(0), stats)
            header_id = header.id
            await self._store.deliveries.mark_header(batch.id, header_id)
            stats.messages += 1
            batch.sent_parts = max(batch.sent_parts, 1)
        cards_to = batch.cards_channel_id
        if cards_to is None:
            cards_to = await self._open_thread(batch, header_id, len(messages))
            await self._store.deliveries.mark_cards_channel(batch.id, cards_to)
        if cards_to != batch.target_id:
            thread = self._client.get_partial_messageable(
                cards_to, type=discord.ChannelType.public_thread)
            try:
                await self._send_parts(batch, thread, messages, stats, lambda _: "", first=1)
            except (discord.Forbidden, discord.NotFound) as exc:
                await self._thread_refused(batch, cards_to, exc)
            else:
                await self._threads_allowed(batch)
                return header_id
        await self._send_parts(batch, channel, messages, stats, lambda _: "", first=1)
        return header_id

    async def _open_thread(self, batch: Batch, header_id: int, parts: int) -> int:
        """The id of a public thread started from the header; the channel's own id when
        the bot may not create threads there (the admins are told, once)."""
        await self._pace()
        try:
            thread = await self._client.http.start_thread_with_message(
                batch.target_id, header_id, auto_archive_duration=THREAD_ARCHIVE,
                name=thread_name(batch.created_at, len(batch.story_ids)),
                rate_limit_per_user=None,
            )
        except discord.Forbidden as exc:
            await self._threads_refused(batch, exc.text or str(exc), NO_THREAD_START)
            return batch.target_id
        except discord.HTTPException as exc:
            if exc.code != THREAD_EXISTS:
                raise
            # Made before a crash, never recorded: a thread started from a message
            # has that message's id.
            return header_id
        return int(thread["id"])

    async def _thread_refused(self, batch: Batch, thread_id: int,
                              exc: discord.Forbidden | discord.NotFound) -> None:
        """The thread refused a card: the rest go to the channel. A 403 is told to the
        admins (once, as for no threads at all) and its thread, if no card was recorded
        in it, deleted; a 404 is a thread deleted already (by someone, or by this before
        a crash). Told, deleted, then the channel recorded: a restart at any step ends
        with the cards in the channel once."""
        reason = exc.text or str(exc)
        if isinstance(exc, discord.Forbidden):
            await self._threads_refused(batch, reason, NO_THREAD_POSTS)
            if batch.sent_parts <= 1:
                await self._delete_thread(batch, thread_id)
        else:
            log.info("batch %s: thread %s is gone (%s); cards follow in channel %s",
                     batch.id, thread_id, reason, batch.target_id)
        await self._store.deliveries.mark_cards_channel(batch.id, batch.target_id)
        batch.cards_channel_id = batch.target_id

    async def _delete_thread(self, batch: Batch, thread_id: int) -> None:
        """Delete a thread the bot could not post in, so no empty thread hangs under the
        header. Discord wants Manage Threads even for the bot's own thread: without it
        the thread stays (logged once per channel); any failure here only logs."""
        await self._pace()
        try:
            await self._client.http.delete_channel(
                thread_id, reason="the bot may not post the briefing's cards in it")
        except discord.NotFound:
            return
        except discord.Forbidden as exc:
            if batch.target_id not in self._undeletable:
                self._undeletable.add(batch.target_id)
                log.warning("channel %s: cannot delete the briefing thread %s the bot may "
                            "not post in (%s); such threads are left empty (Manage Threads "
                            "lets the bot delete them)", batch.target_id, thread_id,
                            exc.text or exc)
            return
        except (discord.HTTPException, OSError, TimeoutError) as exc:
            log.warning("batch %s: deleting the unused thread %s failed: %s", batch.id,
                        thread_id, exc)
            return
        self._undeletable.discard(batch.target_id)
        log.info("batch %s: deleted thread %s (the bot may not post in it)", batch.id,
                 thread_id)

    async def _threads_refused(self, batch: Batch, reason: str, missing: str) -> None:
        key = f"{NO_THREADS_NOTICE}{batch.target_id}"
        log.info("batch %s: no %s in channel %s (%s); cards follow in the channel",
                 batch.id, missing, batch.target_id, reason)
        if await self._store.meta.get(key) == "told" or self._on_no_threads is None:
            return
        await self._store.meta.set(key, "told")
        await call_hook(self._on_no_threads, batch, reason, missing,
                        doing=f"telling the admins about channel {batch.target_id}")

    async def _threads_allowed(self, batch: Batch) -> None:
        """The cards went in a thread: threads work there (again), so a later refusal is
        worth telling again."""
        key = f"{NO_THREADS_NOTICE}{batch.target_id}"
        if await self._store.meta.get(key) == "told":
            await self._store.meta.set(key, "")
