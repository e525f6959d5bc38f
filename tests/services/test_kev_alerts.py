"""Alerts on change, on a real SQLite store: a CVE entering KEV alerts its subscribers,
its vendor's subscribers and the servers whose watchlist names its vendor or product,
once — a second look, a restart or a second planner repeat nothing; the first KEV load
alerts nobody; a followed CVE's EPSS score crossing the threshold alerts once."""

from __future__ import annotations

from datetime import date, timedelta

from bot.config import Settings
from bot.render.kev_alerts import vuln_line, vuln_messages, vuln_text
from bot.services.caller import Caller
from bot.services.container import Services, open_services
from bot.services.kev_alerts import VulnAlertService
from storage.deliveries import TERMINAL_USER
from storage.vuln_models import KevEntry
from tests.conftest import Clock

GUILD, CHANNEL, QUIET_GUILD = 7001, 8001, 7002
ALICE, BOB, ADMIN = 101, 102, 103

OLD = [
    KevEntry("CVE-2021-44228", "Apache", "Log4j2", "Apache Log4j2 RCE",
             date(2021, 12, 10), date(2021, 12, 24), "Apply updates.", True),
    KevEntry("CVE-2023-20198", "Cisco", "IOS XE", "Cisco IOS XE Web UI privilege escalation",
             date(2023, 10, 16), date(2023, 10, 20), "Apply mitigations.", False),
]
PANOS = KevEntry("CVE-2024-3400", "Palo Alto Networks", "PAN-OS",
                 "Palo Alto Networks PAN-OS command injection", date(2024, 4, 12),
                 date(2024, 4, 19), "Apply mitigations per vendor instructions.", False)


async def follow(services: Services, user: int, kind: str, value: str) -> int:
    caller = Caller(user_id=user, guild_id=GUILD)
    return (await services.subscriptions.subscribe(caller, kind, value)).subscription.id


async def watch(services: Services, guild: int, kind: str, name: str) -> None:
    admin = Caller(user_id=ADMIN, guild_id=guild, can_manage_guild=True)
    await services.watchlist.add(admin, kind, name)


async def schedule(services: Services, guild: int, channel: int) -> None:
    await services.store.schedules.upsert(channel_id=channel, guild_id=guild,
                                          local_time="08:00", timezone="UTC",
                                          created_by=ADMIN, now=services.clock())


async def targets_of(services: Services, batch_ids: list[int]) -> dict[tuple[str, int], list]:
    found = {}
    for batch_id in batch_ids:
        batch = await services.store.deliveries.get(batch_id)
        assert batch is not None and batch.purpose == "alert" and batch.story_ids == []
        found[batch.target_kind, batch.target_id] = await services.store.vuln_alerts.items(
            batch_id)
    return found


async def test_first_kev_load_alerts_nobody(services: Services, clock: Clock):
    await follow(services, ALICE, "cve", "CVE-2021-44228")
    await watch(services, GUILD, "vendor", "Apache")
    await schedule(services, GUILD, CHANNEL)
    diff = await services.store.vulns.replace_kev(OLD, now=clock())
    assert diff.first_load
    assert await services.vuln_alerts.plan_round() == []
    assert await services.store.deliveries.counts() == {}
    assert await services.vuln_alerts.plan_round() == []  # the baseline is kept


async def test_new_kev_entry_alerts_each_follower_once_across_restarts(
    services: Services, settings: Settings, clock: Clock,
):
    await services.store.vulns.replace_kev(OLD, now=clock())
    assert await services.vuln_alerts.plan_round() == []  # baseline
    cve_sub = await follow(services, ALICE, "cve", "cve-2024-3400")
    vendor_sub = await follow(services, BOB, "vendor", "Palo Alto")
    await watch(services, GUILD, "vendor", "paloaltonetworks")
    await watch(services, GUILD, "product", "PAN-OS")
    await watch(services, QUIET_GUILD, "vendor", "Fortinet")  # not this CVE's
    await schedule(services, GUILD, CHANNEL)
    await schedule(services, QUIET_GUILD, CHANNEL + 1)
    await services.watchlist.add(Caller(user_id=TERMINAL_USER, guild_id=0,
                                        can_manage_guild=True, terminal=True),
                                 "product", "pan-os")

    clock.advance(hours=6)
    diff = await services.store.vulns.replace_kev([*OLD, PANOS], now=clock())
    assert [e.cve for e in diff.added] == ["CVE-2024-3400"]
    batches = await services.vuln_alerts.plan_round()
    planned = await targets_of(services, batches)
    assert set(planned) == {("user", ALICE), ("user", BOB), ("channel", CHANNEL),
                            ("user", TERMINAL_USER)}
    for items in planned.values():
        assert [(i.event, i.cve) for i in items] == [("kev", "CVE-2024-3400")]
    (alice,) = planned["user", ALICE]
    assert [(r.subscription_id, r.kind) for r in alice.reasons] == [(cve_sub, "cve")]
    (bob,) = planned["user", BOB]
    assert [(r.subscription_id, r.display) for r in bob.reasons] == [
        (vendor_sub, "Palo Alto Networks")]
    (channel,) = planned["channel", CHANNEL]
    assert [(r.kind, r.display) for r in channel.reasons] == [
        ("watchlist vendor", "Palo Alto Networks"), ("watchlist product", "PAN-OS")]
    assert vuln_line(channel) == (
        "Newly exploited: CVE-2024-3400 (Palo Alto Networks PAN-OS) — added to CISA KEV on "
        "12 Apr 2024, due 19 Apr 2024")
    text = vuln_text([channel])
    assert ("Matched: vendor Palo Alto Networks — your watchlist; product PAN-OS — your "
            "watchlist") in text

    # The same data again, a reload, a restart: nothing new to plan.
    assert await services.vuln_alerts.plan_round() == []
    await services.store.vulns.replace_kev([*OLD, PANOS], now=clock())
    assert await services.vuln_alerts.plan_round() == []
    async with open_services(settings, clock=clock) as again:
        assert await again.vuln_alerts.plan_round() == []
        pending = await again.store.deliveries.pending(now=clock())
        assert sorted((b.target_kind, b.target_id) for b in pending) == sorted(
            t for t in planned if t != ("user", TERMINAL_USER))  # the shell's is its own


