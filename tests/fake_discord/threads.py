"""Threads started from a message (`POST /channels/{id}/messages/{id}/threads`), as
Discord makes them: the thread has the message's id, its permissions are its parent
channel's, posting in it needs Send Messages in Threads, and a second thread from the
same message is refused with 160004. Deleting one (`DELETE /channels/{id}`) needs Manage
Threads, even for the bot that started it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .state import (
    CREATE_PUBLIC_THREADS,
    GUILD_TEXT,
    MANAGE_THREADS,
    VIEW_CHANNEL,
    FakeChannel,
    iso_now,
)

if TYPE_CHECKING:
    from .server import FakeDiscord

PUBLIC_THREAD = 11
HAS_THREAD = 1 << 5  # message flag
THREAD_EXISTS = 160004


@dataclass
class FakeThread(FakeChannel):
    """A public thread. ``overwrites`` is its parent's own list (shared), so taking a
    permission away in the parent takes it away in the thread too, as on Discord."""

    parent_id: int = 0
    owner_id: int = 0
    auto_archive_duration: int = 1440
    created_at: str = ""

    def payload(self) -> dict[str, Any]:
        last = str(self.last_message_id) if self.last_message_id else None
        return {
            "id": str(self.id), "type": PUBLIC_THREAD, "name": self.name,
            "guild_id": str(self.guild_id), "parent_id": str(self.parent_id),
            "owner_id": str(self.owner_id), "last_message_id": last,
            "rate_limit_per_user": 0, "message_count": 0, "member_count": 1,
            "total_message_sent": 0, "flags": 0,
            "thread_metadata": {
                "archived": False, "auto_archive_duration": self.auto_archive_duration,
                "archive_timestamp": self.created_at, "locked": False,
                "create_timestamp": self.created_at,
            },
        }


def _error(status: int, code: int, message: str) -> web.Response:
    from .rest import json_response

    return json_response({"code": code, "message": message}, status)


async def start_thread_from_message(fake: FakeDiscord, request: web.Request) -> web.Response:
    from .rest import json_response

    world = fake.world
    channel = world.channels.get(int(request.match_info["channel_id"]))
    if channel is None:
        return _error(404, 10003, "Unknown Channel")
    message = fake.find_message(int(request.match_info["message_id"]))
    if message is None or message["channel_id"] != str(channel.id):
        return _error(404, 10008, "Unknown Message")
    if channel.type != GUILD_TEXT:
        return _error(400, 50024, "Cannot execute action on this channel type")
    guild = world.guild_of(channel)
    assert guild is not None
    perms = guild.permissions_for(fake.bot_user.id, channel)
    if not perms & VIEW_CHANNEL:
        return _error(403, 50001, "Missing Access")
    if not perms & CREATE_PUBLIC_THREADS:
        return _error(403, 50013, "Missing Permissions")
    if int(message["id"]) in fake.threads:
        return _error(400, THREAD_EXISTS, "A thread has already been created for this message")
    body = await request.json()
    name = str(body.get("name") or "")
    if not 1 <= len(name) <= 100:
        return _error(400, 50035, "Invalid Form Body")
    thread = FakeThread(
        id=int(message["id"]), type=PUBLIC_THREAD, name=name, guild_id=guild.id,
        overwrites=channel.overwrites, parent_id=channel.id, owner_id=fake.bot_user.id,
        auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
        created_at=iso_now(),
    )
    fake.threads[thread.id] = thread
    world.channels[thread.id] = thread
    message["thread"] = thread.payload()
    message["flags"] = int(message.get("flags") or 0) | HAS_THREAD
    await fake.dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True})
    return json_response(thread.payload(), 201)


async def delete_thread(fake: FakeDiscord, thread: FakeThread) -> web.Response:
    """Delete a thread and its messages; the starter message stays, without the thread."""
    from .rest import json_response

    world = fake.world
    guild = world.guilds[thread.guild_id or 0]
    perms = guild.permissions_for(fake.bot_user.id, thread)
    if not perms & VIEW_CHANNEL:
        return _error(403, 50001, "Missing Access")
    if not perms & MANAGE_THREADS:
        return _error(403, 50013, "Missing Permissions")
    for message in list(fake.messages.get(thread.id, [])):
        fake.remove_message(message)
    fake.messages.pop(thread.id, None)
    del fake.threads[thread.id]
    del world.channels[thread.id]
    fake.deleted_threads.append(thread)
    starter = fake.find_message(thread.id)
    if starter is not None:
        starter.pop("thread", None)
        starter["flags"] = int(starter.get("flags") or 0) & ~HAS_THREAD
    await fake.dispatch("THREAD_DELETE", {
        "id": str(thread.id), "guild_id": str(thread.guild_id),
        "parent_id": str(thread.parent_id), "type": PUBLIC_THREAD})
    return json_response(thread.payload())
