"""`secbrief watchlist add|remove|list [--json]` — the operator's own stack watchlist —
as real processes on a real store; and the shell's /watchlist and the KEV alert it
shows for the operator's list."""

from __future__ import annotations

import json
from datetime import date

from bot.services.container import Services
from bot.shell import Shell
from storage.vuln_models import KevEntry
from tests.cli import secbrief
from tests.conftest import Clock
from tests.snapshot import snapshot

PANOS = KevEntry("CVE-2024-3400", "Palo Alto Networks", "PAN-OS",
                 "Palo Alto Networks PAN-OS command injection", date(2024, 4, 12),
                 date(2024, 4, 19), "Apply mitigations per vendor instructions.", False)
OLD = KevEntry("CVE-2021-44228", "Apache", "Log4j2", "Apache Log4j2 RCE",
               date(2021, 12, 10), date(2021, 12, 24), "Apply updates.", True)


def test_cli_watchlist_add_list_remove(env):
    added = secbrief(env, "watchlist", "add", "vendor", "palo", "alto")
    assert (added.returncode, added.stdout.strip()) == (0, "Added vendor Palo Alto Networks.")
    again = secbrief(env, "watchlist", "add", "vendor", "paloaltonetworks")
    assert again.stdout.strip() == "Already watching vendor Palo Alto Networks."
    assert secbrief(env, "watchlist", "add", "product", "PAN-OS").returncode == 0
    listed = secbrief(env, "watchlist", "list", "--json")
    assert listed.returncode == 0
    assert json.loads(listed.stdout)["entries"] == [
        {"kind": "vendor", "name": "Palo Alto Networks", "key": "paloalto"},
        {"kind": "product", "name": "PAN-OS", "key": "panos"},
    ]
    text = secbrief(env, "watchlist", "list").stdout
    assert "• vendor: Palo Alto Networks\n• product: PAN-OS" in text
    removed = secbrief(env, "watchlist", "remove", "vendor", "Palo Alto")
    assert (removed.returncode, removed.stdout.strip()) == (0, "Removed vendor Palo Alto Networks.")


def test_cli_watchlist_bad_input_exits_2(env):
    unknown = secbrief(env, "watchlist", "add", "vendor", "Fortinett")
    assert unknown.returncode == 2 and unknown.stderr.startswith("secbrief: ")
    assert "Closest names: Fortinet" in unknown.stderr and "Traceback" not in unknown.stderr
    missing = secbrief(env, "watchlist", "remove", "product", "PAN-OS")
    assert missing.returncode == 2 and "has no product" in missing.stderr
    wrong_kind = secbrief(env, "watchlist", "add", "os", "Linux")
    assert wrong_kind.returncode == 2
    assert json.loads(secbrief(env, "watchlist", "list", "--json").stdout)["count"] == 0


def test_briefing_json_has_your_stack(env):
    secbrief(env, "watchlist", "add", "vendor", "Fortinet")
    data = json.loads(secbrief(env, "briefing", "--json").stdout)
    assert data["your_stack"] == {"watching": [{"kind": "vendor", "name": "Fortinet"}],
                                  "items": [], "newly_exploited": []}


async def test_shell_watchlist_and_its_kev_alert(services: Services, clock: Clock):
    shell = Shell(services)
    assert "watchlist is empty" in await shell.handle("/watchlist")
    assert await shell.handle("/watchlist add product pan-os") == "Added product PAN-OS."
    before = await snapshot(services.store)
    assert (await shell.handle("/watchlist add vendor")).startswith("Error: Usage: /watchlist")
    assert (await shell.handle("/watchlist add vendor PAN-OS")).startswith(
        "Error: PAN-OS is a product of Palo Alto Networks")
    assert await snapshot(services.store) == before
    assert "• product: PAN-OS" in await shell.handle("/watchlist list")

    await services.store.vulns.replace_kev([OLD], now=clock())
    await services.terminal_alerts.plan()  # the first look: nobody is alerted
    await services.store.vulns.replace_kev([OLD, PANOS], now=clock())
    greeting = await Shell(services).greeting()  # a new session shows what waited
    assert ("Newly exploited on what you follow — 1 CVE\n\n"
            "Newly exploited: CVE-2024-3400 (Palo Alto Networks PAN-OS) — added to CISA KEV "
            "on 12 Apr 2024, due 19 Apr 2024\n"
            "Matched: product PAN-OS — your watchlist") in greeting
    assert "Newly exploited" not in await Shell(services).greeting()  # shown once
