"""Alerts for the terminal shell's own subscriptions.

The shell subscribes as the terminal user (storage.deliveries.TERMINAL_USER, a Discord id
no one has), so its subscriptions go through the same alert rounds and delivery ledger
as anyone's: a round plans one batch per target, the terminal user's among them. The bot
never sends the terminal user's batches; the shell takes them (`take`) and prints them.
Taking a batch claims it in the ledger first (pending → sent, only if still pending), so
a story is shown once even with two shells on one store, and a batch planned while no
shell was open waits for the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.services.alerts import AlertService
from bot.services.briefings import BriefingItem, BriefingService
from bot.services.kev_alerts import VulnAlertService
from storage.models import MatchReason
from storage.store import Store
from storage.vuln_alerts import VulnAlertItem


@dataclass(slots=True)
class TerminalAlert:
    """One batch: its stories and, per story id, the subscriptions that matched it."""

    items: list[BriefingItem]
    reasons: dict[int, list[MatchReason]]
    changes: list[VulnAlertItem] = field(default_factory=list)  # a CVE entered KEV, …


class TerminalAlerts:
    def __init__(
        self, store: Store, *, alerts: AlertService, briefings: BriefingService,
        clock: Callable[[], datetime], vulns: VulnAlertService | None = None,
    ) -> None:
        self._store = store
        self._alerts = alerts
        self._vulns = vulns  # alerts on change (KEV, EPSS)
        self._briefings = briefings
        self._clock = clock

    async def plan(self) -> None:
        """One alert round (for every target). The first round ever only sets the
        cursor, so run one before adding articles, another after."""
        await self._alerts.plan_round()
        if self._vulns is not None:
            await self._vulns.plan_round()

    async def take(self) -> list[TerminalAlert]:
        """The terminal user's batches not shown yet, oldest first, each claimed."""
        deliveries = self._store.deliveries
        taken = []
        for batch in await deliveries.pending_for_terminal():
            items = await self._briefings.items(batch.story_ids)
            reasons = await deliveries.reasons(batch.id)
            changes = [] if batch.story_ids else await self._store.vuln_alerts.items(batch.id)
            if await deliveries.claim(batch.id, now=self._clock()):
                taken.append(TerminalAlert(items, reasons, changes))
        return taken
