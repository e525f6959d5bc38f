"""`secbrief search` says how many results match in all, beyond the page it prints:
the text's first line, and `total` beside `count` in --json."""

from __future__ import annotations

import json

from tests.cli import secbrief
from tests.conftest import FIXTURES

ARTICLES = sorted((FIXTURES / "articles").iterdir())


def test_search_text_and_json_carry_the_total(env):
    done = secbrief(env, "import", *map(str, ARTICLES), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["added"] == len(ARTICLES)

    text = secbrief(env, "search", "the", "--limit", "3")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0] == (
        f"{len(ARTICLES)} results for “the” (the newest 3 shown), newest first:")

    page = json.loads(secbrief(env, "search", "the", "--limit", "3", "--json").stdout)
    assert (page["count"], page["total"], len(page["results"])) == (3, len(ARTICLES), 3)

    whole = json.loads(secbrief(env, "search", "the", "--json").stdout)
    assert whole["count"] == whole["total"] == len(ARTICLES)

    none = json.loads(secbrief(env, "search", "zzzunmatched", "--json").stdout)
    assert (none["count"], none["total"], none["results"]) == (0, 0, [])
