"""The `secbrief` command (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

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
from bot.services.container import Services, open_services
from bot.services.cves import parse_cve_id
from bot.services.errors import UserError
from bot.timeparse import parse_duration
from storage.actors import OverrideConflict
from storage.db import StoreOpenError

if TYPE_CHECKING:
    from bot.services.ingest import FeedOutcome, IngestReport

log = logging.getLogger("secbrief")


# Exit codes (README, "Exit codes"): the command did its job; nothing could be done;
# bad input (nothing was changed for it); output into a closed pipe (as SIGPIPE would).
OK, NOTHING_DONE, BAD_INPUT, CLOSED_PIPE = 0, 1, 2, 141
SEARCH_LIMIT = 100


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors on one line (exit 2 as before)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(BAD_INPUT, f"{self.prog}: {message}; see `{self.prog} --help`.\n")


def search_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 1 <= value <= SEARCH_LIMIT:
        raise argparse.ArgumentTypeError(f"must be from 1 to {SEARCH_LIMIT}, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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

    cve = sub.add_parser("cve", help="a CVE: KEV, EPSS and CVSS context, and its stories")
    cve.add_argument("id", metavar="ID", help="a CVE ID, e.g. CVE-2024-3400")
    cve.add_argument("--json", action="store_true", help="print JSON")

    search = sub.add_parser("search", help="full-text search of the store")
    search.add_argument("query", nargs="+", metavar="QUERY")
    search.add_argument("--limit", type=search_limit, default=10, metavar="N",
                        help=f"results to show (1-{SEARCH_LIMIT})")
    search.add_argument("--json", action="store_true", help="print JSON")

    forget = sub.add_parser("forget", help="remove an article everywhere, by id or URL")
    forget.add_argument("target", metavar="URL_OR_ID")
    forget.add_argument("--json", action="store_true", help="print JSON")

    watchlist = sub.add_parser("watchlist", help="the operator's stack watchlist")
    watch_sub = watchlist.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, text in (("add", "watch a vendor or product"),
                         ("remove", "stop watching a vendor or product")):
        one = watch_sub.add_parser(action, help=text)
        one.add_argument("kind", choices=("vendor", "product"), metavar="KIND",
                         help="vendor or product")
        one.add_argument("name", nargs="+", metavar="NAME")
        one.add_argument("--json", action="store_true", help="print JSON")
    watch_list = watch_sub.add_parser("list", help="the watched vendors and products")
    watch_list.add_argument("--json", action="store_true", help="print JSON")

    vulns = sub.add_parser("vulns", help="the KEV, EPSS and NVD sources: refresh or status")
    vulns_sub = vulns.add_subparsers(dest="action", metavar="ACTION", required=True)
    refresh = vulns_sub.add_parser("refresh", help="fetch the sources that are due now")
    refresh.add_argument("--force", action="store_true", help="fetch every source, due or not")
    refresh.add_argument("--json", action="store_true", help="print JSON")
    vulns_status = vulns_sub.add_parser("status", help="each source's state")
    vulns_status.add_argument("--json", action="store_true", help="print JSON")

    migrate = sub.add_parser("migrate", help="copy this SQLite store into an empty PostgreSQL"
                             " database and verify it")
    migrate.add_argument("--to", required=True, metavar="URL",
                         help="the target, postgresql://user@host/database (must be empty)")
    migrate.add_argument("--batch-size", type=int, default=1000, metavar="N",
                         help="rows per COPY batch (default 1000)")
    migrate.add_argument("--json", action="store_true", help="print JSON")

    sync = sub.add_parser("sync", help="sync slash commands with Discord")
    sync.add_argument("--guild", type=int, help="sync to this guild only")
    return parser


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


async def refused_feeds(urls: Sequence[str], *, allow_private: bool) -> list[FeedOutcome]:
    """The --feed URLs that are bad input: not http(s), malformed, or refused by the
    private-address policy. A host that does not resolve is not bad input (the
    machine may be offline): its poll fails and is reported like any feed's."""
    from bot.news.ssrf import HostResolutionError, UnsafeURLError, check_url
    from bot.services.feeds import validate_feed_url
    from bot.services.ingest import FeedOutcome

    refused = []
    for url in urls:
        try:
            await check_url(validate_feed_url(url), allow_private=allow_private)
        except (UserError, UnsafeURLError) as exc:
            reason = str(exc) if str(exc).startswith("refused") else f"refused: {exc}"
            refused.append(FeedOutcome(url=url, status="error", error=reason))
        except HostResolutionError:
            pass
    return refused


