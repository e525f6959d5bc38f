"""A local fake Discord (REST + gateway) that discord.py's real client can talk to.

    async with FakeDiscord() as fake:
        guild = fake.add_guild("test")
        with discord_py_pointed_at(fake):
            ...  # run a discord.py client with fake.token

See README.md in this folder.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .interactions import FakeInteraction
from .ratelimit import Stats
from .server import DEFAULT_TOKEN, FakeDiscord
from .state import (
    ADMINISTRATOR,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    MANAGE_GUILD,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
)

__all__ = [
    "ADMINISTRATOR",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "DEFAULT_TOKEN",
    "MANAGE_GUILD",
    "SEND_MESSAGES",
    "VIEW_CHANNEL",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "Stats",
    "discord_py_pointed_at",
    "point_discord_py_at",
]


def point_discord_py_at(rest_base: str, gateway_url: str) -> None:
    """Send discord.py's REST calls to `rest_base` and its gateway to `gateway_url`.

    `Client.connect()` dials `DiscordWebSocket.DEFAULT_GATEWAY` without asking /gateway, and
    every REST call (webhooks and interaction callbacks included) builds on `Route.BASE`.
    Process-wide: affects every discord.py client in this interpreter."""
    import yarl
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    Route.BASE = rest_base.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


@contextlib.contextmanager
def discord_py_pointed_at(fake: FakeDiscord) -> Iterator[None]:
    """`point_discord_py_at(fake.api_base, fake.gateway_url)`, restoring the old values after."""
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    saved = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    point_discord_py_at(fake.api_base, fake.gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved
