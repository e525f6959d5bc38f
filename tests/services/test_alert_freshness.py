"""Alerts cover fresh news only: stories that arrive after the subscription was made and
were published within SECBRIEF_ALERT_MAX_AGE hours (undated ones count as published
when fetched). Older stories still reach briefings and lookups."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.news.analyse import RawArticle
from bot.services.alerts import AlertService
from bot.services.caller import Caller
from tests.conftest import make_settings

ALICE = Caller(user_id=101, guild_id=9001)
BOB = Caller(user_id=202, guild_id=9001)
_n = iter(range(1, 10_000))


async def add(services, title: str, text: str, *, published_at: datetime | None) -> int:
    raw = RawArticle(source="Wire A", title=title, url=f"https://news.example/f{next(_n)}",
                     text=text, published_at=published_at)
    article = await services.ingest._analyse(raw)
    article_id = await services.ingest.store_article(article)
    assert article_id is not None
    stored = await services.store.articles.get(article_id)
    return stored.story_id


async def planned(services) -> dict[int, list[int]]:
    """user id -> story ids of every pending alert batch."""
    batches = await services.store.deliveries.pending(now=services.clock(), purpose="alert")
    return {b.target_id: b.story_ids for b in batches}


async def test_weeks_old_news_ingested_now_is_not_alerted(services):
    alerts = AlertService(services.store, clock=services.clock)
    await services.subscriptions.subscribe(ALICE, "keyword", "ransomware")
    await alerts.plan_round()  # the cursor starts here
    now = services.clock()
    old = await add(services, "Ransomware gang hits port operator",
                    "A ransomware gang encrypted a port operator's systems.",
                    published_at=now - timedelta(weeks=6))
    fresh = await add(services, "Ransomware crew leaks clinic files",
                      "A ransomware crew leaked a clinic's patient files.",
                      published_at=now - timedelta(hours=3))
    await alerts.plan_round()
    assert await planned(services) == {ALICE.user_id: [fresh]}
    # The old story is not lost: briefings over its weeks and searches still have it.
    briefing = await services.briefings.build(now - timedelta(weeks=7))
    assert old in {item.story_id for item in briefing.items}
    hits = await services.search.search("port operator")
    assert [hit.article.story_id for hit in hits] == [old]


async def test_stories_stored_before_the_subscription_are_not_alerted(services, clock):
    alerts = AlertService(services.store, clock=services.clock)
    await services.subscriptions.subscribe(ALICE, "keyword", "ransomware")
    await alerts.plan_round()
    before = await add(services, "Ransomware hits a school district",
                       "Ransomware closed a school district's classes.",
                       published_at=clock())
    clock.advance(seconds=30)  # Bob subscribes after that story arrived, before the round
    await services.subscriptions.subscribe(BOB, "keyword", "ransomware")
    clock.advance(seconds=30)
    after = await add(services, "Ransomware crew extorts a law firm",
                      "A ransomware crew stole a law firm's files and asked for money.",
                      published_at=clock())
    await alerts.plan_round()
    assert await planned(services) == {ALICE.user_id: [before, after], BOB.user_id: [after]}


async def test_undated_articles_count_as_published_when_fetched(services, clock):
    alerts = AlertService(services.store, clock=services.clock)
    await services.subscriptions.subscribe(ALICE, "cve", "CVE-2025-21001")
    await services.subscriptions.subscribe(BOB, "actor", "Cozy Bear")
    await alerts.plan_round()
    undated = await add(services, "Corvane patches CVE-2025-21001",
                        "Corvane fixed CVE-2025-21001, exploited in the wild.",
                        published_at=None)
    await add(services, "APT29 phishing wave, a retrospective",
              "APT29 sent phishing mail to diplomats, the report recounts.",
              published_at=clock() - timedelta(days=20))
    await alerts.plan_round()
    assert await planned(services) == {ALICE.user_id: [undated]}


async def test_max_age_is_a_setting_and_bounds_every_kind(services, clock, db_path):
    assert make_settings(db_path).alert_max_age == 48
    assert make_settings(db_path, SECBRIEF_ALERT_MAX_AGE=6).alert_max_age == 6
    alerts = AlertService(services.store, clock=services.clock, max_age=timedelta(hours=6))
    for kind, value in (("source", "Wire A"), ("vendor", "Microsoft"), ("actor", "APT29")):
        await services.subscriptions.subscribe(ALICE, kind, value)
    await alerts.plan_round()
    now = clock()
    await add(services, "Microsoft patches APT29 exploit chain",
              "Microsoft fixed flaws APT29 used against diplomats.",
              published_at=now - timedelta(hours=10))
    inside = await add(services, "Microsoft warns of new APT29 lures",
                       "Microsoft said APT29 is sending new lures to ministries.",
                       published_at=now - timedelta(hours=5))
    await alerts.plan_round()
    assert await planned(services) == {ALICE.user_id: [inside]}
