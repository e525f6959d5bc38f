"""The store-administration commands: the operator's `watchlist`, the `vulns` sources
(KEV, EPSS, NVD) and `migrate` (SQLite to PostgreSQL)."""

from __future__ import annotations

import sys

from bot.cli_common import NOTHING_DONE, OK, with_services
from bot.config import Settings
from bot.jsonout import dumps
from bot.render.text import printable
from bot.services.container import Services


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

    return await with_services(settings, action)


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

    return await with_services(settings, action)


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
