"""Actor tagging: precision and recall on articles written for these tests, plus the rules."""

from __future__ import annotations

import pickle
import time

import pytest

from bot.intel.actor_tagging import ActorTagger
from bot.intel.catalogue import load_catalogue


@pytest.fixture(scope="module")
def tagger() -> ActorTagger:
    return ActorTagger.from_actors(load_catalogue())


# Short articles written for this test (no third-party text), each with the actors a human
# reader would tag. Several are traps: common words that are also aliases, lower-case
# phrases, product names, an organisation that is not an actor, ambiguous aliases.
ARTICLES: list[tuple[str, str, set[str]]] = [
    (
        "apt29-cloud",
        "Microsoft says Midnight Blizzard, the Russian group also tracked as APT29 and Cozy "
        "Bear, used password spraying against a test tenant. The company's report adds that "
        "NOBELIUM-era tooling was not seen this time.",
        {"APT29"},
    ),
    (
        "maths-lead",
        "Equation 4 gives the expected lead time of a patch. To lead a review, engineers "
        "first read the carbon-copy mailing list, then the Silence of the logs is noted. "
        "Tick the box when the equation balances.",
        set(),
    ),
    (
        "turla-kazuar",
        "Researchers tied a new Kazuar backdoor build to Turla; the Russian operators kept "
        "their usual satellite tricks. Microsoft calls the same actor Secret Blizzard.",
        {"Turla"},
    ),
    (
        "fin7-carbanak",
        "The FIN7 crew, also known as Carbon Spider, pushed fake browser updates. Older "
        "intrusions using the Carbanak banking malware are tracked separately by MITRE.",
        {"FIN7", "Carbanak"},
    ),
    (
        "cozy-bear-market",
        "Strategists expect a cozy bear market in bonds, while a fancy bear costume won the "
        "office party. Nothing here is about intrusions.",
        set(),
    ),
    (
        "sanctions",
        "Treasury sanctioned Integrity Technology Group for supporting Flax Typhoon, the "
        "actor CrowdStrike calls Ethereal Panda. Officials are still assessing Salt "
        "Typhoon's access to telecom carriers.",
        {"Flax Typhoon", "Salt Typhoon"},
    ),
    (
        "tools-not-actors",
        "Operators staged Cobalt Strike beacons, abused a Chromium flaw and dropped the Snake "
        "keylogger; they play a part, as a hive of scripts did. The GOP and TSB commented.",
        set(),
    ),
    (
        # Microsoft's table lists LABYRINTH CHOLLIMA under four North Korean groups.
        "ambiguous-alone",
        "Labyrinth Chollima stole cryptocurrency from an exchange in a months-long operation.",
        set(),
    ),
    (
        "ambiguous-with-anchor",
        "Labyrinth Chollima, which Microsoft now tracks as Diamond Sleet, stole funds again.",
        {"Lazarus Group"},
    ),
    (
        # Bluenoroff is MITRE's APT38, no longer lumped into the Lazarus umbrella.
        "dprk-subgroups",
        "Bluenoroff, which many vendors place inside the Lazarus Group, stole funds again; "
        "Sapphire Sleet and Moonstone Sleet ran fake recruiters, and Andariel hit hospitals.",
        {"APT38", "Lazarus Group", "Moonstone Sleet", "Andariel"},
    ),
    (
        "ransomware-groups",
        "LockBit 3.0 affiliates and the ALPHV/BlackCat crew hit hospitals; Cl0p exploited "
        "MOVEit while Qilin and 8Base posted victims. Hive ransomware is gone, the Play gang "
        "is not, and Akira's affiliates moved to ESXi.",
        {"LockBit", "BlackCat", "Clop", "Qilin", "8Base", "Hive", "Play", "Akira"},
    ),
    (
        "ransomware-words-in-plain-sense",
        "Agenda: patch first. Play a role in recovery. The SOC was a hive of activity, the "
        "Royal Mail was late, Medusa appears in a museum, Akira is a film, and Cactus "
        "grows. Royal, ransomware aside, is a word. Anonymous sources, a Phantom jet, "
        "Shell profits and a Ghost story were all mentioned.",
        set(),
    ),
    (
        "units-and-new-clusters",
        "GRU Unit 26165 officers were indicted; Unit 74455 ran the wiper. UNC6040 vished "
        "help desks, Slow Pisces lured developers, and Scattered LAPSUS$ Hunters extorted.",
        {"APT28", "Sandworm Team", "UNC6040", "TraderTraitor", "Scattered LAPSUS$ Hunters"},
    ),
    (
        "boundaries",
        "UNC3944's SIM-swapping crew, Octo Tempest, returned. An asset tagged APT290 and the "
        "hostname apt29x are not actor names.",
        {"Scattered Spider"},
    ),
    (
        "lowercase-words",
        "Lawmakers face a patchwork of state rules and a leviathan of a bill; a sandworm "
        "appears only in the novel they quoted.",
        set(),
    ),
    (
        "headline-caps",
        "VOLT TYPHOON PREPOSITIONS IN WATER UTILITIES, AGENCIES WARN",
        {"Volt Typhoon"},
    ),
    (
        "sandworm",
        "A Sandworm-linked wiper hit a grain exporter; Seashell Blizzard had probed it in May.",
        {"Sandworm Team"},
    ),
    (
        "dprk",
        "North Korea's Kimsuky (Emerald Sleet) phished think tanks, while Lazarus chased "
        "crypto developers with fake job offers.",
        {"Kimsuky", "Lazarus Group"},
    ),
    (
        "apt-spacing",
        "Reports on APT 28 and APT-29 disagree; a list item reads 'by APT. 29 people'.",
        {"APT28", "APT29"},
    ),
    (
        # Ordinary-word ransomware names in lists that share one cue word, and the same
        # words where no cue is beside the list.
        "ransomware-lists",
        "Hive, Play and Royal ransomware affiliates joined the Akira and Medusa gangs, and "
        "ransomware groups such as Cactus, Everest, and Lynx buy their access. Insurers play "
        "a role; the forum was a hive of activity; Royal Mail and the Hive, Play and Royal "
        "theatres were not named.",
        {"Hive", "Play", "Royal", "Akira", "Medusa", "Cactus", "Everest", "Lynx"},
    ),
]