def every_feed_failed(report: IngestReport) -> bool:
    flag = getattr(report, "all_failed", None)
    if flag is not None:
        return bool(flag)
    return bool(report.feeds) and all(f.status in ("error", "disabled") for f in report.feeds)


def with_refused(report: IngestReport, refused: list[FeedOutcome]) -> IngestReport:
    report.feeds[:0] = refused
    report.failed += len(refused)
    report.errors[:0] = [{"url": f.url, "error": f.error or ""} for f in refused]
    return report


async def cmd_ingest(args, settings: Settings) -> int:
    """A refused --feed is reported and not polled, the others are; exit 2 if any was
    refused, 1 if every polled feed failed."""
    from bot.services.ingest import IngestReport
    from bot.shell import summary

    refused = await refused_feeds(args.feed, allow_private=settings.allow_private_feeds)
    for outcome in refused:
        print(printable(f"secbrief: --feed {outcome.url}: {outcome.error}"), file=sys.stderr)
    refused_urls = {f.url for f in refused}
    good = [url for url in args.feed if url not in refused_urls]
    if args.feed and not good:  # nothing to poll: the store is not even opened
        report = with_refused(IngestReport(), refused)
        print(printable(dumps(report.as_dict()) if args.json else summary(report)), flush=True)
        return BAD_INPUT

    async def action(services: Services) -> int:
        tty = sys.stderr.isatty() and not args.json
        while True:
            with progress_bar("Polling feeds", tty) as update:
                if good:
                    report = await services.ingest.poll(good, progress=update)
                else:
                    report = await services.ingest.poll(
                        operator_urls=settings.feed_urls(), progress=update
                    )
            failed = every_feed_failed(report)
            report = with_refused(report, refused)
            print(printable(dumps(report.as_dict()) if args.json else summary(report)),
                  flush=True)
            if args.once:
                return BAD_INPUT if refused else NOTHING_DONE if failed else OK
            await services.vulns.refresh()  # KEV / EPSS / NVD, those that are due
            await asyncio.sleep(settings.poll_interval)

    return await _with_services(settings, action)


async def cmd_import(args, settings: Settings) -> int:
    """Good files are imported even when others beside them are refused (as `cp` copies
    what it can); any refused or missing file makes the exit code 2."""
    if any(not str(p).strip() for p in args.paths):
        raise UserError("import: an empty path was given; name article files to import.")
    from bot.shell import summary

    async def action(services: Services) -> int:
        with progress_bar("Importing", sys.stderr.isatty() and not args.json) as update:
            report = await services.ingest.import_files(args.paths, progress=update)
        print(printable(dumps(report.as_dict()) if args.json else summary(report)))
        for error in report.errors:
            print(printable(f"secbrief: not imported: {refusal(error)}"), file=sys.stderr)
        return BAD_INPUT if report.failed else OK

    return await _with_services(settings, action)


def refusal(error: dict[str, str]) -> str:
    """ "PATH: reason" from an import error, whose reason may start with the file name."""
    path, reason = error.get("path", ""), error.get("error", "")
    name = os.path.basename(path)
    if name and reason.startswith(name + ": "):
        reason = reason[len(name) + 2:]
    return f"{path}: {reason}"


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

    return await _with_services(settings, action)


