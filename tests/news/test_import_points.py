"""Key points of imported files: 3–6 for every item. A "Key points" list ends where the
article's paragraphs resume; one or two listed points are topped up from the text; the
seed format's ten numbered points are stored whole and no surface shows more than six."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.intel.keypoints import MAX_POINTS, MIN_POINTS, top_up
from bot.news.importer import parse_article_file
from bot.render.embeds import story_embed
from bot.render.text import story_text
from tests.conftest import FIXTURES

AFTER_THE_LIST = [
    "The company said it had closed the bucket within an hour of the researcher's report "
    "and hired an outside firm to investigate what was taken.",
    "Regulators in two countries have been notified, and Quillbyte said it would write to "
    "every affected customer by the end of the month.",
    "Security researchers said the bucket had been listed in a public search engine for "
    "exposed storage since at least March.",
]
LISTED = [
    "Quillbyte said records of about 2.1 million customers were copied from a storage bucket.",
    "The company learned of the exposure from a researcher who found the bucket open.",
    "Payment card numbers were not stored in the bucket, according to the company.",
]
LEAD = ("Quillbyte said on Friday that an attacker copied customer records from a "
        "misconfigured storage bucket over several weeks before the company noticed.")


def markdown(points: list[str], paragraphs: list[str], *, bullet: str = "- ") -> str:
    return "\n".join([
        "---", 'title: "Quillbyte confirms customer data exposed"', "date: 2025-05-02",
        "source: Example Wire", "---", "", "# Quillbyte confirms customer data exposed", "",
        LEAD, "", "## Key points", "", *(f"{bullet}{p}" for p in points), "",
        *(f"{p}\n" for p in paragraphs), "## What it means", "",
        "Misconfigured storage keeps causing large exposures at security vendors.", "",
    ])


async def imported(services, tmp_path: Path, text: str, name: str = "a.md"):
    """The file as parsed, and as the real import stored it."""
    path = tmp_path / name
    path.write_text(text)
    report = await services.ingest.import_files([path])
    assert report.added == 1, report.errors
    (article,) = await services.store.articles.get_many(report.added_ids)
    return parse_article_file(path), article


async def test_paragraphs_after_the_points_list_are_the_article_again(services, tmp_path):
    parsed, article = await imported(services, tmp_path, markdown(LISTED, AFTER_THE_LIST))
    assert parsed.key_points == LISTED
    assert article.key_points == LISTED
    for paragraph in AFTER_THE_LIST:
        assert paragraph in parsed.text
    assert parsed.commentary == [
        "Misconfigured storage keeps causing large exposures at security vendors."]


async def test_points_written_as_paragraphs_stay_points(services, tmp_path):
    text = markdown([], LISTED)  # no list markers: the section's paragraphs are the points
    parsed, article = await imported(services, tmp_path, text)
    assert article.key_points == LISTED
    assert parsed.key_points == LISTED


@pytest.mark.parametrize("listed", [1, 2])
async def test_one_or_two_listed_points_are_topped_up_to_three(services, tmp_path, listed):
    given = LISTED[:listed]
    parsed, article = await imported(services, tmp_path, markdown(given, AFTER_THE_LIST))
    assert parsed.key_points == given
    points = article.key_points
    assert len(points) == MIN_POINTS
    assert points[:listed] == given  # the author's own first
    assert len(set(points)) == len(points)
    for extra in points[listed:]:
        assert extra in parsed.text and extra not in given


def test_top_up_skips_repeats_and_keeps_a_long_list_whole():
    given = ["Acme patched the VPN flaw on Tuesday after attacks."]
    extracted = ["Acme patched the VPN flaw on Tuesday after the attacks.",  # a repeat
                 "About 4,000 gateways remain exposed.", "Customers should rotate keys.",
                 "A fourth sentence."]
    assert top_up(given, extracted) == [given[0], extracted[1], extracted[2]]
    ten = [f"Point number {n} says something else entirely." for n in range(10)]
    assert top_up(ten, extracted) == ten
    assert top_up([], ["Only one usable sentence in the whole text."]) == [
        "Only one usable sentence in the whole text."]


async def test_seed_points_stored_whole_and_shown_at_most_six(services):
    seed = FIXTURES / "articles" / "000_seed_format.txt"
    report = await services.ingest.import_files([seed])
    (article,) = await services.store.articles.get_many(report.added_ids)
    assert len(article.key_points) == 10
    (item,) = (await services.briefings.build(services.clock() - timedelta(days=365 * 30))).items
    assert len(item.key_points) == 10  # briefing --json: the author's points in full
    assert story_text(item).count("\n• ") == MAX_POINTS
    embed = story_embed(item)
    assert embed.description.count("• ") == MAX_POINTS
