"""The "Your stack" section a server's briefing opens with: the briefing's stories that
name a vendor or product on its watchlist (a product counting for its vendor, and a
story's KEV-listed CVEs for their vendor and product), and the CVEs CISA added to KEV
since the previous briefing that touch the list. One matching rule for both:
bot.intel.vendors.vendor_key on each side.

"Since the previous briefing" is by KEV's own dateAdded: an entry dated the first day
of the period or later (KEV dates entries by day, not time).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.intel.vendors import canonical_vendor, vendor_key, with_parents
from storage.store import Store
from storage.vuln_models import KevEntry
from storage.watchlist import WatchEntry

if TYPE_CHECKING:
    from bot.services.briefings import BriefingItem

MAX_NEWLY_EXPLOITED = 25


@dataclass(slots=True)
class StackStory:
    item: BriefingItem
    matched: list[str]  # the watchlist names it touches


@dataclass(slots=True)
class StackCve:
    entry: KevEntry
    matched: list[str]


@dataclass(slots=True)
class YourStack:
    watching: list[WatchEntry] = field(default_factory=list)
    stories: list[StackStory] = field(default_factory=list)
    newly_exploited: list[StackCve] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.stories or self.newly_exploited)

    def as_dict(self) -> dict:
        return {
            "watching": [{"kind": w.kind, "name": w.name} for w in self.watching],
            "items": [{"story_id": s.item.story_id, "title": s.item.title, "url": s.item.url,
                       "matched": s.matched} for s in self.stories],
            "newly_exploited": [
                {"id": c.entry.cve, "vendor": c.entry.vendor, "product": c.entry.product,
                 "name": c.entry.name, "date_added": c.entry.date_added.isoformat(),
                 "due_date": c.entry.due_date.isoformat() if c.entry.due_date else None,
                 "known_ransomware": c.entry.known_ransomware, "matched": c.matched}
                for c in self.newly_exploited],
        }


class Watch:
    """A watchlist as keys: which of its names a set of vendor/product names touches."""

    def __init__(self, entries: Sequence[WatchEntry]) -> None:
        self.vendors = {e.name_norm: e.name for e in entries if e.kind == "vendor"}
        self.products = {e.name_norm: e.name for e in entries if e.kind == "product"}

    def matched(self, *, vendors: Iterable[str] = (), products: Iterable[str] = ()) -> list[str]:
        """Watched names touched: ``products`` match product entries, and count for their
        vendor (the catalogue's parent) against vendor entries, as ``vendors`` do."""
        found: dict[str, None] = {}
        products = [p for p in products if p]
        for name in products:
            hit = self.products.get(vendor_key(name))
            if hit:
                found.setdefault(hit, None)
        canonical = [canonical_vendor(n) or n for n in [*vendors, *products] if n]
        for name in with_parents(canonical):
            hit = self.vendors.get(vendor_key(name))
            if hit:
                found.setdefault(hit, None)
        return list(found)

    def kev(self, entry: KevEntry) -> list[str]:
        return self.matched(vendors=[entry.vendor], products=[entry.product])


async def your_stack(
    store: Store, guild_id: int, items: Sequence[BriefingItem], *, since: datetime | None,
) -> YourStack:
    """The section for ``guild_id``'s watchlist (0: the operator's); empty without one."""
    entries = await store.watchlist.for_guild(guild_id)
    stack = YourStack(watching=entries)
    if not entries:
        return stack
    watch = Watch(entries)
    for item in items:
        kev = [c.kev for c in getattr(item, "cve_context", ()) if c.kev is not None]
        matched = watch.matched(vendors=[k.vendor for k in kev],
                                products=[*item.vendors, *(k.product for k in kev)])
        if matched:
            stack.stories.append(StackStory(item, matched))
    if since is not None:
        for entry in await store.vuln_alerts.kev_added_since(since.date()):
            matched = watch.kev(entry)
            if matched:
                stack.newly_exploited.append(StackCve(entry, matched))
        del stack.newly_exploited[MAX_NEWLY_EXPLOITED:]
    return stack
