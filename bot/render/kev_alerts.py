"""Alerts on change: "Newly exploited: CVE-2024-3400 (Palo Alto Networks PAN-OS) — added
to CISA KEV on 12 Apr 2024, due 19 Apr 2024" and EPSS threshold crossings, each with its
"Matched:" line. The plain-text lines (``vuln_line``) are the shell's; the embeds carry
the same facts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import discord

from bot.render.alerts import Outgoing, alert_view, matched_line
from bot.render.common import plural
from bot.render.embeds import COLOUR, DESCRIPTION, KIND_COLOURS, pack
from bot.render.sanitise import discord_text, fit_lines
from bot.render.story import Kind
from storage.vuln_alerts import VulnAlertItem

NVD_URL = "https://nvd.nist.gov/vuln/detail/"


def _day(value: object) -> str:
    if not value:
        return "unknown"
    parsed = date.fromisoformat(str(value))
    return f"{parsed.day} {parsed:%b %Y}"


def subject(item: VulnAlertItem) -> str:
    """"CVE-2024-3400 (Palo Alto Networks PAN-OS)"."""
    vendor, product = item.detail.get("vendor") or "", item.detail.get("product") or ""
    what = " ".join(str(p) for p in (vendor, product) if p)
    return f"{item.cve} ({what})" if what else item.cve


def vuln_line(item: VulnAlertItem) -> str:
    """The headline of one change, as plain text (each surface escapes it)."""
    d = item.detail
    if item.event == "kev":
        due = f", due {_day(d.get('due_date'))}" if d.get("due_date") else ""
        return (f"Newly exploited: {subject(item)} — added to CISA KEV on "
                f"{_day(d.get('date_added'))}{due}")
    score, percentile = float(d.get("score") or 0), float(d.get("percentile") or 0)
    return (f"EPSS alert: {item.cve} — exploitation probability {score:.2f} "
            f"({percentile * 100:.0f}th percentile) on {_day(d.get('date'))}, at or over "
            f"your threshold {float(d.get('threshold') or 0):g}")


def detail_lines(item: VulnAlertItem) -> list[str]:
    d = item.detail
    lines = []
    if item.event == "kev":
        if d.get("name"):
            lines.append(str(d["name"]))
        if d.get("known_ransomware"):
            lines.append("Known to be used in ransomware campaigns.")
        if d.get("required_action"):
            lines.append(f"Required action: {d['required_action']}")
    return lines


def vuln_text(items: Sequence[VulnAlertItem]) -> str:
    """A batch as the shell prints it: a header, then each change with its Matched line."""
    header = (f"Newly exploited on what you follow — {plural(len(items), 'CVE')}"
              if all(i.event == "kev" for i in items)
              else f"Vulnerability alerts on what you follow — {plural(len(items), 'CVE')}")
    blocks = []
    for item in items:
        lines = [vuln_line(item)]
        if item.reasons:
            lines.append(matched_line(item.reasons))
        lines += [f"  {line}" for line in detail_lines(item)]
        blocks.append("\n".join(lines))
    return "\n\n".join([header, *blocks])


def vuln_embed(item: VulnAlertItem) -> discord.Embed:
    lines = []
    if item.reasons:
        matched = matched_line(item.reasons).removeprefix("Matched: ")
        lines.append(f"**Matched:** {discord_text(matched, 600)}")
    lines.append(discord_text(vuln_line(item), 600))
    lines += [discord_text(line, 800) for line in detail_lines(item)]
    title = (f"Newly exploited: {subject(item)}" if item.event == "kev"
             else f"EPSS alert: {item.cve}")
    return discord.Embed(
        title=discord_text(title, 256), url=f"{NVD_URL}{item.cve}",
        description=fit_lines(lines, DESCRIPTION),
        colour=KIND_COLOURS.get(Kind.EXPLOITED, COLOUR) if item.event == "kev" else COLOUR,
    )


def vuln_messages(items: Sequence[VulnAlertItem], *, dm_user: int | None) -> list[Outgoing]:
    """The messages of one batch of changes, 10 cards / 6,000 characters a message; a DM
    carries Unsubscribe buttons for the subscriptions matched and Mute."""
    embeds = [vuln_embed(item) for item in items]
    parts: list[Outgoing] = []
    start = 0
    messages = pack(embeds)
    for number, message in enumerate(messages, start=1):
        shown = items[start : start + len(message)]
        start += len(message)
        view = None
        if dm_user is not None:
            view = alert_view(dm_user, [r for item in shown for r in item.reasons])
        count = plural(len(items), "CVE")
        head = ("**Newly exploited** on what you follow" if all(i.event == "kev" for i in items)
                else "**Vulnerability alert** on what you follow")
        content = f"{head} — {count}" + (f" ({number}/{len(messages)})"
                                         if len(messages) > 1 else "")
        parts.append(Outgoing(message, view, content=content))
    return parts
