"""Snippet choice without a store: the sentence holding the query's words, including
words that match only through their stems."""

from __future__ import annotations

from bot.intel.fingerprint import stem
from bot.services.snippets import choose_snippets

WORDS = (
    "vulnerabilities", "vulnerability", "applied", "apply", "patches", "patched",
    "patching", "targetted", "stopped", "exploits", "exploitation", "studies", "hackers",
    "access", "virus", "analysis", "buses", "fixes", "released", "use", "us", "ios", "2024",
    "flyyies", "speeds", "agreed", "queued", "ransomware",
)


def test_a_stem_less_its_last_letter_begins_the_word():
    # choose_snippets only stems the sentences that hold some term less its last letter;
    # that skips no match as long as this holds for every word.
    for word in WORDS:
        assert word.startswith(stem(word)[:-1]), word


def test_words_that_match_only_by_stem_choose_their_sentence():
    texts = ["The vendor shipped a fix on Monday. Customers applied it within days. "
             "Nothing else changed.",
             "Three studies were published. Two vulnerabilities were found in routers."]
    assert choose_snippets("apply", texts) == ["Customers applied it within days.",
                                               "Three studies were published."]
    assert choose_snippets("vulnerability study", texts)[1] == (
        "Three studies were published.")
    assert choose_snippets("vulnerability router", texts)[1] == (
        "Two vulnerabilities were found in routers.")
