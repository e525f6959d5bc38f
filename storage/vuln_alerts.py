"""The ledger of alerts on change — a CVE entering KEV, a followed CVE's EPSS score
crossing the threshold — and what the planner last looked at.

A batch is a delivery_batches row (purpose 'alert', sent like any alert) whose items
are in vuln_deliveries, (event, target, CVE) unique: each change reaches a target once.
vuln_alert_seen holds the KEV CVEs and followed CVEs' EPSS scores the planner has
considered, so it compares the data with its own last look, in the same transaction
as it plans: a load by any process is alerted on once, and a crash loses nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from storage.db import Database
from storage.models import MatchReason
from storage.timeutil import to_db
from storage.vuln_models import KevEntry

_KEV_SELECT = (
    "SELECT k.cve, k.vendor, k.product, k.name, k.date_added, k.due_date,"
    " k.required_action, k.known_ransomware, k.description FROM kev k"
)


def _kev(row: Sequence[object]) -> KevEntry:
    return KevEntry(
        cve=str(row[0]), vendor=str(row[1]), product=str(row[2]), name=str(row[3]),
        date_added=date.fromisoformat(str(row[4])),
        due_date=date.fromisoformat(str(row[5])) if row[5] else None,
        required_action=str(row[6]), known_ransomware=bool(row[7]), description=str(row[8]),
    )


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A subscription a change matched (a cve or vendor one)."""

    subscription_id: int
    target_kind: str
    target_id: int
    kind: str
    value: str
    display: str
    alias: str | None


@dataclass(slots=True)
class VulnAlertItem:
    """One alerted change in a batch: the KEV entry or EPSS score as planned (``detail``)
    and what matched it. A watchlist match is a MatchReason with subscription id 0 and
    kind "watchlist vendor" / "watchlist product"."""

    event: str  # kev | epss
    cve: str
    detail: dict[str, object]
    reasons: list[MatchReason]


Planned = dict[tuple[str, int], list[VulnAlertItem]]  # (target_kind, target_id) -> items


class VulnAlertRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- what the planner has looked at (callers hold a Transaction) ----------------
    async def kev_seen_any(self) -> bool:
        async with self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM vuln_alert_seen WHERE event = 'kev')"
        ) as cur:
            return bool((await cur.fetchone())[0])

    async def kev_unseen(self) -> list[KevEntry]:
        """KEV entries the planner has not considered yet, by CVE."""
        async with self._db.execute(
            f"{_KEV_SELECT} WHERE NOT EXISTS (SELECT 1 FROM vuln_alert_seen s"
            " WHERE s.event = 'kev' AND s.cve = k.cve) ORDER BY k.date_added, k.cve"
        ) as cur:
            return [_kev(row) for row in await cur.fetchall()]

    async def mark_kev_seen(self, cves: Sequence[str], *, now: datetime,
                            baseline: bool) -> None:
        await self._db.executemany(
            "INSERT INTO vuln_alert_seen (event, cve, seen_at, baseline)"
            " VALUES ('kev', ?, ?, ?) ON CONFLICT DO NOTHING",
            [(cve, to_db(now), int(baseline)) for cve in cves],
        )

    async def epss_seen(self, cves: Sequence[str]) -> dict[str, float | None]:
        """cve -> the EPSS score the planner last saw (None: seen without a score);
        CVEs never looked at are absent."""
        found: dict[str, float | None] = {}
        cves = list(cves)
        for start in range(0, len(cves), 500):
            chunk = cves[start : start + 500]
            async with self._db.execute(
                "SELECT cve, score FROM vuln_alert_seen WHERE event = 'epss'"
                f" AND cve IN ({','.join('?' * len(chunk))})", chunk,
            ) as cur:
                found.update({row[0]: row[1] for row in await cur.fetchall()})
        return found

    async def mark_epss_seen(self, scores: dict[str, float | None], *, now: datetime) -> None:
        await self._db.executemany(
            "INSERT INTO vuln_alert_seen (event, cve, seen_at, score) VALUES ('epss', ?, ?, ?)"
            " ON CONFLICT (event, cve) DO UPDATE SET score = excluded.score,"
            " seen_at = excluded.seen_at",
            [(cve, to_db(now), score) for cve, score in scores.items()],
        )

    # -- who follows what -------------------------------------------------------------
    async def subscribers(self, kind: str, values: Sequence[str]) -> list[Subscriber]:
        """Subscriptions of ``kind`` (cve, vendor) to one of ``values``."""
        found: list[Subscriber] = []
        values = sorted(set(values))
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            async with self._db.execute(
                "SELECT id, target_kind, target_id, kind, value, display, alias"
                f" FROM subscriptions WHERE kind = ? AND value IN ({','.join('?' * len(chunk))})"
                " ORDER BY id", (kind, *chunk),
            ) as cur:
                found += [Subscriber(*row) for row in await cur.fetchall()]
        return found

    async def followed_cves(self) -> list[str]:
        async with self._db.execute(
            "SELECT DISTINCT value FROM subscriptions WHERE kind = 'cve' ORDER BY value"
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def kev_added_since(self, day: date) -> list[KevEntry]:
        """KEV entries CISA dated ``day`` or later, newest first."""
        async with self._db.execute(
            f"{_KEV_SELECT} WHERE k.date_added >= ? ORDER BY k.date_added DESC, k.cve",
            (day.isoformat(),),
        ) as cur:
            return [_kev(row) for row in await cur.fetchall()]

    # -- the ledger -----------------------------------------------------------------
    async def plan_in_transaction(
        self, plans: Planned, *, now: datetime, refused: dict[tuple[str, int], str]
    ) -> list[int]:
        """One batch per target of the items it has not been given yet (the caller holds
        a Transaction). ``refused``: targets whose batch is recorded as refused with that
        reason (a muted user): kept in the ledger, never sent. Returns the pending ids."""
        pending: list[int] = []
        for (target_kind, target_id), items in sorted(plans.items()):
            fresh = []
            for item in items:
                async with self._db.execute(
                    "SELECT 1 FROM vuln_deliveries WHERE event = ? AND target_kind = ?"
                    " AND target_id = ? AND cve = ?",
                    (item.event, target_kind, target_id, item.cve),
                ) as cur:
                    if await cur.fetchone() is None:
                        fresh.append(item)
            if not fresh:
                continue
            reason = refused.get((target_kind, target_id))
            batch_id = await self._db.insert_id(
                "INSERT INTO delivery_batches (purpose, target_kind, target_id, created_at,"
                " status, last_error) VALUES ('alert', ?, ?, ?, ?, ?) RETURNING id",
                (target_kind, target_id, to_db(now),
                 "pending" if reason is None else "refused", reason),
            )
            await self._db.executemany(
                "INSERT INTO vuln_deliveries (event, target_kind, target_id, cve,"
                " batch_id, position, detail, reasons) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                [(item.event, target_kind, target_id, item.cve, batch_id, position,
                  json.dumps(item.detail), json.dumps([_reason_json(r) for r in item.reasons]))
                 for position, item in enumerate(fresh)],
            )
            if reason is None:
                pending.append(batch_id)
        return pending

    async def items(self, batch_id: int) -> list[VulnAlertItem]:
        """A batch's changes, in order (none for a batch of stories)."""
        async with self._db.execute(
            "SELECT event, cve, detail, reasons FROM vuln_deliveries WHERE batch_id = ?"
            " ORDER BY position", (batch_id,),
        ) as cur:
            rows = await cur.fetchall()
        return [VulnAlertItem(row[0], row[1], json.loads(row[2]),
                              [_reason(r) for r in json.loads(row[3])]) for row in rows]

    async def delivered(self, event: str, target_kind: str, target_id: int) -> list[str]:
        """The CVEs this target was sent an alert of ``event`` for (status sent)."""
        async with self._db.execute(
            "SELECT v.cve FROM vuln_deliveries v JOIN delivery_batches b ON b.id = v.batch_id"
            " WHERE v.event = ? AND v.target_kind = ? AND v.target_id = ?"
            " AND b.status = 'sent' ORDER BY v.cve", (event, target_kind, target_id),
        ) as cur:
            return [row[0] for row in await cur.fetchall()]


def _reason_json(reason: MatchReason) -> dict[str, object]:
    return {"subscription_id": reason.subscription_id, "kind": reason.kind,
            "display": reason.display, "alias": reason.alias}


def _reason(data: dict) -> MatchReason:
    return MatchReason(int(data.get("subscription_id") or 0), str(data.get("kind", "")),
                       str(data.get("display", "")), data.get("alias"))
