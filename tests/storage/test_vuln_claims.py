"""ClaimRepository's claims on the vulnerability sources' refreshes, and the load guard
of replace_kev / replace_epss, on both backends."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from storage.claims import ClaimRepository
from storage.store import Store
from storage.vuln_models import KevEntry
from tests.conftest import Clock

A, B = "host-a:1:aaaaaa", "host-b:2:bbbbbb"


async def test_a_source_is_claimed_by_one_process_until_released_or_its_lease_ends(
    store: Store, clock: Clock,
):
    claims = ClaimRepository(store.db)
    now = clock()
    assert await claims.claim_source(A, "epss", now=now, lease=30, due_by=now)
    assert not await claims.claim_source(B, "epss", now=now, lease=30, due_by=None)
    assert await claims.claim_source(A, "epss", now=now, lease=30, due_by=now)  # its own
    assert await claims.claim_source(B, "kev", now=now, lease=30, due_by=now)  # per source
    assert await claims.renew_sources(A, ["epss", "kev"], now=now, lease=60) == {"epss"}
    assert await claims.source_claim("epss") == (A, now + timedelta(seconds=60))
    await claims.release_source(B, "epss")  # not B's to release
    assert (await claims.source_claim("epss"))[0] == A
    later = clock.advance(seconds=61)
    assert await claims.claim_source(B, "epss", now=later, lease=30, due_by=later)
    assert await claims.renew_sources(A, ["epss"], now=later, lease=30) == set()
    await claims.release_source(B, "epss")
    assert await claims.source_claim("epss") == (None, None)


async def test_a_source_refreshed_meanwhile_is_no_longer_claimable_unless_forced(
    store: Store, clock: Clock,
):
    claims = ClaimRepository(store.db)
    now = clock()
    await store.vulns.record_source_success("kev", now=now,
                                            next_refresh=now + timedelta(hours=6))
    assert not await claims.claim_source(A, "kev", now=now, lease=30, due_by=now)
    assert await claims.claim_source(A, "kev", now=now, lease=30, due_by=None)  # --force
    await claims.release_source(A, "kev")
    due = now + timedelta(hours=6)
    assert await claims.claim_source(B, "kev", now=due, lease=30, due_by=due)


def entry(n: int) -> KevEntry:
    return KevEntry(cve=f"CVE-2025-{10000 + n}", vendor="Acme", product="Gate", name="flaw",
                    date_added=date(2025, 6, 1), due_date=None, required_action="Patch.",
                    known_ransomware=False, description="")


class Refused(Exception):
    pass


def refuse(new: int, held: int) -> None:
    raise Refused(f"{new} of {held}")


async def test_a_guard_that_refuses_leaves_the_data_as_it_was(store: Store, clock: Clock):
    repo = store.vulns
    await repo.replace_kev([entry(n) for n in range(5)], now=clock())
    with pytest.raises(Refused, match="2 of 5"):
        await repo.replace_kev([entry(0), entry(9)], now=clock(), guard=refuse)
    assert await repo.kev_count() == 5
    assert (await repo.source_status("kev")).records == 5

    rows = [(f"CVE-2025-{10000 + n}", 0.1, 0.2) for n in range(7)]
    await repo.replace_epss(rows, score_date=date(2026, 3, 1), now=clock())
    with pytest.raises(Refused, match="1 of 7"):
        await repo.replace_epss(rows[:1], score_date=date(2026, 3, 2), now=clock(),
                                guard=refuse)
    assert await repo.epss_count() == 7
    status = await repo.source_status("epss")
    assert (status.records, status.data_date) == (7, date(2026, 3, 1))
