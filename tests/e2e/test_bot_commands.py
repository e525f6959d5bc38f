"""Slash commands of the real SecBrief bot, in-process, against the fake Discord:
lookups, autocomplete, subscriptions, permission checks and command sync."""

from __future__ import annotations

from bot.scheduling import job_id
from tests.e2e.conftest import World, add_story, assert_nothing_pings, running_bot
from tests.fake_discord import FakeInteraction
from tests.feedserver import make_rss
from tests.snapshot import snapshot

FLAX = ("Flax Typhoon", "Flax Typhoon, a China-based group, compromised routers and IoT "
        "devices to build a botnet, the FBI said on Monday.")


async def slash(world: World, name: str, user: int | None = None, *, wait: bool = True,
                **kwargs) -> FakeInteraction:
    kwargs.setdefault("guild_id", world.guild.id)
    kwargs.setdefault("channel_id", world.general.id)
    interaction = await world.fake.invoke_slash(name, user_id=user or world.alice.id, **kwargs)
    if wait:
        await interaction.wait_message()
    return interaction


# -- /actor --------------------------------------------------------------------------------


async def test_actor_by_alias_shows_the_canonical_actor_and_its_aliases(world, bot):
    shown = await slash(world, "actor", options={"name": "Cozy Bear"})
    assert shown.response_type == 5  # deferred: the chart may take a moment
    (embed,) = shown.embeds
    assert embed["title"] == "APT29 (RU)"
    aliases = " ".join(f["value"] for f in embed["fields"])
    assert "Cozy Bear" in aliases and "Midnight Blizzard" in aliases
    assert shown.message["allowed_mentions"] == {"parse": []}


async def test_unknown_actor_suggests_close_names_without_pinging(world, bot):
    typo = await slash(world, "actor", options={"name": "Flax Typhon"})
    assert "No actor called" in typo.content and "Flax Typhoon" in typo.content
    assert typo.embeds == []
    hostile = await slash(world, "actor", options={"name": "@everyone <@&123456789012345678>"})
    assert "@everyone" not in hostile.content  # escaped (zero-width space after @)
    assert "@\u200beveryone" in hostile.content
    assert hostile.message["allowed_mentions"] == {"parse": []}


async def test_actor_autocomplete_is_capped_and_maps_aliases(world, bot):
    fake = world.fake
    many = await fake.invoke_autocomplete("actor", "name", "a", user_id=world.alice.id,
                                          guild_id=world.guild.id)
    await many.wait_response()
    assert many.response_type == 8
    assert 0 < len(many.choices) <= 25
    assert all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in many.choices)
    cozy = await fake.invoke_autocomplete("actor", "name", "cozy", user_id=world.alice.id,
                                          guild_id=world.guild.id)
    await cozy.wait_response()
    assert {"name": "Cozy Bear → APT29", "value": "Cozy Bear"} in cozy.choices
    blank = await fake.invoke_autocomplete("actor", "name", "", user_id=world.alice.id,
                                           guild_id=world.guild.id)
    await blank.wait_response()
    assert blank.choices == []


async def test_actor_with_stories_has_chart_and_pages_older_stories(world, bot):
    for n in range(7):
        await add_story(bot.services, f"{FLAX[0]} campaign update {n}: routers {n * 11}",
                        f"{FLAX[1]} Update number {n} concerned {n * 13} more devices.")
    shown = await slash(world, "actor", options={"name": "Ethereal Panda"})
    (embed,) = shown.embeds
    assert embed["title"].startswith("Flax Typhoon")
    assert embed["image"]["url"] == "attachment://weekly.png"
    assert [a["filename"] for a in shown.message["attachments"]] == ["weekly.png"]
    buttons = {b["label"]: b for row in shown.components for b in row["components"]}
    assert buttons["Newer stories"]["disabled"] and not buttons["Older stories"].get("disabled")

    stranger = await world.fake.press_button(shown, buttons["Older stories"]["custom_id"],
                                             user_id=world.admin.id)
    await stranger.wait_message()
    assert stranger.ephemeral and "yourself" in stranger.content
    older = await world.fake.press_button(shown, buttons["Older stories"]["custom_id"],
                                          user_id=world.alice.id)
    await older.wait_message()
    assert older.message["id"] == shown.message["id"]  # the same message, edited in place
    assert not older.ephemeral
    fields = {f["name"]: f["value"] for f in older.embeds[0]["fields"]}
    assert "Stories 6–7 of 7" in fields


# -- /subscribe, /search ---------------------------------------------------------------------


async def test_subscribe_by_alias_names_the_actor_and_lists_it(world, bot):
    done = await slash(world, "subscribe", options={"kind": "actor", "value": "Ethereal Panda"})
    assert done.ephemeral
    assert "Flax Typhoon" in done.content and "Ethereal Panda" in done.content
    again = await slash(world, "subscribe", options={"kind": "actor", "value": "flax typhoon"})
    assert "already follow" in again.content
    listed = await slash(world, "subscriptions")
    assert listed.ephemeral and "actor: **Flax Typhoon** → DM" in listed.content

    own = await world.fake.invoke_autocomplete("unsubscribe", "value", "fla",
                                               options={"kind": "actor"},
                                               user_id=world.alice.id, guild_id=world.guild.id)
    await own.wait_response()
    assert own.choices == [{"name": "actor: Flax Typhoon", "value": "Flax Typhoon"}]
    gone = await slash(world, "unsubscribe", options={"kind": "actor", "value": "Ethereal Panda"})
    assert gone.ephemeral and gone.content.startswith("Removed: actor **Flax Typhoon**")
    assert await bot.services.store.subscriptions.count() == 0


