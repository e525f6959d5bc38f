"""The cogs as thin adapters: spec'd interaction mocks (python-discord style) in front of
the real services on a real SQLite store."""

from __future__ import annotations

import logging
from unittest import mock

import discord
import pytest
from discord import app_commands

from bot.app import SecBrief, SecBriefTree
from bot.services.container import Services
from bot.services.errors import PermissionDenied, UserError
from cogs._common import caller_of, send_ephemeral
from cogs.actors import ActorCog
from cogs.briefing import BriefingCog
from cogs.feeds import FeedsCog
from cogs.subscriptions import SubscriptionCog
from tests.feedserver import make_rss
from tests.snapshot import snapshot

GUILD, OTHER_GUILD = 9001, 9002


def make_interaction(*, user_id: int = 101, guild_id: int | None = GUILD,
                     manage: bool = False, done: bool = False) -> mock.NonCallableMagicMock:
    interaction = mock.create_autospec(discord.Interaction, instance=True, spec_set=True)
    interaction.user = mock.create_autospec(discord.Member, instance=True, spec_set=True)
    interaction.user.id = user_id
    interaction.guild_id = guild_id
    interaction.channel_id = 555
    interaction.command = None
    interaction.permissions = discord.Permissions(manage_guild=manage)
    interaction.response = mock.create_autospec(discord.InteractionResponse, instance=True,
                                                spec_set=True)
    interaction.response.is_done.return_value = done

    def answered(*args: object, **kwargs: object) -> None:
        interaction.response.is_done.return_value = True

    for method in (interaction.response.defer, interaction.response.send_message):
        method.side_effect = answered
    interaction.followup = mock.create_autospec(discord.Webhook, instance=True, spec_set=True)
    return interaction


def make_channel(channel_id: int = 777, guild_id: int = GUILD) -> mock.NonCallableMagicMock:
    channel = mock.create_autospec(discord.TextChannel, instance=True, spec_set=True)
    channel.id = channel_id
    channel.guild = mock.create_autospec(discord.Guild, instance=True, spec_set=True)
    channel.guild.id = guild_id
    channel.mention = f"<#{channel_id}>"
    return channel


@pytest.fixture
def bot(services: Services) -> mock.MagicMock:
    bot = mock.MagicMock(spec=SecBrief)
    bot.services = services
    return bot


def reply_of(interaction) -> tuple[str, dict]:
    """The one ephemeral reply sent, as (content, kwargs)."""
    sent = (interaction.followup.send if interaction.followup.send.await_count
            else interaction.response.send_message)
    sent.assert_awaited_once()
    args, kwargs = sent.await_args
    assert kwargs["ephemeral"] is True
    assert kwargs["allowed_mentions"].to_dict() == {"parse": []}
    return (args[0] if args else kwargs.get("content")), kwargs


def test_caller_reads_manage_server_at_run_time():
    admin = caller_of(make_interaction(manage=True))
    assert (admin.user_id, admin.guild_id, admin.can_manage_guild) == (101, GUILD, True)
    assert not caller_of(make_interaction()).can_manage_guild
    in_dm = caller_of(make_interaction(guild_id=None, manage=True))  # no guild to manage
    assert in_dm.guild_id is None and not in_dm.can_manage_guild


async def test_send_ephemeral_uses_followup_once_answered():
    fresh, answered = make_interaction(), make_interaction(done=True)
    await send_ephemeral(fresh, "hi")
    await send_ephemeral(answered, "hi")
    assert reply_of(fresh)[0] == "hi" and reply_of(answered)[0] == "hi"
    answered.response.send_message.assert_not_awaited()


async def test_subscribe_by_alias(bot, services):
    cog = SubscriptionCog(bot)
    interaction = make_interaction()
    await cog.subscribe.callback(cog, interaction, kind="actor", value="Ethereal Panda")
    content, _ = reply_of(interaction)
    assert "**Flax Typhoon**" in content and "Ethereal Panda" in content and "by DM" in content
    (sub,) = await services.store.subscriptions.for_owner(101)
    assert (sub.kind, sub.value, sub.target_kind) == ("actor", "Flax Typhoon", "user")


async def test_subscribe_refuses_a_channel_of_another_guild(bot, services):
    cog = SubscriptionCog(bot)
    interaction = make_interaction(manage=True)
    before = await snapshot(services.store)
    await cog.subscribe.callback(cog, interaction, kind="keyword", value="ransomware",
                                 channel=make_channel(guild_id=OTHER_GUILD))
    assert reply_of(interaction)[0] == "Pick a channel of this server."
    assert await snapshot(services.store) == before


async def test_unsubscribe_autocomplete_offers_only_own_subscriptions(bot, services):
    cog = SubscriptionCog(bot)
    await cog.subscribe.callback(cog, make_interaction(), kind="cve", value="CVE-2024-3400")
    await cog.subscribe.callback(cog, make_interaction(user_id=202), kind="cve",
                                 value="CVE-2023-4966")
    choices = await cog.unsubscribe_autocomplete(make_interaction(), "cve")
    assert [(c.name, c.value) for c in choices] == [("cve: CVE-2024-3400", "CVE-2024-3400")]


