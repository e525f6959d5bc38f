"""/cve: what CISA KEV, FIRST EPSS and NVD say about one CVE, and the stories naming it."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.render.cve_embed import cve_embed
from bot.render.sanitise import label
from cogs._common import NO_MENTIONS, guild_scope


class CveCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @property
    def service(self):
        return self.bot.services.cves

    @app_commands.command(name="cve", description="Exploitation status, EPSS, CVSS and "
                                                  "stories for one CVE")
    @app_commands.rename(cve_id="id")
    @app_commands.describe(cve_id="A CVE ID, e.g. CVE-2024-3400")
    async def cve(self, interaction: discord.Interaction,
                  cve_id: app_commands.Range[str, 1, 40]) -> None:
        # A malformed ID (typed, or offered by a stale autocomplete) is a UserError:
        # the tree's error handler answers it ephemerally.
        lookup = await self.service.lookup(cve_id, guild_id=guild_scope(interaction))
        await interaction.response.send_message(embed=cve_embed(lookup),
                                                allowed_mentions=NO_MENTIONS)

    @cve.autocomplete("cve_id")
    async def cve_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        ids = await self.service.autocomplete(current, guild_id=guild_scope(interaction))
        return [app_commands.Choice(name=label(cve, 100), value=cve) for cve in ids[:25]]


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(CveCog(bot))
