import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.intel.fingerprint import (
    StoryKey,
    content_hash,
    hamming,
    same_story,
    simhash,
    title_similarity,
    title_tokens,
)
from bot.intel.sentences import split_sentences
from tests.fixtures.make_corpus import make_articles

ROOT = Path(__file__).parents[2]
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

WIRE_BODY = """\
Treasury officials said the sanctions target a Beijing-based contractor that supplied
infrastructure and personnel to Flax Typhoon, the state-backed group that compromised
routers and cameras to build a botnet of more than 260,000 devices. The contractor's
assets in the United States are frozen and American companies are barred from dealing
with it. Investigators linked the company to intrusions at water utilities, telecom
providers and a university hospital between 2022 and 2024. The FBI said it had
disrupted the botnet in September by seizing its command servers and pushing a
cleanup command to infected devices. The company denied the accusations in a statement
and called them politically motivated. Officials urged owners of end-of-life routers to
replace them, because the devices no longer receive security updates. The sanctions
announcement also named two executives who allegedly managed the contractor's hacking
operations and received payments from state security agencies."""


def _key(title: str, body: str, when: datetime | None, *, cves=(), actors=()) -> StoryKey:
    return StoryKey.build(title, body, cves=cves, actors=actors, published_at=when)


def test_simhash_is_signed_int64_and_deterministic_across_processes() -> None:
    h = simhash(WIRE_BODY)
    assert -(2**63) <= h < 2**63
    assert h == simhash(WIRE_BODY)
    assert simhash("") == 0
    code = (
        "import sys; from bot.intel.fingerprint import simhash; "
        "print(simhash(sys.stdin.read()))"
    )
    outs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], input=WIRE_BODY, capture_output=True, text=True,
            env=env, cwd=ROOT, check=True,
        )
        outs.add(int(out.stdout))
    assert outs == {h}


def test_hamming() -> None:
    assert hamming(0, 0) == 0
    assert hamming(0, -1) == 64  # signed and unsigned views agree
    assert hamming(0b1011, 0b0001) == 2
    assert hamming(-1, (1 << 64) - 1) == 0


def test_small_edits_stay_near_and_different_texts_are_far() -> None:
    edited = WIRE_BODY.replace("more than 260,000", "over 260,000") + " Updated at 14:00."
    assert hamming(simhash(WIRE_BODY), simhash(edited)) <= 3
    other = make_articles(1, seed=5)[0]["text"]
    assert hamming(simhash(WIRE_BODY), simhash(other)) > 10


def test_content_hash_ignores_case_whitespace_and_punctuation_only() -> None:
    a = content_hash("Hello,   World!\nCVE-2024-1234")
    assert a == content_hash("hello world cve 2024 1234")
    assert len(a) == 64
    assert a != content_hash("Hello world CVE-2024-1235")


def test_title_tokens_drop_stopwords_and_stem() -> None:
    assert title_tokens("Hackers Exploited the Vulnerabilities in Patches") == {
        "hacker", "exploit", "vulnerability", "patch",
    }
    assert title_tokens("Exploits exploiting exploited") == {"exploit"}
    assert title_tokens("The and of") == set()


def test_title_similarity_range() -> None:
    assert title_similarity("APT29 hits diplomats", "APT29 Hits Diplomats") == 1.0
    assert title_similarity("APT29 hits diplomats", "Ransomware at hospital") == 0.0
    assert title_similarity("", "anything") == 0.0
    tweak = title_similarity(
        "US Sanctions Chinese Firm Tied to Flax Typhoon Hacks",
        "Treasury sanctions Chinese company over Flax Typhoon hacking",
    )
    assert 0.35 <= tweak < 1.0


def test_wire_story_republished_with_new_intro_and_title_tweak_is_same() -> None:
    intro_a = "The US Treasury on Friday sanctioned a Chinese cybersecurity company. "
    intro_b = "Washington has punished a Chinese security firm over a hacking campaign. "
    a = _key("US Sanctions Chinese Firm Tied to Flax Typhoon Hacks", intro_a + WIRE_BODY, T0,
             actors={"Flax Typhoon"})
    b = _key("Treasury Sanctions Chinese Company Over Flax Typhoon Hacking",
             intro_b + WIRE_BODY, T0 + timedelta(hours=20), actors={"Flax Typhoon"})
    assert same_story(a, b) and same_story(b, a)


