"""The commands that bring articles into the store: `ingest` (poll feeds) and `import`
(article files)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from bot.cli_common import BAD_INPUT, NOTHING_DONE, OK, with_services
from bot.config import Settings
from bot.jsonout import dumps
from bot.render.text import printable
from bot.services.container import Services
from bot.services.errors import UserError

if TYPE_CHECKING:
    from bot.services.ingest import FeedOutcome, IngestReport


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

    return await with_services(settings, action)


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

    return await with_services(settings, action)


def refusal(error: dict[str, str]) -> str:
    """ "PATH: reason" from an import error, whose reason may start with the file name."""
    path, reason = error.get("path", ""), error.get("error", "")
    name = os.path.basename(path)
    if name and reason.startswith(name + ": "):
        reason = reason[len(name) + 2:]
    return f"{path}: {reason}"
