"""Helpers shared by the cogs (private: not loaded as an extension)."""

from __future__ import annotations

import discord

from bot.services.caller import Caller

NO_MENTIONS = discord.AllowedMentions.none()


def caller_of(interaction: discord.Interaction) -> Caller:
    """The caller, with Manage Server read from the interaction at run time (server
    admins can override a command's default permissions, so defaults are not enough)."""
    in_guild = interaction.guild_id is not None
    return Caller(
        user_id=interaction.user.id,
        guild_id=interaction.guild_id,
        can_manage_guild=in_guild and interaction.permissions.manage_guild,
    )


async def send_ephemeral(interaction: discord.Interaction, content: str | None = None,
                         **kwargs) -> None:
    kwargs.setdefault("allowed_mentions", NO_MENTIONS)
    if interaction.response.is_done():
        await interaction.followup.send(content, ephemeral=True, **kwargs)
    else:
        await interaction.response.send_message(content, ephemeral=True, **kwargs)
