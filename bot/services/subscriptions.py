"""Subscriptions: follow actors, CVEs, vendors, keywords or sources."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.intel.cves import find_cves
from bot.intel.vendors import canonical_vendor
from bot.services.actors import NameSuggestions
from bot.services.caller import Caller
from bot.services.errors import UserError
from storage.models import Subscription
from storage.store import Store

KINDS = ("actor", "cve", "vendor", "keyword", "source")
MAX_VALUE = 100
MUTE_HOURS = 24  # an alert's "Mute alerts for 24 h" button


@dataclass(slots=True)
class Subscribed:
    subscription: Subscription
    created: bool
    resolved_from: str | None = None  # the alias the user typed, when it differs


class SubscriptionService:
    def __init__(
        self, store: Store, *, clock: Callable[[], datetime], names: NameSuggestions,
        max_per_user: int = 50,
    ) -> None:
        self._store = store
        self._clock = clock
        self._names = names
        self._max = max_per_user

    async def normalise(
        self, kind: str, value: str, *, caller: Caller | None = None
    ) -> tuple[str, str]:
        """(stored value, display name) for user input, or a UserError saying why not
        (worded for the caller's surface)."""
        kind = kind.strip().lower()
        if kind not in KINDS:
            raise UserError(f"Unknown kind “{kind[:30]}”: use one of {', '.join(KINDS)}.")
        value = " ".join(value.split())
        if not value:
            raise UserError(f"Give a {kind} to follow.")
        if len(value) > MAX_VALUE:
            raise UserError(f"That {kind} is too long (over {MAX_VALUE} characters).")
        if kind == "actor":
            matches = await self._store.actors.resolve(value)
            if not matches:
                close = await self._names.suggest(value)
                hint = f" Closest names: {', '.join(close)}." if close else ""
                raise UserError(f"No actor called “{value}” in the catalogue.{hint}")
            if len(matches) > 1:
                names = ", ".join(a.name for a in matches[:5])
                raise UserError(f"“{value}” names several actors ({names}): pick one.")
            return matches[0].name, matches[0].name
        if kind == "cve":
            found = find_cves(value)
            if len(found) != 1 or len(value) > len(found[0]) + 2:
                raise UserError(f"“{value}” is not a CVE ID; write it like CVE-2024-3400.")
            return found[0], found[0]
        if kind == "vendor":
            vendor = canonical_vendor(value)
            if vendor is None:
                raise UserError(
                    f"“{value}” is not a vendor secbrief recognises; "
                    f"follow it as a keyword instead ({_keyword_hint(caller, value)})."
                )
            return vendor, vendor
        if not any(ch.isalnum() for ch in value) or len(value) < 3:
            raise UserError(f"A {kind} needs at least 3 characters, with letters or digits.")
        return value.lower(), value

    async def subscribe(
        self, caller: Caller, kind: str, value: str, *, channel_id: int | None = None
    ) -> Subscribed:
        stored, display = await self.normalise(kind, value, caller=caller)
        kind = kind.strip().lower()
        if channel_id is not None:
            guild_id = caller.require_manage("Sending alerts to a channel")
            target_kind, target_id = "channel", channel_id
        else:
            guild_id = caller.guild_id or 0
            target_kind, target_id = "user", caller.user_id
        if await self._store.subscriptions.count_for_owner(caller.user_id) >= self._max:
            raise UserError(
                f"You already have {self._max} subscriptions, the most allowed; "
                f"remove one with {caller.command('/unsubscribe')} first."
            )
        typed = " ".join(value.split())
        alias = typed if typed.lower() != display.lower() else None
        subscription, created = await self._store.subscriptions.add(
            guild_id=guild_id,
            owner_id=caller.user_id,
            target_kind=target_kind,
            target_id=target_id,
            kind=kind,
            value=stored,
            display=display,
            now=self._clock(),
            alias=alias,
        )
        return Subscribed(subscription, created, alias)

    async def unsubscribe_by_id(self, caller: Caller, subscription_id: int) -> Subscription:
        """Remove one subscription by id (an alert's Unsubscribe button), only for its
        owner. Returns what was removed; anyone else gets a UserError and nothing changes."""
        subscription = await self._store.subscriptions.get(subscription_id)
        if subscription is None:
            raise UserError(f"That subscription is already gone; see "
                            f"{caller.command('/subscriptions')} for what you follow.")
        if subscription.owner_id != caller.user_id:
            raise UserError("That subscription belongs to someone else: only they can "
                            "remove it.")
        if not await self._store.subscriptions.remove_own(subscription_id,
                                                          owner_id=caller.user_id):
            raise UserError("That subscription is already gone.")
        return subscription

    async def mute(self, caller: Caller, user_id: int, *, hours: float = MUTE_HOURS) -> datetime:
        """Mute ``user_id``'s DM alerts for ``hours`` (an alert's Mute button); only that
        user may. Returns when the mute ends."""
        if caller.user_id != user_id:
            raise UserError("Those alerts are someone else's: only they can mute them.")
        until = self._clock() + timedelta(hours=hours)
        await self._store.subscriptions.mute(user_id, until=until)
        return until

    async def unsubscribe(self, caller: Caller, kind: str, value: str) -> int:
        kind = kind.strip().lower()
        if kind not in KINDS:
            raise UserError(f"Unknown kind “{kind[:30]}”: use one of {', '.join(KINDS)}.")
        own = await self._store.subscriptions.for_owner(caller.user_id, guild_id=caller.guild_id)
        wanted = " ".join(value.split()).lower()
        values = {s.value for s in own if s.kind == kind
                  and wanted in (s.value.lower(), s.display.lower())}
        if not values and kind == "actor" and wanted:
            matches = await self._store.actors.resolve(value)
            values = {s.value for s in own if s.kind == kind and s.value in
                      {a.name for a in matches}}
        if not values:
            raise UserError(f"You do not follow {kind} “{value[:MAX_VALUE]}”; "
                            f"see {caller.command('/subscriptions')} for what you follow.")
        removed = 0
        for stored in values:
            removed += await self._store.subscriptions.remove(
                owner_id=caller.user_id, kind=kind, value=stored, guild_id=caller.guild_id
            )
        return removed

    async def list(self, caller: Caller) -> list[Subscription]:
        return await self._store.subscriptions.for_owner(caller.user_id, guild_id=caller.guild_id)

    async def autocomplete_own(
        self, caller: Caller, current: str, *, kind: str | None = None
    ) -> list[tuple[str, str]]:
        """(label, value) of the caller's own subscriptions of ``kind`` (every kind when
        None) containing what is typed, those starting with it first."""
        current = " ".join(current.split()).lower()
        kind = (kind or "").strip().lower() or None
        own = [s for s in await self.list(caller)
               if (kind is None or s.kind == kind) and current in s.display.lower()]
        own.sort(key=lambda s: not s.display.lower().startswith(current))
        return [(f"{s.kind}: {s.display}", s.display) for s in own][:25]


def _keyword_hint(caller: Caller | None, value: str) -> str:
    """How to follow ``value`` as a keyword, in the caller's surface's syntax."""
    if caller is not None and caller.terminal:
        return f"/subscribe keyword {value}"
    return "`kind: keyword`"
