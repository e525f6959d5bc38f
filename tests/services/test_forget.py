"""`forget` removes an article everywhere, on a real store: search (both full-text
indexes), actor totals and weekly counts, briefings, stories, pending alerts, and the
import key (so the file can be imported again)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.news.analyse import RawArticle
from bot.services.alerts import AlertService
from bot.services.caller import Caller
from bot.services.errors import UserError
from bot.shell import Shell
from tests.conftest import FIXTURES

ALICE = Caller(user_id=101, guild_id=9001)

BLIZZARD = ("Microsoft said Midnight Blizzard sent phishing mail to embassies in Europe, "
            "using lures about a wine-tasting event. The group is also tracked as APT29.")
IVANTI = ("Ivanti disclosed CVE-2025-0282, a flaw in Connect Secure VPN appliances that "
          "attackers exploited before a patch. The company urged customers to update now. "
          "Mandiant tied the intrusions to a China-nexus group it tracks as UNC5221.")


async def add(services, url: str, title: str, text: str, source: str = "Wire A") -> int:
    raw = RawArticle(source=source, title=title, url=url, text=text,
                     published_at=services.clock())
    article_id = await services.ingest.store_article(await services.ingest._analyse(raw))
    assert article_id is not None
    return article_id


async def fts_count(store, table: str, word: str) -> int:
    if store.db.dialect == "postgres":  # article_search's tsvectors standing for the FTS5 tables
        column = {"articles_fts": "search", "headlines_fts": "headline"}[table]
        return await store.db.fetchval(
            f"SELECT count(*) FROM article_search WHERE {column}"
            " @@ plainto_tsquery('secbrief', ?)",
            (word,))
    async with store.db.execute(
        f"SELECT count(*) FROM {table} WHERE {table} MATCH ?", (word,)
    ) as cur:
        return (await cur.fetchone())[0]


async def test_forget_removes_the_article_everywhere(services):
    store = services.store
    alerts = AlertService(store, clock=services.clock)
    await services.subscriptions.subscribe(ALICE, "actor", "Cozy Bear")
    await alerts.plan_round()  # the first round sets the cursor
    first_new = await store.articles.max_id() + 1
    blizzard = await add(services, "https://news.example/blizzard",
                         "Midnight Blizzard phishes diplomats", BLIZZARD)
    other = await add(services, "https://news.example/ivanti",
                      "Ivanti warns of exploited Connect Secure zero-day", IVANTI)
    assert len(await alerts.plan_round()) == 1
    blizzard_story = (await store.articles.get(blizzard)).story_id
    assert {m[2] for m in await store.subscriptions.matches(first_new, other)} == {
        blizzard_story}
    assert await fts_count(store, "articles_fts", "embassies") == 1
    assert await fts_count(store, "headlines_fts", "diplomats") == 1
    before = await services.actors.lookup("APT29")
    assert before.profile and before.profile.total == 1

    report = await services.forget.forget(
        "https://news.example/blizzard?utm_source=feed&utm_medium=rss#comments"
    )

    data = report.as_dict()
    assert data["removed"]["id"] == blizzard
    assert data["removed"]["title"] == "Midnight Blizzard phishes diplomats"
    assert data["story_removed"] is True
    assert (data["pending_deliveries_removed"], data["pending_batches_removed"]) == (1, 1)
    assert data["tags_removed"] >= 1
    # search: both indexes
    assert await fts_count(store, "articles_fts", "embassies") == 0
    assert await fts_count(store, "headlines_fts", "diplomats") == 0
    assert await services.search.search("Midnight Blizzard") == []
    # actor lookup: totals and the weekly chart, from the per-day counts
    after = await services.actors.lookup("APT29")
    assert after.profile is not None
    assert (after.profile.total, after.profile.articles) == (0, [])
    assert sum(n for _, n in after.profile.weekly) == 0
    # briefing: only the other story
    briefing = await services.briefings.build(services.clock() - timedelta(hours=1))
    assert [item.title for item in briefing.items] == [
        "Ivanti warns of exploited Connect Secure zero-day"
    ]
    # alerts: nothing pending, and matching no longer sees it
    assert await store.deliveries.pending(now=services.clock()) == []
    assert await store.subscriptions.matches(first_new, other) == []
    assert await store.articles.get(blizzard) is None
    assert await store.articles.get(other) is not None


async def test_a_story_keeping_other_articles_is_refreshed(services):
    store = services.store
    first = await add(services, "https://a.example/ivanti", "Ivanti zero-day exploited in VPNs",
                      IVANTI, source="Wire A")
    second = await add(services, "https://b.example/ivanti",
                       "Ivanti warns of exploited Connect Secure zero-day", IVANTI,
                       source="Wire B")
    story_id = (await store.articles.get(first)).story_id
    assert (await store.articles.get(second)).story_id == story_id
    story = await store.articles.get_story(story_id)
    assert story.title == "Ivanti zero-day exploited in VPNs"
    assert any("2 sources" in line for line in story.commentary)

    report = await services.forget.forget(str(first))

    assert (report.removed.story_removed, report.removed.story_articles_left) == (False, 1)
    assert report.commentary_refreshed
    story = await store.articles.get_story(story_id)
    assert story.title == "Ivanti warns of exploited Connect Secure zero-day"
    assert story.sources == ["Wire B"]
    assert not any("2 sources" in line for line in story.commentary)
    (item,) = (await services.briefings.build(services.clock() - timedelta(hours=1))).items
    assert item.sources == ["Wire B"]
    cve = await store.articles.tag_stats("cve", "CVE-2025-0282")
    assert cve[0] == 1


async def test_a_forgotten_import_can_be_imported_again(services):
    path = FIXTURES / "articles" / "001_corvane_securegate_zero_day.txt"
    (article_id,) = (await services.ingest.import_files([path])).added_ids
    assert (await services.ingest.import_files([path])).duplicates == 1
    await services.forget.forget(f"#{article_id}")
    again = await services.ingest.import_files([path])
    assert (again.added, again.duplicates) == (1, 0)


@pytest.mark.parametrize(
    "target, message",
    [
        ("999999", "No stored article has id 999999"),
        ("https://news.example/never-stored", "No stored article has the URL"),
        ("  ", "Give the article's id or URL"),
        ("Midnight Blizzard", r"neither an article id nor an http\(s\) URL"),
        ("ftp://news.example/blizzard", r"nor an http\(s\) URL"),
    ],
)
async def test_unknown_or_bad_targets_change_nothing(services, target, message):
    await add(services, "https://news.example/blizzard", "Midnight Blizzard phishes diplomats",
              BLIZZARD)
    count = await services.store.articles.count()
    with pytest.raises(UserError, match=message):
        await services.forget.forget(target)
    assert await services.store.articles.count() == count
    assert await fts_count(services.store, "articles_fts", "embassies") == 1


async def test_the_shell_forgets_too(services):
    article_id = await add(services, "https://news.example/blizzard",
                           "Midnight Blizzard phishes diplomats", BLIZZARD)
    shell = Shell(services)
    out = await shell.handle(f"/forget {article_id}")
    assert out.startswith(f"Forgot article {article_id}: Midnight Blizzard phishes diplomats")
    assert await services.store.articles.count() == 0
    assert (await shell.handle(f"/forget {article_id}")).startswith("Error: No stored article")
