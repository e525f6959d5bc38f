"""The gateway: a websocket speaking Discord's op codes, with sessions that can RESUME.

Every dispatched event gets a sequence number and is kept in its session's log, so a
client that reconnects with RESUME gets the events it missed replayed before RESUMED.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .shards import event_guild, serves

if TYPE_CHECKING:
    from .server import FakeDiscord

log = logging.getLogger(__name__)

# Op codes.
DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, RESUME, RECONNECT = 0, 1, 2, 3, 6, 7
REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 8, 9, 10, 11

# Intent bits used to decide which message events a session receives.
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12


def _compressor(kind: str | None) -> Callable[[bytes], bytes] | None:
    """A per-connection stream compressor for `?compress=`; None sends plain text frames."""
    if not kind:
        return None
    if kind == "zlib-stream":
        z = zlib.compressobj()
        return lambda raw: z.compress(raw) + z.flush(zlib.Z_SYNC_FLUSH)
    if kind == "zstd-stream":
        # discord.py picks zstd-stream whenever `zstandard` (or 3.14's compression.zstd) imports.
        try:
            import zstandard  # type: ignore[import-not-found]
        except ImportError:
            from compression import zstd  # type: ignore[import-not-found]

            c = zstd.ZstdCompressor()
            return lambda raw: c.compress(raw, mode=zstd.ZstdCompressor.FLUSH_BLOCK)
        cobj = zstandard.ZstdCompressor().compressobj()
        return lambda raw: cobj.compress(raw) + cobj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    raise ValueError(f"unsupported gateway compression {kind!r}")


class _Connection:
    """One websocket; serialises sends so the compression stream stays in order."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse,
                 compress: str | None) -> None:
        self.ws = ws
        self.transport = request.transport
        self._compress = _compressor(compress)
        self._lock = asyncio.Lock()

    async def send(self, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload, separators=(",", ":"))
        async with self._lock:
            if self.ws.closed:
                return
            frame = raw if self._compress is None else self._compress(raw.encode())
            # A dropped connection loses the frame; dispatches stay in the log for RESUME.
            with contextlib.suppress(ConnectionError):
                if isinstance(frame, str):
                    await self.ws.send_str(frame)
                else:
                    await self.ws.send_bytes(frame)


@dataclass
class GatewaySession:
    session_id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)  # every dispatch, for replay
    conn: _Connection | None = None
    dead: bool = False  # client closed cleanly (1000): no RESUME possible
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class GatewayStats:
    connections: int = 0
    identifies: int = 0
    resumes: int = 0
    invalid_sessions: int = 0
    heartbeats: int = 0
    dispatched: int = 0
    replayed: int = 0
    presence_updates: list[dict[str, Any]] = field(default_factory=list)
    last_identify: dict[str, Any] | None = None


