"""The quality bars on the labelled set (tests/fixtures/quality/), computed by the same
evaluation code bench/bench_quality.py prints: key points beat TextRank and lead-6, no
item shows more than 6 points or a menu line, and actors and CVEs are found without the
sidebars' names."""

from __future__ import annotations

import pytest

from bot.news.importer import parse_html
from tests.fixtures.quality import evaluate
from tests.fixtures.quality.build_pages import MENU, RELATED, TRENDING

# Named only by the pages' furniture (trending and related sidebars, tag clouds,
# comments): an article is never tagged with one unless its own text names it.
SIDEBAR_CVES = {"CVE-2024-3400", "CVE-2021-44228"}


@pytest.fixture(scope="module")
def articles() -> list[evaluate.Labelled]:
    return evaluate.load_set()


@pytest.fixture(scope="module")
def results(articles: list[evaluate.Labelled]) -> list[evaluate.ItemResult]:
    return evaluate.run(articles)


@pytest.fixture(scope="module")
def figures(articles: list[evaluate.Labelled],
            results: list[evaluate.ItemResult]) -> evaluate.Figures:
    _, resolve = evaluate.build_tagger()
    return evaluate.figures(results, articles, resolve)


def test_the_set_is_what_the_bench_claims(articles: list[evaluate.Labelled]) -> None:
    assert len(articles) >= 30
    formats = {a.format for a in articles}
    assert formats == {"feed", "html", "markdown"}
    for a in articles:
        assert 4 <= len(a.facts) <= 8, a.name


def test_key_points_cover_more_than_both_baselines(figures: evaluate.Figures) -> None:
    ours = figures.coverage["ours"]
    assert ours > figures.coverage["textrank-6"], figures.coverage
    assert ours > figures.coverage["lead-6"], figures.coverage


def test_no_item_shows_more_than_six_points_or_a_menu_line(
    figures: evaluate.Figures, results: list[evaluate.ItemResult]
) -> None:
    assert figures.over_six == 0
    assert figures.furniture_points == 0, [r.furniture_points for r in results
                                           if r.furniture_points]
    for r in results:
        assert 3 <= len(r.points) <= 6, r.name


def test_an_authors_long_list_is_stored_in_full_and_shown_as_six(
    results: list[evaluate.ItemResult],
) -> None:
    authored = next(r for r in results if r.name == "31_volt_kv_md")
    assert authored.stored_points == 7
    assert len(authored.points) == 6
    # The points naming the actor or a vendor come first, then the rest.
    naming = [p for p in authored.points if "Volt Typhoon" in p or "Cisco" in p]
    assert len(naming) >= 3
    assert authored.points[:len(naming)] == naming


def test_actors_and_cves_meet_the_targets(figures: evaluate.Figures) -> None:
    assert figures.actor_precision >= 0.95, figures.false_tags
    assert figures.actor_recall >= 0.9, figures.misses
    assert figures.cve_exact == 1.0


def test_sidebar_cves_are_never_tagged(results: list[evaluate.ItemResult]) -> None:
    for r in results:
        assert not SIDEBAR_CVES & set(r.cves_found), r.name


def test_html_import_drops_the_same_furniture(articles: list[evaluate.Labelled]) -> None:
    for a in articles:
        if a.format != "html":
            continue
        parsed = parse_html((evaluate.PAGES / f"{a.name}.html").read_bytes())
        text = parsed.text
        for line in (*TRENDING, *RELATED, "Newsletter", "Join 120,000 security professionals"):
            assert line not in text, (a.name, line)
        assert "About THN" not in text and "Great write-up" not in text
        assert not any(line.strip() in MENU for line in text.split("\n")), a.name
        assert a.facts[0].split()[0] in text


@pytest.mark.parametrize("line", [
    " | ".join(MENU), "Home", "About THN", TRENDING[0], f"- [{RELATED[0]}](/x)",
])
def test_the_furniture_detector_catches_menu_and_sidebar_lines(line: str) -> None:
    assert evaluate.is_furniture_point(line)


def test_the_furniture_detector_passes_article_sentences(
    articles: list[evaluate.Labelled],
) -> None:
    for a in articles:
        for fact in a.facts:
            assert not evaluate.is_furniture_point(fact), fact


def test_coverage_rule() -> None:
    fact = "Ivanti patched CVE-2025-0282 in Connect Secure."
    assert evaluate.covered(fact, ["Ivanti released patches for CVE-2025-0282 today."])
    assert not evaluate.covered(fact, ["Connect Secure is a VPN product.", "Ivanti said."])
    assert evaluate.coverage([fact, "Unrelated fact about cats."],
                             ["Ivanti patched CVE-2025-0282."]) == (1, 2)
