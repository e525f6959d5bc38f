"""/search: full-text search of the store."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.render.embeds import search_embed
from cogs._common import send_ephemeral


class SearchCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="search", description="Search the stored security news")
    @app_commands.describe(query="Words to look for, e.g. ransomware hospital")
    async def search(
        self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 200]
    ) -> None:
        hits = await self.bot.services.search.search(query)
        await send_ephemeral(interaction, embed=search_embed(query, hits))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(SearchCog(bot))
