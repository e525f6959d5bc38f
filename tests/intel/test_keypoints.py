import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.intel.keypoints import (
    _tokens,
    centrality,
    is_debris,
    jaccard,
    key_points,
    named_first,
    shown_points,
    trim,
)
from bot.intel.sentences import split_sentences
from tests.fixtures.make_corpus import make_articles

ROOT = Path(__file__).parents[2]
SEED = ROOT / "tests" / "fixtures" / "articles" / "000_seed_format.txt"  # the seed's format

FILLER = [
    "The company said its investigation into the incident is continuing with outside help.",
    "Customers were told to review their configuration and enable multi-factor login.",
    "The advisory describes the weakness as an improper access control problem in the portal.",
    "Security teams were asked to look for unusual administrator sessions in their logs.",
    "A spokesperson said the company takes the security of its customers very seriously.",
    "The researchers published a technical write-up describing the exploitation chain.",
    "Several managed service providers said they had already applied the mitigation.",
    "Officials declined to say which government agencies had been affected by the breach.",
    "The vendor thanked the researchers for reporting the weakness through its program.",
    "Industry groups have repeatedly warned about the risks posed by exposed portals.",
    "The attackers appear to have chosen their victims carefully over several months.",
    "Analysts expect further disclosures once the forensic work is complete next month.",
]


def _assert_properties(points: list[str], text: str, title: str) -> None:
    sentences = [trim(s) for s in split_sentences(text)]
    # Every point is a sentence of the text, in the text's order.
    positions = [sentences.index(p) for p in points]
    assert positions == sorted(positions)
    for p in points:
        assert 40 <= len(p) <= 300
        assert not is_debris(p)
        assert p.lower() != title.lower()
    for i, a in enumerate(points):
        for b in points[i + 1:]:
            assert jaccard(_tokens(a), _tokens(b)) <= 0.6


def test_generated_articles_yield_three_to_six_clean_points() -> None:
    for art in make_articles(60, seed=11):
        points = key_points(art["title"], art["text"], boost_terms=art["actors"] + art["cves"])
        assert 3 <= len(points) <= 6, art["title"]
        _assert_properties(points, art["text"], art["title"])


def test_debris_never_becomes_a_point() -> None:
    text = "\n".join([
        "Listen to this Post",
        "of the",
        FILLER[0],
        "Image Source: OpenAI: https://craiyon.com",
        "Undercode AI DI v2: https://ai.undercode.helpFeatured Image",
        FILLER[1],
        "Share this article on social media",
        "Subscribe to our newsletter for weekly updates in your inbox",
        "Featured Image",
        FILLER[2],
        "Reported By: Securityweek.com",
        FILLER[3],
        "https://www.example.com/a-very-long-link/that-goes-on-and-on-and-on",
    ])
    points = key_points("Portal flaw", text)
    assert len(points) == 3
    assert set(points) <= set(FILLER[:4])
    for p in points:
        assert "http" not in p and "Listen" not in p and "Image" not in p


@pytest.mark.parametrize(
    "line",
    ["Listen to this Post", "of the", "and", "Featured Image", "Image Source:",
     "OpenAI: https://craiyon.com", "https://example.com", "What Undercode Say:",
     "References:", "Reported By: Securityweek.com", "Read more: other story",
     "© 2025 Example Media. All rights reserved.", ""],
)
def test_is_debris(line: str) -> None:
    assert is_debris(line)


@pytest.mark.parametrize(
    "line",
    ["Reported by researchers at Acme, the flaw is serious.", "Of the 40 victims, 12 paid.",
     "See the advisory for CVE-2024-3400 details and workarounds."],
)
def test_is_not_debris(line: str) -> None:
    assert not is_debris(line)


def test_boost_terms_are_preferred() -> None:
    actor = "Flax Typhoon used the same access to stage further attacks on the network."
    sentences = [*FILLER[:9], actor, *FILLER[9:]]
    text = " ".join(sentences)
    plain = key_points("Portal breach", text)
    boosted = key_points("Portal breach", text, boost_terms=["Flax Typhoon"])
    assert actor not in plain
    assert actor in boosted
    assert 3 <= len(boosted) <= 6


