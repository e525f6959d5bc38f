"""`FakeDiscord`: a local Discord (REST + gateway) on 127.0.0.1 for end-to-end tests.

State is in memory and public, so tests set it up and assert on it directly:
`world` (users, guilds, channels), `messages`, `interactions`, `stats`, `unhandled`,
`global_commands` / `guild_commands` with their sync counters, and `gateway.stats`.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Literal, Self

from aiohttp import web

from . import messages as msgs
from .gateway import INTENT_DIRECT_MESSAGES, INTENT_GUILD_MESSAGES, Gateway
from .holds import Hold, Holds
from .interactions import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    EPHEMERAL,
    MESSAGE_COMPONENT,
    FakeInteraction,
    command_data,
    find_command,
    interaction_payload,
)
from .middleware import API_PREFIX, api_middleware
from .ratelimit import FaultInjector, GlobalLimiter, RouteBuckets, Stats
from .rest import RestApi
from .state import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    DM,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    Snowflakes,
    World,
)

DEFAULT_TOKEN = "fake-bot-token"  # not a secret: the fake accepts only this


class FakeDiscord:
    """A Discord-shaped server. Use `async with FakeDiscord() as fake:` or start()/stop()."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = DEFAULT_TOKEN,
        application_id: int | None = None,
        bot_user_id: int | None = None,
        bot_name: str = "fake-bot",
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        global_limit: int = 50,
        global_window: Literal["fixed", "sliding"] = "fixed",
        message_limit: tuple[int, float] = (5, 5.0),
        default_limit: tuple[int, float] = (50, 1.0),
        route_limits: dict[str, tuple[int, float]] | None = None,
        heartbeat_interval: float = 5.0,
        interaction_timeout: float = 3.0,
        nonce_window: float = 300.0,
        echo_messages: bool = True,
        shards: int = 1,
    ) -> None:
        self.host, self.port, self.token = host, port, token
        self.ids = Snowflakes()
        self.world = World(self.ids)
        self.bot_user: FakeUser = self.world.add_user(bot_name, user_id=bot_user_id, bot=True)
        self.application_id: int = application_id or self.bot_user.id
        self.app_owner: FakeUser = self.world.add_user("app-owner")
        self.bot_permissions = bot_permissions
        # Limits: "METHOD /route/{template}" -> (requests, per seconds).
        self.message_limit, self.default_limit = message_limit, default_limit
        self.route_limits = dict(route_limits or {})
        self.interaction_timeout = interaction_timeout
        self.nonce_window = nonce_window
        self.echo_messages = echo_messages
        self.shards = shards  # the count /gateway/bot recommends (shards.py)

        self.messages: dict[int, list[dict[str, Any]]] = {}  # channel id -> messages, oldest first
        self.threads: dict[int, Any] = {}  # thread id (= its starter message's) -> FakeThread
        self.deleted_threads: list[Any] = []  # FakeThreads deleted through the API
        self.deleted_messages: list[dict[str, Any]] = []
        self.attachments: dict[int, bytes] = {}
        self.nonce_hits = 0  # sends answered with an existing message (enforce_nonce)
        self._by_id: dict[int, dict[str, Any]] = {}  # also holds ephemeral messages
        self._nonces: dict[tuple[int, str], tuple[float, dict[str, Any]]] = {}

        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.global_syncs = 0
        self.guild_syncs: Counter[int] = Counter()
        self.interactions: dict[str, FakeInteraction] = {}  # by token

        self.stats = Stats()
        self.unhandled: list[tuple[str, str]] = []
        self.faults = FaultInjector()
        self.holds = Holds()
        self.global_limiter = GlobalLimiter(global_limit, sliding=global_window == "sliding")
        self.route_buckets = RouteBuckets()
        self.gateway = Gateway(self, heartbeat_interval)
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> Self:
        app = web.Application(middlewares=[api_middleware(self)], client_max_size=64 * 1024 * 1024)
        app.router.add_get("/ws", self.gateway.handle)
        app.router.add_get("/attachments/{attachment_id}/{filename}", self._get_attachment)
        for route in RestApi(self).routes():
            app.router.add_route(route.method, API_PREFIX + route.path, route.handler)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self.gateway.close()
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """Put this in discord.http.Route.BASE (or SECBRIEF_DISCORD_API_BASE)."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Put this in DiscordWebSocket.DEFAULT_GATEWAY (or SECBRIEF_DISCORD_GATEWAY)."""
        return f"ws://{self.host}:{self.port}/ws"

    # -- world building ----------------------------------------------------------------------

    def add_user(self, username: str | None = None, *, user_id: int | None = None,
                 dms_closed: bool = False, bot: bool = False) -> FakeUser:
        return self.world.add_user(username, user_id=user_id, dms_closed=dms_closed, bot=bot)

    def add_guild(
        self,
        name: str = "fake-guild",
        *,
        guild_id: int | None = None,
        owner_id: int | None = None,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        channels: tuple[str, ...] | list[str] = ("general",),
    ) -> FakeGuild:
        """A guild the bot is in (with `bot_permissions`), with text channels by name.

        Add guilds before the bot connects; later ones need `dispatch_guild_create`."""
        guild = self.world.add_guild(name, guild_id=guild_id, owner_id=owner_id,
                                     everyone_permissions=everyone_permissions)
        self.world.add_member(guild.id, self.bot_user.id, permissions=self.bot_permissions)
        for channel_name in channels:
            self.world.add_text_channel(guild.id, channel_name)
        return guild

    def add_text_channel(self, guild_id: int, name: str, *, channel_id: int | None = None,
                         overwrites: list[dict[str, Any]] | None = None) -> FakeChannel:
        return self.world.add_text_channel(guild_id, name, channel_id=channel_id,
                                           overwrites=overwrites)

    def add_role(self, guild_id: int, name: str, permissions: int) -> FakeRole:
        return self.world.add_role(guild_id, name, permissions)

    def add_member(self, guild_id: int, user_id: int, *, permissions: int = 0,
                   roles: tuple[int, ...] = (), nick: str | None = None) -> FakeMember:
        return self.world.add_member(guild_id, user_id, permissions=permissions, roles=roles,
                                     nick=nick)

    def set_bot_overwrite(self, channel_id: int, *, allow: int = 0, deny: int = 0) -> None:
        """Replace the bot's own permission overwrite in a channel (both 0: remove it).
        Its threads share the channel's overwrites, so ``deny=SEND_MESSAGES_IN_THREADS``
        lets the bot start threads there but answers 403 / 50013 to its posts in them."""
        channel = self.world.channels[channel_id]
        bot = self.bot_user.id
        channel.overwrites[:] = [ow for ow in channel.overwrites
                                 if not (int(ow["id"]) == bot and ow["type"] == 1)]
        if allow or deny:
            channel.overwrites.append({"id": bot, "type": 1, "allow": allow, "deny": deny})

    def set_dms_closed(self, user_id: int, closed: bool = True) -> None:
        self.world.users[user_id].dms_closed = closed

    def text_channels(self, guild_id: int) -> list[FakeChannel]:
        return list(self.world.guilds[guild_id].channels.values())

    async def wait_until_connected(self, timeout: float = 10.0) -> None:
        """Until a client has IDENTIFIED and been sent READY (e.g. a bot subprocess)."""
        await asyncio.wait_for(self.gateway.ready.wait(), timeout)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0,
                       interval: float = 0.02) -> None:
        """Poll until `predicate()` holds, e.g. `lambda: fake.message_count >= 3`."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(interval)

    # -- gateway control ---------------------------------------------------------------------

    async def dispatch(self, event: str, data: Any) -> None:
        await self.gateway.dispatch(event, data)

    async def dispatch_guild_create(self, guild_id: int) -> None:
        await self.gateway.dispatch("GUILD_CREATE", self.world.guilds[guild_id].payload(full=True))

    async def disconnect_gateway(self, code: int | None = 4000) -> int:
        """Drop the bot's websocket (close `code`, or a TCP abort when None); it may RESUME."""
        return await self.gateway.disconnect(code)

    async def request_reconnect(self) -> None:
        await self.gateway.send_reconnect()

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        await self.gateway.invalidate_sessions(resumable=resumable)

    # -- interactions ------------------------------------------------------------------------

    async def invoke_slash(
        self,
        name: str,
        *,
        options: dict[str, Any] | list[dict[str, Any]] | None = None,
        subcommand: str | None = None,
        group: str | None = None,
        user_id: int,
        guild_id: int | None = None,
        channel_id: int | None = None,
        permissions: int | None = None,
    ) -> FakeInteraction:
        """Send an APPLICATION_COMMAND interaction, options typed per the synced schema.

        `options` as a dict maps option names to values (ints, strs, bools, FakeChannel or
        channel ids, FakeUser...); as a list it is sent verbatim."""
        data = self._command_data(name, options, subcommand, group, user_id, guild_id)
        return await self._invoke(APPLICATION_COMMAND, data, user_id=user_id, guild_id=guild_id,
                                  channel_id=channel_id, permissions=permissions)

    async def invoke_autocomplete(
        self,
        name: str,
        focused_option: str,
        value: str,
        *,
        options: dict[str, Any] | None = None,
        subcommand: str | None = None,
        group: str | None = None,
        user_id: int,
        guild_id: int | None = None,
        channel_id: int | None = None,
    ) -> FakeInteraction:
        """Send an AUTOCOMPLETE interaction; `await wait_response()` then read `.choices`."""
        values = {**(options or {}), focused_option: value}
        data = self._command_data(name, values, subcommand, group, user_id, guild_id,
                                  focused=focused_option)
        return await self._invoke(AUTOCOMPLETE, data, user_id=user_id, guild_id=guild_id,
                                  channel_id=channel_id)

    async def press_button(
        self,
        message: dict[str, Any] | FakeInteraction | int,
        custom_id: str,
        *,
        user_id: int,
        component_type: int = 2,
        values: list[str] | None = None,
    ) -> FakeInteraction:
        """Send a MESSAGE_COMPONENT interaction for a component on a stored message
        (a message dict, its id, or the FakeInteraction whose response carries it)."""
        if isinstance(message, FakeInteraction):
            message = message.message or {}
        mid = message if isinstance(message, int) else int(message["id"])
        stored = self.find_message(mid)
        if stored is None:
            raise KeyError(f"no message {mid}")
        channel = self.world.channels[int(stored["channel_id"])]
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        return await self._invoke(MESSAGE_COMPONENT, data, user_id=user_id,
                                  guild_id=channel.guild_id, channel_id=channel.id,
                                  message=stored)

    def _command_data(self, name: str, options: Any, subcommand: str | None, group: str | None,
                      user_id: int, guild_id: int | None, *, focused: str | None = None
                      ) -> dict[str, Any]:
        # A command synced to this guild wins over a global one, as on Discord.
        in_guild = guild_id and find_command(self.guild_commands.get(guild_id, []), name)
        scope = guild_id if in_guild else None
        return command_data(
            self.world, find_command(self.commands_for(scope), name), name=name,
            options=options, subcommand=subcommand, group=group, user_id=user_id,
            guild_id=guild_id, scope_guild_id=scope, focused=focused,
            fallback_id=self.ids.next())

    async def _invoke(self, itype: int, data: dict[str, Any], *, user_id: int,
                      guild_id: int | None, channel_id: int | None,
                      permissions: int | None = None,
                      message: dict[str, Any] | None = None) -> FakeInteraction:
        payload = interaction_payload(
            self.world, interaction_id=self.ids.next(), application_id=self.application_id,
            bot_id=self.bot_user.id, itype=itype, data=data, user_id=user_id,
            guild_id=guild_id, channel_id=channel_id, permissions=permissions, message=message)
        interaction = FakeInteraction(payload)
        self.interactions[interaction.token] = interaction
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return interaction

    # -- commands ---------------------------------------------------------------------------

    def commands_for(self, guild_id: int | None) -> list[dict[str, Any]]:
        return self.guild_commands.get(guild_id, []) if guild_id else self.global_commands

    @property
    def commands_synced(self) -> int:
        """Bulk overwrites received (global + every guild)."""
        return self.global_syncs + sum(self.guild_syncs.values())

    def store_commands(self, guild_id: int | None, body: list[dict[str, Any]]
                       ) -> list[dict[str, Any]]:
        """Bulk overwrite; a command keeps its id when its name and type are unchanged."""
        old = {(c["name"], c.get("type", 1)): c for c in self.commands_for(guild_id)}
        stored = []
        for cmd in body:
            kind = cmd.get("type", 1)
            previous = old.get((cmd["name"], kind))
            record = {
                "description": "", "options": [], "default_member_permissions": None,
                "nsfw": False, "contexts": None, "integration_types": [0],
                **cmd,
                "id": previous["id"] if previous else str(self.ids.next()),
                "application_id": str(self.application_id),
                "type": kind,
                "version": str(self.ids.next()),
            }
            if guild_id:
                record["guild_id"] = str(guild_id)
            stored.append(record)
        if guild_id:
            self.guild_commands[guild_id] = stored
            self.guild_syncs[guild_id] += 1
        else:
            self.global_commands = stored
            self.global_syncs += 1
        return stored

    # -- messages -----------------------------------------------------------------------------

    def channel_messages(self, channel_id: int) -> list[dict[str, Any]]:
        return self.messages.get(channel_id, [])

    def threads_of(self, channel_id: int) -> list[Any]:
        """The threads started from messages in `channel_id`, oldest first."""
        return [t for t in self.threads.values() if t.parent_id == channel_id]

    def sent_to_user(self, user_id: int) -> list[dict[str, Any]]:
        """Messages in the bot's DM channel with `user_id`."""
        channel = self.world.dm_channels.get(user_id)
        return self.channel_messages(channel.id) if channel else []

    @property
    def message_count(self) -> int:
        """Visible messages in all channels (DMs and non-ephemeral interaction replies too)."""
        return sum(len(v) for v in self.messages.values())

    def find_message(self, message_id: int) -> dict[str, Any] | None:
        return self._by_id.get(message_id)

    def store_files(self, files: list[msgs.UploadedFile]) -> list[dict[str, Any]]:
        return msgs.attachment_records(self.base_url, self.ids, files, self.attachments)

    def _store(self, channel: FakeChannel, message: dict[str, Any], *, visible: bool) -> None:
        self._by_id[int(message["id"])] = message
        if visible:
            self.messages.setdefault(channel.id, []).append(message)
            channel.last_message_id = int(message["id"])

    def create_channel_message(self, channel: FakeChannel, body: dict[str, Any],
                               files: list[msgs.UploadedFile]) -> dict[str, Any]:
        message = msgs.new_message(
            message_id=self.ids.next(), channel_id=channel.id, guild_id=channel.guild_id,
            author=self.bot_user.payload(), body=body, attachments=self.store_files(files))
        self._store(channel, message, visible=True)
        if message.get("nonce") is not None:
            self._nonces[(channel.id, message["nonce"])] = (time.monotonic(), message)
        return message

    def recent_nonce(self, channel_id: int, nonce: str) -> dict[str, Any] | None:
        """The bot's message with this nonce in this channel within `nonce_window`, if any."""
        hit = self._nonces.get((channel_id, nonce))
        if hit is None or time.monotonic() - hit[0] > self.nonce_window:
            return None
        return hit[1] if int(hit[1]["id"]) in self._by_id else None

    def create_interaction_message(self, inter: FakeInteraction, body: dict[str, Any],
                                   files: list[msgs.UploadedFile]) -> dict[str, Any]:
        """A response or followup message; ephemeral ones are not visible in the channel."""
        channel = self.world.channels[int(inter.payload["channel_id"])]
        payload = inter.payload
        message = msgs.new_message(
            message_id=self.ids.next(), channel_id=channel.id, guild_id=channel.guild_id,
            author=self.bot_user.payload(), body=body, attachments=self.store_files(files),
            message_type=20 if inter.type == APPLICATION_COMMAND else 0)
        invoker = payload["member"]["user"] if "member" in payload else payload["user"]
        message.update(
            webhook_id=str(self.application_id),
            application_id=str(self.application_id),
            interaction_metadata={
                "id": str(inter.id), "type": inter.type, "user": invoker,
                "authorizing_integration_owners": payload["authorizing_integration_owners"],
            },
        )
        self._store(channel, message, visible=not message["flags"] & EPHEMERAL)
        return message

    def remove_message(self, message: dict[str, Any]) -> None:
        self._by_id.pop(int(message["id"]), None)
        channel_messages = self.messages.get(int(message["channel_id"]), [])
        if message in channel_messages:
            channel_messages.remove(message)
        self.deleted_messages.append(message)

    async def echo(self, event: str, channel: FakeChannel, data: dict[str, Any]) -> None:
        """Tell the bot about its own message, as Discord does (if it has the intent)."""
        if not self.echo_messages:
            return
        data = dict(data)
        if channel.type == DM:
            intent = INTENT_DIRECT_MESSAGES
        else:
            intent = INTENT_GUILD_MESSAGES
            if event != "MESSAGE_DELETE":
                guild = self.world.guilds[channel.guild_id or 0]
                member = guild.members[self.bot_user.id].payload()
                member.pop("user")
                data["member"] = member
        await self.gateway.dispatch(event, data, intent=intent)

    # -- faults -----------------------------------------------------------------------------

    def fail_next(
        self,
        target: str | int,
        status: int,
        count: int = 1,
        *,
        retry_after: float | None = None,
        body: dict[str, Any] | None = None,
        code: int | None = None,
        is_global: bool = False,
    ) -> None:
        """Answer the next `count` matching requests with `status` before any handling.

        `target` is a channel id, a path pattern ("/channels/*/messages", no /api/v10) or
        "METHOD pattern". 429s get a Via header and a Discord rate-limit body; other
        statuses a Discord error body (`code` picks e.g. 50013 / 50001 / 50007)."""
        self.faults.add(target, status, count, retry_after=retry_after, body=body, code=code,
                        is_global=is_global)

    def hold(self, target: str, *, after: int = 0) -> Hold:
        """Let `after` matching requests through, then keep the next ones unanswered and
        unhandled until `hold.release()`; `hold.waiting` counts those held now,
        `hold.answered` those answered since. For acting at an observed point, e.g.
        killing the bot while a message is in flight.

        `target` is a path pattern ("/channels/*/messages", no /api/v10) or
        "METHOD pattern"."""
        return self.holds.add(target, after)

    # -- HTTP plumbing ---------------------------------------------------------------------------

    async def _get_attachment(self, request: web.Request) -> web.Response:
        data = self.attachments.get(int(request.match_info["attachment_id"]))
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")
