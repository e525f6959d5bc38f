"""/cve through the real bot against the fake Discord: the embed, a malformed ID's
private error, autocomplete from the CVEs this server may see, and the badges on the
story cards of a briefing preview."""

from __future__ import annotations

from datetime import date

from storage.vuln_models import CvssScore, KevEntry
from tests.e2e.conftest import World, add_story
from tests.fake_discord import FakeInteraction

PANOS = "CVE-2024-3400"


async def slash(world: World, name: str, **kwargs) -> FakeInteraction:
    kwargs.setdefault("guild_id", world.guild.id)
    kwargs.setdefault("channel_id", world.general.id)
    interaction = await world.fake.invoke_slash(name, user_id=world.alice.id, **kwargs)
    await interaction.wait_message()
    return interaction


async def complete(world: World, current: str, **kwargs) -> list[str]:
    interaction = await world.fake.invoke_autocomplete(
        "cve", "id", current, user_id=world.alice.id, guild_id=world.guild.id, **kwargs)
    await interaction.wait_response()
    return [c["value"] for c in interaction.choices]


async def stock(bot) -> None:
    services, now = bot.services, bot.services.clock()
    await services.store.vulns.replace_kev([KevEntry(
        cve=PANOS, vendor="Palo Alto Networks", product="PAN-OS",
        name="PAN-OS Command Injection Vulnerability", date_added=date(2024, 4, 12),
        due_date=date(2024, 4, 19), required_action="Apply mitigations.",
        known_ransomware=True, description="GlobalProtect command injection.")], now=now)
    await services.store.vulns.replace_epss([(PANOS, 0.9432, 0.9471)],
                                            score_date=date(2026, 11, 30), now=now)
    await services.store.vulns.upsert_cvss([CvssScore(PANOS, 10.0, "CRITICAL", "CVSS:3.1/AV:N")],
                                           now=now)
    await add_story(services, "PAN-OS firewalls under attack",
                    f"Attackers exploit {PANOS} in PAN-OS firewalls, the vendor said; "
                    "hotfixes shipped for every supported release.",
                    url="https://news.example/panos")


async def test_cve_shows_its_embed_and_stories(world, bot):
    await stock(bot)
    shown = await slash(world, "cve", options={"id": "cve-2024-3400"})
    assert not shown.ephemeral
    (embed,) = shown.embeds
    assert embed["title"] == "CVE-2024-3400 — PAN-OS Command Injection Vulnerability"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["CVSS"].startswith("10.0 critical")
    assert fields["EPSS"].startswith("94th percentile")
    assert "On CISA's KEV list since 12 Apr 2024" in fields["Known exploited"]
    assert "ransomware campaigns: yes" in fields["Known exploited"]
    assert fields["Vendor · product"] == "Palo Alto Networks · PAN-OS"
    stories = next(v for k, v in fields.items() if k.startswith("In the store"))
    assert "(https://news.example/panos)" in stories

    preview = await world.fake.invoke_slash("briefing", subcommand="now",
                                            user_id=world.alice.id, guild_id=world.guild.id,
                                            channel_id=world.general.id)
    await world.fake.wait_for(lambda: len(preview.followups) == 2)  # header, then cards
    cards = [e for m in preview.followups for e in m.get("embeds") or []
             if any(f["name"] == "CVEs" for f in e.get("fields") or [])]
    (card,) = cards
    cves = next(f["value"] for f in card["fields"] if f["name"] == "CVEs")
    assert cves == ("CVE-2024-3400 · ⚠ Known exploited since 12 Apr 2024 · EPSS 94th pct · "
                    "CVSS 10.0")


async def test_a_malformed_id_gets_a_private_error_and_unknown_ids_say_unknown(world, bot):
    bad = await slash(world, "cve", options={"id": "CVE-2021-2021-22893"})
    assert bad.ephemeral and "is not a CVE ID" in bad.content and not bad.embeds
    unknown = await slash(world, "cve", options={"id": "CVE-2031-0001"})
    (embed,) = unknown.embeds
    assert embed["title"] == "CVE-2031-0001"
    assert {f["name"]: f["value"] for f in embed["fields"]}["EPSS"] == "unknown"


async def test_autocomplete_offers_the_store_s_cves(world, bot):
    await stock(bot)
    await add_story(bot.services, "Printer driver flaw", "A flaw tracked as CVE-2025-4242 "
                    "in a printer driver lets local users gain system rights, its finders said.")
    assert await complete(world, "cve-2025") == ["CVE-2025-4242"]
    assert await complete(world, "") == ["CVE-2025-4242", PANOS]
    assert await complete(world, "2023") == []