class Gateway:
    def __init__(self, fake: FakeDiscord, heartbeat_interval: float) -> None:
        self.fake = fake
        self.heartbeat_interval = heartbeat_interval
        self.sessions: dict[str, GatewaySession] = {}
        self.stats = GatewayStats()
        self._conns: set[_Connection] = set()
        self.ready = asyncio.Event()  # set once a READY was sent

    # -- websocket handler ---------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        try:
            conn = _Connection(request, ws, request.query.get("compress"))
        except ValueError as exc:
            await ws.close(code=4000, message=str(exc).encode())
            return ws
        self.stats.connections += 1
        self._conns.add(conn)
        session: GatewaySession | None = None
        client_close_code: int | None = None
        try:
            await conn.send({"op": HELLO, "d": {
                "heartbeat_interval": int(self.heartbeat_interval * 1000)}})
            while True:
                msg = await ws.receive()
                if msg.type is WSMsgType.TEXT:
                    session = await self._on_op(conn, session, json.loads(msg.data)) or session
                elif msg.type is WSMsgType.CLOSE:
                    client_close_code = msg.data
                    break
                elif msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
        finally:
            self._conns.discard(conn)
            if session is not None and session.conn is conn:
                session.conn = None
                # A clean close by the client (1000/1001) ends the session, as on Discord;
                # after any other close the client may RESUME.
                if client_close_code in (1000, 1001):
                    session.dead = True
        return ws

    async def _on_op(
        self, conn: _Connection, session: GatewaySession | None, payload: dict[str, Any]
    ) -> GatewaySession | None:
        op, data = payload.get("op"), payload.get("d")
        if op == HEARTBEAT:
            self.stats.heartbeats += 1
            await conn.send({"op": HEARTBEAT_ACK, "d": None})
        elif op == IDENTIFY:
            return await self._identify(conn, data)
        elif op == RESUME:
            return await self._resume(conn, data)
        elif op == PRESENCE:
            self.stats.presence_updates.append(data)
        elif op == REQUEST_MEMBERS and session is not None:
            await self._members_chunk(session, data)
        return None

    async def _identify(self, conn: _Connection, data: dict[str, Any]) -> GatewaySession | None:
        self.stats.identifies += 1
        self.stats.last_identify = data
        if data.get("token") != self.fake.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return None
        session = GatewaySession(secrets.token_hex(16), int(data.get("intents", 0)),
                                 data.get("shard"))
        self.sessions[session.session_id] = session
        fake = self.fake
        guilds = [g for g in fake.world.guilds.values() if serves(session.shard, g.id)]
        ready: dict[str, Any] = {
            "v": 10,
            "user": {**fake.bot_user.payload(), "verified": True, "mfa_enabled": False,
                     "flags": 0},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": fake.gateway_url,
            "application": {"id": str(fake.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "geo_ordered_rtc_regions": [],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        async with session.lock:
            session.conn = conn
            await self._send_dispatch(session, "READY", ready)
            for guild in guilds:
                await self._send_dispatch(session, "GUILD_CREATE", guild.payload(full=True))
        self.ready.set()
        return session

    async def _resume(self, conn: _Connection, data: dict[str, Any]) -> GatewaySession | None:
        session = self.sessions.get(data.get("session_id", ""))
        if data.get("token") != self.fake.token or session is None or session.dead:
            self.stats.invalid_sessions += 1
            await conn.send({"op": INVALID_SESSION, "d": False})
            return None
        self.stats.resumes += 1
        since = data.get("seq") or 0
        async with session.lock:
            old, session.conn = session.conn, conn
            if old is not None and old is not conn:
                await old.ws.close(code=4000)
            for event in session.log:
                if event["s"] > since:
                    self.stats.replayed += 1
                    await conn.send(event)
            await self._send_dispatch(session, "RESUMED", {})
        return session

    async def _members_chunk(self, session: GatewaySession, data: dict[str, Any]) -> None:
        guild = self.fake.world.guilds.get(int(data["guild_id"]))
        if guild is None:
            return
        chunk = {
            "guild_id": str(guild.id),
            "members": [m.payload() for m in guild.members.values()],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        async with session.lock:
            await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _send_dispatch(self, session: GatewaySession, event: str, data: Any) -> None:
        """Sequence, log and (if connected) send one event; caller holds session.lock."""
        session.seq += 1
        payload = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.log.append(payload)
        self.stats.dispatched += 1
        if session.conn is not None:
            await session.conn.send(payload)

    # -- control from tests ----------------------------------------------------------------

    def live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if not s.dead]

    async def dispatch(self, event: str, data: Any, *, intent: int | None = None) -> None:
        """Send an event to every live session (buffered for RESUME while disconnected).

        With `intent`, only sessions that identified with that intent bit get it; a
        sharded session gets only its guilds' events (shards.py)."""
        guild_id = event_guild(event, data)
        for session in self.live_sessions():
            if intent is not None and not session.intents & intent:
                continue
            if not serves(session.shard, guild_id):
                continue
            async with session.lock:
                await self._send_dispatch(session, event, data)

    async def disconnect(self, code: int | None = 4000) -> int:
        """Drop every open connection: close with `code`, or abort TCP when None.

        Sessions stay resumable. Returns the number of connections dropped."""
        conns = list(self._conns)
        for conn in conns:
            if code is None:
                if conn.transport is not None:
                    conn.transport.abort()
            else:
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=code)
        return len(conns)

    async def send_reconnect(self) -> None:
        """Op 7: ask clients to reconnect and RESUME."""
        for conn in list(self._conns):
            await conn.send({"op": RECONNECT, "d": None})

    async def invalidate_sessions(self, *, resumable: bool = False) -> None:
        """Op 9 to every connection; with resumable=False the sessions are dropped."""
        for session in self.live_sessions():
            if not resumable:
                session.dead = True
            if session.conn is not None:
                await session.conn.send({"op": INVALID_SESSION, "d": resumable})

    async def close(self) -> None:
        for conn in list(self._conns):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001, message=b"fake shutting down")
