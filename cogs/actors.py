"""/actor: who an actor is, its aliases, and what the store says about it lately."""

from __future__ import annotations

import asyncio
import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.render.chart import weekly_chart
from bot.render.embeds import actor_embed, lookup_message, stories_page_embed
from bot.render.sanitise import label
from cogs._common import NO_MENTIONS, send_ephemeral

PAGE = 5


class StoryPager(discord.ui.View):
    """Buttons to page through an actor's older stories (for the person who asked)."""

    def __init__(self, cog: ActorCog, actor_name: str, owner_id: int, total: int) -> None:
        super().__init__(timeout=600)
        self.cog, self.actor_name, self.owner_id, self.total = cog, actor_name, owner_id, total
        self.offset = 0
        self._refresh()

    def _refresh(self) -> None:
        self.newer.disabled = self.offset <= 0
        self.older.disabled = self.offset + PAGE >= self.total

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await send_ephemeral(interaction, "Run `/actor` yourself to page through stories.")
            return False
        return True

    async def _show(self, interaction: discord.Interaction) -> None:
        articles = await self.cog.service.older_articles(
            self.actor_name, offset=self.offset, limit=PAGE
        )
        self._refresh()
        await interaction.response.send_message(
            embed=stories_page_embed(self.actor_name, articles, self.offset),
            view=self, ephemeral=True, allowed_mentions=NO_MENTIONS,
        )

    @discord.ui.button(label="Newer stories", style=discord.ButtonStyle.secondary)
    async def newer(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        self.offset = max(self.offset - PAGE, 0)
        await self._show(interaction)

    @discord.ui.button(label="Older stories", style=discord.ButtonStyle.secondary)
    async def older(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        self.offset += PAGE
        await self._show(interaction)


class ActorCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @property
    def service(self):
        return self.bot.services.actors

    @app_commands.command(name="actor", description="Look up a threat actor by any of its names")
    @app_commands.describe(name="An actor name or alias, e.g. Flax Typhoon, APT29, Cozy Bear")
    async def actor(
        self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 100]
    ) -> None:
        await interaction.response.defer(thinking=True)
        lookup = await self.service.lookup(name)  # re-validates whatever autocomplete offered
        if lookup.profile is None:
            await interaction.followup.send(lookup_message(lookup), allowed_mentions=NO_MENTIONS)
            return
        profile = lookup.profile
        kwargs: dict = {}
        if profile.total:
            png = await asyncio.to_thread(
                weekly_chart, f"{profile.actor.name}: articles per week", profile.weekly
            )
            kwargs["file"] = discord.File(io.BytesIO(png), filename="weekly.png")
        embed = actor_embed(profile, chart_file="weekly.png" if profile.total else None)
        if profile.total > PAGE:
            owner = interaction.user.id
            kwargs["view"] = StoryPager(self, profile.actor.name, owner, profile.total)
        await interaction.followup.send(embed=embed, allowed_mentions=NO_MENTIONS, **kwargs)

    @actor.autocomplete("name")
    async def actor_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if not current.strip():
            return []
        rows = await self.service.autocomplete(current)
        return [
            app_commands.Choice(
                name=label(alias if alias == canonical else f"{alias} → {canonical}", 100),
                value=alias[:100],
            )
            for alias, canonical in rows[:25]
        ]


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(ActorCog(bot))
