"""The "Your stack" section a briefing opens with, as Discord lines and as plain text."""

from __future__ import annotations

from bot.render.common import day, plural
from bot.render.sanitise import discord_text, link
from bot.services.your_stack import StackCve, YourStack
from storage.watchlist import WatchEntry

SHOWN = 8  # stories and CVEs each, in the digest header


def cve_line(cve: StackCve) -> str:
    """Plain text: "Newly exploited: CVE-… (Palo Alto Networks PAN-OS) — added to CISA
    KEV on 12 Apr 2024, due 19 Apr 2024"."""
    entry = cve.entry
    what = " ".join(p for p in (entry.vendor, entry.product) if p)
    due = f", due {day(entry.due_date)}" if entry.due_date else ""
    return (f"Newly exploited: {entry.cve} ({what}) — added to CISA KEV on "
            f"{day(entry.date_added)}{due}")


def stack_lines(stack: YourStack) -> list[str]:
    """Markdown lines for the digest header (empty when nothing touches the list)."""
    if not stack:
        return []
    lines = ["**Your stack**"]
    for cve in stack.newly_exploited[:SHOWN]:
        lines.append(f"• {discord_text(cve_line(cve), 300)} · "
                     f"{discord_text(', '.join(cve.matched), 120)}")
    for story in stack.stories[:SHOWN]:
        lines.append(f"• {link(story.item.title, story.item.url, 150)} · "
                     f"{discord_text(', '.join(story.matched), 120)}")
    rest = (max(len(stack.newly_exploited) - SHOWN, 0) + max(len(stack.stories) - SHOWN, 0))
    if rest:
        lines.append(f"…and {plural(rest, 'more')} on your watchlist.")
    return [*lines, ""]


def stack_text(stack: YourStack) -> str:
    """The section as plain text ("" when nothing touches the list)."""
    if not stack:
        return ""
    lines = ["Your stack:"]
    lines += [f"  • {cve_line(c)} · {', '.join(c.matched)}" for c in stack.newly_exploited]
    lines += [f"  • {s.item.title} · {', '.join(s.matched)}" for s in stack.stories]
    return "\n".join(lines)


def watchlist_text(entries: list[WatchEntry], *, whose: str = "The operator's") -> str:
    """A watchlist as plain text, or how to start one."""
    if not entries:
        return (f"{whose} watchlist is empty: add the vendors and products you run, "
                "e.g. watchlist add vendor \"Palo Alto Networks\".")
    lines = [f"{whose} watchlist ({plural(len(entries), 'name')}):"]
    return "\n".join(lines + [f"• {e.kind}: {e.name}" for e in entries])


def watchlist_json(entries: list[WatchEntry]) -> dict:
    return {"count": len(entries),
            "entries": [{"kind": e.kind, "name": e.name, "key": e.name_norm} for e in entries]}
