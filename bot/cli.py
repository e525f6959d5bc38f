"""The `secbrief` command (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

from bot.config import ConfigError, Settings
from bot.intel.catalogue import OverridesError
from bot.jsonout import actor_lookup, dumps, search_hits
from bot.render.text import actor_text, briefing_text, printable, search_text
from bot.services.container import Services, open_services
from bot.services.errors import UserError
from bot.shell import Shell, summary
from bot.timeparse import parse_duration
from storage.actors import OverrideConflict

log = logging.getLogger("secbrief")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="secbrief", description="Security-news briefings for Discord and the terminal."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sub.add_parser("run", help="run the bot (Discord with DISCORD_TOKEN, else the shell)")
    sub.add_parser("shell", help="the terminal shell; reads commands from stdin")

    ingest = sub.add_parser("ingest", help="poll the feeds")
    ingest.add_argument("--once", action="store_true", help="poll once and exit")
    ingest.add_argument("--feed", action="append", metavar="URL", default=[],
                        help="poll this feed (repeatable) instead of the configured list")
    ingest.add_argument("--json", action="store_true", help="print a JSON report")

    imp = sub.add_parser("import", help="import article files (seed text, Markdown, HTML)")
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    imp.add_argument("--json", action="store_true", help="print a JSON report")

    briefing = sub.add_parser("briefing", help="the briefing that would be posted now")
    briefing.add_argument("--since", default="24h", help="period to cover, e.g. 24h, 7d")
    briefing.add_argument("--json", action="store_true", help="print JSON")

    actor = sub.add_parser("actor", help="look up a threat actor by any of its names")
    actor.add_argument("name", nargs="+", metavar="NAME")
    actor.add_argument("--json", action="store_true", help="print JSON")

    search = sub.add_parser("search", help="full-text search of the store")
    search.add_argument("query", nargs="+", metavar="QUERY")
    search.add_argument("--limit", type=int, default=10, choices=range(1, 101),
                        metavar="N", help="results to show (1-100)")
    search.add_argument("--json", action="store_true", help="print JSON")

    sync = sub.add_parser("sync", help="sync slash commands with Discord")
    sync.add_argument("--guild", type=int, help="sync to this guild only")
    return parser


def setup_logging(settings: Settings, verbose: bool, command: str) -> None:
    # The bot logs its progress; one-shot commands print results and only warnings.
    default = "INFO" if command == "run" else "WARNING"
    name = (settings.log_level or default).upper()
    level = logging.DEBUG if verbose else getattr(logging, name, logging.INFO)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    logging.getLogger("discord.http").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if not verbose:
        logging.getLogger("trafilatura").setLevel(logging.ERROR)


@contextmanager
def progress_bar(label: str, enabled: bool):
    """A rich progress bar on a TTY; nothing otherwise."""
    if not enabled:
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


async def _with_services(settings: Settings, action: Callable[[Services], object]) -> int:
    async with open_services(settings) as services:
        return await action(services)


async def cmd_ingest(args, settings: Settings) -> int:
    async def action(services: Services) -> int:
        tty = sys.stderr.isatty() and not args.json
        while True:
            with progress_bar("Polling feeds", tty) as update:
                if args.feed:
                    report = await services.ingest.poll(args.feed, progress=update)
                else:
                    report = await services.ingest.poll(
                        operator_urls=settings.feed_urls(), progress=update
                    )
            print(printable(dumps(report.as_dict()) if args.json else summary(report)),
                  flush=True)
            if args.once:
                return 0
            await asyncio.sleep(settings.poll_interval)

    return await _with_services(settings, action)


async def cmd_import(args, settings: Settings) -> int:
    async def action(services: Services) -> int:
        with progress_bar("Importing", sys.stderr.isatty() and not args.json) as update:
            report = await services.ingest.import_files(args.paths, progress=update)
        print(printable(dumps(report.as_dict()) if args.json else summary(report)))
        return 1 if report.failed and not report.added and not report.duplicates else 0

    return await _with_services(settings, action)


async def cmd_briefing(args, settings: Settings) -> int:
    try:
        period = parse_duration(args.since)
    except ValueError as exc:
        raise UserError(f"--since: {exc}") from exc

    async def action(services: Services) -> int:
        briefing = await services.briefings.build(services.clock() - period)
        print(printable(dumps(briefing.as_dict()) if args.json else briefing_text(briefing)))
        return 0

    return await _with_services(settings, action)


async def cmd_actor(args, settings: Settings) -> int:
    async def action(services: Services) -> int:
        lookup = await services.actors.lookup(" ".join(args.name))
        print(printable(dumps(actor_lookup(lookup)) if args.json else actor_text(lookup)))
        return 0 if lookup.profile else 1

    return await _with_services(settings, action)


async def cmd_search(args, settings: Settings) -> int:
    query = " ".join(args.query)

    async def action(services: Services) -> int:
        hits = await services.search.search(query, limit=args.limit)
        print(printable(dumps(search_hits(query, hits)) if args.json
                        else search_text(query, hits)))
        return 0

    return await _with_services(settings, action)


async def cmd_shell(args, settings: Settings) -> int:
    async def action(services: Services) -> int:
        await Shell(services).run()
        return 0

    return await _with_services(settings, action)


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
    "search": cmd_search,
    "sync": cmd_sync,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        print(f"secbrief: bad configuration ({problems}); fix the environment or .env.",
              file=sys.stderr)
        return 2
    setup_logging(settings, args.verbose, args.command)
    try:
        return asyncio.run(COMMANDS[args.command](args, settings))
    except UserError as exc:
        print(printable(f"secbrief: {exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except (ConfigError, OverridesError, OverrideConflict) as exc:
        print(printable(f"secbrief: {exc}"), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
