"""The terminal surface: the bot's commands, read line by line from stdin.

It calls the same services as the Discord cogs and prints the same content as text,
so ``echo '/actor Flax Typhoon' | secbrief shell`` works as well as an interactive
session.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import TextIO

from bot.render.text import actor_text, briefing_text, printable, search_text
from bot.services.caller import Caller
from bot.services.container import Services
from bot.services.errors import UserError
from bot.services.ingest import IngestReport
from bot.timeparse import parse_duration

# The terminal user is the operator: guild 0 is the operator's own feed list.
OPERATOR = Caller(user_id=0, guild_id=0, can_manage_guild=True)

HELP = """Commands:
  /actor NAME                    who an actor is, its aliases, and recent stories
  /search QUERY                  full-text search of the store
  /briefing [now|24h|7d]         the briefing for the last day (or the period given)
  /subscribe KIND VALUE          follow an actor, cve, vendor, keyword or source
  /unsubscribe KIND VALUE        stop following it
  /subscriptions                 what you follow
  /feeds list|status             the operator's feeds and their poll status
  /feeds add URL | remove URL    change the operator's feed list
  /ingest                        poll the feeds once now
  /import PATH...                import article files (text, Markdown, HTML)
  /forget URL_OR_ID              remove an article everywhere (briefings, search, alerts)
  /help, /quit"""

EMPTY_STORE = (
    "The store is empty. Run /ingest to fetch the configured feeds, or "
    "/import PATH to add article files (or `secbrief ingest --once` / `secbrief import`)."
)


class Shell:
    def __init__(self, services: Services, *, caller: Caller = OPERATOR) -> None:
        self.services = services
        self.caller = caller
        self._commands: dict[str, Callable[[str], Awaitable[str]]] = {
            "help": self._help,
            "actor": self._actor,
            "search": self._search,
            "briefing": self._briefing,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "subscriptions": self._subscriptions,
            "feeds": self._feeds,
            "ingest": self._ingest,
            "import": self._import,
            "forget": self._forget,
        }

    async def greeting(self) -> str:
        count = await self.services.store.articles.count()
        lines = ["secbrief shell — type /help for commands, /quit to leave."]
        lines.append(EMPTY_STORE if count == 0 else f"The store holds {count} articles.")
        return "\n".join(lines)

    async def handle(self, line: str) -> str | None:
        """Run one command line; returns the text to print (None to quit)."""
        line = line.strip()
        if not line or line.startswith("#"):
            return ""
        name, _, rest = line.lstrip("/").partition(" ")
        name = name.lower()
        if name in ("quit", "exit"):
            return None
        command = self._commands.get(name)
        if command is None:
            return f"Unknown command “/{name[:30]}”. Type /help for the list."
        try:
            return await command(rest.strip())
        except UserError as exc:
            return f"Error: {exc}"

    async def _help(self, _: str) -> str:
        return HELP

    async def _actor(self, name: str) -> str:
        return actor_text(await self.services.actors.lookup(name))

    async def _search(self, query: str) -> str:
        return search_text(query, await self.services.search.search(query))

    async def _briefing(self, arg: str) -> str:
        period = timedelta(hours=24)
        if arg and arg.lower() != "now":
            try:
                period = parse_duration(arg)
            except ValueError as exc:
                raise UserError(str(exc)) from exc
        since = self.services.clock() - period
        return briefing_text(await self.services.briefings.build(since))

    def _kind_value(self, arg: str, usage: str) -> tuple[str, str]:
        kind, _, value = arg.partition(" ")
        if not kind or not value.strip():
            raise UserError(f"Usage: {usage}")
        return kind, value

    async def _subscribe(self, arg: str) -> str:
        kind, value = self._kind_value(arg, "/subscribe KIND VALUE, e.g. /subscribe actor APT29")
        result = await self.services.subscriptions.subscribe(self.caller, kind, value)
        sub = result.subscription
        via = f" (resolved from “{result.resolved_from}”)" if result.resolved_from else ""
        state = "Now following" if result.created else "Already following"
        return f"{state} {sub.kind} {sub.display}{via}."

    async def _unsubscribe(self, arg: str) -> str:
        kind, value = self._kind_value(arg, "/unsubscribe KIND VALUE")
        await self.services.subscriptions.unsubscribe(self.caller, kind, value)
        return f"Stopped following {kind} {value}."

    async def _subscriptions(self, _: str) -> str:
        subs = await self.services.subscriptions.list(self.caller)
        if not subs:
            return "You follow nothing yet: try /subscribe actor APT29."
        return "\n".join(f"• {s.kind}: {s.display}" for s in subs)

    async def _feeds(self, arg: str) -> str:
        action, _, url = arg.partition(" ")
        action = action.lower() or "list"
        feeds = self.services.feeds
        if action == "add":
            feed = await feeds.add(self.caller, url)
            return f"Added {feed.url}; it is polled on the next /ingest."
        if action == "remove":
            await feeds.remove(self.caller, url)
            return f"Removed {url.strip()}."
        if action in ("list", "status"):
            rows = await feeds.list(self.caller)
            if not rows:
                return "No feeds yet: run /ingest to load the configured list, or /feeds add URL."
            lines = []
            for f in rows:
                state = "disabled" if f.disabled else ("failing" if f.failures else "ok")
                line = f"• [{state}] {f.url}"
                if action == "status":
                    ok = f"{f.last_success_at:%Y-%m-%d %H:%M}" if f.last_success_at else "never"
                    line += f"\n    last success: {ok}; failures: {f.failures}"
                    if f.last_error:
                        line += f"; last error: {f.last_error}"
                lines.append(line)
            return "\n".join(lines)
        raise UserError("Usage: /feeds list | status | add URL | remove URL")

    async def _ingest(self, _: str) -> str:
        report = await self.services.ingest.poll(
            operator_urls=self.services.settings.feed_urls()
        )
        return summary(report)

    async def _import(self, arg: str) -> str:
        try:
            paths = [Path(p) for p in shlex.split(arg)]
        except ValueError as exc:
            raise UserError(f"Could not read the paths: {exc}") from exc
        if not paths:
            raise UserError("Usage: /import PATH...")
        return summary(await self.services.ingest.import_files(paths))

    async def _forget(self, arg: str) -> str:
        return (await self.services.forget.forget(arg)).text()

    async def run(self, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
        interactive = stdin.isatty()
        print(await self.greeting(), file=stdout, flush=True)
        while True:
            if interactive:
                print("secbrief> ", end="", file=stdout, flush=True)
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            output = await self.handle(line)
            if output is None:
                break
            if output:
                print(printable(output), file=stdout, flush=True)


SUMMARY_ERRORS = 10  # failing feeds or files listed before "… and N more"
OFFLINE_HINT = "no feed host could be reached — is this machine offline?"


def summary(report: IngestReport) -> str:
    """An ingest's or import's outcome: counts, one line per failure (at most
    SUMMARY_ERRORS), the feeds skipped while they back off, and a hint when no feed
    host could be reached at all."""
    parts = [f"added {report.added}", f"duplicates {report.duplicates}", f"failed {report.failed}"]
    lines = [", ".join(parts) + f" ({report.elapsed:.1f}s)"]
    for error in report.errors[:SUMMARY_ERRORS]:
        where = error.get("url") or error.get("path")
        lines.append(f"  ! {where}: {error['error']}")
    if len(report.errors) > SUMMARY_ERRORS:
        lines.append(f"  … and {len(report.errors) - SUMMARY_ERRORS} more")
    if report.backing_off:
        lines.append("  " + _backing_off_line(report))
    if report.unreachable:
        lines.append("  " + OFFLINE_HINT)
    return "\n".join(lines)


def _backing_off_line(report: IngestReport) -> str:
    count = len(report.backing_off)
    soonest = min(b.next_retry for b in report.backing_off).astimezone(UTC)
    now = report.started_at
    same_day = now is not None and soonest.date() == now.astimezone(UTC).date()
    when = f"{soonest:%H:%M} UTC" if same_day else f"{soonest:%Y-%m-%d %H:%M} UTC"
    feeds = "feed" if count == 1 else "feeds"
    verb = "is" if count == 1 else "are"
    return f"{count} {feeds} {verb} backing off after failures (not polled), next retry {when}"
