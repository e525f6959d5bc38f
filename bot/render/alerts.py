"""Alert messages: every story card says what matched ("Matched: actor APT29 — you
follow Cozy Bear"), and a DM alert carries buttons to unsubscribe from each match and
to mute alerts for a day. The terminal shell prints the same line (``matched_line``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import discord

from bot.render.embeds import DESCRIPTION, TOTAL, add_read_buttons, pack, read_view, story_embed
from bot.render.sanitise import discord_text, fit_lines, label
from bot.services.briefings import BriefingItem
from bot.views import MuteButton, UnsubscribeButton
from storage.models import MatchReason

MAX_BUTTONS = 25  # Discord: 5 rows of 5 per message
MATCHED_SHOWN = 5  # reasons named per story; more are counted


@dataclass(slots=True)
class Outgoing:
    """One message to send: its embeds, its buttons (an alert's to a DM, Read links) and
    its own content line when it has one (else the sender's header)."""

    embeds: list[discord.Embed]
    view: discord.ui.View | None = None
    content: str | None = None


def reason_text(reason: MatchReason) -> str:
    """What matched, as plain text (each surface escapes it): "actor APT29 — you follow
    Cozy Bear", "keyword: sharepoint", "cve: CVE-2024-3400"."""
    if reason.kind.startswith("watchlist "):  # a server's stack: "vendor X — your watchlist"
        return f"{reason.kind.removeprefix('watchlist ')} {reason.display} — your watchlist"
    text = (f"actor {reason.display}" if reason.kind == "actor"
            else f"{reason.kind}: {reason.display}")
    if reason.alias and reason.alias.lower() != reason.display.lower():
        text += f" — you follow {reason.alias}"
    return text


def matched_line(reasons: Sequence[MatchReason]) -> str:
    """The plain-text "Matched: …" line (the shell prints it as is)."""
    shown = "; ".join(reason_text(r) for r in reasons[:MATCHED_SHOWN])
    more = len(reasons) - MATCHED_SHOWN
    return f"Matched: {shown}" + (f" (+{more} more)" if more > 0 else "")


def alert_embed(item: BriefingItem, reasons: Sequence[MatchReason]) -> discord.Embed:
    """The story card with the Matched line first, still within Discord's limits."""
    embed = story_embed(item)
    if not reasons:
        return embed
    shown = "; ".join(discord_text(reason_text(r), 200) for r in reasons[:MATCHED_SHOWN])
    more = len(reasons) - MATCHED_SHOWN
    line = f"**Matched:** {shown}" + (f" (+{more} more)" if more > 0 else "")
    body = embed.description or ""
    embed.description = line
    room = min(DESCRIPTION - len(line), TOTAL - len(embed)) - 2
    if body and room > 0:  # the card's own lines, whole ones, as many as fit
        rest = fit_lines(body.split("\n"), room)
        if rest.strip("…\n"):
            embed.description = f"{line}\n\n{rest}"
    return embed


def unsubscribe_label(reason: MatchReason) -> str:
    kind = "" if reason.kind == "actor" else f"{reason.kind} "
    return label(f"Unsubscribe from {kind}{reason.display}", 80)


def alert_view(user_id: int, reasons: Sequence[MatchReason]) -> discord.ui.View:
    """Unsubscribe buttons for the distinct matched subscriptions (as many as fit beside
    the Mute button), then Mute. Stopped before it is sent: the buttons are dynamic
    items registered at start, so nothing is kept in memory per message."""
    view = discord.ui.View(timeout=None)
    distinct = {r.subscription_id: r for r in reasons if r.subscription_id}  # 0: watchlist
    for reason in list(distinct.values())[: MAX_BUTTONS - 1]:
        view.add_item(UnsubscribeButton(reason.subscription_id, unsubscribe_label(reason)))
    view.add_item(MuteButton(user_id))
    view.stop()
    return view


def alert_messages(
    items: Sequence[BriefingItem], reasons: dict[int, list[MatchReason]], *,
    dm_user: int | None,
) -> list[Outgoing]:
    """The messages of one alert batch: cards packed 10 / 6,000 characters a message,
    each DM message with buttons for the matches it shows (``dm_user``: the recipient;
    None for a channel, whose alerts carry no personal buttons), then a Read link per
    card as room allows."""
    embeds = [alert_embed(item, reasons.get(item.story_id, [])) for item in items]
    parts: list[Outgoing] = []
    start = 0
    for message in pack(embeds):
        shown = items[start : start + len(message)]
        start += len(message)
        if dm_user is None:
            view = read_view(list(shown))
        else:
            view = add_read_buttons(alert_view(dm_user, [
                r for item in shown for r in reasons.get(item.story_id, [])]), list(shown))
        parts.append(Outgoing(message, view))
    return parts
