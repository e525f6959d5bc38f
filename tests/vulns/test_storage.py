"""VulnRepository on a real SQLite store: context, KEV/EPSS replacement and their diffs,
CVSS caching, source state."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from storage.models import NewArticle
from storage.store import Store
from storage.vuln_models import CvssScore, KevEntry
from storage.vuln_names import normalise_name

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def kev(cve: str, vendor: str = "Palo Alto Networks", product: str = "PAN-OS") -> KevEntry:
    return KevEntry(
        cve=cve, vendor=vendor, product=product, name=f"{product} flaw {cve}",
        date_added=date(2024, 4, 12), due_date=date(2024, 4, 19),
        required_action="Apply updates per vendor instructions.", known_ransomware=True,
        description="A command injection.",
    )


async def test_context_has_every_id_with_unknown_parts_none(store: Store) -> None:
    repo = store.vulns
    await repo.replace_kev([kev("CVE-2024-3400")], now=NOW)
    await repo.replace_epss([("CVE-2024-3400", 0.94, 0.999)], score_date=date(2026, 2, 28),
                            now=NOW)
    await repo.upsert_cvss([CvssScore("CVE-2024-3400", 10.0, "CRITICAL",
                                      "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")], now=NOW)
    got = await repo.context(["CVE-2024-3400", "cve-2099-0001", "CVE-2024-3400"])
    assert list(got) == ["CVE-2024-3400", "cve-2099-0001"]
    known = got["CVE-2024-3400"]
    assert known.known_exploited and known.kev == kev("CVE-2024-3400")
    assert known.epss is not None and known.epss.score == pytest.approx(0.94)
    assert known.epss.date == date(2026, 2, 28)
    assert known.cvss is not None and known.cvss.severity == "CRITICAL"
    unknown = got["cve-2099-0001"]
    assert unknown.id == "CVE-2099-0001"
    assert (unknown.kev, unknown.epss, unknown.cvss) == (None, None, None)
    assert (await repo.context_one("CVE-2099-0001")).kev is None
    assert await repo.context([]) == {}


async def test_empty_store_context_is_all_unknown(store: Store) -> None:
    ctx = await store.vulns.context_one("CVE-2024-0001")
    assert (ctx.kev, ctx.epss, ctx.cvss) == (None, None, None)
    status = await store.vulns.source_status("kev")
    assert status.last_success is None and status.records == 0


async def test_first_kev_load_adds_nothing_later_loads_report_changes(store: Store) -> None:
    repo = store.vulns
    first = await repo.replace_kev([kev("CVE-2024-0001"), kev("CVE-2024-0002")], now=NOW)
    assert first.first_load and first.added == [] and first.total == 2
    second = await repo.replace_kev(
        [kev("CVE-2024-0002"), kev("CVE-2024-0003", "Ivanti", "Connect Secure")], now=NOW
    )
    assert not second.first_load
    assert [e.cve for e in second.added] == ["CVE-2024-0003"]
    assert second.removed == ["CVE-2024-0001"] and second.total == 2
    assert await repo.kev_count() == 2
    assert (await repo.context_one("CVE-2024-0001")).kev is None
    assert await repo.kev_vendors_products() == [
        ("Ivanti", "Connect Secure"), ("Palo Alto Networks", "PAN-OS")]
    status = await repo.source_status("kev")
    assert status.records == 2


async def test_kev_rows_carry_normalised_names(store: Store) -> None:
    await store.vulns.replace_kev([kev("CVE-2024-0001")], now=NOW)
    async with store.db.execute("SELECT vendor_norm, product_norm FROM kev") as cur:
        row = await cur.fetchone()
    assert tuple(row) == ("paloalto", "panos")
    assert normalise_name("Palo Alto") == normalise_name("paloaltonetworks") == "paloalto"
    assert normalise_name("Cisco Systems, Inc.") == "cisco"


async def test_epss_crossed_threshold_against_previous_scores(store: Store) -> None:
    repo = store.vulns
    first = await repo.replace_epss(
        [("CVE-2024-0001", 0.2, 0.5), ("CVE-2024-0002", 0.6, 0.9), ("CVE-2024-0003", 0.4, 0.8)],
        score_date=date(2026, 2, 27), now=NOW, threshold=0.5,
    )
    assert first.first_load and first.crossed == [] and first.total == 3
    second = await repo.replace_epss(
        [("CVE-2024-0001", 0.7, 0.95), ("CVE-2024-0002", 0.65, 0.93),
         ("CVE-2024-0004", 0.55, 0.92)],
        score_date=date(2026, 2, 28), now=NOW, threshold=0.5,
    )
    assert [c.cve for c in second.crossed] == ["CVE-2024-0001", "CVE-2024-0004"]
    assert second.crossed[0].date == date(2026, 2, 28) and second.total == 3
    # the file replaced the scores: the CVE no longer listed is gone
    assert (await repo.context_one("CVE-2024-0003")).epss is None
    assert (await repo.source_status("epss")).data_date == date(2026, 2, 28)
    third = await repo.replace_epss([("CVE-2024-0001", 0.9, 0.99)],
                                    score_date=date(2026, 3, 1), now=NOW, threshold=None)
    assert third.crossed == []


async def test_epss_load_failing_midway_keeps_previous_scores(store: Store) -> None:
    repo = store.vulns
    await repo.replace_epss([("CVE-2024-0001", 0.1, 0.2)], score_date=date(2026, 2, 27),
                            now=NOW)

    def broken():
        for n in range(30_000):  # past one staging chunk
            yield (f"CVE-2025-{n:05d}", 0.5, 0.5)
        raise ValueError("truncated")

    with pytest.raises(ValueError, match="truncated"):
        await repo.replace_epss(broken(), score_date=date(2026, 2, 28), now=NOW)
    ctx = await repo.context_one("CVE-2024-0001")
    assert ctx.epss is not None and ctx.epss.date == date(2026, 2, 27)
    assert await repo.epss_count() == 1
    assert await staging_tables(store) == []


async def staging_tables(store: Store) -> list[str]:
    async with store.db.execute(store.db.pick({
        "sqlite": "SELECT name FROM sqlite_master WHERE name GLOB 'epss_staging*'"
                  " ORDER BY name",
        "postgres": "SELECT table_name FROM information_schema.tables"
                    " WHERE table_name LIKE 'epss_staging%' ORDER BY table_name",
    })) as cur:
        return [row[0] for row in await cur.fetchall()]


async def test_epss_staging_of_a_killed_load_is_dropped_a_live_ones_kept(store: Store) -> None:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await proc.wait()
    dead_pid = proc.pid  # a process that has ended, as one killed mid-load
    dead = f"epss_staging_{dead_pid}_7"
    live = f"epss_staging_{os.getppid()}_1"  # a process that is running: its load may be
    for name in (dead, live):
        await store.db.execute(f"CREATE TABLE {name} (cve TEXT PRIMARY KEY)")
    await store.vulns.replace_epss([("CVE-2024-0001", 0.1, 0.2)], score_date=date(2026, 3, 1),
                                   now=NOW)
    # On PostgreSQL, shared by many hosts, a process id proves nothing: both are kept.
    expected = [live] if store.db.dialect == "sqlite" else sorted([dead, live])
    assert await staging_tables(store) == expected
    assert await store.vulns.epss_count() == 1


async def _article(store: Store, title: str, cves: list[str], published: datetime) -> None:
    await store.articles.add(
        NewArticle(source="Test", title=title, url=f"https://example.test/{title}",
                   text="text", published_at=published, cves=cves),
        story_id=None, now=NOW,
    )


async def test_cves_missing_cvss_newest_first_and_cached(store: Store) -> None:
    repo = store.vulns
    await _article(store, "old", ["CVE-2023-1111", "CVE-2023-2222"], NOW - timedelta(days=9))
    await _article(store, "new", ["CVE-2024-3333"], NOW - timedelta(days=1))
    assert await repo.cves_missing_cvss(10) == ["CVE-2024-3333", "CVE-2023-1111",
                                               "CVE-2023-2222"]
    assert await repo.cves_missing_cvss(1) == ["CVE-2024-3333"]
    await repo.upsert_cvss([CvssScore("CVE-2024-3333", 9.8, "CRITICAL", "CVSS:3.1/AV:N")],
                           now=NOW)
    await repo.mark_nvd_checked(["CVE-2023-1111"], now=NOW - timedelta(days=8))
    assert await repo.cves_missing_cvss(10) == ["CVE-2023-2222"]
    # a week later, the CVE checked 8 days ago is due again; the fresh score is not
    week_ago = NOW - timedelta(days=7)
    assert await repo.cves_missing_cvss(10, checked_before=week_ago) == [
        "CVE-2023-1111", "CVE-2023-2222"]


async def test_article_score_never_replaces_nvd(store: Store) -> None:
    repo = store.vulns
    await repo.upsert_cvss([CvssScore("CVE-2024-1", 5.0, "MEDIUM", "v1", source="article")])
    await repo.upsert_cvss([CvssScore("CVE-2024-1", 9.0, "CRITICAL", "v2", source="nvd")])
    await repo.upsert_cvss([CvssScore("CVE-2024-1", 1.0, "LOW", "v3", source="article")])
    cvss = (await repo.context_one("CVE-2024-1")).cvss
    assert cvss is not None and (cvss.score, cvss.source) == (9.0, "nvd")


async def test_source_success_and_failure(store: Store) -> None:
    repo = store.vulns
    await repo.record_source_success("kev", now=NOW, next_refresh=NOW + timedelta(hours=6),
                                     etag='"a"', last_modified="Sun, 01 Mar 2026 00:00:00 GMT",
                                     records=5, data_date=date(2026, 2, 28))
    await repo.record_source_failure("kev", now=NOW + timedelta(hours=6), error="HTTP 500",
                                     next_refresh=NOW + timedelta(hours=7))
    await repo.record_source_failure("kev", now=NOW + timedelta(hours=7), error="HTTP 502",
                                     next_refresh=NOW + timedelta(hours=9))
    status = await repo.source_status("kev")
    assert (status.failures, status.last_error, status.records) == (2, "HTTP 502", 5)
    assert status.last_success == NOW and status.etag == '"a"'
    assert status.next_refresh == NOW + timedelta(hours=9)
    assert status.data_date == date(2026, 2, 28)
    # a 304 keeps the record count and the date; the failures reset
    await repo.record_source_success("kev", now=NOW + timedelta(hours=9),
                                     next_refresh=NOW + timedelta(hours=15), etag='"a"')
    status = await repo.source_status("kev")
    assert (status.failures, status.last_error, status.records) == (0, None, 5)
    assert status.data_date == date(2026, 2, 28)


async def test_two_connections_loading_at_once_never_mix_rows(store: Store, db_path) -> None:
    other = await Store.open(db_path)
    try:
        a = [(f"CVE-2024-{n:05d}", 0.1, 0.1) for n in range(25_000)]
        b = [(f"CVE-2025-{n:05d}", 0.9, 0.9) for n in range(25_000)]
        await asyncio.gather(
            store.vulns.replace_epss(a, score_date=date(2026, 3, 1), now=NOW),
            other.vulns.replace_epss(b, score_date=date(2026, 3, 2), now=NOW),
        )
    finally:
        await other.close()
    async with store.db.execute("SELECT count(*), min(cve), max(cve) FROM epss") as cur:
        count, low, high = await cur.fetchone()
    assert count == 25_000 and low[:8] == high[:8]  # one file whole, not a mix
    assert await staging_tables(store) == []
