"""Interaction payloads the fake sends (slash, autocomplete, component) and what came back.

A `FakeInteraction` records the bot's callback, the original response message and any
followups, and lets a test await them.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import Any

from .state import (
    ATTACH_FILES,
    EMBED_LINKS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    FakeChannel,
    FakeRole,
    FakeUser,
    World,
)

# Interaction types.
APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE = 2, 3, 4
# Callback types.
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
# Option types.
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN = 1, 2, 3, 4, 5
USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 6, 7, 8, 9, 10

EPHEMERAL = 1 << 6
LOADING = 1 << 7
DM_APP_PERMISSIONS = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY
)


class FakeInteraction:
    """One interaction sent to the bot, and everything the bot answered to it."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.id = int(payload["id"])
        self.token: str = payload["token"]
        self.type: int = payload["type"]
        self.created = time.monotonic()
        self.callback: dict[str, Any] | None = None  # the POSTed {"type", "data"}
        self.original: dict[str, Any] | None = None  # message made/updated by the callback
        self.followups: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()

    def __repr__(self) -> str:
        return f"<FakeInteraction id={self.id} type={self.type} response={self.response_type}>"

    # -- waiting --------------------------------------------------------------------------

    async def notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def wait_response(self, timeout: float = 5.0) -> dict[str, Any]:
        """The callback payload ({"type": 4|5|6|7|8|9, "data": ...}) once the bot sent it."""
        await self.wait_for(lambda: self.callback is not None, timeout)
        assert self.callback is not None
        return self.callback

    async def wait_followups(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        await self.wait_for(lambda: len(self.followups) >= count, timeout)
        return self.followups

    async def wait_message(self, timeout: float = 5.0) -> dict[str, Any]:
        """The visible response (see `message`), once there is one."""
        await self.wait_for(lambda: self.message is not None, timeout)
        assert self.message is not None
        return self.message

    # -- what the user sees -----------------------------------------------------------------

    @property
    def response_type(self) -> int | None:
        return self.callback["type"] if self.callback else None

    @property
    def message(self) -> dict[str, Any] | None:
        """The response message a user sees: the original response unless it is still the
        "thinking…" placeholder of a deferral, else the first followup."""
        if self.original is not None and not self.original.get("flags", 0) & LOADING:
            return self.original
        return self.followups[0] if self.followups else None

    @property
    def content(self) -> str | None:
        return self.message.get("content") if self.message else None

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.message.get("embeds") or []) if self.message else []

    @property
    def components(self) -> list[dict[str, Any]]:
        return list(self.message.get("components") or []) if self.message else []

    @property
    def ephemeral(self) -> bool:
        if self.message is not None:
            return bool(self.message.get("flags", 0) & EPHEMERAL)
        data = (self.callback or {}).get("data") or {}
        return bool(int(data.get("flags") or 0) & EPHEMERAL)

    @property
    def choices(self) -> list[dict[str, Any]]:
        """Autocomplete results."""
        if self.response_type != AUTOCOMPLETE_RESULT:
            return []
        return list(((self.callback or {}).get("data") or {}).get("choices") or [])

    @property
    def messages(self) -> list[dict[str, Any]]:
        seen = [self.original] if self.original else []
        return seen + [m for m in self.followups if m is not self.original]


# -- payload builders ----------------------------------------------------------------------


def find_command(
    commands: list[dict[str, Any]], name: str, type_: int = 1
) -> dict[str, Any] | None:
    return next((c for c in commands if c["name"] == name and c.get("type", 1) == type_), None)


def leaf_schema(
    command: dict[str, Any] | None, group: str | None, subcommand: str | None
) -> list[dict[str, Any]] | None:
    """The option schema under `group`/`subcommand` of a registered command, if known."""
    if command is None:
        return None
    options = command.get("options") or []
    for name, kind in ((group, SUB_COMMAND_GROUP), (subcommand, SUB_COMMAND)):
        if name is None:
            continue
        parent = next((o for o in options if o["name"] == name and o["type"] == kind), None)
        if parent is None:
            return None
        options = parent.get("options") or []
    return options


def _infer_type(value: Any) -> int:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    if isinstance(value, FakeChannel):
        return CHANNEL
    if isinstance(value, FakeUser):
        return USER
    if isinstance(value, FakeRole):
        return ROLE
    return STRING


