"""Naive fan-out through discord.py against a fake Discord with Discord-like limits.

500 `channel.send` calls over 100 channels, all started at once with asyncio.gather and
paced only by discord.py. discord.py waits on the per-channel buckets it is told about
(5 per 5 s) but learns of the global limit (50 requests/s) only from 429s, retries those a
few times and then raises — so a part of the fan-out is lost (DESIGN.md: 313–398 of 500).

    .venv/bin/python bench/bench_fanout_fake.py [--messages 500] [--channels 100] [--runs 1]
                                                [--global-window fixed|sliding]

Reuse `discord_like_fake` + `connected_client` to bench a paced sender instead of
`naive_fanout`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import discord

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from tests.fake_discord import FakeDiscord, discord_py_pointed_at


@dataclass
class FanoutResult:
    attempted: int
    delivered: int  # sends that returned a Message
    errors: dict[str, int]  # exception type / HTTP status -> count
    seconds: float


@asynccontextmanager
async def discord_like_fake(
    channels: int = 100,
    *,
    global_limit: int = 50,
    message_limit: tuple[int, float] = (5, 5.0),
    global_window: Literal["fixed", "sliding"] = "fixed",
) -> AsyncIterator[tuple[FakeDiscord, list[int]]]:
    """A running fake with Discord's limits and one guild of `channels` text channels."""
    async with FakeDiscord(global_limit=global_limit, message_limit=message_limit,
                           global_window=global_window, echo_messages=False) as fake:
        guild = fake.add_guild("bench", channels=[f"c{i:03d}" for i in range(channels)])
        with discord_py_pointed_at(fake):
            yield fake, [c.id for c in fake.text_channels(guild.id)]


@asynccontextmanager
async def connected_client(fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    """A real discord.py client logged in to `fake` and READY; closed on exit."""
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    await client.login(fake.token)
    runner = asyncio.create_task(client.connect())
    try:
        await asyncio.wait_for(client.wait_until_ready(), 10)
        yield client
    finally:
        await client.close()
        await runner


async def naive_fanout(client: discord.Client, channel_ids: Sequence[int],
                       messages: int) -> FanoutResult:
    """`messages` sends spread round-robin over the channels, all gathered at once."""
    channels = [client.get_partial_messageable(cid) for cid in channel_ids]
    return await run_fanout(
        [lambda i=i: channels[i % len(channels)].send(f"story {i}") for i in range(messages)])


async def run_fanout(sends: Sequence[Callable[[], Awaitable[object]]]) -> FanoutResult:
    """Run send callables concurrently and classify their outcomes."""
    started = time.perf_counter()
    results = await asyncio.gather(*(send() for send in sends), return_exceptions=True)
    seconds = time.perf_counter() - started
    errors: dict[str, int] = {}
    for result in results:
        if isinstance(result, BaseException):
            key = (f"HTTP {result.status}" if isinstance(result, discord.HTTPException)
                   else type(result).__name__)
            errors[key] = errors.get(key, 0) + 1
    return FanoutResult(len(sends), len(sends) - sum(errors.values()), errors, seconds)


def report(label: str, fake: FakeDiscord, result: FanoutResult) -> None:
    stats = fake.stats
    print(f"{label}: delivered {result.delivered}/{result.attempted} in {result.seconds:.1f}s"
          f" | stored {fake.message_count} | 429s: global {stats.global_429},"
          f" bucket {stats.bucket_429} | send errors {result.errors or '-'}"
          f" | requests {len(stats.requests)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--global-window", choices=["fixed", "sliding"], default="fixed")
    args = parser.parse_args()
    logging.getLogger("discord").setLevel(logging.ERROR)  # one warning per 429 otherwise
    for run in range(1, args.runs + 1):
        setup = discord_like_fake(args.channels, global_window=args.global_window)
        async with setup as (fake, channel_ids), connected_client(fake) as client:
            result = await naive_fanout(client, channel_ids, args.messages)
            report(f"naive gather, run {run}", fake, result)


if __name__ == "__main__":
    asyncio.run(main())
