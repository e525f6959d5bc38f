"""What every `secbrief` command module shares: the exit codes and running a command's
action on open services."""

from __future__ import annotations

from collections.abc import Callable

from bot.config import Settings
from bot.services.container import Services, open_services

# Exit codes (README, "Exit codes"): the command did its job; nothing could be done;
# bad input (nothing was changed for it); output into a closed pipe (as SIGPIPE would).
OK, NOTHING_DONE, BAD_INPUT, CLOSED_PIPE = 0, 1, 2, 141


async def with_services(settings: Settings, action: Callable[[Services], object]) -> int:
    async with open_services(settings) as services:
        return await action(services)