class OptionBuilder:
    """Types option values per the registered schema and collects `resolved` data."""

    def __init__(self, world: World, guild_id: int | None, user_id: int) -> None:
        self.world = world
        self.guild = world.guilds.get(guild_id) if guild_id else None
        self.user_id = user_id
        self.resolved: dict[str, dict[str, Any]] = {}

    def build(
        self,
        values: dict[str, Any],
        schema: list[dict[str, Any]] | None,
        *,
        focused: str | None = None,
    ) -> list[dict[str, Any]]:
        types = {o["name"]: o["type"] for o in schema or []}
        options = []
        for name, value in values.items():
            kind = types.get(name) or _infer_type(value)
            option: dict[str, Any] = {"name": name, "type": kind}
            if name == focused:
                # While typing, Discord sends the raw partial text whatever the option type.
                option.update(value=str(value), focused=True)
            else:
                option["value"] = self._value(kind, value)
            options.append(option)
        return options

    def _value(self, kind: int, value: Any) -> Any:
        if kind == STRING:
            return str(value)
        if kind == INTEGER:
            return int(value)
        if kind == NUMBER:
            return float(value)
        if kind == BOOLEAN:
            return bool(value)
        snowflake = int(getattr(value, "id", value))
        if kind == CHANNEL:
            self._resolve_channel(self.world.channels[snowflake])
        elif kind == ROLE or (kind == MENTIONABLE and self.guild and snowflake in self.guild.roles):
            assert self.guild is not None
            self.resolved.setdefault("roles", {})[str(snowflake)] = (
                self.guild.roles[snowflake].payload())
        elif kind in (USER, MENTIONABLE):
            self._resolve_user(self.world.users[snowflake])
        return str(snowflake)

    def _resolve_channel(self, channel: FakeChannel) -> None:
        data = channel.payload()
        data.pop("permission_overwrites", None)
        perms = self.guild.permissions_for(self.user_id, channel) if self.guild else 0
        data["permissions"] = str(perms)
        self.resolved.setdefault("channels", {})[str(channel.id)] = data

    def _resolve_user(self, user: FakeUser) -> None:
        self.resolved.setdefault("users", {})[str(user.id)] = user.payload()
        if self.guild and user.id in self.guild.members:
            member = self.guild.members[user.id].payload(
                permissions=self.guild.permissions_for(user.id))
            member.pop("user")
            self.resolved.setdefault("members", {})[str(user.id)] = member


def nest_options(
    options: list[dict[str, Any]], group: str | None, subcommand: str | None
) -> list[dict[str, Any]]:
    if subcommand is not None:
        options = [{"type": SUB_COMMAND, "name": subcommand, "options": options}]
    if group is not None:
        options = [{"type": SUB_COMMAND_GROUP, "name": group, "options": options}]
    return options


def command_data(
    world: World,
    command: dict[str, Any] | None,
    *,
    name: str,
    options: dict[str, Any] | list[dict[str, Any]] | None,
    subcommand: str | None,
    group: str | None,
    user_id: int,
    guild_id: int | None,
    scope_guild_id: int | None,
    focused: str | None,
    fallback_id: int,
) -> dict[str, Any]:
    """`data` of a slash or autocomplete interaction for the registered `command` (if any)."""
    builder = OptionBuilder(world, guild_id, user_id)
    if isinstance(options, list):
        leaf = options
    else:
        leaf = builder.build(options or {}, leaf_schema(command, group, subcommand),
                             focused=focused)
    data: dict[str, Any] = {
        "id": command["id"] if command else str(fallback_id),
        "name": name,
        "type": 1,
        "options": nest_options(leaf, group, subcommand),
    }
    if builder.resolved:
        data["resolved"] = builder.resolved
    if scope_guild_id is not None:  # tells discord.py to look among the guild's commands
        data["guild_id"] = str(scope_guild_id)
    return data


def interaction_payload(
    world: World,
    *,
    interaction_id: int,
    application_id: int,
    bot_id: int,
    itype: int,
    data: dict[str, Any],
    user_id: int,
    guild_id: int | None,
    channel_id: int | None,
    permissions: int | None = None,
    message: dict[str, Any] | None = None,
    locale: str = "en-US",
) -> dict[str, Any]:
    """The INTERACTION_CREATE body, with member/permissions as Discord computes them."""
    user = world.users[user_id]
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(application_id),
        "type": itype,
        "data": data,
        "token": secrets.token_urlsafe(48),
        "version": 1,
        "locale": locale,
        "entitlements": [],
        "attachment_size_limit": 10 * 1024 * 1024,
    }
    if guild_id is not None:
        guild = world.guilds[guild_id]
        channel = world.channels[channel_id] if channel_id else next(iter(guild.channels.values()))
        perms = guild.permissions_for(user_id, channel) if permissions is None else permissions
        payload.update(
            guild_id=str(guild_id),
            guild={"id": str(guild_id), "locale": "en-US", "features": []},
            guild_locale="en-US",
            member=guild.members[user_id].payload(permissions=perms),
            app_permissions=str(guild.permissions_for(bot_id, channel)),
            context=0,
            authorizing_integration_owners={"0": str(guild_id)},
        )
    else:
        channel = world.channels[channel_id] if channel_id else world.dm_channel(user_id)
        payload.update(
            user=user.payload(),
            app_permissions=str(DM_APP_PERMISSIONS),
            context=1,
            authorizing_integration_owners={"0": "0"},
        )
    payload["channel_id"] = str(channel.id)
    payload["channel"] = channel.payload()
    if message is not None:
        payload["message"] = message
    return payload
