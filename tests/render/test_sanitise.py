"""The Discord sanitiser: the hostile-string fixture, examples of each rule, and
property tests (hypothesis) against a model of Discord's rendering rules."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.render.sanitise import (
    ELLIPSIS,
    ZWSP,
    discord_text,
    fit_lines,
    label,
    link,
    safe_url,
    url_text,
)
from tests.render.discord_model import plain_violations, violations
from tests.render.hostile import hostile_strings

HOSTILE = hostile_strings()
ESCAPES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# Text made mostly of the characters that matter to Discord, so hypothesis explores
# markup rather than letters.
MARKUPISH = st.lists(
    st.sampled_from(
        [*"*_~|`[]()<>@#:!&/\\-+.> \n\t1aZ",
         "http://", "https://", "@everyone", "@here", "<@", "<#", "</", "<t:", "-# ",
         "> ", ">>> ", "1. ", "```", "](", "\x1b[2J", "\x1b]0;t\x07", "\x9b", "\u202e",
         "\u200b", "\r"]
    ),
    max_size=60,
).map("".join)
ANY_TEXT = st.one_of(MARKUPISH, st.text(max_size=200))


def test_the_fixture_is_loaded_and_every_raw_string_would_render_as_markup():
    assert len(HOSTILE) >= 50
    # The model can fail: each raw fixture string is caught by it, except two near
    # misses kept on purpose: four hashes (no heading on Discord) and URLs that Discord
    # links whole (the sanitiser must leave them be).
    missed = [raw for raw in HOSTILE if not violations(raw)]
    assert missed == [
        "xhttps://glued.example/_under_ and (https://paren.example/x_y) and "
        "https://end.example/**",
        "#### four hashes",
    ]


@pytest.mark.parametrize("raw", HOSTILE)
def test_each_hostile_string_renders_as_plain_text(raw: str):
    for limit in (4096, 256, 100, 37, 5):
        out = discord_text(raw, limit)
        assert len(out) <= limit
        assert violations(out) == [], (raw, out)
    plain = label(raw, 100)
    assert len(plain) <= 100 and plain_violations(plain) == [], plain
    assert "\u202e" not in discord_text(raw) and "\u202e" not in plain


def test_the_disguised_link_of_issue_9_shows_its_real_url():
    raw = ("Read [the advisory](https://cisa.gov) and "
           "[download the patch here](http://evil.example/patch.exe)")
    out = discord_text(raw)
    assert out == ("Read the advisory (https://cisa.gov) and "
                   "download the patch here (http://evil.example/patch.exe)")
    assert "](" not in out and "[" not in out


@pytest.mark.parametrize(("raw", "expected"), [
    ("**bold** and __under__", "\\*\\*bold\\*\\* and \\_\\_under\\_\\_"),
    ("||spoiler|| ~~strike~~ `code`", "\\|\\|spoiler\\|\\| \\~\\~strike\\~\\~ \\`code\\`"),
    ("# Heading", "\\# Heading"),
    ("line\n## two\n### three", "line\n\\## two\n\\### three"),
    ("-# subtext", "\\-# subtext"),
    ("> quote\n>>> block", "\\> quote\n\\>>> block"),
    ("- item\n* star\n12. twelve", "\\- item\n\\* star\n12\\. twelve"),
    ("@everyone and @here", f"@{ZWSP}everyone and @{ZWSP}here"),
    ("<@123456789012345678901234567890>", f"<{ZWSP}@123456789012345678901234567890>"),
    ("<t:1700000000:R> </cmd:1> <#9> <@&7> <@!3>",
     f"<{ZWSP}t:1700000000:R> <{ZWSP}/cmd:1> <{ZWSP}#9> <{ZWSP}@&7> <{ZWSP}@!3>"),
    # Discord's link rule would take a backslash before the "<" into the URL.
    ("https://x.example/a?b=<@1>", f"https://x.example/a?b=<{ZWSP}@1>"),
    ("a\\*b", "a\\\\\\*b"),  # a backslash of the input cannot escape our escape
    ("XSS via <svg> tag", f"XSS via <{ZWSP}svg> tag"),
    ("clear\x1b[2J screen\x07", "clear screen"),
    ("see https://example.com/a_b_c_d and _this_",
     "see https://example.com/a_b_c_d and \\_this\\_"),
    ("mid-line # and - and 2024. are text", "mid-line # and - and 2024. are text"),
])
def test_examples_of_each_rule(raw: str, expected: str):
    assert discord_text(raw) == expected


def test_a_url_inside_a_word_is_escaped_like_text():
    # Discord may or may not link it; escaped, it is safe either way.
    assert discord_text("xhttps://a.example/_b_") == "xhttps://a.example/\\_b\\_"


@given(ANY_TEXT, st.integers(min_value=1, max_value=300))
@settings(max_examples=400, deadline=None)
@example("[a](http://e.example) **b** <@1> @everyone", 12)
@example("\\" * 40, 7)
@example("*" * 50, 4)
def test_any_text_renders_as_plain_text_within_the_limit(text: str, limit: int):
    out = discord_text(text, limit)
    assert len(out) <= limit
    assert violations(out) == [], (text, out)
    assert not ESCAPES.search(out)


@given(ANY_TEXT, st.integers(min_value=2, max_value=120))
@settings(max_examples=300, deadline=None)
def test_a_cut_is_a_prefix_of_the_whole_sanitised_text(text: str, limit: int):
    """Cutting never splits an escape or changes what came before the cut."""
    whole = discord_text(text, 100_000)
    cut = discord_text(text, limit)
    if cut == whole:
        return
    assert cut.endswith(ELLIPSIS)
    assert whole.startswith(cut[: -len(ELLIPSIS)])


@given(st.from_regex(r"[A-Za-z0-9]{1,12}( [A-Za-z0-9]{1,12}){0,10}", fullmatch=True))
@settings(max_examples=200, deadline=None)
def test_plain_alphanumeric_text_is_unchanged(text: str):
    assert discord_text(text, 4096) == text
    assert label(text, 200) == text


@given(ANY_TEXT, st.integers(min_value=1, max_value=120))
@settings(max_examples=300, deadline=None)
def test_labels_have_no_controls_newlines_or_pings(text: str, limit: int):
    out = label(text, limit)
    assert len(out) <= limit
    assert plain_violations(out) == [], out


URLS = st.one_of(
    st.sampled_from([
        "https://news.example/a_b", "http://x.example/(paren)", "https://x.example/a) [y](z",
        "javascript:alert(1)", "https://x.example/a b", "https://x.example/<@1>",
        "ftp://x.example/", "https://", "https://x.example/\x1b[2J", "", None,
        "https://[::1", "https://x.example/" + "a" * 2100,
    ]),
    st.text(max_size=40).map(lambda s: "https://x.example/" + s),
)


@given(ANY_TEXT, URLS)
@settings(max_examples=300, deadline=None)
def test_our_own_links_keep_their_target_and_cannot_be_broken_out_of(text, url):
    target = safe_url(url)
    out = link(text, url, 80)
    assert violations(out, link_ok=lambda found: found == target) == [], out
    if target is None:
        assert "](" not in out
    else:
        assert out.endswith(f"]({target})")
        assert not re.search(r"[\s()<>]", target)
    shown = url_text(url)
    assert violations(shown, own=[r"<https?://[^\s<>]+>"]) == [], shown


def test_safe_url_accepts_http_urls_and_refuses_the_rest():
    assert safe_url("https://news.example/a_b?c=1#d") == "https://news.example/a_b?c=1#d"
    assert safe_url("https://en.example/wiki/X_(y)") == "https://en.example/wiki/X_%28y%29"
    for bad in ("javascript:alert(1)", "https://x.example/a b", "https://x.example/<x>",
                "ftp://x.example/", "https://", "https://x\x1b.example/", "https://[::1",
                "https://x.example/" + "a" * 2100, None, ""):
        assert safe_url(bad) is None, bad


def test_fit_lines_drops_whole_lines_and_says_so():
    lines = [f"• line {n} with \\*escaped\\* text" for n in range(100)]
    out = fit_lines(lines, 200)
    assert len(out) <= 200 and out.endswith("\n" + ELLIPSIS)
    kept = out.split("\n")[:-1]
    assert kept == lines[: len(kept)] and kept
    assert fit_lines(lines[:2], 1000) == "\n".join(lines[:2])
