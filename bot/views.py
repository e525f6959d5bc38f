"""Persistent alert buttons: "Unsubscribe from <match>" and "Mute alerts for 24 h".

They are discord.ui.DynamicItem classes whose state lives in the custom_id
(``sb:unsub:<subscription id>``, ``sb:mute:<user id>``), registered once at start with
``bot.add_dynamic_items`` — so a button on an alert sent before a restart still works,
and no view is kept in memory per message. Each checks, through the service, that the
person pressing owns what the button acts on; anyone else gets an ephemeral refusal
and nothing changes.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.render.sanitise import discord_text
from bot.services.caller import Caller
from bot.services.errors import UserError
from bot.services.subscriptions import MUTE_HOURS, SubscriptionService

NO_MENTIONS = discord.AllowedMentions.none()
LABEL = 80  # Discord's button label limit


def _service(interaction: discord.Interaction) -> SubscriptionService:
    return interaction.client.services.subscriptions  # type: ignore[attr-defined]


def _caller(interaction: discord.Interaction) -> Caller:
    return Caller(user_id=interaction.user.id, guild_id=interaction.guild_id)


async def _tell(interaction: discord.Interaction, text: str) -> None:
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


class UnsubscribeButton(discord.ui.DynamicItem[discord.ui.Button],
                        template=r"sb:unsub:(?P<id>[0-9]{1,20})"):
    def __init__(self, subscription_id: int, label: str = "Unsubscribe") -> None:
        super().__init__(discord.ui.Button(
            label=label[:LABEL], style=discord.ButtonStyle.secondary,
            custom_id=f"sb:unsub:{subscription_id}",
        ))
        self.subscription_id = subscription_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> UnsubscribeButton:
        label = getattr(item, "label", None) or "Unsubscribe"
        return cls(int(match["id"]), label)

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            removed = await _service(interaction).unsubscribe_by_id(
                _caller(interaction), self.subscription_id)
        except UserError as exc:
            await _tell(interaction, discord_text(str(exc), 2000))
            return
        await _tell(interaction, f"Unsubscribed: you no longer follow {removed.kind} "
                                 f"**{discord_text(removed.display, 200)}**.")


class MuteButton(discord.ui.DynamicItem[discord.ui.Button],
                 template=r"sb:mute:(?P<user>[0-9]{1,20})"):
    def __init__(self, user_id: int) -> None:
        super().__init__(discord.ui.Button(
            label=f"Mute alerts for {MUTE_HOURS} h", style=discord.ButtonStyle.secondary,
            custom_id=f"sb:mute:{user_id}",
        ))
        self.user_id = user_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> MuteButton:
        return cls(int(match["user"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            until = await _service(interaction).mute(_caller(interaction), self.user_id)
        except UserError as exc:
            await _tell(interaction, discord_text(str(exc), 2000))
            return
        when = discord.utils.format_dt(until, "f")
        await _tell(interaction, f"Alerts muted until {when}. Stories that match meanwhile "
                                 "are skipped, not sent later; `/briefing now` still shows "
                                 "them.")


DYNAMIC_ITEMS = (UnsubscribeButton, MuteButton)
