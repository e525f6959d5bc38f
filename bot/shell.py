"""The terminal surface: the bot's commands, read line by line from stdin.

It calls the same services as the Discord cogs and prints the same content as text,
so ``echo '/actor Flax Typhoon' | secbrief shell`` works as well as an interactive
session. On a terminal it has line editing and a history kept between sessions
(prompt_toolkit); from a pipe it reads plain lines and prints no prompt.

The shell's user is the operator, subscribed as the terminal user: after /ingest or
/import it runs an alert round and prints the new stories on what it follows, each
with its "Matched:" line (bot.services.terminal_alerts).
"""

from __future__ import annotations

import asyncio
import glob
import os
import shlex
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.render.common import plural
from bot.render.text import (
    actor_text,
    briefing_text,
    cve_text,
    printable,
    search_text,
    story_text,
)
from bot.services.caller import Caller
from bot.services.errors import UserError
from bot.timeparse import parse_duration
from storage.deliveries import TERMINAL_USER

if TYPE_CHECKING:
    from bot.services.container import Services
    from bot.services.feeds import PollState
    from bot.services.ingest import IngestReport
    from bot.services.terminal_alerts import TerminalAlert
    from storage.models import Feed

# The terminal user is the operator: guild 0 is the operator's own feed list.
OPERATOR = Caller(user_id=TERMINAL_USER, guild_id=0, can_manage_guild=True, terminal=True)
PROMPT = "secbrief> "
GLOB_CHARS = frozenset("*?[")

HELP = """Commands:
  /actor NAME                    who an actor is, its aliases, and recent stories
  /cve ID                        a CVE: known exploited (KEV), EPSS, CVSS, its stories
  /search QUERY                  full-text search of the store
  /briefing [now|24h|7d]         the briefing for the last day (or the period given)
  /subscribe KIND VALUE          follow an actor, cve, vendor, keyword or source;
                                 new stories on it are shown after /ingest or /import
  /unsubscribe KIND VALUE        stop following it
  /subscriptions                 what you follow
  /watchlist list                the operator's stack: vendors and products watched
  /watchlist add|remove KIND NAME  KIND vendor or product; briefings open with
                                 "Your stack", and a CVE entering KEV is shown
  /feeds list|status             the operator's feeds and their poll status
  /feeds add URL | remove URL    change the operator's feed list
  /ingest                        poll the operator's feeds once now
  /import PATH...                import article files (text, Markdown, HTML); globs
                                 such as ~/news/*.md are expanded
  /forget URL_OR_ID              remove an article everywhere (briefings, search, alerts)
  /help, /quit                   (on a terminal: arrow keys edit and recall lines)"""

EMPTY_STORE = (
    "The store is empty. Run /ingest to fetch the operator's feeds, or "
    "/import PATH to add article files (or `secbrief ingest --once` / `secbrief import`)."
)


