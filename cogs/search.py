"""/search: full-text search of the store, newest first, a page at a time."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.render.embeds import search_embed
from cogs._common import Pager, guild_scope, send_ephemeral

PAGE = 5


class ResultPager(Pager):
    """Newer / Older results on one (ephemeral) /search reply."""

    def __init__(self, cog: SearchCog, interaction: discord.Interaction, query: str,
                 total: int) -> None:
        super().__init__(interaction, total=total, page_size=PAGE,
                         labels=("Newer results", "Older results"),
                         refusal="Run `/search` yourself to page through results.")
        self.cog, self.query = cog, query
        self.guild_id = guild_scope(interaction)

    async def render(self, offset: int) -> dict[str, Any]:
        found = await self.cog.service.page(self.query, offset=offset, limit=PAGE,
                                            guild_id=self.guild_id)
        self.total = max(found.total, offset + 1)  # new matches may have arrived
        return {"embed": search_embed(self.query, found, page_size=PAGE)}


class SearchCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @property
    def service(self):
        return self.bot.services.search

    @app_commands.command(name="search", description="Search the stored security news")
    @app_commands.describe(query="Words to look for, e.g. ransomware hospital")
    async def search(
        self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 200]
    ) -> None:
        found = await self.service.page(query, limit=PAGE, guild_id=guild_scope(interaction))
        extra: dict[str, Any] = {}
        if found.total > PAGE:
            extra["view"] = ResultPager(self, interaction, query.strip(), found.total)
        await send_ephemeral(interaction, embed=search_embed(query.strip(), found,
                                                             page_size=PAGE), **extra)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(SearchCog(bot))
