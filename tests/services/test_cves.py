"""/cve lookups and the vulnerability context of briefings and search, on a real store
with KEV, EPSS and CVSS data written through the vulnerability repository."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bot.news.analyse import RawArticle
from bot.services.cves import cve_contexts, parse_cve_id
from bot.services.errors import UserError
from storage.vuln_models import CvssScore, KevEntry

GUILD, OTHER = 9001, 9002
PANOS = "CVE-2024-3400"


def kev(cve: str, *, added: date, due: date | None = None, ransomware: bool = False,
        name: str = "Palo Alto Networks PAN-OS Command Injection Vulnerability") -> KevEntry:
    return KevEntry(
        cve=cve, vendor="Palo Alto Networks", product="PAN-OS", name=name,
        date_added=added, due_date=due, required_action="Apply mitigations per vendor "
        "instructions or discontinue use of the product.", known_ransomware=ransomware,
        description="PAN-OS GlobalProtect contains a command injection vulnerability.",
    )


async def load_context(services, *, kevs=(), epss=(), cvss=(), score_date=date(2026, 11, 30)):
    vulns, now = services.store.vulns, services.clock()
    if kevs:
        await vulns.replace_kev(list(kevs), now=now)
    if epss:
        await vulns.replace_epss(list(epss), score_date=score_date, now=now)
    if cvss:
        await vulns.upsert_cvss(list(cvss), now=now)


_n = iter(range(10_000))


async def add(services, title: str, text: str, *, source: str = "Wire A",
              published_at: datetime | None = None, scope_guild: int = 0) -> tuple[int, int]:
    """(article id, story id) of one article stored through the real analysis."""
    raw = RawArticle(source=source, title=title, url=f"https://news.example/{next(_n)}",
                     text=text, published_at=published_at or services.clock(),
                     scope_guild=scope_guild)
    article_id = await services.ingest.store_article(await services.ingest._analyse(raw))
    assert article_id is not None
    stored = await services.store.articles.get(article_id)
    return article_id, stored.story_id


@pytest.mark.parametrize("typed", [
    "CVE-24-1", "CVE-2021-2021-22893", "CVE-2024-34000000", "2024-3400", "CVE 2024 3400",
    "CVE-2024-3400x", "APT29", "   ", "CVE-2024-3400; DROP TABLE kev",
])
async def test_a_malformed_id_is_refused_with_what_an_id_looks_like(services, typed):
    with pytest.raises(UserError) as refused:
        await services.cves.lookup(typed)
    assert "CVE-2024-3400" in str(refused.value)


def test_ids_are_normalised():
    assert parse_cve_id("cve-2024-3400") == PANOS
    assert parse_cve_id("  Cve\u20112024\u201334000 ") == "CVE-2024-34000"  # non-breaking hyphens
    assert parse_cve_id("CVE-2021-1234567") == "CVE-2021-1234567"


async def test_a_well_formed_unknown_id_has_nothing_known(services):
    lookup = await services.cves.lookup("cve-2031-99999")
    assert lookup.id == "CVE-2031-99999"
    ctx = lookup.context
    assert (ctx.kev, ctx.epss, ctx.cvss) == (None, None, None)
    assert lookup.stories == [] and lookup.stored_articles == 0
    assert lookup.name is None and lookup.description == "" and not lookup.known
    assert lookup.kev_loaded is False  # so "not listed" cannot be claimed


async def test_a_known_id_has_kev_epss_cvss_and_its_stories_newest_first(services, clock):
    await load_context(
        services,
        kevs=[kev(PANOS, added=date(2024, 4, 12), due=date(2024, 4, 19))],
        epss=[(PANOS, 0.9437, 0.9991), ("CVE-2023-0001", 0.01, 0.2)],
        cvss=[CvssScore(PANOS, 10.0, "CRITICAL",
                        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H")],
    )
    now = clock()
    text = ("Attackers exploit {cve} in PAN-OS firewalls, Palo Alto Networks said; "
            "the company shipped hotfixes for the GlobalProtect gateway.")
    _, oldest = await add(services, "PAN-OS zero-day exploited", text.format(cve=PANOS),
                          published_at=now - timedelta(days=20))
    _, middle = await add(services, "Volexity details UTA0218 intrusions",
                          f"Volexity tied {PANOS} exploitation to a cluster it tracks as "
                          "UTA0218, which deployed a Python backdoor on firewalls.",
                          published_at=now - timedelta(days=10))
    newest_id, newest = await add(services, "CISA orders agencies to patch PAN-OS",
                                  f"CISA added {PANOS} to its catalogue and told federal "
                                  "agencies to mitigate the flaw within a week.",
                                  published_at=now - timedelta(hours=5))
    assert len({oldest, middle, newest}) == 3

    lookup = await services.cves.lookup("cve-2024-3400")
    ctx = lookup.context
    assert ctx.kev and ctx.kev.date_added == date(2024, 4, 12)
    assert ctx.kev.due_date == date(2024, 4, 19) and ctx.kev.vendor == "Palo Alto Networks"
    assert ctx.epss and ctx.epss.percentile == pytest.approx(0.9991)
    assert ctx.epss.date == date(2026, 11, 30)
    assert ctx.cvss and ctx.cvss.score == 10.0 and ctx.cvss.severity == "CRITICAL"
    assert lookup.name == "Palo Alto Networks PAN-OS Command Injection Vulnerability"
    assert lookup.description.startswith("PAN-OS GlobalProtect")
    assert (lookup.vendor, lookup.product) == ("Palo Alto Networks", "PAN-OS")
    assert [a.story_id for a in lookup.stories] == [newest, middle, oldest]
    assert lookup.stories[0].id == newest_id
    assert lookup.stored_articles == 3 and lookup.kev_loaded


async def test_a_story_with_several_articles_is_listed_once(services, clock):
    text = (f"Ivanti disclosed {PANOS}-style flaw CVE-2025-0282 in Connect Secure; "
            "attackers exploited it before a patch, the company said on Wednesday.")
    _, story = await add(services, "Ivanti Connect Secure zero-day exploited", text)
    _, again = await add(services, "Ivanti Connect Secure zero-day exploited", text,
                         source="Wire B")
    assert again == story  # the wire copy joined the story
    lookup = await services.cves.lookup("CVE-2025-0282")
    assert [a.story_id for a in lookup.stories] == [story]
    assert lookup.stored_articles == 2


async def test_a_guild_sees_public_stories_and_its_own_feeds_only(services):
    text = "Attackers exploit CVE-2025-1111 in a file-transfer appliance, researchers said."
    _, public = await add(services, "File-transfer appliance flaw exploited", text)
    _, own = await add(services, "Our own feed: CVE-2025-1111 patched internally",
                       "The internal team patched CVE-2025-1111 on every appliance today.",
                       scope_guild=GUILD)
    mine = await services.cves.lookup("CVE-2025-1111", guild_id=GUILD)
    theirs = await services.cves.lookup("CVE-2025-1111", guild_id=OTHER)
    operator = await services.cves.lookup("CVE-2025-1111")
    assert {a.story_id for a in mine.stories} == {public, own}
    assert [a.story_id for a in theirs.stories] == [public] and theirs.stored_articles == 1
    assert {a.story_id for a in operator.stories} == {public, own}
    # Autocomplete offers only what the asker may see.
    await add(services, "Guild-only advisory", "CVE-2025-2222 was found by our red team "
              "in an internal portal during testing.", scope_guild=GUILD)
    assert await services.cves.autocomplete("cve-2025-2", guild_id=GUILD) == ["CVE-2025-2222"]
    assert await services.cves.autocomplete("2025-2", guild_id=OTHER) == []
    assert await services.cves.autocomplete("2025", guild_id=OTHER) == ["CVE-2025-1111"]
    assert await services.cves.autocomplete("", guild_id=GUILD) == [
        "CVE-2025-2222", "CVE-2025-1111"]  # newest IDs first


async def test_briefing_items_carry_context_and_kev_listed_stories_rank_first(services, clock):
    await load_context(
        services,
        kevs=[kev("CVE-2025-3001", added=date(2026, 11, 20), due=date(2026, 12, 11),
                  ransomware=True, name="Example Gateway Auth Bypass")],
        epss=[("CVE-2025-3001", 0.4, 0.97), ("CVE-2025-3002", 0.3, 0.94),
              ("CVE-2025-3003", 0.001, 0.12)],
    )
    # The most "important" story by the old measure (two actors, two sources) has no CVE.
    big = ("APT29 and Sandworm phished diplomats across Europe with fake invitations, "
           "Microsoft and Mandiant said in reports published on Tuesday.")
    await add(services, "APT29 and Sandworm phish diplomats", big)
    await add(services, "APT29 and Sandworm phish diplomats", big, source="Wire B")
    await add(services, "Low-EPSS flaw in a printer driver", "A flaw tracked as "
              "CVE-2025-3003 affects a printer driver; a fix shipped this week.")
    await add(services, "High-EPSS flaw in a CMS plugin", "Researchers detailed "
              "CVE-2025-3002 in a popular CMS plugin and urged admins to update.")
    await add(services, "Gateway auth bypass exploited", "Attackers exploit CVE-2025-3001 "
              "to bypass authentication on gateways, the vendor warned customers.")
    briefing = await services.briefings.build(clock() - timedelta(hours=1))
    titles = [i.title for i in briefing.items]
    assert titles == ["Gateway auth bypass exploited", "High-EPSS flaw in a CMS plugin",
                      "Low-EPSS flaw in a printer driver", "APT29 and Sandworm phish diplomats"]
    top = briefing.items[0]
    assert [c.id for c in top.cve_context] == ["CVE-2025-3001"]
    assert top.cve_context[0].kev and top.cve_context[0].kev.known_ransomware
    assert top.why_it_matters[0] == (
        "CVE-2025-3001 is on CISA's KEV list since 20 Nov 2026; federal agencies have "
        "until 11 Dec to patch; it is known to be used in ransomware campaigns; "
        "EPSS 97th percentile.")
    assert briefing.items[1].why_it_matters[0].startswith(
        "EPSS puts CVE-2025-3002 in the 94th percentile (a 30.0% chance")
    assert briefing.items[3].cve_context == []


async def test_a_kev_sentence_is_not_repeated_across_a_briefing(services, clock):
    await load_context(services, kevs=[kev(PANOS, added=date(2024, 4, 12),
                                           due=date(2024, 4, 19))])
    # Four days apart: two stories (clustering joins stories on one CVE within 3 days).
    await add(services, "PAN-OS flaw exploited by a state group",
              f"Volexity said a state group exploited {PANOS} in firewalls since March.",
              published_at=clock() - timedelta(days=4))
    await add(services, "Second wave of PAN-OS attacks", f"A second wave of attacks on "
              f"{PANOS} hit universities in Asia, Unit 42 reported on Friday evening.")
    briefing = await services.briefings.build(clock() - timedelta(days=7))
    assert len(briefing.items) == 2  # two stories, not one
    sentence = ("CVE-2024-3400 is on CISA's KEV list since 12 Apr 2024; federal agencies "
                "had until 19 Apr to patch.")
    shown = [s for item in briefing.items for s in item.why_it_matters]
    assert shown.count(sentence) == 1
    assert all(item.cve_context[0].kev for item in briefing.items)


async def test_search_hits_carry_their_cves_context(services):
    await load_context(services, kevs=[kev(PANOS, added=date(2024, 4, 12))],
                       epss=[(PANOS, 0.94, 0.999)])
    await add(services, "Firewall flaw exploited", f"Attackers exploit {PANOS} and "
              "CVE-2024-9999 in firewalls worldwide, the vendor said today.")
    (hit,) = await services.search.search("firewalls")
    by_id = {c.id: c for c in hit.cve_context}
    assert set(by_id) == {PANOS, "CVE-2024-9999"}
    assert by_id[PANOS].kev and by_id[PANOS].epss
    assert by_id["CVE-2024-9999"].kev is None and by_id["CVE-2024-9999"].epss is None


async def test_context_for_more_cves_than_one_query_may_bind(services):
    """A briefing of many Patch Tuesday stories can name more CVEs than some SQLite
    builds bind in one statement (32,766 by default): the context comes in chunks of
    5,000, every id answered, in order, across the chunk boundaries."""
    ids = [f"CVE-2025-{10000 + n}" for n in range(40_000)]
    await load_context(services, kevs=[kev(ids[-1], added=date(2025, 1, 2))])
    found = await cve_contexts(services.store, ids)
    assert list(found) == ids
    assert found[ids[-1]].kev is not None and found[ids[0]].kev is None
