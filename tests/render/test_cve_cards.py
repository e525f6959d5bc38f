"""CVE context on every surface: the badge next to each CVE on story cards, alert cards,
search results and terminal text, and the /cve embed and text — hostile KEV text
rendered as plain text and within Discord's limits."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.render.alerts import alert_embed
from bot.render.cve import cve_badge, cve_words, short_percentile
from bot.render.cve_embed import cve_embed
from bot.render.embeds import search_embed, story_embed
from bot.render.story import Kind, story_kind
from bot.render.text import cve_text, search_text, story_text
from bot.services.briefings import BriefingItem
from bot.services.cves import CveLookup
from storage.models import ArticleRef, MatchReason, SearchHit, SearchPage
from storage.vuln_models import CveContext, CvssScore, EpssScore, KevEntry
from tests.render.discord_model import violations
from tests.render.hostile import combined, hostile_strings

WHEN = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PANOS = "CVE-2024-3400"
BADGE = "CVE-2024-3400 · ⚠ Known exploited since 12 Apr 2024 · EPSS 94th pct · CVSS 10.0"


def kev(**kw) -> KevEntry:
    values = dict(cve=PANOS, vendor="Palo Alto Networks", product="PAN-OS",
                  name="PAN-OS Command Injection Vulnerability", date_added=date(2024, 4, 12),
                  due_date=date(2024, 4, 19), required_action="Apply mitigations.",
                  known_ransomware=False, description="GlobalProtect command injection.")
    return KevEntry(**{**values, **kw})


FULL = CveContext(
    id=PANOS, kev=kev(), epss=EpssScore(PANOS, 0.9432, 0.9471, date(2026, 11, 30)),
    cvss=CvssScore(PANOS, 10.0, "CRITICAL", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"))
BARE = CveContext(id="CVE-2025-0001")


def item(contexts: list[CveContext], *, key_points: list[str] | None = None) -> BriefingItem:
    return BriefingItem(
        story_id=7, title="Firewall flaw under attack", url="https://a.example/7",
        sources=["Wire A"], published_at=WHEN,
        key_points=key_points or ["The vendor shipped hotfixes."],
        why_it_matters=["Reported by Wire A."], analysis=[], actors=[],
        cves=[c.id for c in contexts], vendors=[],
        links=[{"source": "Wire A", "url": "https://a.example/7"}], cve_context=contexts)


def field(embed, name: str):
    return next(f for f in embed.fields if f.name == name)


def test_the_badge_says_what_is_known_and_nothing_else():
    assert cve_badge(FULL) == BADGE
    assert cve_badge(BARE) == "CVE-2025-0001"
    epss_only = CveContext(id="CVE-2025-0002",
                           epss=EpssScore("CVE-2025-0002", 0.001, 0.004, date(2026, 11, 30)))
    assert cve_badge(epss_only) == "CVE-2025-0002 · EPSS below the 1st pct"
    assert short_percentile(0.999) == "99th pct" and short_percentile(0.11) == "11th pct"
    assert cve_words(FULL) == ("CVE-2024-3400 (known exploited since 12 Apr 2024, EPSS 94th "
                               "percentile, CVSS 10.0 critical)")


def test_story_and_alert_cards_carry_a_badge_per_cve():
    story = item([FULL, BARE])
    embed = story_embed(story)
    cves = field(embed, "CVEs")
    assert cves.value.split("\n") == [BADGE, "CVE-2025-0001"]
    assert not cves.inline
    alert = alert_embed(story, [MatchReason(1, "cve", PANOS)])
    assert field(alert, "CVEs").value.split("\n")[0] == BADGE
    # Known exploited by KEV makes the card an exploited one, whatever its text says.
    assert story_kind(story) is Kind.EXPLOITED


def test_a_card_whose_cves_nobody_knows_lists_them_as_before():
    embed = story_embed(item([BARE, CveContext(id="CVE-2025-0002")]))
    cves = field(embed, "CVEs")
    assert cves.value == "CVE-2025-0001, CVE-2025-0002" and cves.inline
    assert story_kind(item([BARE])) is Kind.OTHER


def test_many_cves_stay_within_the_field_limit():
    many = [CveContext(id=f"CVE-2026-{10000 + n}", kev=kev(cve=f"CVE-2026-{10000 + n}"))
            for n in range(80)]
    value = field(story_embed(item(many)), "CVEs").value
    assert len(value) <= 1024 and value.endswith("…and 72 more")


def test_terminal_story_text_says_it_in_words():
    text = story_text(item([FULL, BARE]))
    assert ("CVE: CVE-2024-3400 (known exploited since 12 Apr 2024, EPSS 94th percentile, "
            "CVSS 10.0 critical)") in text
    assert "CVE: CVE-2025-0001" in text
    assert "CVEs: CVE-2024-3400, CVE-2025-0001" not in text  # said once, not twice
    assert "CVEs: CVE-2025-0001" in story_text(item([BARE]))


def test_search_results_show_badges_of_known_cves():
    ref = ArticleRef(id=3, title="Firewall flaw", url="https://a.example/3", source="Wire A",
                     published_at=WHEN, story_id=7)
    hit = SearchHit(article=ref, snippet="attackers exploit firewalls", tier=0,
                    cve_context=[BARE, FULL])
    embed = search_embed("firewall", SearchPage(hits=[hit], total=1), page_size=5)
    lines = embed.description.split("\n")
    assert lines[1] == f"  {BADGE}" and "CVE-2025-0001" not in embed.description
    text = search_text("firewall", [hit])
    assert "  CVE-2024-3400 (known exploited since 12 Apr 2024" in text


def lookup(context: CveContext, *, stories: int = 2, loaded: bool = True) -> CveLookup:
    refs = [ArticleRef(id=n, title=f"Story {n}", url=f"https://a.example/{n}",
                       source="Wire A", published_at=WHEN, story_id=n)
            for n in range(stories)]
    return CveLookup(id=context.id, context=context, stories=refs, stored_articles=stories,
                     first_seen=WHEN if stories else None,
                     last_seen=WHEN if stories else None, kev_loaded=loaded)


def test_the_cve_embed_has_title_fields_and_story_links():
    embed = cve_embed(lookup(FULL))
    assert embed.title == "CVE-2024-3400 — PAN-OS Command Injection Vulnerability"
    assert embed.description == "GlobalProtect command injection."
    assert [f.name for f in embed.fields][:4] == ["CVSS", "EPSS", "Known exploited",
                                                  "Vendor · product"]
    assert field(embed, "CVSS").value.startswith("10.0 critical\nCVSS:3.1/AV:N")
    assert field(embed, "EPSS").value.startswith("94th percentile: a 94.3% chance")
    known = field(embed, "Known exploited").value
    assert "since 12 Apr 2024" in known and "federal agencies: 19 Apr 2024" in known
    assert "Required action: Apply mitigations." in known
    assert "ransomware campaigns: not known" in known
    assert field(embed, "Vendor · product").value == "Palo Alto Networks · PAN-OS"
    stories = embed.fields[-1]
    assert "[Story 0](https://a.example/0)" in stories.value


def test_an_unknown_cve_says_unknown_everywhere():
    embed = cve_embed(lookup(BARE, stories=0, loaded=False))
    assert embed.title == "CVE-2025-0001"
    assert embed.description == "Nothing is known about this CVE yet."
    assert [f.value for f in embed.fields[:4]] == [
        "unknown", "unknown", "unknown (CISA's KEV list is not loaded)", "unknown"]
    assert embed.fields[-1].value == "No stories name it."
    assert field(cve_embed(lookup(BARE, stories=0)), "Known exploited").value == (
        "Not on CISA's KEV list")
    text = cve_text(lookup(BARE, stories=0, loaded=False))
    assert text.split("\n") == [
        "CVE-2025-0001", "CVSS: unknown", "EPSS: unknown",
        "Known exploited: unknown (CISA's KEV list is not loaded)",
        "Vendor · product: unknown", "In the store: no stories name it."]


def test_hostile_kev_and_story_text_renders_as_plain_text_within_limits():
    strings = hostile_strings()
    hostile = kev(name=combined(parts=4), description=combined(parts=8, offset=3) * 5,
                  required_action=combined(parts=3, offset=7), vendor=strings[1],
                  product=strings[2])
    ctx = CveContext(id=PANOS, kev=hostile,
                     cvss=CvssScore(PANOS, 9.8, "CRITICAL", combined(parts=2, offset=1)))
    found = lookup(ctx, stories=0)
    found.stories = [ArticleRef(id=n, title=combined(parts=3, offset=n), url=url,
                                source=strings[n % len(strings)], published_at=WHEN,
                                story_id=n)
                     for n, url in enumerate(["https://a.example/ok", "javascript:alert(1)",
                                              "https://a.example/<@1>", None] * 3)]
    found.stored_articles = len(found.stories)
    embed = cve_embed(found)
    assert len(embed) <= 6000 and len(embed.title) <= 256
    assert all(len(f.value) <= 1024 and len(f.name) <= 256 for f in embed.fields)
    problems = []
    for text in [embed.title, embed.description,
                 *(part for f in embed.fields for part in (f.name, f.value))]:
        problems += violations(text, link_ok=lambda url: url == "https://a.example/ok")
    assert problems == []
    assert "evil.example" in embed.title  # the hostile text is there, as text
    assert "\x1b" not in cve_text(found)
