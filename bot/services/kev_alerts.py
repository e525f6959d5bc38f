"""Alerts on change, not only on news: a CVE entering CISA's KEV catalogue, and (with
SECBRIEF_EPSS_ALERT set) a followed CVE's EPSS score crossing that threshold.

Who gets a KEV alert: subscribers to the CVE, subscribers to its vendor or product (the
vendor catalogue's names, products counting for their vendor), and every server whose
watchlist names its vendor or product — in each of that server's briefing channels
(its `/briefing schedule` channels that are not paused; a server without one sees the
CVE in its next briefing's "Your stack" section only); the operator's own list (guild
0) alerts the terminal user, whose batches the shell shows. An EPSS alert goes to the
CVE's subscribers when its score was below the threshold at the planner's previous look
(or unscored) and is at or above it now.

Planning compares the data with the planner's own last look (storage.vuln_alerts), in
one transaction with recording the batches, so a load made by any process — the bot's
refresh, `secbrief vulns refresh` from cron — is alerted on once: a crash before the
commit plans it again from the start, a crash after finds it planned. The first look at
a KEV catalogue, and at a followed CVE's score, is a baseline that alerts nobody.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from bot.intel.vendors import canonical_vendor, vendor_key, with_parents
from storage.db import Transaction
from storage.deliveries import TERMINAL_USER
from storage.models import MatchReason
from storage.store import Store
from storage.timeutil import to_db
from storage.vuln_alerts import Planned, VulnAlertItem
from storage.vuln_models import KevEntry
from storage.watchlist import OPERATOR_GUILD, WatchEntry

Target = tuple[str, int]


def kev_detail(entry: KevEntry) -> dict[str, object]:
    return {
        "cve": entry.cve, "vendor": entry.vendor, "product": entry.product,
        "name": entry.name, "date_added": entry.date_added.isoformat(),
        "due_date": entry.due_date.isoformat() if entry.due_date else None,
        "required_action": entry.required_action,
        "known_ransomware": entry.known_ransomware,
    }


def catalogue_names(entry: KevEntry) -> list[str]:
    """The vendor catalogue's names for a KEV entry's vendor and product, each product
    followed by its vendor (what a vendor subscription holds)."""
    names = [n for n in (canonical_vendor(entry.vendor), canonical_vendor(entry.product)) if n]
    return with_parents(names)


def watch_keys(entry: KevEntry) -> tuple[list[str], list[str]]:
    """(vendor keys, product keys) a watchlist entry must hold to match ``entry``."""
    vendors = {vendor_key(entry.vendor)}
    vendors.update(vendor_key(n) for n in catalogue_names(entry))
    return sorted(vendors - {""}), [k for k in (vendor_key(entry.product),) if k]


def watch_reason(entry: WatchEntry) -> MatchReason:
    return MatchReason(0, f"watchlist {entry.kind}", entry.name)


class VulnAlertService:
    def __init__(self, store: Store, *, clock: Callable[[], datetime],
                 epss_threshold: float | None = None) -> None:
        self._store = store
        self._clock = clock
        self.epss_threshold = epss_threshold

    async def plan_round(self) -> list[int]:
        """Plan the alerts for what changed since the last look; returns the ids of
        the batches to send."""
        store = self._store
        now = self._clock()
        async with Transaction(store.db):
            plans: dict[Target, dict[tuple[str, str], VulnAlertItem]] = defaultdict(dict)
            await self._kev(plans, now)
            if self.epss_threshold is not None:
                await self._epss(plans, now, self.epss_threshold)
            if not plans:
                return []
            muted = await store.subscriptions.muted(now=now)
            refused = {("user", uid): f"muted until {to_db(until)}"
                       for uid, until in muted.items() if ("user", uid) in plans}
            planned: Planned = {t: list(items.values()) for t, items in plans.items()}
            return await store.vuln_alerts.plan_in_transaction(planned, now=now,
                                                               refused=refused)

    async def _kev(self, plans: dict[Target, dict[tuple[str, str], VulnAlertItem]],
                   now: datetime) -> None:
        alerts = self._store.vuln_alerts
        unseen = await alerts.kev_unseen()
        if not unseen:
            return
        baseline = not await alerts.kev_seen_any()
        await alerts.mark_kev_seen([e.cve for e in unseen], now=now, baseline=baseline)
        if baseline:
            return
        for entry in unseen:
            for target, reason in await self._kev_targets(entry):
                item = plans[target].setdefault(
                    ("kev", entry.cve), VulnAlertItem("kev", entry.cve, kev_detail(entry), []))
                if reason not in item.reasons:
                    item.reasons.append(reason)

    async def _kev_targets(self, entry: KevEntry) -> list[tuple[Target, MatchReason]]:
        store = self._store
        found: list[tuple[Target, MatchReason]] = []
        subscribers = [*await store.vuln_alerts.subscribers("cve", [entry.cve]),
                       *await store.vuln_alerts.subscribers("vendor", catalogue_names(entry))]
        for sub in subscribers:
            found.append(((sub.target_kind, sub.target_id),
                          MatchReason(sub.subscription_id, sub.kind, sub.display, sub.alias)))
        vendors, products = watch_keys(entry)
        for watch in await store.watchlist.watching(vendors=vendors, products=products):
            for target in await self._watch_targets(watch.guild_id):
                found.append((target, watch_reason(watch)))
        return found

    async def _watch_targets(self, guild_id: int) -> list[Target]:
        """Where a watchlist's alerts go: the server's briefing channels (not paused);
        the operator's list, the terminal user."""
        if guild_id == OPERATOR_GUILD:
            return [("user", TERMINAL_USER)]
        return [("channel", s.channel_id) for s in await self._store.schedules.for_guild(guild_id)
                if not s.paused]

    async def _epss(self, plans: dict[Target, dict[tuple[str, str], VulnAlertItem]],
                    now: datetime, threshold: float) -> None:
        store = self._store
        followed = await store.vuln_alerts.followed_cves()
        if not followed:
            return
        context = await store.vulns.context(followed)
        seen = await store.vuln_alerts.epss_seen(followed)
        scores: dict[str, float | None] = {}
        crossed = []
        for cve in followed:
            epss = context[cve].epss
            scores[cve] = epss.score if epss else None
            if cve not in seen or epss is None or epss.score < threshold:
                continue  # the first look is a baseline; below the threshold is quiet
            before = seen[cve]
            if before is None or before < threshold:
                crossed.append(epss)
        await store.vuln_alerts.mark_epss_seen(scores, now=now)
        for epss in crossed:
            detail = {"cve": epss.cve, "score": epss.score, "percentile": epss.percentile,
                      "date": epss.date.isoformat(), "threshold": threshold}
            for sub in await store.vuln_alerts.subscribers("cve", [epss.cve]):
                item = plans[sub.target_kind, sub.target_id].setdefault(
                    ("epss", epss.cve), VulnAlertItem("epss", epss.cve, detail, []))
                item.reasons.append(MatchReason(sub.subscription_id, sub.kind, sub.display,
                                                sub.alias))
