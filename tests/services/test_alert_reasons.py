"""Alerts say why, on a real store: the matching subscriptions are recorded with each
planned story, the Matched line names them, Unsubscribe-by-id works for the owner only,
and a mute drops the user's alerts as refused ("muted") in the ledger for 24 hours."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.news.analyse import RawArticle
from bot.render.alerts import alert_embed, alert_messages, matched_line
from bot.services.alerts import AlertService
from bot.services.caller import Caller
from bot.services.errors import UserError
from storage.models import MatchReason
from tests.snapshot import snapshot

ALICE = Caller(user_id=101, guild_id=9001)
BOB = Caller(user_id=202, guild_id=9001)
_n = iter(range(1, 10_000))


async def add(services, title: str, text: str) -> int:
    raw = RawArticle(source="Wire A", title=title, url=f"https://news.example/r{next(_n)}",
                     text=text, published_at=services.clock())
    article = await services.ingest._analyse(raw)
    article_id = await services.ingest.store_article(article)
    assert article_id is not None
    return (await services.store.articles.get(article_id)).story_id


async def ledger(services) -> list[tuple[int, str, str | None, list[int]]]:
    """(target id, status, last error, story ids) of every alert batch, oldest first."""
    async with services.store.db.execute(
        "SELECT b.target_id, b.status, b.last_error,"
        + services.store.db.pick({"sqlite": " group_concat(d.story_id)",
                                  "postgres": " string_agg(CAST(d.story_id AS TEXT), ',')"})
        +
        " FROM delivery_batches b JOIN deliveries d ON d.batch_id = b.id"
        " WHERE b.purpose = 'alert' GROUP BY b.id ORDER BY b.id"
    ) as cur:
        return [(r[0], r[1], r[2], [int(s) for s in r[3].split(",")])
                for r in await cur.fetchall()]


async def test_each_story_records_what_matched_and_the_line_says_so(services):
    alerts = AlertService(services.store, clock=services.clock)
    cozy = (await services.subscriptions.subscribe(ALICE, "actor", "Cozy Bear")).subscription
    word = (await services.subscriptions.subscribe(ALICE, "keyword", "SharePoint")).subscription
    assert (cozy.display, cozy.alias) == ("APT29", "Cozy Bear")
    assert (word.display, word.alias) == ("SharePoint", None)
    await alerts.plan_round()
    both = await add(services, "APT29 exploits SharePoint servers",
                     "APT29 broke into SharePoint servers at two ministries.")
    only_word = await add(services, "SharePoint patch breaks search",
                          "A SharePoint update broke search for some customers.")
    (batch_id,) = await alerts.plan_round()
    reasons = await services.store.deliveries.reasons(batch_id)
    assert reasons == {
        both: [MatchReason(cozy.id, "actor", "APT29", "Cozy Bear"),
               MatchReason(word.id, "keyword", "SharePoint", None)],
        only_word: [MatchReason(word.id, "keyword", "SharePoint", None)],
    }
    assert matched_line(reasons[both]) == (
        "Matched: actor APT29 — you follow Cozy Bear; keyword: SharePoint")

    # The record is kept as it was: unsubscribing later does not blank the reason.
    await services.subscriptions.unsubscribe_by_id(ALICE, word.id)
    assert (await services.store.deliveries.reasons(batch_id))[only_word] == reasons[only_word]

    items = await services.briefings.items([both, only_word])
    (part,) = alert_messages(items, reasons, dm_user=ALICE.user_id)
    assert part.embeds[0].description.startswith(
        "**Matched:** actor APT29 — you follow Cozy Bear; keyword: SharePoint\n\n")
    buttons = [(b.item.label, b.item.custom_id) for b in part.view.children
               if hasattr(b, "item")]
    assert buttons == [("Unsubscribe from APT29", f"sb:unsub:{cozy.id}"),
                       ("Unsubscribe from keyword SharePoint", f"sb:unsub:{word.id}"),
                       ("Mute alerts for 24 h", f"sb:mute:{ALICE.user_id}")]
    # Then a Read link per card, like a briefing's.
    links = [(b.label, b.url) for b in part.view.children if not hasattr(b, "item")]
    assert links == [(f"Read: {i.title}", i.url) for i in items]  # short titles: whole
    (channel_part,) = alert_messages(items, reasons, dm_user=None)
    # A channel's alerts carry no personal buttons, only the Read links.
    assert [b.url for b in channel_part.view.children] == [i.url for i in items]


async def test_hostile_keyword_is_escaped_and_the_card_stays_within_limits(services):
    hostile = MatchReason(7, "keyword", "@everyone **boom**", None)
    items = await services.briefings.items([await add(
        services, "Big story", " ".join(f"Sentence {i} about a breach." for i in range(900)))])
    embed = alert_embed(items[0], [hostile] * 8)
    assert "@everyone" not in embed.description and "\\*\\*boom" in embed.description
    assert "(+3 more)" in embed.description.split("\n")[0]
    assert len(embed) <= 6000 and len(embed.description) <= 4096


async def test_unsubscribe_by_id_is_for_the_owner_only(services):
    sub = (await services.subscriptions.subscribe(ALICE, "cve", "CVE-2024-3400")).subscription
    before = await snapshot(services.store)
    with pytest.raises(UserError, match="someone else"):
        await services.subscriptions.unsubscribe_by_id(BOB, sub.id)
    assert await snapshot(services.store) == before
    removed = await services.subscriptions.unsubscribe_by_id(ALICE, sub.id)
    assert removed.id == sub.id and await services.store.subscriptions.count() == 0
    with pytest.raises(UserError, match="already gone"):
        await services.subscriptions.unsubscribe_by_id(ALICE, sub.id)


async def test_a_mute_drops_alerts_as_muted_for_24_hours(services, clock):
    alerts = AlertService(services.store, clock=services.clock)
    await services.subscriptions.subscribe(ALICE, "keyword", "ransomware")
    await services.subscriptions.subscribe(BOB, "keyword", "ransomware")
    await alerts.plan_round()
    with pytest.raises(UserError, match="someone else"):
        await services.subscriptions.mute(BOB, ALICE.user_id)
    assert await services.store.subscriptions.muted_until(ALICE.user_id) is None
    until = await services.subscriptions.mute(ALICE, ALICE.user_id)
    assert until == clock() + timedelta(hours=24)

    muted = await add(services, "Ransomware hits a port", "Ransomware stopped a port's cranes.")
    planned = await alerts.plan_round()
    assert len(planned) == 1  # Bob's; Alice's batch is recorded, not to be sent
    pending = await services.store.deliveries.pending(now=clock())
    assert [(b.target_id, b.story_ids) for b in pending] == [(BOB.user_id, [muted])]
    alice_batch = next(row for row in await ledger(services) if row[0] == ALICE.user_id)
    assert alice_batch[1] == "refused" and alice_batch[2].startswith("muted until")
    assert alice_batch[3] == [muted]  # in the ledger: never sent later, never lost silently

    clock.advance(hours=24, seconds=1)
    after = await add(services, "Ransomware crew leaks files", "A ransomware crew leaked files.")
    await alerts.plan_round()
    pending = await services.store.deliveries.pending(now=clock())
    assert {(b.target_id, tuple(b.story_ids)) for b in pending} == {
        (BOB.user_id, (muted,)), (BOB.user_id, (after,)), (ALICE.user_id, (after,))}
