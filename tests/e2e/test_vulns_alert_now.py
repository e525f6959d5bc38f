"""A vulnerability refresh that adds a CVE to KEV alerts its followers in the same
round: the bot does not wait for the next alert round (SECBRIEF_ALERT_INTERVAL, set to
an hour here so it cannot be what sends them)."""

from __future__ import annotations

from datetime import date

from bot.app import brings_alerts
from bot.config import Settings
from bot.services.caller import Caller
from bot.services.vulns import SourceReport
from storage.vuln_models import EpssDiff, EpssScore, KevDiff, KevEntry
from tests.conftest import Clock
from tests.e2e.conftest import World, running_bot
from tests.feedserver import FeedServer
from tests.vulns.conftest import fixture

ADDED = "CVE-2026-1281"  # in kev_next.json, not in kev.json


async def test_a_kev_addition_alerts_in_the_refresh_round(
    world: World, settings: Settings, clock: Clock, feed_server: FeedServer
) -> None:
    feed_server.add("/kev.json", fixture("kev.json"), content_type="application/json")
    configured = settings.model_copy(
        update={"kev_url": feed_server.url("/kev.json"), "alert_interval": 3600})
    async with running_bot(world.fake, configured, clock=clock) as bot:
        await bot.vulns_round()  # the first load: the baseline, nobody alerted
        alice = Caller(user_id=world.alice.id, guild_id=world.guild.id)
        await bot.services.subscriptions.subscribe(alice, "cve", ADDED)
        assert world.fake.sent_to_user(world.alice.id) == []

        feed_server.add("/kev.json", fixture("kev_next.json"),
                        content_type="application/json")
        clock.advance(hours=7)  # KEV is due again after 6 h
        await bot.vulns_round()
        assert feed_server.hits["/kev.json"] == 2
        (dm,) = world.fake.sent_to_user(world.alice.id)
        assert ADDED in dm["embeds"][0]["title"]

        await bot.vulns_round()  # not due: nothing fetched, nothing sent again
        assert feed_server.hits["/kev.json"] == 2
        assert len(world.fake.sent_to_user(world.alice.id)) == 1


def test_only_additions_and_first_loads_bring_alerts() -> None:
    entry = KevEntry(ADDED, "Acme", "Gateway", "Acme Gateway RCE", date(2026, 2, 1), None,
                     "Apply updates.", False)

    def kev(added: list[KevEntry], removed: list[str], first: bool = False) -> SourceReport:
        diff = KevDiff(added=added, removed=removed, total=3, first_load=first)
        return SourceReport("kev", True, "updated", 3, kev=diff)

    assert brings_alerts(kev([entry], []))
    assert brings_alerts(kev([], [], first=True))
    assert not brings_alerts(kev([], ["CVE-2023-4966"]))
    assert not brings_alerts(SourceReport("kev", True, "not_modified", 3))
    assert not brings_alerts(SourceReport("nvd", True, "updated", 12))
    score = EpssScore(ADDED, 0.97, 0.999, date(2026, 2, 2))
    assert brings_alerts(SourceReport("epss", True, "updated", 10,
                                      epss=EpssDiff(total=10, crossed=[score])))
    assert not brings_alerts(SourceReport("epss", True, "updated", 10,
                                          epss=EpssDiff(total=10, crossed=[])))