async def test_bad_subscription_is_an_ephemeral_error_and_changes_nothing(world, bot):
    before = await snapshot(bot.services.store)
    bad = await slash(world, "subscribe", options={"kind": "cve", "value": "not a cve"})
    assert bad.ephemeral and "not a CVE ID" in bad.content
    to_channel = await slash(world, "subscribe", options={
        "kind": "keyword", "value": "ransomware", "channel": world.alerts})
    assert to_channel.ephemeral and "Manage Server" in to_channel.content
    assert await snapshot(bot.services.store) == before


async def test_search_finds_a_stored_story(world, bot):
    await add_story(bot.services, "Hospital ransomware outbreak spreads",
                    "A ransomware crew encrypted systems at three hospitals this week.")
    found = await slash(world, "search", options={"query": "ransomware hospitals"})
    assert found.ephemeral
    assert "Hospital ransomware outbreak spreads" in found.embeds[0]["description"]


# -- configuration needs Manage Server -------------------------------------------------------


async def test_non_admin_cannot_configure_and_nothing_changes(world, bot, feed_server):
    store = bot.services.store
    feed_url = feed_server.url("/feed.xml")
    before = await snapshot(store)
    refused = [
        await slash(world, "briefing", subcommand="schedule", options={
            "channel": world.news, "time": "08:30", "timezone": "Europe/Paris"}),
        await slash(world, "feeds", subcommand="add", options={"url": feed_url}),
        await slash(world, "feeds", subcommand="remove", options={"url": feed_url}),
        await slash(world, "briefing", subcommand="off", options={"channel": world.news}),
    ]
    for interaction in refused:
        assert interaction.ephemeral
        assert "needs the Manage Server permission" in interaction.content
    assert await snapshot(store) == before
    assert bot.jobs.scheduler.get_job(job_id(world.news.id)) is None


async def test_admin_configures_briefing_and_feeds(world, bot, feed_server):
    store = bot.services.store
    admin = world.admin.id
    zones = await world.fake.invoke_autocomplete(
        "briefing", "timezone", "europe/pa", subcommand="schedule", user_id=admin,
        guild_id=world.guild.id)
    await zones.wait_response()
    assert {"name": "Europe/Paris", "value": "Europe/Paris"} in zones.choices

    done = await slash(world, "briefing", admin, subcommand="schedule", options={
        "channel": world.news, "time": "8:30", "timezone": "Europe/Paris"})
    assert done.ephemeral and "08:30 (Europe/Paris)" in done.content
    schedule = await store.schedules.get(world.news.id)
    assert (schedule.guild_id, schedule.local_time, schedule.timezone) == (
        world.guild.id, "08:30", "Europe/Paris")
    next_run = bot.jobs.next_briefing(world.news.id)  # the job follows the store at once
    assert next_run is not None and next_run.strftime("%H:%M") == "08:30"
    status = await slash(world, "briefing", subcommand="status")  # anyone may look
    assert f"<#{world.news.id}> at 08:30 (Europe/Paris)" in status.content

    bad_zone = await slash(world, "briefing", admin, subcommand="schedule", options={
        "channel": world.news, "time": "08:30", "timezone": "Europe/Pariss"})
    assert bad_zone.ephemeral and "Europe/Paris" in bad_zone.content

    feed_server.add("/feed.xml", make_rss(2))  # /feeds add fetches it once
    feed_url = feed_server.url("/feed.xml")
    added = await slash(world, "feeds", admin, subcommand="add", options={"url": feed_url})
    assert added.ephemeral and feed_url in added.content
    assert [f.url for f in await store.feeds.list_for_guild(world.guild.id)] == [feed_url]
    listed = await slash(world, "feeds", subcommand="list")
    assert feed_url in listed.content

    off = await slash(world, "briefing", admin, subcommand="off", options={"channel": world.news})
    assert off.ephemeral and await store.schedules.get(world.news.id) is None
    assert bot.jobs.next_briefing(world.news.id) is None


async def test_commands_are_guild_only_where_they_configure_a_guild(world, bot):
    fake = world.fake
    synced = {c["name"]: c for c in fake.guild_commands[world.guild.id]}
    assert synced["briefing"]["contexts"] == [0] and synced["feeds"]["contexts"] == [0]
    in_dm = await slash(world, "subscriptions", guild_id=None, channel_id=None)
    assert in_dm.ephemeral and "follow nothing" in in_dm.content


# -- command sync --------------------------------------------------------------------------


async def test_dev_guild_gets_commands_at_start(world, bot):
    fake = world.fake
    assert fake.guild_syncs == {world.guild.id: 1} and fake.global_syncs == 0
    names = {c["name"] for c in fake.guild_commands[world.guild.id]}
    assert names == {"actor", "search", "subscribe", "unsubscribe", "subscriptions",
                     "briefing", "feeds", "cve", "watchlist"}
    assert_nothing_pings(fake)


async def test_without_dev_guild_nothing_is_synced_at_start(world, settings):
    async with running_bot(world.fake, settings) as bot:
        assert bot.is_ready()
        assert world.fake.commands_synced == 0
        assert bot.tree.get_command("actor") is not None  # loaded, just not synced