async def cmd_actor(args, settings: Settings) -> int:
    async def action(services: Services) -> int:
        lookup = await services.actors.lookup(" ".join(args.name))
        print(printable(dumps(actor_lookup(lookup)) if args.json else actor_text(lookup)))
        return 0 if lookup.profile else 1

    return await _with_services(settings, action)


async def cmd_cve(args, settings: Settings) -> int:
    """A malformed ID exits 2 before the store is opened; a well-formed one nobody
    knows exits 0 with what is known (possibly nothing)."""
    parse_cve_id(args.id)

    async def action(services: Services) -> int:
        lookup = await services.cves.lookup(args.id)
        print(printable(dumps(cve_lookup(lookup)) if args.json else cve_text(lookup)))
        return OK

    return await _with_services(settings, action)


async def cmd_search(args, settings: Settings) -> int:
    query = " ".join(args.query)

    async def action(services: Services) -> int:
        found = await services.search.page(query, limit=args.limit)
        print(printable(dumps(search_page(query, found)) if args.json
                        else search_text(query, found.hits, total=found.total)))
        return 0

    return await _with_services(settings, action)


async def cmd_forget(args, settings: Settings) -> int:
    async def action(services: Services) -> int:
        report = await services.forget.forget(args.target)
        print(printable(dumps(report.as_dict()) if args.json else report.text()))
        return OK

    return await _with_services(settings, action)


async def cmd_shell(args, settings: Settings) -> int:
    from bot.shell import Shell

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


async def cmd_watchlist(args, settings: Settings) -> int:
    """The operator's own watchlist (the shell's /watchlist): a name secbrief does not
    know is bad input (exit 2, nothing changed)."""
    from bot.render.stack import watchlist_json, watchlist_text
    from bot.shell import OPERATOR

    async def action(services: Services) -> int:
        watchlist = services.watchlist
        if args.action == "add":
            added = await watchlist.add(OPERATOR, args.kind, " ".join(args.name))
            verb = "Added" if added.created else "Already watching"
            text = f"{verb} {added.entry.kind} {added.entry.name}."
        elif args.action == "remove":
            removed = await watchlist.remove(OPERATOR, args.kind, " ".join(args.name))
            text = f"Removed {removed.kind} {removed.name}."
        entries = await watchlist.list(OPERATOR)
        if args.action == "list":
            text = watchlist_text(entries)
        print(printable(dumps(watchlist_json(entries)) if args.json else text))
        return OK

    return await _with_services(settings, action)


async def cmd_vulns(args, settings: Settings) -> int:
    """`refresh` exits 1 when every enabled source failed; `status` always 0."""
    from bot.render import vuln_sources

    async def action(services: Services) -> int:
        if args.action == "status":
            statuses = await services.vulns.status()
            print(printable(dumps(vuln_sources.status_json(statuses)) if args.json
                            else vuln_sources.status_text(statuses)))
            return OK
        reports = await services.vulns.refresh(force=args.force)
        print(printable(dumps(vuln_sources.refresh_json(reports)) if args.json
                        else vuln_sources.refresh_text(reports)))
        enabled = [r for r in reports if r.enabled]
        return NOTHING_DONE if enabled and all(r.failed for r in enabled) else OK

    return await _with_services(settings, action)


async def cmd_migrate(args, settings: Settings) -> int:
    """0: copied and verified; 1: the counts differ (the report says whether the target
    was rolled back or left); 2: bad input (nothing changed)."""
    from storage.migrate import MigrateError, migrate_store

    try:
        report = await migrate_store(settings.database, args.to, batch=args.batch_size)
    except MigrateError as exc:
        print(printable(f"secbrief: migrate: {exc}"), file=sys.stderr)
        return exc.code
    print(printable(dumps(report.as_dict()) if args.json else report.text()))
    return OK if report.verified else NOTHING_DONE


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
