"""In-memory model of the Discord objects the fake serves, and their JSON payloads.

Payloads follow the Discord API v10 shapes closely enough for discord.py 2.x to parse them
(ids as strings, ISO timestamps, permissions as decimal strings).
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

DEFAULT_EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE | ADD_REACTIONS | VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS
    | ATTACH_FILES | READ_MESSAGE_HISTORY | USE_EXTERNAL_EMOJIS | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS | CREATE_PUBLIC_THREADS | SEND_MESSAGES_IN_THREADS
)
# What an invited bot typically gets on top of @everyone.
DEFAULT_BOT_PERMISSIONS = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY
)

# Channel types.
GUILD_TEXT = 0
DM = 1


class Snowflakes:
    """Monotonic snowflake ids whose timestamp part is the current time."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
        return self._last


def iso_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@dataclass
class FakeUser:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None
    dms_closed: bool = False  # sending to this user's DM channel answers 403 / 50007

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int
    position: int = 0

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }


@dataclass
class FakeMember:
    user: FakeUser
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_now)

    def payload(self, *, permissions: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "user": self.user.payload(),
            "nick": self.nick,
            "avatar": None,
            "roles": [str(r) for r in self.roles],
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
        }
        if permissions is not None:  # only interaction payloads carry this
            data["permissions"] = str(permissions)
        return data


@dataclass
class FakeChannel:
    id: int
    type: int
    name: str | None
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    recipient: FakeUser | None = None  # DM channels only
    # Raw Discord overwrite objects: {"id", "type": 0 role / 1 member, "allow", "deny"}.
    overwrites: list[dict[str, Any]] = field(default_factory=list)
    last_message_id: int | None = None

    def payload(self) -> dict[str, Any]:
        last = str(self.last_message_id) if self.last_message_id else None
        if self.type == DM:
            assert self.recipient is not None
            return {
                "id": str(self.id),
                "type": DM,
                "last_message_id": last,
                "flags": 0,
                "recipients": [self.recipient.payload()],
            }
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "topic": self.topic,
            "nsfw": False,
            "last_message_id": last,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "flags": 0,
            "permission_overwrites": [
                {**ow, "id": str(ow["id"]), "allow": str(ow["allow"]), "deny": str(ow["deny"])}
                for ow in self.overwrites
            ],
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        return data


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    joined_at: str = field(default_factory=iso_now)

    @property
    def everyone(self) -> FakeRole:
        return self.roles[self.id]  # the @everyone role shares the guild's id

    def base_permissions(self, user_id: int) -> int:
        """Guild-level permissions, computed the way Discord documents it."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members.get(user_id)
        perms = self.everyone.permissions
        for role_id in member.roles if member else ():
            if role_id in self.roles:
                perms |= self.roles[role_id].permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def permissions_for(self, user_id: int, channel: FakeChannel | None = None) -> int:
        """Permissions in `channel` (overwrites applied), or guild-level without one."""
        perms = self.base_permissions(user_id)
        if channel is None or perms & ADMINISTRATOR:
            return perms
        member = self.members.get(user_id)
        role_ids = set(member.roles) if member else set()
        overwrites = {int(ow["id"]): ow for ow in channel.overwrites}
        if (ow := overwrites.get(self.id)) is not None:
            perms = (perms & ~ow["deny"]) | ow["allow"]
        allow = deny = 0
        for role_id in role_ids:
            if (ow := overwrites.get(role_id)) is not None and ow["type"] == 0:
                allow |= ow["allow"]
                deny |= ow["deny"]
        perms = (perms & ~deny) | allow
        if (ow := overwrites.get(user_id)) is not None and ow["type"] == 1:
            perms = (perms & ~ow["deny"]) | ow["allow"]
        return perms

    def payload(self, *, full: bool = False) -> dict[str, Any]:
        """REST guild object; `full=True` adds the GUILD_CREATE extras (channels, members)."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.payload() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
        }
        if full:
            data.update(
                joined_at=self.joined_at,
                large=False,
                unavailable=False,
                member_count=len(self.members),
                members=[m.payload() for m in self.members.values()],
                channels=[c.payload() for c in self.channels.values()],
                threads=[],
                presences=[],
                voice_states=[],
                stage_instances=[],
                guild_scheduled_events=[],
                soundboard_sounds=[],
            )
        return data


class World:
    """Users, guilds and channels the fake knows, with builder helpers."""

    def __init__(self, ids: Snowflakes) -> None:
        self.ids = ids
        self.users: dict[int, FakeUser] = {}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}  # guild channels and DM channels
        self.dm_channels: dict[int, FakeChannel] = {}  # recipient user id -> DM channel
        self._names = itertools.count(1)

    def add_user(
        self,
        username: str | None = None,
        *,
        user_id: int | None = None,
        bot: bool = False,
        dms_closed: bool = False,
    ) -> FakeUser:
        user = FakeUser(
            id=user_id or self.ids.next(),
            username=username or f"user{next(self._names)}",
            bot=bot,
            dms_closed=dms_closed,
        )
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        *,
        guild_id: int | None = None,
        owner_id: int | None = None,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
    ) -> FakeGuild:
        gid = guild_id or self.ids.next()
        owner = self.users[owner_id] if owner_id else self.add_user(f"{name}-owner")
        guild = FakeGuild(id=gid, name=name, owner_id=owner.id)
        guild.roles[gid] = FakeRole(id=gid, name="@everyone", permissions=everyone_permissions)
        self.guilds[gid] = guild
        self.add_member(gid, owner.id)
        return guild

    def add_role(self, guild_id: int, name: str, permissions: int) -> FakeRole:
        guild = self.guilds[guild_id]
        role = FakeRole(id=self.ids.next(), name=name, permissions=permissions,
                        position=len(guild.roles))
        guild.roles[role.id] = role
        return role

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        *,
        permissions: int = 0,
        roles: tuple[int, ...] | list[int] = (),
        nick: str | None = None,
    ) -> FakeMember:
        """Add a user to a guild; `permissions` become a personal role on top of @everyone."""
        guild = self.guilds[guild_id]
        member = FakeMember(user=self.users[user_id], roles=list(roles), nick=nick)
        if permissions:
            role = self.add_role(guild_id, f"perms-{user_id}", permissions)
            member.roles.append(role.id)
        guild.members[user_id] = member
        return member

    def add_text_channel(
        self,
        guild_id: int,
        name: str,
        *,
        channel_id: int | None = None,
        overwrites: list[dict[str, Any]] | None = None,
    ) -> FakeChannel:
        guild = self.guilds[guild_id]
        channel = FakeChannel(
            id=channel_id or self.ids.next(),
            type=GUILD_TEXT,
            name=name,
            guild_id=guild_id,
            position=len(guild.channels),
            overwrites=list(overwrites or []),
        )
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def dm_channel(self, user_id: int) -> FakeChannel:
        """The DM channel with `user_id`, created on first use (like POST /users/@me/channels)."""
        if user_id not in self.dm_channels:
            channel = FakeChannel(id=self.ids.next(), type=DM, name=None,
                                  recipient=self.users[user_id])
            self.dm_channels[user_id] = channel
            self.channels[channel.id] = channel
        return self.dm_channels[user_id]

    def guild_of(self, channel: FakeChannel) -> FakeGuild | None:
        return self.guilds.get(channel.guild_id) if channel.guild_id else None