def test_precision_and_recall_on_fixture_articles(tagger: ActorTagger) -> None:
    true_pos = false_pos = false_neg = 0
    mistakes: list[str] = []
    for name, text, expected in ARTICLES:
        got = set(tagger.tag(text))
        true_pos += len(got & expected)
        false_pos += len(got - expected)
        false_neg += len(expected - got)
        if got != expected:
            mistakes.append(f"{name}: got {sorted(got)}, expected {sorted(expected)}")
    precision = true_pos / (true_pos + false_pos)
    recall = true_pos / (true_pos + false_neg)
    assert precision == 1.0, mistakes
    assert recall >= 0.95, mistakes


@pytest.mark.parametrize(("name", "text", "expected"), ARTICLES, ids=[a[0] for a in ARTICLES])
def test_each_fixture_article(tagger: ActorTagger, name: str, text: str, expected: set) -> None:
    assert set(tagger.tag(text)) == expected


def test_results_are_canonical_names_in_order_of_first_mention(tagger: ActorTagger) -> None:
    text = "Fancy Bear and Cozy Bear, then Forest Blizzard (Fancy Bear again) and Turla."
    assert tagger.tag(text) == ["APT28", "APT29", "Turla"]


def test_word_joins_and_breaks(tagger: ActorTagger) -> None:
    assert tagger.tag("Storm 0919") == ["Flax Typhoon"]
    assert tagger.tag("(Storm-0919)") == ["Flax Typhoon"]
    assert tagger.tag("Volt\nTyphoon") == ["Volt Typhoon"]
    assert tagger.tag("Cozy Bear/Turla") == ["APT29", "Turla"]
    assert tagger.tag("“Turla”, said one analyst") == ["Turla"]
    assert tagger.tag("Cozy, Bear and Flax: Typhoon") == []  # punctuation breaks an alias
    assert tagger.tag("menuPass, again") == ["menuPass"]  # catalogue's own spelling


# --- the rules, on small hand-made alias lists -----------------------------------------------


def make(pairs: list[tuple[str, str]]) -> ActorTagger:
    return ActorTagger(pairs)


def test_common_word_aliases_never_match_alone() -> None:
    t = make([("Equation", "Equation Group"), ("Equation Group", "Equation Group")])
    assert t.tag("Equation 2 holds. EQUATION. equation") == []
    assert t.tag("The Equation Group toolkit leaked.") == ["Equation Group"]


def test_short_letter_aliases_never_match_and_short_alnum_ones_only_as_written() -> None:
    t = make([("GOP", "Some Actor"), ("TA5", "Other Actor")])
    assert t.tag("The GOP said") == []
    assert t.tag("TA5 struck; ta5 is a filename") == ["Other Actor"]
    assert t.tag("ta5 only") == []


def test_lower_case_only_alias_never_matches() -> None:
    t = make([("owlnest", "Owl Actor"), ("Owl Actor", "Owl Actor")])
    assert t.tag("the owlnest string, Owlnest and OWLNEST") == []
    assert t.tag("Owl Actor returned") == ["Owl Actor"]


def test_capitals_required_unless_spelled_as_the_catalogue_does() -> None:
    t = make([("Cozy Bear", "APT29"), ("menuPass", "APT10"), ("apt29", "APT29")])
    assert t.tag("a cozy bear market; a Cozy bear toy") == []
    assert t.tag("COZY BEAR and Cozy Bear") == ["APT29"]
    assert t.tag("menupass") == [] and t.tag("menuPass") == ["APT10"]
    assert t.tag("MenuPass") == ["APT10"]
    assert t.tag("see apt29 logs") == ["APT29"]  # words with digits need no capitals


