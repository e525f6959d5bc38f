"""The `secbrief` command line: its commands, options and help text (argparse)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli_common import BAD_INPUT

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
