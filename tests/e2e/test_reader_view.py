"""The README's "What a reader sees" examples come from this scenario: the real bot's
payloads, as the fake Discord recorded them, rendered as a reader sees them."""

from __future__ import annotations

from tests.e2e.reader_view import render_examples, run_scenario, shown


def test_shown_renders_links_timestamps_bold_and_escapes():
    assert shown("**1.** [A \\*b\\*](https://a.example/1) <t:1736229600:f> "
                 "(<t:1736218800:R>)") == "1. A *b* 7 January 2025 06:00 (4 hours ago)"


async def test_the_examples_show_a_digest_a_card_and_an_alert(settings):
    recorded = await run_scenario(settings)
    text = render_examples(recorded)
    header, card, alert = (text.split("\n\n— ")[n] for n in (0, 1, 2))
    assert "Daily briefing — 3 stories" in header
    assert "┃ 3 stories from 3 sources" in header
    assert "┃ Covers 6 January 2025 07:00 → 7 January 2025 07:00" in header
    assert "┃ 1. Browser update fixes actively exploited sandbox escape — Wire A" in header
    assert "(red bar)\n┃ Wire A\n┃ Browser update fixes" in card
    assert "┃ Actively exploited · 7 January 2025 04:00 (3 hours ago)" in card
    assert "┃ Also reported by: Wire B" in card and "[Read: Browser update" in card
    assert "┃ Matched: actor APT29 — you follow Cozy Bear" in alert
    assert "[Unsubscribe from APT29] [Mute alerts for 24 h] [Read]" in alert
    assert "Actors: —" not in text and "CVEs: —" not in text
