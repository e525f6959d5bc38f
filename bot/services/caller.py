"""Who is asking: the Discord-agnostic identity every service call carries."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.errors import PermissionDenied, UserError


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: int
    guild_id: int | None = None  # None in DMs and the terminal shell
    can_manage_guild: bool = False  # Manage Server, read at run time by the surface

    def require_guild(self, what: str) -> int:
        if self.guild_id is None:
            raise UserError(f"{what} only works inside a server.")
        return self.guild_id

    def require_manage(self, what: str) -> int:
        guild_id = self.require_guild(what)
        if not self.can_manage_guild:
            raise PermissionDenied(f"{what} needs the Manage Server permission.")
        return guild_id
