"""Who is asking: the Discord-agnostic identity every service call carries."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.errors import PermissionDenied, UserError


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: int
    guild_id: int | None = None  # None in DMs and the terminal shell
    can_manage_guild: bool = False  # Manage Server, read at run time by the surface
    terminal: bool = False  # the terminal shell: messages use its wording, not Discord's

    @property
    def feed_owner(self) -> str:
        """Whose feed list a message names, at a sentence's start."""
        return "The operator's feed list" if self.terminal else "This server"

    def command(self, text: str) -> str:
        """A command as a message quotes it: `/feeds list` on Discord (code), plain in
        the terminal."""
        return text if self.terminal else f"`{text}`"

    def require_guild(self, what: str) -> int:
        if self.guild_id is None:
            raise UserError(f"{what} only works inside a server.")
        return self.guild_id

    def require_manage(self, what: str) -> int:
        guild_id = self.require_guild(what)
        if not self.can_manage_guild:
            raise PermissionDenied(f"{what} needs the Manage Server permission.")
        return guild_id
