"""/actor: who an actor is, its aliases, and what the store says about it lately."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.render.chart import weekly_chart
from bot.render.embeds import actor_embed, lookup_message
from bot.render.sanitise import label
from bot.services.actors import ActorProfile
from cogs._common import NO_MENTIONS, PAGER_TIMEOUT, Pager, guild_scope, send_ephemeral

PAGE = 5
CHART = "weekly.png"


class StoryPager(Pager):
    """Newer / Older stories on one /actor message: the profile stays, its stories field
    shows the page."""

    def __init__(self, cog: ActorCog, interaction: discord.Interaction,
                 profile: ActorProfile, *, chart: bool) -> None:
        super().__init__(interaction, total=profile.total, page_size=PAGE,
                         labels=("Newer stories", "Older stories"),
                         refusal="Run `/actor` yourself to page through stories.")
        self.cog, self.profile, self.chart = cog, profile, chart
        self.guild_id = guild_scope(interaction)

    async def render(self, offset: int) -> dict[str, Any]:
        stories = await self.cog.service.older_articles(
            self.profile.actor.name, offset=offset, limit=PAGE, guild_id=self.guild_id)
        return {"embed": actor_embed(self.profile, chart_file=CHART if self.chart else None,
                                     stories=stories, offset=offset)}


class DidYouMean(discord.ui.View):
    """Up to five buttons under an unknown-name reply; pressing one shows that actor."""

    def __init__(self, cog: ActorCog, names: list[str]) -> None:
        super().__init__(timeout=PAGER_TIMEOUT)
        self.cog = cog
        for name in names[:5]:
            button = discord.ui.Button(label=label(name, 80) or "?",
                                       style=discord.ButtonStyle.primary)
            button.callback = self._shows(name)
            self.add_item(button)

    def _shows(self, name: str):
        async def callback(interaction: discord.Interaction) -> None:
            await self.cog.show(interaction, name)

        return callback


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
        await self.show(interaction, name)

    async def show(self, interaction: discord.Interaction, name: str) -> None:
        """The profile as a public reply; an unknown or ambiguous name gets an ephemeral
        one (with "Did you mean" buttons), so a typo clutters no channel."""
        # re-validates whatever autocomplete (or a button) offered
        lookup = await self.service.lookup(name, guild_id=guild_scope(interaction))
        if lookup.profile is None:
            view = DidYouMean(self, lookup.suggestions) if lookup.suggestions else None
            extra = {"view": view} if view else {}
            await send_ephemeral(interaction, lookup_message(lookup), **extra)
            return
        await interaction.response.defer(thinking=True)
        profile = lookup.profile
        kwargs: dict = {}
        png = None  # no chart when every week is zero (weekly_chart draws nothing then)
        if profile.total:
            png = await asyncio.to_thread(
                weekly_chart, f"{profile.actor.name}: articles per week", profile.weekly
            )
        if png is not None:
            kwargs["file"] = discord.File(io.BytesIO(png), filename=CHART)
        embed = actor_embed(profile, chart_file=CHART if png is not None else None)
        if profile.total > PAGE:
            kwargs["view"] = StoryPager(self, interaction, profile, chart=png is not None)
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
