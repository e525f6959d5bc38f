"""Helpers shared by the cogs (private: not loaded as an extension)."""

from __future__ import annotations

import logging
from typing import Any

import discord

from bot.services.caller import Caller

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()


def caller_of(interaction: discord.Interaction) -> Caller:
    """The caller, with Manage Server read from the interaction at run time (server
    admins can override a command's default permissions, so defaults are not enough)."""
    in_guild = interaction.guild_id is not None
    return Caller(
        user_id=interaction.user.id,
        guild_id=interaction.guild_id,
        can_manage_guild=in_guild and interaction.permissions.manage_guild,
    )


async def send_ephemeral(interaction: discord.Interaction, content: str | None = None,
                         **kwargs) -> None:
    kwargs.setdefault("allowed_mentions", NO_MENTIONS)
    if interaction.response.is_done():
        await interaction.followup.send(content, ephemeral=True, **kwargs)
    else:
        await interaction.response.send_message(content, ephemeral=True, **kwargs)


def guild_scope(interaction: discord.Interaction) -> int:
    """Whose private articles a reply may show: this server's own (0 in a DM: public
    articles only, never another server's)."""
    return interaction.guild_id or 0


PAGER_TIMEOUT = 600.0  # seconds a pager's buttons stay live (Discord tokens last 15 min)


class Pager(discord.ui.View):
    """Two buttons that page one message in place (``edit_message``), for the person who
    asked. One instance per message holds that message's position; when it times out
    its buttons are disabled on the message itself, so it never looks live."""

    def __init__(self, interaction: discord.Interaction, *, total: int, page_size: int,
                 labels: tuple[str, str], refusal: str,
                 timeout: float | None = None) -> None:
        super().__init__(timeout=PAGER_TIMEOUT if timeout is None else timeout)
        self.origin = interaction  # its token edits the original response on timeout
        self.owner_id = interaction.user.id
        self.total, self.page_size, self.offset = total, page_size, 0
        self.refusal = refusal
        self.back = discord.ui.Button(label=labels[0], style=discord.ButtonStyle.secondary)
        self.forward = discord.ui.Button(label=labels[1], style=discord.ButtonStyle.secondary)
        self.back.callback = self._back
        self.forward.callback = self._forward
        self.add_item(self.back)
        self.add_item(self.forward)
        self._refresh()

    async def render(self, offset: int) -> dict[str, Any]:
        """The edit for the page at ``offset`` (e.g. ``{"embed": ...}``)."""
        raise NotImplementedError

    def _refresh(self) -> None:
        self.back.disabled = self.offset <= 0
        self.forward.disabled = self.offset + self.page_size >= self.total

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await send_ephemeral(interaction, self.refusal)
            return False
        return True

    async def _back(self, interaction: discord.Interaction) -> None:
        await self._show(interaction, max(self.offset - self.page_size, 0))

    async def _forward(self, interaction: discord.Interaction) -> None:
        await self._show(interaction, self.offset + self.page_size)

    async def _show(self, interaction: discord.Interaction, offset: int) -> None:
        edit = await self.render(offset)
        self.offset = offset
        self._refresh()
        await interaction.response.edit_message(view=self, allowed_mentions=NO_MENTIONS,
                                                **edit)

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        try:
            await self.origin.edit_original_response(view=self,
                                                     allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:  # deleted, or the token expired
            log.info("could not disable a pager's buttons: %s", exc)
