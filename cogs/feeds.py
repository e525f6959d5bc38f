"""/feeds add | remove | list | status — this server's own feeds."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.render.sanitise import discord_text, fit_lines, label, url_text
from bot.services.feeds import poll_state
from cogs._common import caller_of, send_ephemeral


# Discord takes default_member_permissions only on top-level commands, and /feeds
# mixes everyone's subcommands (list, status) with configuration (add, remove), so
# Manage Server is enforced at run time: caller_of() reads it from the interaction and
# the feed service refuses without it.
@app_commands.guild_only()
class FeedsCog(commands.GroupCog, group_name="feeds", description="This server's news feeds"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        super().__init__()

    @property
    def service(self):
        return self.bot.services.feeds

    @app_commands.command(name="add", description="Add a feed for this server")
    @app_commands.describe(url="The feed's http(s) URL (RSS or Atom)")
    async def add(self, interaction: discord.Interaction,
                  url: app_commands.Range[str, 1, 2000]) -> None:
        # Checking the URL resolves its host, which may outlast Discord's 3 s to answer.
        await interaction.response.defer(ephemeral=True, thinking=True)
        feed = await self.service.add(
            caller_of(interaction), url, notify_channel_id=interaction.channel_id
        )
        await send_ephemeral(
            interaction, f"Added {url_text(feed.url)}; it is polled on the next round."
        )

    @app_commands.command(name="remove", description="Remove one of this server's feeds")
    @app_commands.describe(url="The feed's URL, as `/feeds list` shows it")
    async def remove(self, interaction: discord.Interaction,
                     url: app_commands.Range[str, 1, 2000]) -> None:
        await self.service.remove(caller_of(interaction), url)
        await send_ephemeral(interaction, f"Removed {url_text(url.strip())}.")

    @remove.autocomplete("url")
    async def remove_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        feeds = await self.service.list(caller_of(interaction))
        return [
            app_commands.Choice(name=label(f.url, 100), value=f.url)
            for f in feeds if current.lower() in f.url.lower() and len(f.url) <= 100
        ][:25]

    @app_commands.command(name="list", description="This server's feeds")
    async def list_(self, interaction: discord.Interaction) -> None:
        feeds = await self.service.list(caller_of(interaction))
        if not feeds:
            await send_ephemeral(interaction, "This server has no feeds of its own yet.")
            return
        lines = [f"• {url_text(f.url)}" + (" (disabled)" if f.disabled else "") for f in feeds]
        await send_ephemeral(interaction, fit_lines(lines, 1900))

    @app_commands.command(name="status", description="Poll status of this server's feeds")
    async def status(self, interaction: discord.Interaction) -> None:
        feeds = await self.service.list(caller_of(interaction))
        if not feeds:
            await send_ephemeral(interaction, "This server has no feeds of its own yet.")
            return
        embed = discord.Embed(title="Feed status", colour=discord.Colour.dark_teal())
        for f in feeds[:25]:
            ok = discord.utils.format_dt(f.last_success_at, "R") if f.last_success_at else "never"
            polled = poll_state(f)
            if polled.state == "pending":
                value = "pending: not polled yet (the next round polls it)"
            else:
                value = f"{polled.state}; last success {ok}; failures {f.failures}"
                if polled.retry_at is not None:
                    value += f"; next try {discord.utils.format_dt(polled.retry_at, 'R')}"
            if f.last_error:
                value += f"\nlast error: {discord_text(f.last_error, 600)}"
            embed.add_field(name=discord_text(f.title or f.url, 250) or "feed", value=value,
                            inline=False)
        await send_ephemeral(interaction, embed=embed)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(FeedsCog(bot))
