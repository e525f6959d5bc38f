"""Story cards (bot/render/embeds.py), their kind (bot/render/story.py), the terminal's
text of the same facts, the digest header and the weekly chart."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.render.chart import weekly_chart
from bot.render.digest import card_messages, digest_messages, header_embed
from bot.render.embeds import KIND_COLOURS, read_view, story_embed
from bot.render.story import Kind, also_reported, lead_source, says_exploited, story_kind
from bot.render.text import briefing_text, story_text
from bot.services.briefings import Briefing, BriefingItem
from tests.render.hostile import combined, hostile_strings

WHEN = datetime(2025, 1, 7, 14, 30, tzinfo=UTC)


def item(title: str = "Corvane patches SecureGate flaw", *, points: list[str] | None = None,
         actors: list[str] | None = None, cves: list[str] | None = None,
         vendors: list[str] | None = None, links: list[tuple[str, str]] | None = None,
         published_at: datetime | None = WHEN, url: str | None = "https://a.example/1",
         why: list[str] | None = None) -> BriefingItem:
    links = links if links is not None else [("Wire A", "https://a.example/1")]
    return BriefingItem(
        story_id=1, title=title, url=url, sources=list(dict.fromkeys(s for s, _ in links)),
        published_at=published_at,
        key_points=points if points is not None else ["Corvane shipped a fix on Tuesday."],
        why_it_matters=why if why is not None else ["Corvane appears in 2 stories this month."],
        analysis=[], actors=actors or [], cves=cves or [], vendors=vendors or [],
        links=[{"source": s, "url": u} for s, u in links],
    )


# -- the kind ---------------------------------------------------------------------------


@pytest.mark.parametrize(("story", "kind"), [
    (item("Browser zero-day fixed in emergency update"), Kind.EXPLOITED),
    (item("Patch now", points=["The flaw is exploited in the wild, CISA said."],
          actors=["APT29"]), Kind.EXPLOITED),  # exploited beats actor
    (item("BrightMesh flaw added to the Known Exploited Vulnerabilities catalogue"),
     Kind.EXPLOITED),
    (item("Talonix bug", points=["Talonix said the bug has not been exploited in the wild."]),
     Kind.OTHER),  # denied: not exploited
    (item("APT29 phishes diplomats", actors=["APT29"]), Kind.ACTOR),
    (item("Quillbyte exposes customer records in open bucket"), Kind.BREACH),
    (item("Hospital hit", points=["A ransomware crew encrypted its scheduling systems."]),
     Kind.BREACH),
    (item("Vendor ships quarterly update"), Kind.OTHER),
])
def test_story_kind_is_decided_by_one_rule_in_order(story: BriefingItem, kind: Kind):
    assert story_kind(story) is kind


def test_says_exploited_reads_denials():
    assert says_exploited("Attackers actively exploit the flaw.")
    assert says_exploited("A 0-day in the VPN gateway.")
    assert not says_exploited("There is no evidence of exploitation in the wild.")
    assert not says_exploited("The bug was never exploited in attacks, the vendor said.")
    # One denied mention does not cancel a plain one elsewhere in the text.
    assert says_exploited("Not a zero-day, said one firm; another saw it exploited in the wild.")


# -- the card ---------------------------------------------------------------------------


def test_card_has_author_linked_title_timestamps_colour_and_only_non_empty_fields():
    story = item(vendors=["Corvane"], points=[f"Point {n} about the fix." for n in range(9)])
    embed = story_embed(story)
    assert embed.author.name == "Wire A"
    assert embed.title == story.title and embed.url == "https://a.example/1"
    stamp = int(WHEN.timestamp())
    first = embed.description.split("\n")[0]
    assert first == f"**News** · <t:{stamp}:f> (<t:{stamp}:R>)"
    assert "2025" not in embed.description  # no plain dates
    assert embed.colour == KIND_COLOURS[Kind.OTHER]
    assert [f.name for f in embed.fields] == ["Vendors"]  # no "Actors: —", no "CVEs: —"
    assert all(f.value and f.value != "—" for f in embed.fields)
    points = [line for line in embed.description.split("\n") if line.startswith("• ")]
    assert points == [f"• Point {n} about the fix." for n in range(6)]  # at most 6
    assert "**Why it matters:** Corvane appears" in embed.description


def test_colours_differ_by_kind():
    exploited = story_embed(item("Zero-day in SecureGate"))
    actor = story_embed(item("APT29 again", actors=["APT29"]))
    breach = story_embed(item("Payroll provider breach"))
    colours = {exploited.colour, actor.colour, breach.colour, story_embed(item()).colour}
    assert len(colours) == 4
    assert exploited.description.startswith("**Actively exploited**")
    assert [f.name for f in actor.fields] == ["Actors"]


def test_several_sources_give_also_reported_by_links_without_the_lead():
    story = item(links=[("Wire B", "https://b.example/2"), ("Wire A", "https://a.example/1"),
                        ("Wire B", "https://b.example/3"), ("Wire C", "javascript:alert(1)"),
                        ("Wire D", "https://d.example/4")])
    assert lead_source(story) == "Wire A"  # the source of the card's own link
    assert [s["source"] for s in also_reported(story)] == ["Wire B", "Wire C", "Wire D"]
    embed = story_embed(story)
    assert embed.author.name == "Wire A"
    (also,) = [f for f in embed.fields if f.name == "Also reported by"]
    # One link per other source, an unsafe URL left out.
    assert also.value == "[Wire B](https://b.example/2) · [Wire D](https://d.example/4)"
    assert not [f for f in story_embed(item()).fields if f.name == "Also reported by"]


def test_undated_story_shows_no_timestamp():
    embed = story_embed(item(published_at=None))
    assert embed.description.split("\n")[0] == "**News**"
    assert "<t:" not in embed.description


def test_hostile_card_stays_within_limits_and_links_stay_whole():
    strings = hostile_strings()
    links = [(f"Source {n} {strings[n % len(strings)]}"[:200], f"https://s{n}.example/{n}")
             for n in range(60)]
    story = item(combined(parts=12), points=[combined(parts=4, offset=n) for n in range(9)],
                 actors=[s[:80] for s in strings[:30]], cves=["CVE-2025-0001"] * 40,
                 vendors=strings[:40], links=links, why=[combined(parts=8)])
    embed = story_embed(story)
    assert len(embed) <= 6000 and len(embed.title) <= 256
    assert len(embed.description) <= 4096 and len(embed.author.name) <= 256
    assert all(len(f.value) <= 1024 and f.value for f in embed.fields)
    (also,) = [f for f in embed.fields if f.name == "Also reported by"]
    shown = re.findall(r"\]\((https://s\d+\.example/\d+)\)", also.value)
    assert 0 < len(shown) < 59 and also.value.endswith(f" and {59 - len(shown)} more")
    assert "@everyone" not in embed.description and "@everyone" not in also.value


def test_read_buttons_link_each_card_and_skip_unsafe_urls():
    one = read_view([item()])
    (button,) = one.children
    assert (button.label, button.url) == ("Read", "https://a.example/1")
    both = read_view([item(), item("A very long title " * 5, url="https://a.example/2")])
    labels = [b.label for b in both.children]
    assert labels[0] == "Read: Corvane patches SecureGate flaw"
    assert labels[1].startswith("Read: A very long title") and len(labels[1]) <= 40
    assert read_view([item(url="javascript:alert(1)")]) is None


# -- the terminal -----------------------------------------------------------------------


def test_story_text_shows_the_same_facts():
    story = item("APT29 phishes diplomats", actors=["APT29"],
                 points=[f"Point {n}." for n in range(8)],
                 links=[("Wire A", "https://a.example/1"), ("Wire B", "https://b.example/2")])
    text = story_text(story)
    lines = text.split("\n")
    assert lines[0] == "[Threat actor] APT29 phishes diplomats"
    assert lines[2] == "Wire A · 7 Jan 2025 14:30 UTC"
    assert sum(line.startswith("• ") for line in lines) == 6
    assert "Actors: APT29" in text and "CVEs" not in text and "Vendors" not in text
    assert lines[-1] == "Also reported by: Wire B <https://b.example/2>"


def test_briefing_text_is_a_digest_with_numbered_headlines():
    items = [item(f"Story {n}", url=f"https://a.example/{n}") for n in range(12)]
    since = WHEN - timedelta(hours=24)
    text = briefing_text(Briefing(generated_at=WHEN, since=since, items=items))
    head = text.split("\n\n")[0].split("\n")
    assert head[0] == ("Briefing — 12 stories from 1 source, 2025-01-06 14:30 to "
                       "2025-01-07 14:30 UTC")
    assert head[1] == "12 news"
    assert head[3:5] == ["  1. Story 0 — Wire A", "  2. Story 1 — Wire A"]
    assert head[-1] == "  …and 2 more below."
    assert text.count("[News] Story") == 12


# -- the digest -------------------------------------------------------------------------


def test_digest_header_counts_period_and_numbered_links():
    items = [item("Zero-day in SecureGate", url="https://a.example/0"),
             item("APT29 again", actors=["APT29"], url="https://a.example/1",
                  links=[("Wire B", "https://a.example/1")]),
             *(item(f"Story {n}", url=f"https://a.example/{n}") for n in range(2, 13))]
    start = WHEN - timedelta(days=1)
    embed = header_embed(items, start=start, end=WHEN)
    assert embed.title == "13 stories from 2 sources"
    lines = embed.description.split("\n")
    assert lines[0] == f"**Covers** <t:{int(start.timestamp())}:f> → <t:{int(WHEN.timestamp())}:f>"
    assert lines[1] == "1 actively exploited · 1 threat actor · 11 news"
    numbered = [line for line in lines if line.startswith("**") and ".** [" in line]
    assert numbered[0] == "**1.** [Zero-day in SecureGate](https://a.example/0) — Wire A"
    assert numbered[1] == "**2.** [APT29 again](https://a.example/1) — Wire B"
    assert len(numbered) == 10 and lines[-1] == "…and 3 more stories below."
    parts = digest_messages(items, start=start, end=WHEN)
    assert parts[0].content == "**Daily briefing** — 13 stories"
    assert [p.content for p in parts[1:]] == ["Stories 1–10 of 13", "Stories 11–13 of 13"]
    assert [len(p.view.children) for p in parts[1:]] == [10, 3]  # a Read button per card


def test_digest_of_many_hostile_stories_stays_within_limits():
    strings = hostile_strings()
    items = [item(combined(parts=6, offset=n), url=f"https://a.example/{n}",
                  points=[strings[(n + k) % len(strings)] for k in range(6)],
                  links=[(strings[n % len(strings)][:120], f"https://a.example/{n}")])
             for n in range(60)]
    header = header_embed(items, start=WHEN - timedelta(days=1), end=WHEN)
    assert len(header) <= 6000 and len(header.description) <= 4096
    for part in card_messages(items):
        assert len(part.embeds) <= 10 and sum(len(e) for e in part.embeds) <= 6000
        assert len(part.view.children) <= 25


# -- the chart --------------------------------------------------------------------------


def _pixels(png: bytes):
    from matplotlib import image

    return image.imread(io.BytesIO(png), format="png")


def test_chart_is_transparent_with_visible_bars():
    weeks = [(date(2025, 1, 6) + timedelta(weeks=n), n % 4) for n in range(12)]
    png = weekly_chart("APT29: articles per week", weeks)
    assert png is not None and png.startswith(b"\x89PNG")
    pixels = _pixels(png)
    assert pixels.shape[2] == 4  # RGBA
    assert pixels[0, 0, 3] == 0 and pixels[-1, -1, 3] == 0  # the background is see-through
    opaque = pixels[pixels[:, :, 3] > 0.9]
    blurple = (abs(opaque[:, 0] - 0x58 / 255) < 0.02) & (abs(opaque[:, 2] - 0xF2 / 255) < 0.02)
    assert blurple.sum() > 100  # the bars
    # Labels are drawn in a mid grey, never black (unreadable on the dark theme).
    dark = (opaque[:, :3].max(axis=1) < 0.25).sum()
    assert dark == 0


@pytest.mark.parametrize("weeks", [[], [(date(2025, 1, 6), 0), (date(2025, 1, 13), 0)]])
def test_chart_is_skipped_when_there_is_nothing_to_draw(weeks):
    assert weekly_chart("Nobody: articles per week", weeks) is None
