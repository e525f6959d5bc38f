"""Stack watchlists: the vendors and products a server runs (guild 0: the operator's own
list, kept from the shell and the CLI).

Names are normalised by one rule (bot.intel.vendors.vendor_key), so "Palo Alto", "Palo
Alto Networks" and "paloaltonetworks" are one vendor. A name must be one secbrief knows
— the vendor catalogue the articles are tagged from, or a vendor or product in CISA's
KEV catalogue — so autocomplete's suggestions are re-validated and a typo is refused
with the closest names. Changing a server's list needs Manage Server, checked here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.intel.vendors import VENDOR_PARENT, VENDORS, canonical_vendor, vendor_key
from bot.services.caller import Caller
from bot.services.errors import UserError
from storage.store import Store
from storage.watchlist import OPERATOR_GUILD, WatchEntry

KINDS = ("vendor", "product")
MAX_NAME = 100
MAX_ENTRIES = 100  # per server
SUGGESTIONS = 25  # Discord's cap on autocomplete choices
NAMES_TTL = 300.0  # seconds the known names are cached for autocomplete
# KEV's placeholders, not a product anyone runs.
_PLACEHOLDERS = frozenset({vendor_key("Multiple Products"), vendor_key("Multiple Vendors")})


@dataclass(slots=True)
class Watched:
    entry: WatchEntry
    created: bool
    typed: str | None = None  # what the caller typed, when it differs from the name


@dataclass(slots=True)
class KnownNames:
    """Names by kind: key -> the name shown."""

    vendor: dict[str, str]
    product: dict[str, str]


def guild_of(caller: Caller) -> int:
    """Whose list: the server's, or the operator's own (the terminal)."""
    if caller.terminal:
        return OPERATOR_GUILD
    return caller.require_guild("The watchlist")


class WatchlistService:
    def __init__(self, store: Store, *, clock: Callable[[], datetime],
                 max_entries: int = MAX_ENTRIES) -> None:
        self._store = store
        self._clock = clock
        self._max = max_entries
        self._names: tuple[float, KnownNames] | None = None

    async def known_names(self) -> KnownNames:
        """Every vendor and product name the catalogue, the store's tags and KEV know
        (cached for NAMES_TTL seconds: autocomplete asks on every keystroke)."""
        if self._names is not None and time.monotonic() - self._names[0] < NAMES_TTL:
            return self._names[1]
        vendors: dict[str, str] = {}
        products: dict[str, str] = {}
        tags = await self._store.watchlist.vendor_tags()
        for name in (*VENDORS, *tags):
            canonical = canonical_vendor(name) or name
            target = products if canonical in VENDOR_PARENT else vendors
            target.setdefault(vendor_key(canonical), canonical)
            products.setdefault(vendor_key(canonical), canonical)  # a vendor's namesake
        for vendor, product in await self._store.vulns.kev_vendors_products():
            for name, target in ((vendor, vendors), (product, products)):
                key = vendor_key(name)
                if key and key not in _PLACEHOLDERS:
                    target.setdefault(key, canonical_vendor(name) or " ".join(name.split()))
        names = KnownNames(vendors, products)
        self._names = (time.monotonic(), names)
        return names

    def forget_names(self) -> None:
        self._names = None

    async def resolve(self, kind: str, name: str) -> tuple[str, str, str]:
        """(kind, name shown, key) for user input, or a UserError saying why not."""
        kind = kind.strip().lower()
        if kind not in KINDS:
            raise UserError(f"Unknown kind “{kind[:30]}”: use vendor or product.")
        name = " ".join(name.split())
        if not name:
            raise UserError(f"Give the {kind}'s name, e.g. "
                            f"{'Palo Alto Networks' if kind == 'vendor' else 'PAN-OS'}.")
        if len(name) > MAX_NAME:
            raise UserError(f"That name is too long (over {MAX_NAME} characters).")
        key = vendor_key(name)
        if not key:
            raise UserError("A name needs letters or digits.")
        known = await self.known_names()
        found = getattr(known, kind).get(key)
        if found is not None:
            return kind, found, key
        if kind == "vendor" and key in known.product:
            product = known.product[key]
            parent = VENDOR_PARENT.get(product)
            of = f" of {parent}" if parent else ""
            raise UserError(f"{product} is a product{of}: add it with kind product"
                            + (f", or add {parent} as the vendor." if parent else "."))
        close = self._closest(name, getattr(known, kind))
        hint = f" Closest names: {', '.join(close)}." if close else ""
        raise UserError(f"“{name}” is not a {kind} secbrief knows (from its vendor list or "
                        f"CISA's KEV catalogue).{hint}")

    @staticmethod
    def _closest(name: str, names: dict[str, str]) -> list[str]:
        from rapidfuzz import fuzz, process

        hits = process.extract(name, list(names.values()), scorer=fuzz.WRatio, limit=5,
                               score_cutoff=70)
        return [h[0] for h in hits]

    async def add(self, caller: Caller, kind: str, name: str) -> Watched:
        guild_id = self._may_change(caller)
        kind, shown, key = await self.resolve(kind, name)
        store = self._store.watchlist
        if await store.count(guild_id) >= self._max:
            existing = {(e.kind, e.name_norm) for e in await store.for_guild(guild_id)}
            if (kind, key) not in existing:
                raise UserError(f"The watchlist already holds {self._max} names, the most "
                                f"allowed; remove one with "
                                f"{caller.command('/watchlist remove')} first.")
        entry, created = await store.add(guild_id=guild_id, kind=kind, name=shown,
                                         name_norm=key, created_by=caller.user_id,
                                         now=self._clock())
        typed = " ".join(name.split())
        return Watched(entry, created, typed if typed.lower() != entry.name.lower() else None)

    async def remove(self, caller: Caller, kind: str, name: str) -> WatchEntry:
        guild_id = self._may_change(caller)
        kind = kind.strip().lower()
        if kind not in KINDS:
            raise UserError(f"Unknown kind “{kind[:30]}”: use vendor or product.")
        key = vendor_key(name)
        removed = await self._store.watchlist.remove(guild_id=guild_id, kind=kind,
                                                     name_norm=key) if key else None
        if removed is None:
            raise UserError(f"The watchlist has no {kind} “{' '.join(name.split())[:MAX_NAME]}”;"
                            f" see {caller.command('/watchlist list')}.")
        return removed

    async def list(self, caller: Caller) -> list[WatchEntry]:
        return await self._store.watchlist.for_guild(guild_of(caller))

    async def suggest(self, caller: Caller, kind: str | None, current: str) -> list[str]:
        """Names for autocomplete: those starting with what is typed first, then those
        containing it; at most 25. For remove, the list's own names instead."""
        kind = (kind or "vendor").strip().lower()
        known = await self.known_names()
        names = list(getattr(known, kind if kind in KINDS else "vendor").values())
        return rank(names, current)

    async def suggest_own(self, caller: Caller, kind: str | None, current: str) -> list[str]:
        kind = (kind or "").strip().lower() or None
        own = [e.name for e in await self.list(caller) if kind is None or e.kind == kind]
        return rank(own, current)

    def _may_change(self, caller: Caller) -> int:
        if caller.terminal:
            return OPERATOR_GUILD
        return caller.require_manage("Changing the watchlist")


def rank(names: list[str], current: str) -> list[str]:
    typed = " ".join(current.split()).lower()
    hits = [n for n in dict.fromkeys(names) if typed in n.lower()]
    hits.sort(key=lambda n: (not n.lower().startswith(typed), n.lower()))
    return [n for n in hits if len(n) <= 100][:SUGGESTIONS]