async def test_a_load_planned_by_another_process_is_not_planned_twice(
    services: Services, settings: Settings, clock: Clock,
):
    await services.store.vulns.replace_kev(OLD, now=clock())
    await services.vuln_alerts.plan_round()
    await follow(services, ALICE, "cve", "CVE-2024-3400")
    # A crash after the load committed and before any round: the next process plans it.
    await services.store.vulns.replace_kev([*OLD, PANOS], now=clock())
    async with open_services(settings, clock=clock) as other:
        assert len(await other.vuln_alerts.plan_round()) == 1
    assert await services.vuln_alerts.plan_round() == []


async def test_kev_alert_card_and_dm_buttons(services: Services, clock: Clock):
    await services.store.vulns.replace_kev(OLD, now=clock())
    await services.vuln_alerts.plan_round()
    sub = await follow(services, ALICE, "vendor", "PAN-OS")  # a product counts for itself
    await services.store.vulns.replace_kev([*OLD, PANOS], now=clock())
    (batch,) = await services.vuln_alerts.plan_round()
    items = await services.store.vuln_alerts.items(batch)
    (message,) = vuln_messages(items, dm_user=ALICE)
    assert message.content == "**Newly exploited** on what you follow — 1 CVE"
    (embed,) = message.embeds
    assert embed.title == "Newly exploited: CVE-2024-3400 (Palo Alto Networks PAN-OS)"
    assert embed.description.startswith("**Matched:** vendor: PAN-OS\n")
    assert "added to CISA KEV on 12 Apr 2024, due 19 Apr 2024" in embed.description
    assert [(b.item.label, b.item.custom_id) for b in message.view.children] == [
        ("Unsubscribe from vendor PAN-OS", f"sb:unsub:{sub}"),
        ("Mute alerts for 24 h", f"sb:mute:{ALICE}")]


async def test_muted_user_gets_the_kev_alert_recorded_as_refused(services: Services,
                                                                 clock: Clock):
    await services.store.vulns.replace_kev(OLD, now=clock())
    await services.vuln_alerts.plan_round()
    await follow(services, ALICE, "cve", "CVE-2024-3400")
    await services.subscriptions.mute(Caller(user_id=ALICE), ALICE)
    await services.store.vulns.replace_kev([*OLD, PANOS], now=clock())
    assert await services.vuln_alerts.plan_round() == []
    assert await services.store.deliveries.counts() == {"refused": 1}


async def test_epss_crossing_alerts_a_followed_cve_once(services: Services, clock: Clock):
    planner = VulnAlertService(services.store, clock=clock, epss_threshold=0.5)
    day = date(2026, 12, 1)

    async def load(rows):
        await services.store.vulns.replace_epss(rows, score_date=day, now=clock(),
                                                threshold=0.5)

    await load([("CVE-2024-3400", 0.2, 0.8), ("CVE-2023-1111", 0.9, 0.99)])
    sub = await follow(services, ALICE, "cve", "CVE-2024-3400")
    await follow(services, BOB, "cve", "CVE-2023-1111")  # already over: no crossing
    assert await planner.plan_round() == []  # the first look is a baseline
    await load([("CVE-2024-3400", 0.3, 0.85), ("CVE-2023-1111", 0.95, 0.99)])
    assert await planner.plan_round() == []  # still under
    clock.advance(days=1)
    await load([("CVE-2024-3400", 0.62, 0.97), ("CVE-2023-1111", 0.95, 0.99)])
    (batch,) = await planner.plan_round()
    planned = await targets_of(services, [batch])
    (item,) = planned["user", ALICE]
    assert (item.event, item.cve, item.reasons[0].subscription_id) == (
        "epss", "CVE-2024-3400", sub)
    assert vuln_line(item) == (
        "EPSS alert: CVE-2024-3400 — exploitation probability 0.62 (97th percentile) on "
        "1 Dec 2026, at or over your threshold 0.5")
    assert await planner.plan_round() == []
    await load([("CVE-2024-3400", 0.1, 0.5)])
    await planner.plan_round()
    await load([("CVE-2024-3400", 0.7, 0.98)])  # crosses again: alerted once only
    assert await planner.plan_round() == []
    assert (await services.store.deliveries.counts()) == {"pending": 1}


async def test_the_threshold_comes_from_the_settings(settings: Settings, clock: Clock):
    with_alert = settings.model_copy(update={"epss_alert": 0.5})
    async with open_services(with_alert, clock=clock) as opened:
        assert opened.vuln_alerts.epss_threshold == 0.5


async def test_without_a_threshold_epss_alerts_nobody(services: Services, clock: Clock):
    assert services.vuln_alerts.epss_threshold is None
    await services.store.vulns.replace_epss([("CVE-2024-3400", 0.1, 0.5)],
                                            score_date=date(2026, 12, 1), now=clock())
    await follow(services, ALICE, "cve", "CVE-2024-3400")
    await services.vuln_alerts.plan_round()
    await services.store.vulns.replace_epss([("CVE-2024-3400", 0.9, 0.99)],
                                            score_date=date(2026, 12, 2),
                                            now=clock() + timedelta(days=1))
    assert await services.vuln_alerts.plan_round() == []