def test_cve_and_number_sentences_are_preferred() -> None:
    cve = "The flaw is tracked as CVE-2025-12345 and was added to the catalog quickly."
    text = " ".join([*FILLER[:10], cve, *FILLER[10:]])
    assert cve in key_points("Portal breach", text)


def test_title_words_and_lead_are_preferred() -> None:
    about = "The ransomware hospital attack disrupted emergency services in three states."
    text = " ".join([*FILLER[:10], about, *FILLER[10:]])
    assert about in key_points("Ransomware attack on hospital", text)
    lead = "A separate lead paragraph that summarises the whole incident in one go."
    points = key_points("Portal breach", " ".join(FILLER), lead=lead)
    assert points[0] == lead  # not in the body: competes as the first sentence


def test_title_repeated_in_body_is_dropped() -> None:
    title = "Attackers Exploit Portal Flaw to Breach Government Agencies Worldwide"
    text = title + ". " + " ".join(FILLER[:6])
    points = key_points(title, text)
    assert all("Attackers Exploit Portal" not in p for p in points)


def test_near_duplicates_are_dropped() -> None:
    a = "Attackers exploited the portal flaw to breach at least 40 government agencies."
    b = "Attackers exploited the portal flaw to breach at least 40 government agencies worldwide."
    points = key_points("Portal flaw", " ".join([a, b, *FILLER[:6]]))
    assert not (a in points and b in points)
    assert a in points or b in points


def test_long_sentences_are_trimmed_at_a_word_boundary() -> None:
    long = "The attackers " + "moved laterally through the network and " * 12 + "stole data."
    points = key_points("Network breach", " ".join([long, *FILLER[:3]]))
    trimmed = [p for p in points if p.startswith("The attackers")]
    assert trimmed
    assert len(trimmed[0]) <= 300 and trimmed[0].endswith("\u2026")
    assert long.startswith(trimmed[0][:-1])
    assert trimmed[0][-2] != " "


def test_short_fragments_are_dropped_and_few_sentences_give_few_points() -> None:
    text = "Too short. Also short!\n" + FILLER[0] + "\n" + FILLER[1]
    assert key_points("Something", text) == FILLER[:2]
    assert key_points("Something", "") == []
    assert key_points("Something", "Listen to this Post\nFeatured Image") == []


def test_n_min_and_n_max_are_respected() -> None:
    text = " ".join(FILLER)
    assert len(key_points("x", text, n_min=1, n_max=2)) == 2
    assert len(key_points("x", text, n_min=5, n_max=6)) >= 5


def test_deterministic_across_processes() -> None:
    art = make_articles(1, seed=21)[0]
    code = (
        "import json, sys; from bot.intel.keypoints import key_points; "
        "a = json.load(sys.stdin); "
        "print(json.dumps(key_points(a['title'], a['text'], boost_terms=a['actors'])))"
    )
    payload = json.dumps({"title": art["title"], "text": art["text"], "actors": art["actors"]})
    outputs = set()
    for seed in ("3", "4"):
        res = subprocess.run(
            [sys.executable, "-c", code], input=payload, capture_output=True, text=True,
            env={**os.environ, "PYTHONHASHSEED": seed}, cwd=ROOT, check=True,
        )
        outputs.add(res.stdout)
    assert len(outputs) == 1
    assert json.loads(outputs.pop()) == key_points(
        art["title"], art["text"], boost_terms=art["actors"]
    )


def test_seed_article_key_points() -> None:
    raw = SEED.read_text(encoding="utf-8")
    title = raw.splitlines()[0]
    points = key_points(title, raw, boost_terms=["Flax Typhoon", "Salt Typhoon"])
    assert 3 <= len(points) <= 6
    _assert_properties(points, raw, title)
    assert any("Flax Typhoon" in p for p in points)


