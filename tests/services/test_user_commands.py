"""Subscriptions, feeds and schedules through the services: what works, and bad input
that gets a clear error and leaves the store exactly as it was."""

from __future__ import annotations

import pytest

from bot.services.caller import Caller
from bot.services.errors import PermissionDenied, UserError
from storage.actors import ActorOverride
from tests.feedserver import make_rss
from tests.snapshot import snapshot

ALICE = Caller(user_id=101, guild_id=9001, can_manage_guild=False)
ADMIN = Caller(user_id=102, guild_id=9001, can_manage_guild=True)
OTHER_GUILD_ADMIN = Caller(user_id=103, guild_id=9002, can_manage_guild=True)


async def test_actor_subscription_stores_the_canonical_actor(services):
    result = await services.subscriptions.subscribe(ALICE, "actor", "cozy bear")
    assert result.subscription.value == "APT29"
    assert result.resolved_from == "cozy bear"
    again = await services.subscriptions.subscribe(ALICE, "actor", "Midnight Blizzard")
    assert not again.created and again.subscription.id == result.subscription.id


async def test_each_kind_is_normalised(services):
    subs = services.subscriptions
    cve = await subs.subscribe(ALICE, "cve", "cve-2024-3400")
    assert cve.subscription.value == "CVE-2024-3400"
    assert (await subs.subscribe(ALICE, "vendor", "fortinet")).subscription.value == "Fortinet"
    assert (await subs.subscribe(ALICE, "keyword", "Ransomware")).subscription.value == "ransomware"
    assert (await subs.subscribe(ALICE, "source", "BleepingComputer")).subscription.value == (
        "bleepingcomputer")
    assert [s.kind for s in await subs.list(ALICE)] == ["cve", "keyword", "source", "vendor"]


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("actor", "Definitely Not An Actor", "No actor called"),
        ("cve", "CVE-2021-2021-22893", "not a CVE ID"),
        ("cve", "CVE-21-1234", "not a CVE ID"),
        ("vendor", "Acme Widgets", "keyword instead"),
        ("keyword", "!!", "at least 3 characters"),
        ("malware", "Emotet", "Unknown kind"),
        ("keyword", "x" * 101, "too long"),
        ("actor", "   ", "Give a actor"),
    ],
)
async def test_bad_subscriptions_change_nothing(services, kind, value, message):
    before = await snapshot(services.store)
    with pytest.raises(UserError, match=message):
        await services.subscriptions.subscribe(ALICE, kind, value)
    assert await snapshot(services.store) == before


async def test_channel_alerts_need_manage_server(services):
    before = await snapshot(services.store)
    with pytest.raises(PermissionDenied, match="Manage Server"):
        await services.subscriptions.subscribe(ALICE, "actor", "APT28", channel_id=555)
    assert await snapshot(services.store) == before
    made = await services.subscriptions.subscribe(ADMIN, "actor", "APT28", channel_id=555)
    assert made.subscription.target_kind == "channel"


async def test_subscription_limit(services, settings):
    services.subscriptions._max = 2
    await services.subscriptions.subscribe(ALICE, "keyword", "ransomware")
    await services.subscriptions.subscribe(ALICE, "keyword", "phishing")
    before = await snapshot(services.store)
    with pytest.raises(UserError, match="most allowed"):
        await services.subscriptions.subscribe(ALICE, "keyword", "botnet")
    assert await snapshot(services.store) == before


async def test_users_only_see_and_remove_their_own(services):
    bob = Caller(user_id=202, guild_id=9001)
    await services.subscriptions.subscribe(ALICE, "keyword", "ransomware")
    await services.subscriptions.subscribe(bob, "keyword", "ransomware")
    assert len(await services.subscriptions.list(bob)) == 1
    assert await services.subscriptions.unsubscribe(bob, "keyword", "ransomware") == 1
    assert len(await services.subscriptions.list(ALICE)) == 1
    with pytest.raises(UserError, match="do not follow"):
        await services.subscriptions.unsubscribe(bob, "keyword", "ransomware")


