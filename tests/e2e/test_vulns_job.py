"""The bot's scheduler refreshes the vulnerability sources: the job exists and is
running, and one round loads a KEV catalogue served from 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config import Settings
from bot.services.vulns import ROUND_INTERVAL
from tests.conftest import Clock
from tests.e2e.conftest import World, running_bot
from tests.feedserver import FeedServer
from tests.vulns.conftest import fixture


async def test_vulns_job_runs_and_refreshes_what_is_due(
    world: World, settings: Settings, clock: Clock, feed_server: FeedServer
) -> None:
    feed_server.add("/kev.json", fixture("kev.json"), content_type="application/json")
    configured = settings.model_copy(update={"kev_url": feed_server.url("/kev.json")})
    started = datetime.now(UTC)
    async with running_bot(world.fake, configured, clock=clock) as bot:
        job = bot.jobs.scheduler.get_job("vulns")
        assert job is not None and job.next_run_time is not None
        assert job.next_run_time >= started + timedelta(seconds=ROUND_INTERVAL - 5)
        assert feed_server.hits["/kev.json"] == 0  # nothing fetched at start
        await bot.vulns_round()
        assert feed_server.hits["/kev.json"] == 1
        assert await bot.services.store.vulns.kev_count() == 3
        await bot.vulns_round()  # not due again for 6 h
        assert feed_server.hits["/kev.json"] == 1