def history_path() -> Path:
    """Where the shell keeps its history: $XDG_STATE_HOME/secbrief (by default
    ~/.local/state/secbrief)/shell_history."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "secbrief" / "shell_history"


def expand_paths(arg: str) -> list[Path]:
    """The paths /import names: shell-like words, ~ expanded, globs matched (sorted). A
    glob matching nothing is an error, so nothing is imported for a mistyped pattern;
    a plain path is passed on as it is (the import reports a missing file)."""
    try:
        words = shlex.split(arg)
    except ValueError as exc:
        raise UserError(f"Could not read the paths: {exc}") from exc
    if not words:
        raise UserError("Usage: /import PATH... (globs such as ~/news/*.md are expanded)")
    paths: list[Path] = []
    for word in words:
        word = os.path.expanduser(word)
        if not GLOB_CHARS & set(word):
            paths.append(Path(word))
            continue
        found = sorted(glob.glob(word, recursive=True))
        if not found:
            raise UserError(f"No files match {word}; nothing was imported.")
        paths += [Path(p) for p in found]
    return paths


def alerts_text(alerts: list[TerminalAlert]) -> str:
    """Each batch as the bot's alert DM reads: a header, then each story with what
    matched it first."""
    if not alerts:
        return ""
    from bot.render.alerts import matched_line  # (imports discord: only when there are some)

    blocks = []
    for alert in alerts:
        if alert.changes:  # a CVE entered KEV, a followed CVE's EPSS crossed the threshold
            from bot.render.kev_alerts import vuln_text

            blocks.append(vuln_text(alert.changes))
            continue
        header = f"New on what you follow — {plural(len(alert.items), 'story', 'stories')}"
        cards = []
        for item in alert.items:
            reasons = alert.reasons.get(item.story_id, [])
            card = story_text(item)
            cards.append(f"{matched_line(reasons)}\n{card}" if reasons else card)
        blocks.append("\n\n".join([header, *cards]))
    return "\n\n".join(blocks)


class Shell:
    def __init__(self, services: Services, *, caller: Caller = OPERATOR) -> None:
        self.services = services
        self.caller = caller
        self._commands: dict[str, Callable[[str], Awaitable[str]]] = {
            "help": self._help,
            "actor": self._actor,
            "cve": self._cve,
            "search": self._search,
            "briefing": self._briefing,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "subscriptions": self._subscriptions,
            "feeds": self._feeds,
            "watchlist": self._watchlist,
            "ingest": self._ingest,
            "import": self._import,
            "forget": self._forget,
        }

    async def greeting(self) -> str:
        count = await self.services.store.articles.count()
        lines = ["secbrief shell — type /help for commands, /quit to leave."]
        lines.append(EMPTY_STORE if count == 0
                     else f"The store holds {plural(count, 'article')}.")
        # Alerts planned while no shell was open (by the bot's or `secbrief ingest`'s
        # rounds) wait in the ledger: shown now — with a CVE that entered KEV since the
        # last look (a `secbrief vulns refresh` from cron plans no alerts itself).
        await self.services.vuln_alerts.plan_round()
        waiting = alerts_text(await self.services.terminal_alerts.take())
        return "\n".join(lines) + (f"\n\n{waiting}" if waiting else "")

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
        return actor_text(await self.services.actors.lookup(name), search_command="/search")

    async def _cve(self, cve_id: str) -> str:
        return cve_text(await self.services.cves.lookup(cve_id))

    async def _search(self, query: str) -> str:
        found = await self.services.search.page(query)
        return search_text(query, found.hits, total=found.total)

    async def _briefing(self, arg: str) -> str:
        period = timedelta(hours=24)
        if arg and arg.lower() != "now":
            try:
                period = parse_duration(arg)
            except ValueError as exc:
                raise UserError(str(exc)) from exc
        since = self.services.clock() - period
        briefing = await self.services.briefings.build(since)
        if not briefing.items:
            return (f"No new stories since {since:%Y-%m-%d %H:%M} UTC. "
                    "Run /ingest or /import PATH to add some.")
        return briefing_text(briefing)

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
        if not result.created:
            return f"Already following {sub.kind} {sub.display}{via}."
        return (f"Now following {sub.kind} {sub.display}{via}. New stories on it are shown "
                "here after /ingest or /import.")

    async def _unsubscribe(self, arg: str) -> str:
        kind, value = self._kind_value(arg, "/unsubscribe KIND VALUE")
        await self.services.subscriptions.unsubscribe(self.caller, kind, value)
        return f"Stopped following {kind} {value}."

    async def _subscriptions(self, _: str) -> str:
        subs = await self.services.subscriptions.list(self.caller)
        if not subs:
            return "You follow nothing yet: try /subscribe actor APT29."
        lines = [f"You follow {plural(len(subs), 'thing')}:"]
        return "\n".join(lines + [f"• {s.kind}: {s.display}" for s in subs])

    async def _feeds(self, arg: str) -> str:
        action, _, url = arg.partition(" ")
        action = action.lower() or "list"
        feeds = self.services.feeds
        if action == "add":
            feed = await feeds.add(self.caller, url)
            return f"Added {feed.url} to the operator's feeds; it is polled on the next /ingest."
        if action == "remove":
            await feeds.remove(self.caller, url)
            return f"Removed {url.strip()} from the operator's feeds."
        if action in ("list", "status"):
            rows = await feeds.list(self.caller)
            if not rows:
                return ("The operator's feed list is empty: run /ingest to load the "
                        "configured list, or /feeds add URL.")
            lines = [f"The operator's feeds ({plural(len(rows), 'feed')}):"]
            from bot.services.feeds import poll_state  # imports aiohttp: not at start-up

            for f in rows:
                polled = poll_state(f)
                line = f"• [{polled.state}] {f.url}"
                if action == "status":
                    line += "\n    " + _feed_status(f, polled)
                lines.append(line)
            return "\n".join(lines)
        raise UserError("Usage: /feeds list | status | add URL | remove URL")

    async def _watchlist(self, arg: str) -> str:
        from bot.render.stack import watchlist_text

        action, _, rest = arg.partition(" ")
        action = action.lower() or "list"
        watchlist = self.services.watchlist
        if action in ("add", "remove"):
            kind, name = self._kind_value(
                rest, f"/watchlist {action} KIND NAME, e.g. /watchlist {action} vendor Fortinet")
            if action == "add":
                added = await watchlist.add(self.caller, kind, name)
                verb = "Added" if added.created else "Already watching"
                return f"{verb} {added.entry.kind} {added.entry.name}."
            removed = await watchlist.remove(self.caller, kind, name)
            return f"Removed {removed.kind} {removed.name}."
        if action == "list":
            return watchlist_text(await watchlist.list(self.caller))
        raise UserError("Usage: /watchlist list | add KIND NAME | remove KIND NAME")

    async def _with_alerts(self, add: Callable[[], Awaitable[IngestReport]]) -> str:
        """Add articles, then show the alerts they raised for the shell's subscriptions.
        A round runs before too: the very first one only sets the alert cursor."""
        alerts = self.services.terminal_alerts
        await alerts.plan()
        report = await add()
        await alerts.plan()
        shown = alerts_text(await alerts.take())
        return summary(report) + (f"\n\n{shown}" if shown else "")

    async def _ingest(self, _: str) -> str:
        operator_urls = self.services.settings.feed_urls()
        return await self._with_alerts(
            lambda: self.services.ingest.poll(operator_urls=operator_urls))

    async def _import(self, arg: str) -> str:
        paths = expand_paths(arg)
        return await self._with_alerts(lambda: self.services.ingest.import_files(paths))

    async def _forget(self, arg: str) -> str:
        return (await self.services.forget.forget(arg)).text()

    async def run(self, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout, *,
                  history: Path | None = None) -> None:
        """Read and run commands until /quit or the end of input. On a terminal (stdin
        and stdout both TTYs) lines are edited and recalled with prompt_toolkit, the
        history kept in ``history`` (history_path() by default)."""
        print(printable(await self.greeting()), file=stdout, flush=True)
        if stdin.isatty() and stdout.isatty():
            read = _terminal_reader(history or history_path())
        else:
            async def read() -> str | None:
                line = await asyncio.to_thread(stdin.readline)
                return line or None
        while True:
            line = await read()
            if line is None:
                break
            output = await self.handle(line)
            if output is None:
                break
            if output:
                print(printable(output), file=stdout, flush=True)


def _terminal_reader(history: Path) -> Callable[[], Awaitable[str | None]]:
    """A line reader with editing and a persistent history; Ctrl-D ends the session,
    Ctrl-C clears the line."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    try:
        history.parent.mkdir(parents=True, exist_ok=True)
        history.touch(exist_ok=True)
        kept = FileHistory(str(history))
    except OSError:  # a read-only home: history for this session only
        kept = InMemoryHistory()
    session: PromptSession[str] = PromptSession(history=kept)

    async def read() -> str | None:
        while True:
            try:
                return await session.prompt_async(PROMPT)
            except KeyboardInterrupt:
                continue
            except EOFError:
                return None

    return read


def _feed_status(feed: Feed, polled: PollState) -> str:
    """The /feeds status detail of one feed (the states are bot.services.feeds')."""
    if polled.state == "pending":
        return "not polled yet (the next /ingest polls it)"
    ok = f"{feed.last_success_at:%Y-%m-%d %H:%M} UTC" if feed.last_success_at else "never"
    text = f"last success: {ok}; {plural(feed.failures, 'failure')} in a row"
    if polled.retry_at is not None:
        text += f"; next try {polled.retry_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    if feed.last_error:
        text += f"; last error: {feed.last_error}"
    return text


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