async def test_schedule_needs_manage_server_and_changes_nothing(bot, services):
    cog = BriefingCog(bot)
    before = await snapshot(services.store)
    with pytest.raises(PermissionDenied, match="Manage Server"):
        await cog.schedule.callback(cog, make_interaction(), make_channel(), "08:30",
                                    "Europe/Paris")
    bot.reschedule.assert_not_awaited()
    assert await snapshot(services.store) == before


async def test_admin_schedule_is_stored_and_rescheduled(bot, services):
    cog = BriefingCog(bot)
    interaction = make_interaction(manage=True)
    await cog.schedule.callback(cog, interaction, make_channel(), "8:30", "europe/paris")
    assert reply_of(interaction)[0] == "<#777> gets the daily briefing at 08:30 (Europe/Paris)."
    bot.reschedule.assert_awaited_once_with(777)
    schedule = await services.store.schedules.get(777)
    assert (schedule.local_time, schedule.timezone, schedule.guild_id) == (
        "08:30", "Europe/Paris", GUILD)


async def test_schedule_rejects_bad_time_without_storing(bot, services):
    cog = BriefingCog(bot)
    with pytest.raises(UserError, match="HH:MM"):
        await cog.schedule.callback(cog, make_interaction(manage=True), make_channel(),
                                    "25:00", "UTC")
    assert await services.store.schedules.get(777) is None
    bot.reschedule.assert_not_awaited()


async def test_timezone_autocomplete_is_capped(bot):
    cog = BriefingCog(bot)
    choices = await cog.timezone_autocomplete(make_interaction(), "a")
    assert 0 < len(choices) <= 25


async def test_feeds_add_answers_within_discords_deadline_first(bot, services, feed_server):
    cog = FeedsCog(bot)
    interaction = make_interaction(manage=True)
    feed_server.add("/feed.xml", make_rss(1))
    url = feed_server.url("/feed.xml")
    await cog.add.callback(cog, interaction, url)
    interaction.response.defer.assert_awaited_once_with(ephemeral=True, thinking=True)
    assert url in reply_of(interaction)[0]
    assert [f.url for f in await services.store.feeds.list_for_guild(GUILD)] == [url]

    refused = make_interaction()
    with pytest.raises(PermissionDenied):
        await cog.add.callback(cog, refused, feed_server.url("/other.xml"))
    assert len(await services.store.feeds.list_for_guild(GUILD)) == 1


async def test_actor_autocomplete(bot):
    cog = ActorCog(bot)
    assert await cog.actor_autocomplete(make_interaction(), "  ") == []
    choices = await cog.actor_autocomplete(make_interaction(), "cozy")
    assert ("Cozy Bear → APT29", "Cozy Bear") in [(c.name, c.value) for c in choices]
    assert len(await cog.actor_autocomplete(make_interaction(), "a")) <= 25


async def test_actor_unknown_name_answers_with_suggestions(bot):
    cog = ActorCog(bot)
    interaction = make_interaction()
    await cog.actor.callback(cog, interaction, "Flax Typhon")
    interaction.response.defer.assert_not_awaited()  # a private reply, at once
    args, kwargs = interaction.response.send_message.await_args
    assert "Flax Typhoon" in args[0] and kwargs["ephemeral"]
    assert kwargs["allowed_mentions"].to_dict() == {"parse": []}
    assert kwargs["view"].children[0].label == "Flax Typhoon"


async def _noop(interaction: discord.Interaction) -> None:
    pass


COMMAND = app_commands.Command(name="probe", description="A command that failed",
                               callback=_noop)


@pytest.fixture
def tree(settings) -> SecBriefTree:
    return SecBrief(settings, sync_only=True).tree


async def test_tree_turns_user_errors_into_ephemeral_replies(tree):
    interaction = make_interaction()
    error = app_commands.CommandInvokeError(COMMAND, UserError("That is not a CVE ID."))
    await tree.on_error(interaction, error)
    assert reply_of(interaction)[0] == "That is not a CVE ID."

    check = make_interaction(done=True)  # already deferred: the reply is a followup
    await tree.on_error(check, app_commands.CheckFailure("Not here."))
    assert reply_of(check)[0] == "Not here."


async def test_tree_logs_unexpected_errors_and_says_so(tree, caplog):
    interaction = make_interaction()
    error = app_commands.CommandInvokeError(COMMAND, RuntimeError("database is locked"))
    with caplog.at_level(logging.ERROR, logger="bot.app"):
        await tree.on_error(interaction, error)
    content, _ = reply_of(interaction)
    assert "database is locked" not in content and "logged" in content
    (record,) = caplog.records
    assert record.exc_info and isinstance(record.exc_info[1], RuntimeError)


async def test_tree_survives_an_expired_interaction(tree, caplog):
    interaction = make_interaction()
    expired = discord.NotFound(mock.Mock(status=404, reason="Not Found"),
                               {"code": 10062, "message": "Unknown interaction"})
    interaction.response.send_message.side_effect = expired
    error = app_commands.CommandInvokeError(COMMAND, UserError("Too late."))
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        await tree.on_error(interaction, error)  # logged, not raised
    assert "Too late." in caplog.text
