"""/watchlist add | remove | list — the vendors and products this server runs.

A server's briefing opens with "Your stack" (its stories and newly exploited CVEs that
touch the list), and a CVE entering CISA's KEV that names a watched vendor or product
is alerted in the server's briefing channels. Changing the list needs Manage Server:
the command's default permission, and checked again when it runs (server admins can
override defaults), by the watchlist service.
"""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.render.sanitise import discord_text, fit_lines, label
from cogs._common import caller_of, send_ephemeral

Kind = Literal["vendor", "product"]


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class WatchlistCog(commands.GroupCog, group_name="watchlist",
                   description="The vendors and products this server runs"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        super().__init__()

    @property
    def service(self):
        return self.bot.services.watchlist

    @app_commands.command(name="add", description="Watch a vendor or product this server runs")
    @app_commands.describe(kind="A vendor (Palo Alto Networks) or a product (PAN-OS)",
                           name="Its name (suggestions from CISA KEV and the news store)")
    async def add(self, interaction: discord.Interaction, kind: Kind,
                  name: app_commands.Range[str, 1, 100]) -> None:
        added = await self.service.add(caller_of(interaction), kind, name)
        entry = added.entry
        via = f" (you typed {discord_text(added.typed, 100)})" if added.typed else ""
        state = "Now watching" if added.created else "Already watching"
        await send_ephemeral(
            interaction, f"{state} {entry.kind} **{discord_text(entry.name, 100)}**{via}. "
            "Briefings here open with what touches it, and a CVE of it entering CISA's "
            "KEV list is alerted in this server's briefing channels.")

    @app_commands.command(name="remove", description="Stop watching a vendor or product")
    @app_commands.describe(kind="vendor or product", name="The name, as /watchlist list shows it")
    async def remove(self, interaction: discord.Interaction, kind: Kind,
                     name: app_commands.Range[str, 1, 100]) -> None:
        removed = await self.service.remove(caller_of(interaction), kind, name)
        await send_ephemeral(
            interaction, f"Removed {removed.kind} **{discord_text(removed.name, 100)}**.")

    @app_commands.command(name="list", description="The vendors and products watched here")
    async def list_(self, interaction: discord.Interaction) -> None:
        entries = await self.service.list(caller_of(interaction))
        if not entries:
            await send_ephemeral(interaction, "This server watches nothing yet; add what it "
                                 "runs with `/watchlist add`.")
            return
        lines = [f"• {e.kind}: **{discord_text(e.name, 100)}**" for e in entries]
        await send_ephemeral(interaction, fit_lines(lines, 1900))

    @add.autocomplete("name")
    async def add_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        kind = getattr(interaction.namespace, "kind", None)
        names = await self.service.suggest(caller_of(interaction),
                                           kind if isinstance(kind, str) else None, current)
        return [app_commands.Choice(name=label(n, 100) or "?", value=n) for n in names]

    @remove.autocomplete("name")
    async def remove_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        kind = getattr(interaction.namespace, "kind", None)
        names = await self.service.suggest_own(caller_of(interaction),
                                               kind if isinstance(kind, str) else None, current)
        return [app_commands.Choice(name=label(n, 100) or "?", value=n) for n in names]


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(WatchlistCog(bot))