def test_non_latin_sentences_are_not_collapsed() -> None:
    text = (
        "Хакеры атаковали сеть энергетической компании и похитили внутренние документы. "
        "Компания сообщила, что восстановила работу систем из резервных копий за два дня. "
        "Эксперты связывают атаку с группировкой, известной под названием Sandworm."
    )
    points = key_points("Атака на энергетическую компанию", text)
    assert len(points) == 3


def test_centrality_ranks_the_sentence_the_article_keeps_coming_back_to() -> None:
    bags = [
        frozenset({"lockbit", "encrypt", "port", "server"}),
        frozenset({"lockbit", "port", "ransom"}),
        frozenset({"port", "server", "lockbit", "backup"}),
        frozenset({"weather", "sunny"}),
    ]
    scores = centrality(bags)
    assert max(scores) == 1.0
    assert scores[3] == min(scores) < scores[0]
    assert centrality([]) == []
    assert centrality([frozenset({"alone"})]) == [1.0]


def test_a_central_sentence_beats_a_peripheral_one() -> None:
    central = "The LockBit affiliate encrypted the port operator's servers and stole its files."
    echoes = [
        "LockBit listed the port operator on its leak site two days after the attack.",
        "The port operator said the encrypted servers were restored from offline backups.",
        "Investigators said the affiliate stole files from the operator's servers first.",
    ]
    text = " ".join([*FILLER[:5], central, *FILLER[5:9], *echoes, *FILLER[9:]])
    assert central in key_points("Port operator breach", text, n_max=4)


def test_points_are_diverse() -> None:
    near = [
        "Attackers exploited the portal flaw to breach 40 government agencies in March.",
        "Attackers exploited the portal flaw to breach 40 agencies of the government.",
        "The portal flaw let attackers breach 40 government agencies, officials said.",
    ]
    text = " ".join([*near, *FILLER])
    points = key_points("Portal flaw breach", text)
    assert sum(p in near for p in points) == 1


def test_never_more_than_six_and_furniture_never_a_point() -> None:
    text = "\n".join([
        "Home | Newsletter | Webinars | Vulnerabilities | Threat Intelligence | About THN",
        "Join 120,000 security professionals who get our weekly briefing in their inbox.",
        *FILLER,
        "SHA256: 3f1b2c9d8e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c",
        "Volt Typhoon Returns With New KV Botnet Nodes And More Routers Than Ever",
    ])
    points = key_points("Portal breach", text, n_max=10)
    assert len(key_points("Portal breach", text)) == 6
    for p in points:
        assert p in FILLER, p


def test_security_facts_are_preferred() -> None:
    facts = "The vendor patched the exploited flaw in version 4.2.1 on March 3 for 1,200 customers."
    text = " ".join([*FILLER[:10], facts, *FILLER[10:]])
    assert facts in key_points("Portal breach", text, n_max=4)


def test_named_first_and_shown_points() -> None:
    points = [
        "Officials said the breach was contained within a day of discovery.",
        "Flax Typhoon used the access to stage further intrusions, officials said.",
        "Customers were told to rotate keys and review administrator accounts.",
        "The flaw is tracked as CVE-2025-12345 and affects the vendor's portal.",
    ]
    ordered = named_first(points, ["Flax Typhoon", "CVE-2025-12345"])
    assert ordered == [points[1], points[3], points[0], points[2]]
    assert named_first(points) == points
    many = [f"Point number {i} says something different about the incident." for i in range(10)]
    assert shown_points(many) == many[:6]
    assert shown_points([*many, points[1]], ["flax typhoon"])[0] == points[1]


def test_the_seeds_flax_typhoon_point_is_among_the_six_shown() -> None:
    from bot.news.importer import parse_article_file

    article = parse_article_file(SEED)
    assert len(article.key_points) == 10  # the author's points, kept in full
    tie = next(p for p in article.key_points if "Flax Typhoon" in p)
    assert article.key_points.index(tie) >= 6  # the 7th: cut by a plain first-6
    shown = shown_points(article.key_points, ["Flax Typhoon", "Salt Typhoon"])
    assert len(shown) == 6 and tie in shown
