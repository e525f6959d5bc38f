"""Alert planning and briefing building on a real store."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from email.utils import format_datetime

import pytest

from bot.intel.commentary import grounded_commentary
from bot.news.analyse import RawArticle
from bot.services.alerts import CURSOR, AlertService
from bot.services.caller import Caller
from storage.db import Transaction

ALICE = Caller(user_id=101, guild_id=9001)
ADMIN = Caller(user_id=102, guild_id=9001, can_manage_guild=True)


async def add(services, n: int, title: str, text: str, source: str = "Wire A", **kw) -> int:
    raw = RawArticle(source=source, title=title, url=f"https://news.example/{n}", text=text,
                     published_at=services.clock(), **kw)
    article = await services.ingest._analyse(raw)
    article_id = await services.ingest.store_article(article)
    assert article_id is not None
    return article_id


async def test_alert_round_matches_alias_subscriptions_once(services):
    alerts = AlertService(services.store, clock=services.clock)
    await services.subscriptions.subscribe(ALICE, "actor", "Cozy Bear")
    await services.subscriptions.subscribe(ALICE, "cve", "CVE-2024-3400")
    await services.subscriptions.subscribe(ADMIN, "keyword", "hospital", channel_id=555)
    assert await alerts.plan_round() == []  # the first round only sets the cursor
    await add(services, 1, "Midnight Blizzard phishes diplomats",
              "Microsoft said Midnight Blizzard sent phishing mail to embassies in Europe.")
    await add(services, 2, "PAN-OS flaw exploited",
              "Attackers exploit CVE-2024-3400 in firewalls; a hospital network was hit.")
    await add(services, 3, "Unrelated story", "A vendor shipped a routine feature update.")
    batches = await alerts.plan_round()
    pending = {(b.target_kind, b.target_id): len(b.story_ids)
               for b in await services.store.deliveries.pending(now=services.clock())}
    assert len(batches) == 2
    assert pending == {("user", 101): 2, ("channel", 555): 1}
    assert await alerts.plan_round() == []  # nothing new: nothing planned twice


async def test_a_hyphenated_keyword_is_a_phrase_on_both_backends(services):
    """"zero-day" follows the phrase, as FTS5 reads a quoted word, not "zero" and "day"
    anywhere in the article (PostgreSQL's plainto_tsquery did that)."""
    alerts = AlertService(services.store, clock=services.clock)
    await services.subscriptions.subscribe(ALICE, "keyword", "zero-day")
    await services.subscriptions.subscribe(ADMIN, "keyword", "zero-day patch",
                                           channel_id=555)
    await alerts.plan_round()
    await add(services, 1, "Browser maker fixes a zero-day",
              "Attackers exploited the zero-day before a patch shipped on Tuesday.")
    await add(services, 2, "Bank rolls out zero trust",
              "The bank spent a day moving staff to zero trust access and a patch policy.")
    await add(services, 3, "Day one for the vendor, zero for investors",
              "The vendor's share price fell on the day the breach was disclosed.")
    await alerts.plan_round()
    pending = {(b.target_kind, b.target_id): len(b.story_ids)
               for b in await services.store.deliveries.pending(now=services.clock())}
    assert pending == {("user", 101): 1, ("channel", 555): 1}


async def test_alert_cursor_and_ledger_move_together(services):
    """A second planner (another process) sees the cursor the first one committed."""
    first = AlertService(services.store, clock=services.clock)
    second = AlertService(services.store, clock=services.clock)
    await services.subscriptions.subscribe(ALICE, "keyword", "ransomware")
    await first.plan_round()
    await add(services, 1, "Ransomware crew leaks data", "A ransomware crew leaked files.")
    assert len(await first.plan_round()) == 1
    assert await second.plan_round() == []


async def test_briefing_groups_wire_copies_and_ranks(services):
    text = ("Ivanti disclosed CVE-2025-0282, a flaw in Connect Secure VPN appliances that "
            "attackers exploited before a patch. The company urged customers to update now. "
            "Mandiant tied the intrusions to a China-nexus group it tracks as UNC5221.")
    await add(services, 1, "Ivanti warns of exploited Connect Secure zero-day", text)
    await add(services, 2, "Ivanti warns of exploited Connect Secure zero-day",
              text, source="Wire B")
    await add(services, 3, "Small update", "A vendor shipped a routine feature update today.")
    briefing = await services.briefings.build(services.clock() - timedelta(hours=1))
    assert len(briefing.items) == 2
    top = briefing.items[0]
    assert top.sources == ["Wire A", "Wire B"]
    assert top.cves == ["CVE-2025-0282"]
    assert top.key_points and top.why_it_matters
    assert any("2 sources" in s for s in top.why_it_matters)


async def test_scheduled_briefing_is_planned_once(services):
    await services.schedules.set(ADMIN, 777, "08:00", "UTC")
    await add(services, 1, "Story one", "Something happened to a vendor's product today.")
    schedule = await services.store.schedules.get(777)
    batch = await services.briefings.plan_scheduled(schedule)
    assert batch is not None
    schedule = await services.store.schedules.get(777)
    assert schedule.last_sent_at == services.clock()
    assert await services.briefings.plan_scheduled(schedule) is None


async def test_commentary_sentences_come_from_facts(services):
    await add(services, 1, "Volt Typhoon returns", "Volt Typhoon targeted utilities in Guam.")
    services.clock.advance(days=2)
    await add(services, 2, "Volt Typhoon hits routers",
              "Volt Typhoon compromised end-of-life routers, said the FBI.")
    briefing = await services.briefings.build(services.clock() - timedelta(hours=1))
    item = briefing.items[0]
    profile = (await services.store.actors.resolve("Volt Typhoon"))[0]
    facts = await services.commentary.facts(await services.store.articles.get_story(item.story_id))
    assert item.why_it_matters == grounded_commentary(facts)
    first, new, trend = item.why_it_matters[:3]
    # each claim is a stored fact: the actor's country and names from the catalogue, what
    # the earlier story named, the count and the previous headline from the store
    assert profile.country == "CN" and first.startswith("Volt Typhoon (")
    assert "China-linked" in first
    assert new.startswith("Nothing here that the earlier Volt Typhoon story had not named")
    assert '"Volt Typhoon returns"' in new
    assert trend == "2nd Volt Typhoon story in 7 days, after none the week before."


async def test_transaction_rolls_back_on_error(services):
    store = services.store
    try:
        async with Transaction(store.db):
            await store.meta.set("probe", "1")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert await store.meta.get("probe") is None


def _two_zyx_stories(base: str, when: datetime) -> str:
    """Two unrelated stories naming Zyx. (make_rss's items differ only in their numbers:
    near-duplicates, which may or may not be stored as one story depending on whether
    they are clustered one after the other or side by side.)"""
    stories = [
        ("Zyx Cloud patches a sign-in bypass in its admin portal",
         "Zyx Cloud fixed CVE-2025-47001, which let attackers skip the second factor on the "
         "administrator portal of its hosted mail service."),
        ("Ransomware crew leaks payroll files stolen from Zyx Logistics",
         "A ransomware crew published payroll spreadsheets and scanned passports it says it "
         "took from Zyx Logistics, a freight forwarder, after talks broke down."),
    ]
    items = "".join(
        f"<item><title>{title}</title><link>{base}zyx/{n}</link><guid>zyx-{n}</guid>"
        f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
        f"<description>{text}</description></item>"
        for n, (title, text) in enumerate(stories)
    )
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Zyx Watch</title><link>{base}</link>{items}</channel></rss>")


async def test_a_guild_feed_is_seen_by_that_guild_only(services, feed_server):
    services.ingest._fetch_pages = False
    feed_server.add("/private.xml", _two_zyx_stories(feed_server.url("/"), services.clock()))
    await services.feeds.add(ADMIN, feed_server.url("/private.xml"))
    await services.store.meta.set("alert_cursor", "0")
    outsider = Caller(user_id=303, guild_id=4242)
    await services.subscriptions.subscribe(outsider, "keyword", "Zyx")
    await services.subscriptions.subscribe(ALICE, "keyword", "Zyx")
    report = await services.ingest.poll(operator_urls=[])
    assert report.added == 2
    since = services.clock() - timedelta(days=1)
    assert len((await services.briefings.build(since, guild_id=9001)).items) == 2
    assert (await services.briefings.build(since, guild_id=4242)).items == []
    assert await services.search.search("Zyx", guild_id=4242) == []
    assert len(await services.search.search("Zyx", guild_id=9001)) == 2
    await AlertService(services.store, clock=services.clock).plan_round()
    targets = {b.target_id for b in await services.store.deliveries.pending(now=services.clock())}
    assert targets == {ALICE.user_id}


async def test_a_planner_that_lost_the_race_plans_nothing(services):
    """Matching runs before the ledger transaction. A planner whose cursor moved
    meanwhile (another process, or the round after an ingest) plans nothing and leaves
    the cursor where the winner put it, never back."""
    first = AlertService(services.store, clock=services.clock)
    await services.subscriptions.subscribe(ALICE, "keyword", "ransomware")
    await first.plan_round()
    await add(services, 1, "Ransomware crew leaks data", "A ransomware crew leaked files.")
    slow = AlertService(services.store, clock=services.clock)
    matches = services.store.subscriptions.matches
    raced = []

    async def slow_matches(first_id: int, last_id: int, **kwargs):
        found = await matches(first_id, last_id, **kwargs)
        if not raced:  # while the slow planner matches, news arrives and another plans
            raced.append(True)
            await add(services, 2, "Second ransomware leak", "Another ransomware leak.")
            assert len(await first.plan_round()) == 1
        return found

    services.store.subscriptions.matches = slow_matches  # type: ignore[method-assign]
    try:
        assert await slow.plan_round() == []
    finally:
        services.store.subscriptions.matches = matches  # type: ignore[method-assign]
    newest = await services.store.articles.max_id()
    assert await services.store.meta.get(CURSOR) == str(newest)
    pending = await services.store.deliveries.pending(now=services.clock())
    assert [len(b.story_ids) for b in pending] == [2]  # both stories, planned once


async def test_planning_never_sees_another_tasks_uncommitted_article(services):
    """Tasks share one connection: an article inside another task's open transaction
    is visible to it, and that transaction may still roll back."""
    alerts = AlertService(services.store, clock=services.clock)
    await services.subscriptions.subscribe(ALICE, "keyword", "ransomware")
    await alerts.plan_round()
    raw = RawArticle(source="Wire A", title="Ransomware leak", url="https://news.example/9",
                     text="A ransomware crew leaked files.", published_at=services.clock())
    article = await services.ingest._analyse(raw)
    inserted = asyncio.Event()

    async def doomed() -> None:
        with pytest.raises(RuntimeError, match="disk full"):
            async with Transaction(services.store.db):
                await services.store.articles._insert(article, story_id=None,
                                                      now=services.clock())
                inserted.set()
                await asyncio.sleep(0.05)  # the planner runs meanwhile
                raise RuntimeError("disk full")

    task = asyncio.create_task(doomed())
    await inserted.wait()
    assert await alerts.plan_round() == []  # waited for the rollback; nothing to plan
    await task
    assert await services.store.deliveries.pending(now=services.clock()) == []
