"""APScheduler jobs: the ingest loop, the alert loop and one cron job per briefing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from storage.models import Schedule

log = logging.getLogger(__name__)

MISFIRE_GRACE = 3600  # a briefing missed by up to an hour (a short outage) is still sent
CATCH_UP = timedelta(hours=6)  # at start, send a briefing missed while the bot was down


def job_id(channel_id: int) -> str:
    return f"briefing:{channel_id}"


def trigger_for(schedule: Schedule) -> CronTrigger:
    hour, minute = schedule.local_time.split(":")
    return CronTrigger(hour=int(hour), minute=int(minute), timezone=schedule.timezone)


def last_fire_before(schedule: Schedule, now: datetime) -> datetime | None:
    """The most recent scheduled time at or before ``now`` (within two days)."""
    trigger = trigger_for(schedule)
    previous = None
    cursor = trigger.get_next_fire_time(None, now - timedelta(days=2))
    while cursor is not None and cursor <= now:
        previous = cursor
        cursor = trigger.get_next_fire_time(cursor, cursor + timedelta(seconds=1))
    return previous


def missed(schedule: Schedule, now: datetime) -> bool:
    """Whether a briefing was due while the bot was down and should go out now."""
    if schedule.paused:
        return False
    due = last_fire_before(schedule, now)
    if due is None or now - due > CATCH_UP:
        return False
    if schedule.created_at is not None and due < schedule.created_at:
        return False  # scheduled after that time: nothing was due yet (the next one is)
    return schedule.last_sent_at is None or schedule.last_sent_at < due


class Jobs:
    """The bot's APScheduler jobs. Every job runs as a tracked task, so shutdown() can
    cancel the rounds in flight and wait for them before the store closes."""

    def __init__(self, scheduler: AsyncIOScheduler) -> None:
        self.scheduler = scheduler
        self.running: set[asyncio.Task] = set()

    def _tracked(self, func: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def run(*args: object) -> None:
            task = asyncio.current_task()
            assert task is not None
            self.running.add(task)
            try:
                await func(*args)
            except asyncio.CancelledError:
                log.info("%s cancelled by shutdown", getattr(func, "__name__", func))
            finally:
                self.running.discard(task)

        return run

    def every(self, name: str, seconds: float, func: Callable[[], Awaitable[None]],
              *, first_run: datetime | None = None) -> None:
        """Run ``func`` every ``seconds``; first at ``first_run``, else one interval on."""
        # APScheduler 3 reads an explicit next_run_time=None as "add the job paused".
        start = {"next_run_time": first_run} if first_run is not None else {}
        self.scheduler.add_job(
            self._tracked(func), "interval", seconds=seconds, id=name, name=name,
            replace_existing=True, coalesce=True, max_instances=1,
            misfire_grace_time=max(int(seconds), 1), **start,
        )

    def once(self, name: str, func: Callable[[], Awaitable[None]]) -> None:
        """Run ``func`` once, now (e.g. the catch-up after READY)."""
        self.scheduler.add_job(
            self._tracked(func), "date", run_date=datetime.now(UTC), id=name, name=name,
            replace_existing=True, max_instances=1, misfire_grace_time=None,
        )

    def set_briefing(self, schedule: Schedule, func: Callable[[int], Awaitable[None]]) -> None:
        if schedule.paused:
            self.remove_briefing(schedule.channel_id)
            return
        self.scheduler.add_job(
            self._tracked(func), trigger_for(schedule), args=[schedule.channel_id],
            id=job_id(schedule.channel_id), name=job_id(schedule.channel_id),
            replace_existing=True, coalesce=True, max_instances=1,
            misfire_grace_time=MISFIRE_GRACE,
        )

    def remove_briefing(self, channel_id: int) -> None:
        if self.scheduler.get_job(job_id(channel_id)) is not None:
            self.scheduler.remove_job(job_id(channel_id))

    def next_briefing(self, channel_id: int) -> datetime | None:
        job = self.scheduler.get_job(job_id(channel_id))
        return job.next_run_time if job else None

    async def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the scheduler (which cancels the jobs in flight) and wait for them."""
        running = list(self.running)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running, timeout=timeout)
