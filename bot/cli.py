"""The `secbrief` command (also `python -m bot`): `main`, which runs one command, and the
everyday commands. Elsewhere: the parser (bot.cli_parser), `ingest` and `import`
(bot.cli_ingest_commands), the store-administration commands (bot.cli_store_commands)."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from bot.cli_common import BAD_INPUT, CLOSED_PIPE, NOTHING_DONE, OK, with_services
from bot.cli_ingest_commands import cmd_import, cmd_ingest
from bot.cli_parser import build_parser
from bot.cli_store_commands import cmd_migrate, cmd_vulns, cmd_watchlist
from bot.config import ConfigError, Settings
from bot.intel.catalogue import OverridesError
from bot.jsonout import actor_lookup, cve_lookup, dumps, search_page
from bot.jsonout import briefing as briefing_json
from bot.render.text import (
    PrintableFormatter,
    actor_text,
    briefing_text,
    cve_text,
    printable,
    search_text,
)
from bot.services.container import Services
from bot.services.cves import parse_cve_id
from bot.services.errors import UserError
from bot.timeparse import parse_duration
from storage.actors import OverrideConflict
from storage.db import StoreOpenError

__all__ = ["COMMANDS", "build_parser", "main"]

def setup_logging(settings: Settings, verbose: bool, command: str) -> None:
    # The bot logs its progress; one-shot commands print results and only warnings.
    default = "INFO" if command == "run" else "WARNING"
    name = (settings.log_level or default).upper()
    level = logging.DEBUG if verbose else getattr(logging, name, logging.INFO)
    handler = logging.StreamHandler(sys.stderr)  # log lines quote feed text: no escapes
    handler.setFormatter(PrintableFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("discord.http").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if not verbose:
        logging.getLogger("trafilatura").setLevel(logging.ERROR)


async def cmd_briefing(args, settings: Settings) -> int:
    try:
        period = parse_duration(args.since)
    except ValueError as exc:
        raise UserError(f"--since: {exc}") from exc
    if not period:
        raise UserError(f"--since {args.since.strip()} covers nothing: give a period such as "
                        "90m, 24h or 7d.")

    async def action(services: Services) -> int:
        briefing = await services.briefings.build(services.clock() - period)
        print(printable(dumps(briefing_json(briefing)) if args.json
                        else briefing_text(briefing)))
        return 0

    return await with_services(settings, action)


async def cmd_actor(args, settings: Settings) -> int:
    async def action(services: Services) -> int:
        lookup = await services.actors.lookup(" ".join(args.name))
        print(printable(dumps(actor_lookup(lookup)) if args.json else actor_text(lookup)))
        return 0 if lookup.profile else 1

    return await with_services(settings, action)


async def cmd_cve(args, settings: Settings) -> int:
    """A malformed ID exits 2 before the store is opened; a well-formed one nobody
    knows exits 0 with what is known (possibly nothing)."""
    parse_cve_id(args.id)

    async def action(services: Services) -> int:
        lookup = await services.cves.lookup(args.id)
        print(printable(dumps(cve_lookup(lookup)) if args.json else cve_text(lookup)))
        return OK

    return await with_services(settings, action)


async def cmd_search(args, settings: Settings) -> int:
    query = " ".join(args.query)

    async def action(services: Services) -> int:
        found = await services.search.page(query, limit=args.limit)
        print(printable(dumps(search_page(query, found)) if args.json
                        else search_text(query, found.hits, total=found.total)))
        return 0

    return await with_services(settings, action)


async def cmd_forget(args, settings: Settings) -> int:
    async def action(services: Services) -> int:
        report = await services.forget.forget(args.target)
        print(printable(dumps(report.as_dict()) if args.json else report.text()))
        return OK

    return await with_services(settings, action)


async def cmd_shell(args, settings: Settings) -> int:
    from bot.shell import Shell

    async def action(services: Services) -> int:
        await Shell(services).run()
        return 0

    return await with_services(settings, action)


async def cmd_run(args, settings: Settings) -> int:
    if settings.discord_token is None:
        print("DISCORD_TOKEN is not set: starting the terminal shell.", file=sys.stderr)
        return await cmd_shell(args, settings)
    from bot.app import run_bot

    return await run_bot(settings)


async def cmd_sync(args, settings: Settings) -> int:
    if settings.discord_token is None:
        raise UserError("Syncing commands needs DISCORD_TOKEN: set it in the environment or .env.")
    from bot.app import sync_commands

    return await sync_commands(settings, guild_id=args.guild)



COMMANDS = {
    "run": cmd_run,
    "shell": cmd_shell,
    "ingest": cmd_ingest,
    "import": cmd_import,
    "briefing": cmd_briefing,
    "actor": cmd_actor,
    "cve": cmd_cve,
    "search": cmd_search,
    "forget": cmd_forget,
    "sync": cmd_sync,
    "watchlist": cmd_watchlist,
    "vulns": cmd_vulns,
    "migrate": cmd_migrate,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure a user can meet ends in one line on stderr and an
    exit code from the table in the README, never a traceback."""
    try:
        code = _run(argv)
        sys.stdout.flush()  # here, not at interpreter exit where an error is unhandled
        return code
    except BrokenPipeError:  # `secbrief search x | head -1`: the reader left; end quietly
        _discard_stdout()
        return CLOSED_PIPE
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EIO, errno.EDQUOT):
            raise
        _discard_stdout()
        print(f"secbrief: cannot write the output ({exc.strerror}); free some space or "
              "send the output elsewhere.", file=sys.stderr)
        return NOTHING_DONE


def _discard_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's own flush at exit cannot
    fail again (and print "Exception ignored ... BrokenPipeError")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        print(f"secbrief: bad configuration ({problems}); fix the environment or .env.",
              file=sys.stderr)
        return BAD_INPUT
    setup_logging(settings, args.verbose, args.command)
    try:
        return asyncio.run(COMMANDS[args.command](args, settings))
    except (UserError, ConfigError, OverridesError, OverrideConflict, StoreOpenError) as exc:
        print(printable(f"secbrief: {exc}"), file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except sqlite3.Error as exc:
        print(f"secbrief: the store {settings.database} failed ({exc}); "
              "check the disk and the file, then run the command again.", file=sys.stderr)
        return NOTHING_DONE


if __name__ == "__main__":
    sys.exit(main())
