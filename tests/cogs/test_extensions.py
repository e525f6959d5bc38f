"""Every extension loads, and the command tree is the documented one: every option
described, input bounded, configuration groups guild-only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest
from discord import app_commands

from bot.app import SecBrief, extension_names
from bot.config import Settings

EXPECTED = {
    "actor": None,
    "cve": None,
    "search": None,
    "subscribe": None,
    "unsubscribe": None,
    "subscriptions": None,
    "briefing": {"now", "schedule", "off", "status"},
    "feeds": {"add", "remove", "list", "status"},
    "watchlist": {"add", "remove", "list"},
}


@pytest.fixture
async def tree_bot(settings: Settings) -> AsyncIterator[SecBrief]:
    bot = SecBrief(settings, sync_only=True)  # cogs only: no store, no jobs, no login
    try:
        await bot.load_cogs()
        yield bot
    finally:
        await bot.close()


def leaves(bot: SecBrief) -> list[app_commands.Command]:
    found = []
    for command in bot.tree.get_commands():
        if isinstance(command, app_commands.Group):
            found.extend(command.walk_commands())
        else:
            found.append(command)
    return found


def test_extension_names_skip_private_modules():
    names = extension_names()
    assert names == sorted(names) and "cogs._common" not in names
    assert {"cogs.actors", "cogs.briefing", "cogs.feeds", "cogs.search",
            "cogs.subscriptions"} <= set(names)


async def test_every_extension_loads(tree_bot: SecBrief):
    assert tree_bot.failed_extensions == []
    assert set(tree_bot.extensions) == set(extension_names())


async def test_command_tree_matches_the_design(tree_bot: SecBrief):
    top = {c.name: c for c in tree_bot.tree.get_commands()}
    assert set(top) == set(EXPECTED)
    for name, subcommands in EXPECTED.items():
        if subcommands is None:
            assert isinstance(top[name], app_commands.Command)
        else:
            assert isinstance(top[name], app_commands.Group)
            assert {c.name for c in top[name].commands} == subcommands
            assert top[name].guild_only  # configuration is per guild


async def test_every_option_is_described_and_bounded(tree_bot: SecBrief):
    for command in leaves(tree_bot):
        assert command.description and command.description != "…", command.qualified_name
        for param in command.parameters:
            where = f"/{command.qualified_name} {param.name}"
            assert param.description and param.description != "…", f"{where} lacks @describe"
            if param.type is discord.AppCommandOptionType.string and not param.choices:
                assert param.max_value is not None, f"{where} is unbounded"  # max_length


async def test_autocomplete_where_users_pick_from_a_list(tree_bot: SecBrief):
    completed = {(c.qualified_name, p.name) for c in leaves(tree_bot)
                 for p in c.parameters if p.autocomplete}
    assert completed == {("actor", "name"), ("briefing schedule", "timezone"),
                         ("feeds remove", "url"), ("unsubscribe", "value"),
                         ("cve", "cve_id"),  # /cve id: (cve_id is its Python name)
                         ("watchlist add", "name"), ("watchlist remove", "name")}
    kinds = next(c for c in leaves(tree_bot) if c.name == "subscribe").get_parameter("kind")
    assert [choice.value for choice in kinds.choices] == [
        "actor", "cve", "vendor", "keyword", "source"]


async def test_watchlist_defaults_to_manage_server(tree_bot: SecBrief):
    group = tree_bot.tree.get_command("watchlist")
    assert group is not None and group.default_permissions is not None
    assert group.default_permissions.manage_guild  # and checked again when it runs
    kinds = group.get_command("add").get_parameter("kind")
    assert [choice.value for choice in kinds.choices] == ["vendor", "product"]


async def test_payload_fits_discord(tree_bot: SecBrief):
    for command in tree_bot.tree.get_commands():
        payload = command.to_dict(tree_bot.tree)
        assert len(payload["name"]) <= 32 and len(payload["description"]) <= 100
        for option in payload.get("options", []):
            assert len(option["description"]) <= 100
