"""`secbrief cve ID [--json]`, the shell's /cve and `briefing --json`'s cve_context, as
real `secbrief` processes over a real store (articles imported from files this test
writes, KEV/EPSS/CVSS data written through the vulnerability repository)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from storage.store import Store
from storage.vuln_models import CvssScore, KevEntry
from tests.cli import secbrief, store_state

PANOS, PRINTER = "CVE-2024-3400", "CVE-2025-4242"
ARTICLES = {
    "panos.md": ("# Firewall command injection exploited against VPN gateways\n\n"
                 f"Attackers are exploiting {PANOS}, a command injection flaw in the "
                 "GlobalProtect feature of PAN-OS firewalls, researchers said on Friday. "
                 "The intrusions began weeks before a fix was available, according to the "
                 "incident responders who first saw them. Victims include universities and "
                 "manufacturers across three continents. The vendor published hotfixes and "
                 "asked customers to apply them at once.\n"),
    "printer.md": ("# Printer driver flaw lets local users gain system rights\n\n"
                   f"A flaw tracked as {PRINTER} in a widely used printer driver lets a "
                   "local user run code with system rights, its finders wrote in an "
                   "advisory. The driver ships on many office laptops by default. No "
                   "attacks have been seen so far, they said. An updated driver is "
                   "available from the maker's support site for every model affected.\n"),
    "diplomats.md": ("# Phishing wave targets embassy staff with fake invitations\n\n"
                     "Embassy staff in several European capitals received invitations to "
                     "a wine tasting that carried a malicious attachment, investigators "
                     "said. Two independent outlets reported the same campaign this week. "
                     "The senders used lookalike domains of real ministries. Recipients "
                     "were asked to open a document to see the guest list and the menu.\n"),
}


async def _load_context(db: str) -> None:
    store = await Store.open(db)
    try:
        now = datetime.now(UTC)
        await store.vulns.replace_kev([KevEntry(
            cve=PANOS, vendor="Palo Alto Networks", product="PAN-OS",
            name="PAN-OS Command Injection Vulnerability", date_added=date(2024, 4, 12),
            due_date=date(2024, 4, 19), required_action="Apply mitigations per vendor "
            "instructions.", known_ransomware=False,
            description="GlobalProtect command injection.")], now=now)
        await store.vulns.replace_epss([(PANOS, 0.9432, 0.9991), (PRINTER, 0.0021, 0.41)],
                                       score_date=date(2026, 11, 30), now=now)
        await store.vulns.upsert_cvss([CvssScore(
            PANOS, 10.0, "CRITICAL", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")],
            now=now)
    finally:
        await store.close()


@pytest.fixture
def stocked(env, tmp_path: Path) -> dict[str, str]:
    paths = []
    for name, text in ARTICLES.items():
        path = tmp_path / name
        path.write_text(text)
        paths.append(str(path))
    done = secbrief(env, "import", *paths, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["added"] == 3
    asyncio.run(_load_context(env["SECBRIEF_DATABASE"]))
    return env


def _is_iso_date(value: str) -> bool:
    return date.fromisoformat(value).isoformat() == value


def test_cve_json_has_the_contract_shape(stocked):
    done = secbrief(stocked, "cve", "cve-2024-3400", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["id"] == PANOS
    assert set(data["kev"]) >= {"date_added", "due_date", "vendor", "product", "name",
                                "required_action", "known_ransomware"}
    assert data["kev"]["date_added"] == "2024-04-12" and data["kev"]["due_date"] == "2024-04-19"
    assert data["kev"]["known_ransomware"] is False
    assert data["epss"] == {"score": 0.9432, "percentile": 0.9991, "date": "2026-11-30"}
    assert {k: data["cvss"][k] for k in ("score", "severity", "vector")} == {
        "score": 10.0, "severity": "CRITICAL",
        "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}
    (story,) = data["stories"]
    assert set(story) >= {"id", "title", "url", "published_at"}
    assert story["title"] == "Firewall command injection exploited against VPN gateways"
    assert data["name"] == "PAN-OS Command Injection Vulnerability"
    assert all(_is_iso_date(data[k][d]) for k, d in (("kev", "date_added"), ("epss", "date")))


def test_an_unknown_well_formed_id_exits_0_with_nulls(stocked):
    done = secbrief(stocked, "cve", "CVE-2031-0001", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["id"], data["kev"], data["epss"], data["cvss"], data["stories"]) == (
        "CVE-2031-0001", None, None, None, [])
    text = secbrief(stocked, "cve", "CVE-2031-0001")
    assert text.returncode == 0
    assert "EPSS: unknown" in text.stdout and "Not on CISA's KEV list" in text.stdout


@pytest.mark.parametrize("bad", ["CVE-24-1", "CVE-2021-2021-22893", "", "x" * 500])
def test_a_malformed_id_exits_2_with_one_line_and_changes_nothing(env, bad, db_path):
    before = store_state(db_path)
    done = secbrief(env, "cve", bad, "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("secbrief:") and "CVE-2024-3400" in line
    assert store_state(db_path) == before


def test_briefing_json_items_carry_cve_context_kev_first(stocked):
    done = secbrief(stocked, "briefing", "--since", "1h", "--json")
    assert done.returncode == 0, done.stderr
    items = json.loads(done.stdout)["items"]
    assert [i["cves"] for i in items] == [[PANOS], [PRINTER], []]
    (panos,) = items[0]["cve_context"]
    assert set(panos) == {"id", "kev", "epss", "cvss"}
    assert panos["kev"]["date_added"] == "2024-04-12" and panos["cvss"]["score"] == 10.0
    assert items[0]["commentary"][0].startswith("CVE-2024-3400 is on CISA's KEV list since "
                                               "12 Apr 2024; federal agencies had until")
    (printer,) = items[1]["cve_context"]
    assert printer["kev"] is None and printer["epss"]["percentile"] == 0.41
    assert items[2]["cve_context"] == []


def test_terminal_text_and_the_shell(stocked):
    text = secbrief(stocked, "cve", PANOS).stdout
    assert text.startswith("CVE-2024-3400 — PAN-OS Command Injection Vulnerability\n")
    assert "CVSS: 10.0 critical (CVSS:3.1/AV:N" in text
    assert "EPSS: 99th percentile: a 94.3% chance" in text
    assert "Vendor · product: Palo Alto Networks · PAN-OS" in text
    shell = secbrief(stocked, "shell", stdin="/cve cve-2024-3400\n/cve CVE-1\n/briefing\n")
    assert shell.returncode == 0, shell.stderr
    assert "CVE-2024-3400 — PAN-OS Command Injection Vulnerability" in shell.stdout
    assert "Error: “CVE-1” is not a CVE ID" in shell.stdout
    assert ("CVE: CVE-2024-3400 (known exploited since 12 Apr 2024, EPSS 99th percentile, "
            "CVSS 10.0 critical)") in shell.stdout


def test_search_json_results_carry_cve_context(stocked):
    done = secbrief(stocked, "search", "GlobalProtect", "--json")
    assert done.returncode == 0, done.stderr
    (hit,) = json.loads(done.stdout)["results"]
    (context,) = hit["cve_context"]
    assert context["id"] == PANOS and context["kev"]["date_added"] == "2024-04-12"
    assert context["epss"]["percentile"] == 0.9991
    text = secbrief(stocked, "search", "GlobalProtect").stdout
    assert "  CVE-2024-3400 (known exploited since 12 Apr 2024" in text
