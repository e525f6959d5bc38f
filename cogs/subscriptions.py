"""/subscribe, /unsubscribe, /subscriptions: follow actors, CVEs, vendors, keywords."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.render.sanitise import discord_text, fit_lines, label
from bot.services.errors import UserError
from cogs._common import caller_of, send_ephemeral

Kind = Literal["actor", "cve", "vendor", "keyword", "source"]


class SubscriptionCog(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @property
    def service(self):
        return self.bot.services.subscriptions

    @app_commands.command(name="subscribe", description="Get alerts for new stories on a topic")
    @app_commands.describe(
        kind="What to follow",
        value="The actor (any alias), CVE ID, vendor, keyword or source name",
        channel="Send alerts to this channel instead of your DMs (needs Manage Server)",
    )
    async def subscribe(
        self,
        interaction: discord.Interaction,
        kind: Kind,
        value: app_commands.Range[str, 1, 100],
        channel: discord.TextChannel | None = None,
    ) -> None:
        if channel is not None and channel.guild.id != interaction.guild_id:
            await send_ephemeral(interaction, "Pick a channel of this server.")
            return
        result = await self.service.subscribe(
            caller_of(interaction), kind, value, channel_id=channel.id if channel else None
        )
        sub = result.subscription
        via = (f" (“{discord_text(result.resolved_from, 100)}” is an alias)"
               if result.resolved_from else "")
        where = f"in {channel.mention}" if channel else "by DM"
        state = "You now follow" if result.created else "You already follow"
        name = discord_text(sub.display, 100)
        await send_ephemeral(
            interaction, f"{state} {sub.kind} **{name}**{via}; alerts arrive {where}."
        )

    @app_commands.command(name="unsubscribe", description="Stop alerts for a topic")
    @app_commands.describe(kind="What you follow", value="The value you follow")
    async def unsubscribe(
        self, interaction: discord.Interaction, kind: Kind, value: app_commands.Range[str, 1, 100]
    ) -> None:
        removed = await self.service.unsubscribe(caller_of(interaction), kind, value)
        typed = " ".join(value.split())
        name, via = typed, ""
        if kind == "actor":
            try:
                name = (await self.service.normalise(kind, typed))[1]
            except UserError:
                name = typed  # no longer in the catalogue: removed by the stored name
            if name.lower() != typed.lower():
                via = f" (you typed {discord_text(typed, 100)})"
        count = f" ({removed} subscriptions)" if removed > 1 else ""
        await send_ephemeral(
            interaction, f"Removed: {kind} **{discord_text(name, 100)}**{via}{count}."
        )

    @unsubscribe.autocomplete("value")
    async def unsubscribe_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        # follows the kind chosen in the same command, when there is one yet
        kind = getattr(interaction.namespace, "kind", None)
        rows = await self.service.autocomplete_own(caller_of(interaction), current,
                                                   kind=kind if isinstance(kind, str) else None)
        return [app_commands.Choice(name=label(text, 100) or "?", value=value[:100])
                for text, value in rows]

    @app_commands.command(name="subscriptions", description="List what you follow")
    async def subscriptions(self, interaction: discord.Interaction) -> None:
        subs = await self.service.list(caller_of(interaction))
        if not subs:
            await send_ephemeral(interaction, "You follow nothing yet; try `/subscribe`.")
            return
        lines = [
            f"• {s.kind}: **{discord_text(s.display, 100)}** → "
            + (f"<#{s.target_id}>" if s.target_kind == "channel" else "DM")
            for s in subs
        ]
        await send_ephemeral(interaction, fit_lines(lines, 1900))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(SubscriptionCog(bot))