def test_near_duplicate_body_alone_is_enough() -> None:
    a = _key("Headline one", WIRE_BODY, T0)
    # Same copy re-flowed by another CMS, with a wire credit appended.
    b = _key("Completely different words", WIRE_BODY.replace("\n", " ") + " (Reuters)", None)
    assert hamming(a.simhash, b.simhash) <= 3
    assert same_story(a, b)


def test_two_apt29_stories_a_week_apart_are_different() -> None:
    a = _key("APT29 Targets European Diplomats With Wine-Tasting Lures",
             "APT29 sent phishing emails to diplomats with fake invitations.", T0,
             actors={"APT29"})
    b = _key("APT29 Exploits TeamCity Servers in Supply-Chain Attacks",
             "APT29 compromised build servers by exploiting a TeamCity flaw.",
             T0 + timedelta(days=7), actors={"APT29"})
    assert not same_story(a, b)
    # Even in the same week, dissimilar titles keep one actor's stories apart.
    c = _key(b.title, "APT29 compromised build servers.", T0 + timedelta(days=1),
             actors={"APT29"})
    assert not same_story(a, c)


def test_similar_titles_a_week_apart_are_different() -> None:
    a = _key("APT29 Targets Diplomats With Phishing", "First wave details.", T0,
             actors={"APT29"})
    b = _key("APT29 Targets Diplomats With New Phishing", "Second wave details.",
             T0 + timedelta(days=7), actors={"APT29"})
    assert not same_story(a, b)


def test_two_cves_of_one_vendor_are_different_stories() -> None:
    a = _key("Fortinet Patches FortiOS SSL-VPN Flaw CVE-2024-21762",
             "Fortinet fixed an out-of-bounds write in FortiOS SSL-VPN.", T0,
             cves={"CVE-2024-21762"})
    b = _key("Fortinet Warns of FortiManager Zero-Day CVE-2024-47575",
             "Fortinet disclosed a missing authentication bug in FortiManager.", T0,
             cves={"CVE-2024-47575"})
    assert not same_story(a, b)


def test_shared_entity_needed_when_bodies_differ() -> None:
    a = _key("Ransomware Hits Hospital Chain", "Body one about hospitals.", T0)
    b = _key("Ransomware Hits Hospital Chain Again", "Another body about clinics.", T0)
    assert not same_story(a, b)


# ----------------------------------------------------------------- synthetic corpus


def test_corpus_is_deterministic_and_shaped_like_news() -> None:
    arts = make_articles(400, seed=7)
    assert arts == make_articles(400, seed=7)
    assert arts != make_articles(400, seed=8)
    assert len(arts) == 400
    dups = [a for a in arts if a["dup_of"] is not None]
    assert 0.05 * 400 <= len(dups) <= 0.16 * 400
    for a in arts:
        assert a["title"] and a["url"].startswith("https://") and a["source"]
        assert a["published_at"].tzinfo is not None
        assert 8 <= len(split_sentences(a["text"])) <= 15
    span = max(a["published_at"] for a in arts) - min(a["published_at"] for a in arts)
    assert timedelta(days=60) < span <= timedelta(days=92)
    for d in dups:
        orig = arts[d["dup_of"]]
        assert d["source"] != orig["source"] and d["story"] == orig["story"]
        assert d["text"] != orig["text"] and d["url"] != orig["url"]
    assert len({a["url"] for a in arts}) == 400


def test_corpus_republications_group_and_other_stories_mostly_do_not() -> None:
    arts = make_articles(600, seed=3)
    keys = [
        _key(a["title"], a["text"], a["published_at"], cves=a["cves"], actors=a["actors"])
        for a in arts
    ]
    dups = [(a["dup_of"], a["id"]) for a in arts if a["dup_of"] is not None]
    assert dups
    assert all(same_story(keys[i], keys[j]) for i, j in dups)
    pairs = [
        (i, j) for i in range(0, 600, 3) for j in range(i + 1, 600, 7)
        if arts[i]["story"] != arts[j]["story"]
    ]
    merged = sum(same_story(keys[i], keys[j]) for i, j in pairs)
    assert merged / len(pairs) < 0.01


def test_corpus_generation_is_fast() -> None:
    t = time.perf_counter()
    make_articles(10_000, seed=1)
    assert time.perf_counter() - t < 5.0


def test_non_latin_text_gets_a_fingerprint() -> None:
    text = "Хакеры атаковали сеть энергетической компании и похитили документы."
    assert simhash(text) != 0
    assert title_tokens("Атака на компанию") == {"атака", "на", "компанию"}