def test_ambiguous_alias_needs_an_unambiguous_one_of_the_same_actor() -> None:
    t = make([("Shared Name", "Actor A"), ("Shared Name", "Actor B"), ("Alpha Only", "Actor A"),
              ("Actor A", "Actor A"), ("Actor B", "Actor B")])
    assert t.tag("Shared Name struck") == []
    assert t.tag("Shared Name, also called Alpha Only, struck") == ["Actor A"]


def test_ambiguous_alias_that_is_one_actors_canonical_name_picks_it() -> None:
    t = make([("Carbanak", "Carbanak"), ("Carbanak", "FIN7"), ("FIN7", "FIN7")])
    assert t.tag("Carbanak malware") == ["Carbanak"]


def test_ambiguous_key_picks_the_actor_spelling_it_with_these_word_breaks() -> None:
    t = make([("COLDRIVER", "Star Blizzard"), ("Star Blizzard", "Star Blizzard"),
              ("Cold River", "Cold River")])
    assert t.tag("COLDRIVER phished NGOs") == ["Star Blizzard"]
    assert t.tag("the Cold River campaign") == ["Cold River"]


def test_common_word_ransomware_names_need_the_actors_sense() -> None:
    t = make([("Hive", "Hive"), ("Play", "Play"), ("PLAY", "Play"), ("Royal", "Royal")])
    for text in ("Hive ransomware", "the Hive gang", "Hive affiliates", "HIVE operators",
                 "ransomware group Hive", "Hive's crew", "Hive extortion"):
        assert t.tag(text) == ["Hive"], text
    for text in ("a hive of activity", "Hive. Ransomware is next", "Hive, ransomware",
                 "Hive (ransomware)", "hive ransomware", "Hive is a honeycomb", "Hive"):
        assert t.tag(text) == [], text
    assert t.tag("Play a role; they play the Play ransomware") == ["Play"]
    assert t.tag("Royal Mail and the Royal crew") == ["Royal"]


def test_a_cue_at_either_end_of_a_list_puts_every_name_in_it_in_context() -> None:
    t = make([(n, n) for n in ("Hive", "Play", "Royal", "Akira", "Medusa", "LockBit")])
    every = ["Hive", "Play", "Royal"]
    for text in ("Hive, Play and Royal ransomware", "Hive, Play, and Royal ransomware",
                 "Hive, Play or Royal ransomware", "Hive & Play as well as Royal gangs",
                 "Hive, Play and Royal's affiliates", "ransomware groups Hive, Play and Royal",
                 "ransomware groups such as Hive, Play and Royal",
                 "gangs, including Hive, Play and Royal, struck"):
        assert t.tag(text) == every, text
    assert t.tag("the Akira and Medusa gangs") == ["Akira", "Medusa"]
    assert t.tag("LockBit, Hive and Royal ransomware") == ["LockBit", "Hive", "Royal"]
    # No cue beside the list, a name that is not an alias in it, or a name running on
    # into a capitalised word ("Royal Mail"): only what a cue reaches is tagged.
    for text in ("play a role", "a hive of activity", "Royal Mail", "the play and the hive",
                 "Hive, Play and Royal theatres", "Hive, Play and Royal. Ransomware is next",
                 "Hive, ransomware", "Play as well as Hive", "Hive (and Play) ransomware"):
        assert t.tag(text) == [], text
    assert t.tag("Royal Mail and Hive ransomware") == ["Hive"]
    assert t.tag("Hive, Royal Mail and Play ransomware") == ["Play"]
    assert t.tag("ransomware groups Hive and Royal Mail") == ["Hive"]
    assert t.tag("ransomware groups Hive, Play and Royal Mail") == ["Hive", "Play"]
    assert t.tag("ransomware gang Hive, then Play") == ["Hive"]


def test_tagger_pickles_for_worker_processes(tagger: ActorTagger) -> None:
    copy = pickle.loads(pickle.dumps(tagger))
    assert len(copy) == len(tagger) > 1000
    assert copy.tag(ARTICLES[0][1]) == ["APT29"]


def test_tagging_is_fast(tagger: ActorTagger) -> None:
    # The bench measures the real figure (bench/bench_catalogue.py); this only catches a
    # slide into per-alias scanning, with room for a busy CI machine.
    text = " ".join(text for _, text, _ in ARTICLES)
    text = (text + " ") * (5000 // len(text) + 1)
    runs = 50
    start = time.perf_counter()
    for _ in range(runs):
        tagger.tag(text)
    per_second = runs / (time.perf_counter() - start)
    assert per_second > 200