async def test_unsubscribe_by_alias(services):
    await services.subscriptions.subscribe(ALICE, "actor", "APT29")
    assert await services.subscriptions.unsubscribe(ALICE, "actor", "Cozy Bear") == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/feed", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("", "Give the feed"),
        ("https://example.com/" + "a" * 2100, "too long"),
    ],
)
async def test_bad_feed_urls_change_nothing(services, url, message):
    before = await snapshot(services.store)
    with pytest.raises(UserError, match=message):
        await services.feeds.add(ADMIN, url)
    assert await snapshot(services.store) == before


async def test_feed_on_loopback_refused_without_override(services):
    services.feeds._allow_private = False
    before = await snapshot(services.store)
    with pytest.raises(UserError, match="Refused"):
        await services.feeds.add(ADMIN, "http://127.0.0.1:8080/feed.xml")
    with pytest.raises(UserError, match="Refused"):
        await services.feeds.add(ADMIN, "http://localhost/feed.xml")
    assert await snapshot(services.store) == before


async def test_feeds_are_guild_scoped_and_need_manage_server(services, feed_server):
    feed_server.add("/feed.xml", make_rss(1))  # adding fetches it once
    url = feed_server.url("/feed.xml")
    with pytest.raises(PermissionDenied):
        await services.feeds.add(ALICE, url)
    await services.feeds.add(ADMIN, url)
    assert [f.url for f in await services.feeds.list(ALICE)] == [url]
    assert await services.feeds.list(OTHER_GUILD_ADMIN) == []
    with pytest.raises(UserError, match="no such feed"):
        await services.feeds.remove(OTHER_GUILD_ADMIN, url)


@pytest.mark.parametrize(
    ("time", "zone", "message"),
    [
        ("25:00", "Europe/Paris", "not a time"),
        ("8h30", "Europe/Paris", "not a time"),
        ("08:30", "Mars/Olympus_Mons", "Unknown timezone"),
        ("08:30", "", "Unknown timezone"),
    ],
)
async def test_bad_schedules_change_nothing(services, time, zone, message):
    before = await snapshot(services.store)
    with pytest.raises(UserError, match=message):
        await services.schedules.set(ADMIN, 777, time, zone)
    assert await snapshot(services.store) == before


async def test_schedules_need_manage_server_and_stay_in_their_guild(services):
    before = await snapshot(services.store)
    with pytest.raises(PermissionDenied):
        await services.schedules.set(ALICE, 777, "08:30", "Europe/Paris")
    assert await snapshot(services.store) == before
    made = await services.schedules.set(ADMIN, 777, "8:30", "europe/paris")
    assert (made.local_time, made.timezone) == ("08:30", "Europe/Paris")
    with pytest.raises(UserError, match="not in this server"):
        await services.schedules.set(OTHER_GUILD_ADMIN, 777, "09:00", "UTC")
    assert await services.schedules.status(OTHER_GUILD_ADMIN) == []
    assert len(await services.schedules.status(ALICE)) == 1


async def test_adding_a_disabled_feed_again_re_enables_it(services, feed_server):
    feed_server.add("/feed.xml", make_rss(1))
    url = feed_server.url("/feed.xml")
    feed = await services.feeds.add(ADMIN, url)
    await services.store.feeds.record_failure(
        feed.id, now=services.clock(), error="HTTP 500", next_poll_at=services.clock(),
        disable=True,
    )
    again = await services.feeds.add(ADMIN, url)
    assert again.id == feed.id and not again.disabled and again.failures == 0
    with pytest.raises(UserError, match="already has"):
        await services.feeds.add(ADMIN, url)


async def test_suggestions_follow_operator_aliases(services):
    before = await services.actors.lookup("Quokka Harbour")
    assert before.status == "unknown" and "Quokka Harbor" not in before.suggestions
    generation = await services.store.actors.names_generation()
    await services.store.actors.apply_overrides(
        [ActorOverride(kind="actor", name="Quokka Harbor", aliases=("QH-9",))]
    )
    assert await services.store.actors.names_generation() == generation + 1
    # the cached "did you mean" index notices the new names at once
    after = await services.actors.lookup("Quokka Harbour")
    assert after.suggestions[0] == "Quokka Harbor"
    with pytest.raises(UserError, match="Closest names: Quokka Harbor"):
        await services.subscriptions.normalise("actor", "Quokka Harbour")
