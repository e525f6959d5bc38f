"""discord.py's real client against the local fake Discord: commands, views, gateway
resume, rate limits, DMs, nonces, uploads and injected faults."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fake_discord import (
    MANAGE_GUILD,
    SEND_MESSAGES,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeUser,
    discord_py_pointed_at,
)

FRUITS = ["apple", "apricot", "banana", "cherry", "grape"]


class CounterView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=30)
        self.clicks = 0

    @discord.ui.button(label="+1", custom_id="counter:inc")
    async def inc(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.clicks += 1
        await interaction.response.edit_message(content=f"clicks: {self.clicks}", view=self)


async def fruit_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=f, value=f) for f in FRUITS if f.startswith(current)][:25]


@app_commands.command(description="Is the bot alive?")
async def ping(interaction: discord.Interaction) -> None:
    await interaction.response.send_message(
        "pong @everyone", ephemeral=True, allowed_mentions=discord.AllowedMentions.none())


@app_commands.command(description="Answers after thinking")
async def slow(interaction: discord.Interaction) -> None:
    await interaction.response.defer(thinking=True)
    await asyncio.sleep(0.05)
    await interaction.followup.send("done slowly")


@app_commands.command(description="Orders fruit")
@app_commands.describe(name="which fruit", count="how many", where="deliver to")
@app_commands.autocomplete(name=fruit_autocomplete)
async def fruit(
    interaction: discord.Interaction,
    name: str,
    count: app_commands.Range[int, 1, 10] = 1,
    where: discord.TextChannel | None = None,
) -> None:
    place = where.name if where else "-"
    await interaction.response.send_message(f"{count} x {name} to {place}")


@app_commands.command(description="Shows a counter")
async def counter(interaction: discord.Interaction) -> None:
    await interaction.response.send_message("clicks: 0", view=CounterView())


@app_commands.command(description="Needs Manage Server at run time")
async def configure(interaction: discord.Interaction) -> None:
    allowed = interaction.permissions.manage_guild
    await interaction.response.send_message("configured" if allowed else "denied",
                                            ephemeral=not allowed)


tally = app_commands.Group(name="tally", description="Counts things")


@tally.command(name="add", description="Adds to the tally")
async def tally_add(interaction: discord.Interaction, amount: int, note: str = "") -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    await interaction.edit_original_response(content=f"added {amount + 1} {note}".strip())


class SmokeBot(commands.Bot):
    def __init__(self, guild_id: int) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=0.05,  # READY follows GUILD_CREATE at once on the fake
        )
        self.guild_id = guild_id
        for command in (ping, slow, fruit, counter, configure, tally):
            self.tree.add_command(command)

    async def setup_hook(self) -> None:
        guild = discord.Object(self.guild_id)
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)


@dataclass
class Env:
    fake: FakeDiscord
    guild: FakeGuild
    channels: list[FakeChannel]
    alice: FakeUser  # plain member
    admin: FakeUser  # member with Manage Server
    bot: SmokeBot


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    # A per-channel limit of 5 per 1 s keeps the fan-out test short while still limiting.
    async with FakeDiscord(message_limit=(5, 1.0), heartbeat_interval=1.0) as fake:
        guild = fake.add_guild("smoke", channels=("general", "news", "alerts"))
        alice, admin = fake.add_user("alice"), fake.add_user("admin")
        fake.add_member(guild.id, alice.id)
        fake.add_member(guild.id, admin.id, permissions=MANAGE_GUILD)
        with discord_py_pointed_at(fake):
            bot = SmokeBot(guild.id)
            await bot.login(fake.token)
            runner = asyncio.create_task(bot.connect())
            try:
                await asyncio.wait_for(bot.wait_until_ready(), 5)
                yield Env(fake, guild, fake.text_channels(guild.id), alice, admin, bot)
            finally:
                await bot.close()
                await asyncio.wait_for(runner, 5)


async def test_login_syncs_guild_commands_and_ping_is_ephemeral(env: Env) -> None:
    fake = env.fake
    assert fake.guild_syncs[env.guild.id] == 1 and fake.global_syncs == 0
    assert {c["name"] for c in fake.guild_commands[env.guild.id]} >= {"ping", "fruit"}
    assert env.bot.get_guild(env.guild.id) is not None

    interaction = await fake.invoke_slash("ping", user_id=env.alice.id, guild_id=env.guild.id,
                                          channel_id=env.channels[0].id)
    callback = await interaction.wait_response()
    assert callback["type"] == 4
    assert interaction.content == "pong @everyone"
    assert interaction.ephemeral
    assert interaction.message is not None
    assert interaction.message["allowed_mentions"] == {"parse": []}
    assert fake.channel_messages(env.channels[0].id) == []  # ephemeral: not in the channel

    in_dm = await fake.invoke_slash("ping", user_id=env.alice.id)  # no guild: the bot's DM
    await in_dm.wait_response()
    assert in_dm.content == "pong @everyone" and "user" in in_dm.payload


async def test_deferred_response_then_followup(env: Env) -> None:
    channel = env.channels[1]
    interaction = await env.fake.invoke_slash("slow", user_id=env.alice.id,
                                              guild_id=env.guild.id, channel_id=channel.id)
    assert (await interaction.wait_response())["type"] == 5
    followups = await interaction.wait_followups(1)
    assert followups[0]["content"] == "done slowly"
    assert interaction.content == "done slowly" and not interaction.ephemeral
    # The first followup replaces the "thinking…" message, which is in the channel.
    assert [m["content"] for m in env.fake.channel_messages(channel.id)] == ["done slowly"]


async def test_autocomplete_and_typed_options(env: Env) -> None:
    fake, guild = env.fake, env.guild
    complete = await fake.invoke_autocomplete("fruit", "name", "ap", user_id=env.alice.id,
                                              guild_id=guild.id, channel_id=env.channels[0].id)
    assert (await complete.wait_response())["type"] == 8
    assert [c["value"] for c in complete.choices] == ["apple", "apricot"]

    order = await fake.invoke_slash(
        "fruit", options={"name": "apple", "count": 3, "where": env.channels[1]},
        user_id=env.alice.id, guild_id=guild.id, channel_id=env.channels[0].id)
    await order.wait_response()
    assert order.content == "3 x apple to news"
    sent = order.payload["data"]["options"]
    assert [o["type"] for o in sent] == [3, 4, 7]  # typed per the synced schema
    assert str(env.channels[1].id) in order.payload["data"]["resolved"]["channels"]


async def test_subcommand_in_group_with_edited_deferral(env: Env) -> None:
    interaction = await env.fake.invoke_slash(
        "tally", subcommand="add", options={"amount": "41", "note": "apples"},
        user_id=env.alice.id, guild_id=env.guild.id, channel_id=env.channels[0].id)
    await interaction.wait_message()
    top = interaction.payload["data"]["options"][0]
    assert (top["type"], top["name"]) == (1, "add")
    assert top["options"][0] == {"name": "amount", "type": 4, "value": 41}  # typed per schema
    assert interaction.content == "added 42 apples" and interaction.ephemeral
    assert env.fake.channel_messages(env.channels[0].id) == []


async def test_button_press_edits_the_message(env: Env) -> None:
    fake = env.fake
    shown = await fake.invoke_slash("counter", user_id=env.alice.id, guild_id=env.guild.id,
                                    channel_id=env.channels[0].id)
    await shown.wait_response()
    assert shown.components[0]["components"][0]["custom_id"] == "counter:inc"

    for expected in ("clicks: 1", "clicks: 2"):
        press = await fake.press_button(shown, "counter:inc", user_id=env.alice.id)
        assert (await press.wait_response())["type"] == 7
        assert press.content == expected
    stored = fake.channel_messages(env.channels[0].id)
    assert len(stored) == 1 and stored[0]["content"] == "clicks: 2"


async def test_member_permissions_reach_the_interaction(env: Env) -> None:
    fake, guild = env.fake, env.guild
    as_alice = await fake.invoke_slash("configure", user_id=env.alice.id, guild_id=guild.id)
    as_admin = await fake.invoke_slash("configure", user_id=env.admin.id, guild_id=guild.id)
    forced = await fake.invoke_slash("configure", user_id=env.alice.id, guild_id=guild.id,
                                     permissions=MANAGE_GUILD)
    for interaction in (as_alice, as_admin, forced):
        await interaction.wait_response()
    assert (as_alice.content, as_alice.ephemeral) == ("denied", True)
    assert as_admin.content == "configured" and forced.content == "configured"
    member = env.bot.get_guild(guild.id).get_member(env.admin.id)
    assert member is None or member.guild_permissions.manage_guild


async def test_fanout_paced_by_discord_py_is_consistent(env: Env) -> None:
    fake = env.fake
    channels = [env.bot.get_channel(c.id) for c in env.channels]
    sends = [channels[i % 3].send(f"item {i}") for i in range(60)]
    results = await asyncio.gather(*sends, return_exceptions=True)
    delivered = [r for r in results if isinstance(r, discord.Message)]
    failed = [r for r in results if isinstance(r, discord.HTTPException)]
    assert len(delivered) + len(failed) == 60
    assert all(f.status == 429 for f in failed)
    assert fake.message_count == len(delivered)
    posts = fake.stats.count("POST", "/channels/*/messages")
    ok = fake.stats.count("POST", "/channels/*/messages", status=200)
    limited = fake.stats.count("POST", "/channels/*/messages", status=429)
    assert ok == len(delivered) and posts == ok + limited
    assert fake.stats.global_429 + fake.stats.bucket_429 == fake.stats.by_status[429]
    # discord.py honours the announced per-channel buckets, so everything arrives.
    assert len(delivered) == 60 and limited == 0


@pytest.mark.parametrize("code", [4000, None], ids=["close-4000", "tcp-abort"])
async def test_gateway_resume_replays_missed_events(env: Env, code: int | None) -> None:
    fake, bot = env.fake, env.bot
    resumed = asyncio.create_task(bot.wait_for("resumed", timeout=5))
    assert await fake.disconnect_gateway(code) == 1
    # Dispatched while the bot is away: kept in the session log and replayed on RESUME.
    interaction = await fake.invoke_slash("ping", user_id=env.alice.id, guild_id=env.guild.id)
    await resumed
    assert fake.gateway.stats.identifies == 1 and fake.gateway.stats.resumes == 1
    assert fake.gateway.stats.replayed >= 1
    assert (await interaction.wait_response())["type"] == 4

    after = await fake.invoke_slash("ping", user_id=env.alice.id, guild_id=env.guild.id)
    assert (await after.wait_response())["type"] == 4


async def test_closed_dms_raise_forbidden(env: Env) -> None:
    fake = env.fake
    bob = fake.add_user("bob", dms_closed=True)
    await (await env.bot.fetch_user(env.alice.id)).send("hello alice")
    with pytest.raises(discord.Forbidden) as caught:
        await (await env.bot.fetch_user(bob.id)).send("hello bob")
    assert caught.value.code == 50007
    assert [m["content"] for m in fake.sent_to_user(env.alice.id)] == ["hello alice"]
    assert fake.sent_to_user(bob.id) == []


async def test_same_nonce_posts_once(env: Env) -> None:
    fake = env.fake
    channel = env.bot.get_channel(env.channels[0].id)
    first = await channel.send("briefing", nonce="delivery-42")
    again = await channel.send("briefing", nonce="delivery-42")
    other = await channel.send("briefing")  # discord.py picks a fresh random nonce
    assert first.id == again.id != other.id
    assert len(fake.channel_messages(channel.id)) == 2 and fake.nonce_hits == 1
    assert fake.channel_messages(channel.id)[0]["enforce_nonce"] is True


async def test_multipart_upload_is_recorded(env: Env) -> None:
    fake = env.fake
    channel = env.bot.get_channel(env.channels[0].id)
    png = b"\x89PNG\r\n\x1a\n" + bytes(1000)
    sent = await channel.send("chart", files=[discord.File(io.BytesIO(png), "chart.png"),
                                              discord.File(io.BytesIO(b"a,b\n"), "data.csv")])
    stored = fake.channel_messages(channel.id)[0]
    assert [(a["filename"], a["size"]) for a in stored["attachments"]] == [
        ("chart.png", len(png)), ("data.csv", 4)]
    assert stored["content"] == "chart"
    assert await sent.attachments[0].read() == png  # served back by the fake


async def test_injected_faults_and_discord_validation(env: Env) -> None:
    fake = env.fake
    channel = env.bot.get_channel(env.channels[0].id)
    fake.fail_next(channel.id, 403, code=50013)
    with pytest.raises(discord.Forbidden) as caught:
        await channel.send("nope")
    assert caught.value.code == 50013

    fake.fail_next("POST /channels/*/messages", 429, retry_after=0.1)
    assert (await channel.send("after a 429")).content == "after a 429"  # discord.py retried

    fake.fail_next(f"/channels/{channel.id}/messages", 503)
    with pytest.raises(discord.DiscordServerError):
        await channel.send("down")

    readonly = fake.add_text_channel(env.guild.id, "readonly", overwrites=[
        {"id": fake.bot_user.id, "type": 1, "allow": 0, "deny": SEND_MESSAGES}])
    with pytest.raises(discord.Forbidden) as denied:
        await env.bot.get_partial_messageable(readonly.id).send("nope")
    assert denied.value.code == 50013

    with pytest.raises(discord.HTTPException) as too_big:
        await channel.send(embed=discord.Embed(title="x" * 300))
    assert too_big.value.code == 50035
    assert fake.stats.injected == 3 and fake.stats.by_status[429] == 1
    assert [m["content"] for m in fake.channel_messages(channel.id)] == ["after a 429"]


async def test_unknown_routes_are_recorded(env: Env) -> None:
    with pytest.raises(discord.NotFound):
        await env.bot.http.request(discord.http.Route("GET", "/voice/regions"))
    assert env.fake.unhandled == [("GET", "/voice/regions")]


async def test_wrong_token_fails_login() -> None:
    async with FakeDiscord() as fake:
        with discord_py_pointed_at(fake):
            client = discord.Client(intents=discord.Intents.none())
            try:
                with pytest.raises(discord.LoginFailure):
                    await client.login("not-the-token")
            finally:
                await client.close()
        assert fake.stats.by_status[401] == 1


async def test_raw_gateway_protocol_and_dead_session() -> None:
    async with FakeDiscord(heartbeat_interval=0.5) as fake, aiohttp.ClientSession() as http:
        guild = fake.add_guild("raw")
        async with http.ws_connect(fake.gateway_url + "?v=10&encoding=json") as ws:
            assert await ws.receive_json() == {"op": 10, "d": {"heartbeat_interval": 500}}
            await ws.send_json({"op": 2, "d": {"token": fake.token, "intents": 0}})
            ready, guild_create = await ws.receive_json(), await ws.receive_json()
            assert (ready["t"], ready["s"], guild_create["t"]) == ("READY", 1, "GUILD_CREATE")
            assert guild_create["d"]["id"] == str(guild.id)
            await ws.send_json({"op": 1, "d": 2})
            assert (await ws.receive_json())["op"] == 11
        # The client closed with 1000, which ends the session: RESUME is refused.
        async with http.ws_connect(fake.gateway_url) as ws:
            await ws.receive_json()
            await ws.send_json({"op": 6, "d": {"token": fake.token, "seq": 2,
                                               "session_id": ready["d"]["session_id"]}})
            assert await ws.receive_json() == {"op": 9, "d": False}
    assert fake.gateway.stats.invalid_sessions == 1


async def test_429s_carry_discord_headers() -> None:
    async with FakeDiscord(global_limit=3, message_limit=(1, 5.0)) as fake, \
            aiohttp.ClientSession(headers={"Authorization": f"Bot {fake.token}"}) as http:
        guild = fake.add_guild("limits")
        post_url = f"{fake.api_base}/channels/{fake.text_channels(guild.id)[0].id}/messages"

        async def call(method: str, url: str, **kwargs: object) -> tuple[int, dict, dict]:
            async with http.request(method, url, **kwargs) as resp:
                return resp.status, dict(resp.headers), await resp.json()

        status, headers, _ = await call("POST", post_url, json={"content": "one"})
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert headers["X-RateLimit-Remaining"] == "0" and "X-RateLimit-Bucket" in headers
        status, headers, body = await call("POST", post_url, json={"content": "two"})
        assert status == 429 and headers["Via"] and headers["X-RateLimit-Scope"] == "user"
        assert body["global"] is False and 0 < body["retry_after"] <= 5
        await call("GET", f"{fake.api_base}/users/@me")  # the 3rd request this second
        status, headers, body = await call("GET", f"{fake.api_base}/users/@me")
        assert status == 429 and headers["X-RateLimit-Global"] == "true" and body["global"]
    assert (fake.stats.bucket_429, fake.stats.global_429, fake.message_count) == (1, 1, 1)
