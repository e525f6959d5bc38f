"""/briefing now | schedule | off | status."""

from __future__ import annotations

from datetime import timedelta

import discord
from discord import app_commands
from discord.ext import commands
from discord.utils import MISSING

from bot.render.digest import digest_messages
from bot.render.sanitise import discord_text, fit_lines, label
from bot.services.schedules import zone_suggestions
from cogs._common import NO_MENTIONS, caller_of, send_ephemeral

PREVIEW_STORIES = 30  # cards in a /briefing now preview (the header counts these)


# Discord takes default_member_permissions only on top-level commands, and /briefing
# mixes everyone's subcommands (now, status) with configuration (schedule, off), so
# Manage Server is enforced at run time: caller_of() reads it from the interaction and
# the schedule service refuses without it.
@app_commands.guild_only()
class BriefingCog(commands.GroupCog, group_name="briefing", description="Daily briefings"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        super().__init__()

    @property
    def services(self):
        return self.bot.services

    @app_commands.command(name="now", description="Preview the briefing for the last 24 hours")
    async def now(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        since = self.services.clock() - timedelta(hours=24)
        briefing = await self.services.briefings.build(since)
        if not briefing.items:
            await send_ephemeral(interaction, "No new stories in the last 24 hours.")
            return
        # A private preview cannot hold a thread: the header, then the cards, as followups.
        items = briefing.items[:PREVIEW_STORIES]
        stack = (await self.services.briefings.your_stack(interaction.guild_id, briefing.items,
                                                          since=since)
                 if interaction.guild_id is not None else None)  # this server's watchlist
        for part in digest_messages(items, start=since, end=briefing.generated_at,
                                    preview=True, stack=stack):
            await interaction.followup.send(
                content=part.content, embeds=part.embeds, view=part.view or MISSING,
                ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="schedule", description="Post a daily briefing in a channel")
    @app_commands.describe(
        channel="Where to post it",
        time="Local time, 24-hour HH:MM (e.g. 08:30)",
        timezone="IANA timezone, e.g. Europe/Paris",
    )
    async def schedule(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel,
        time: app_commands.Range[str, 1, 5],
        timezone: app_commands.Range[str, 1, 64],
    ) -> None:
        if channel.guild.id != interaction.guild_id:
            await send_ephemeral(interaction, "Pick a channel of this server.")
            return
        schedule = await self.services.schedules.set(
            caller_of(interaction), channel.id, time, timezone
        )
        await self.bot.reschedule(channel.id)
        await send_ephemeral(
            interaction,
            f"{channel.mention} gets the daily briefing at {discord_text(schedule.local_time, 10)} "
            f"({discord_text(schedule.timezone, 64)}).",
        )

    @schedule.autocomplete("timezone")
    async def timezone_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=label(z, 100), value=z) for z in zone_suggestions(current)]

    @app_commands.command(name="off", description="Stop a channel's daily briefing")
    @app_commands.describe(channel="The channel whose briefing to stop")
    async def off(self, interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        await self.services.schedules.off(caller_of(interaction), channel.id)
        await self.bot.reschedule(channel.id)
        await send_ephemeral(interaction, f"No more daily briefings in {channel.mention}.")

    @app_commands.command(name="status", description="This server's scheduled briefings")
    async def status(self, interaction: discord.Interaction) -> None:
        schedules = await self.services.schedules.status(caller_of(interaction))
        if not schedules:
            await send_ephemeral(interaction, "No briefings are scheduled in this server.")
            return
        lines = []
        for s in schedules:
            line = (f"• <#{s.channel_id}> at {discord_text(s.local_time, 10)} "
                    f"({discord_text(s.timezone, 64)})")
            if s.paused:
                line += f" — paused: {discord_text(s.paused_reason, 300)}"
            elif s.last_sent_at:
                line += f" — last sent {discord.utils.format_dt(s.last_sent_at, 'R')}"
            lines.append(line)
        await send_ephemeral(interaction, fit_lines(lines, 1900))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(BriefingCog(bot))
