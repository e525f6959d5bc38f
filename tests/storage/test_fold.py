"""PostgreSQL's secbrief_fold (migrations postgres/001 and 021): its fast path (text
with none of the accented letters) folds exactly as the full accent table does."""

from __future__ import annotations

import pytest

from storage.store import Store

POSTGRES_ONLY = [pytest.param("postgres", marks=pytest.mark.postgres)]
ACCENTED = ("ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖØòóôõöøÙÚÛÜùúûüÝýÿŠšŽžČčĆćŁłŃńŚśŹźŻżĘęĄą"
            "ŐőŰű")
FOLDED = "AAAAAAaaaaaaCcEEEEeeeeIIIIiiiiNnOOOOOOooooooUUUUuuuuYyySsZzCcCcLlNnSsZzZzEeAaOoUu"


@pytest.mark.parametrize("backend", POSTGRES_ONLY)
async def test_each_letter_folds_alone_and_beside_plain_text(store: Store):
    fold = "SELECT secbrief_fold(?)"
    for letter, plain in zip(ACCENTED, FOLDED, strict=True):
        assert await store.db.fetchval(fold, (letter,)) == plain
        # the same letter inside text that takes each path
        assert await store.db.fetchval(fold, (f"CVE-2024-3400 {letter}_x/y’",)) == (
            f"CVE 2024 3400 {plain} x y’")
    for text in ("CVE-2024-3400 in a_b/c", "“Quoted” — dashes – and ’", "", "plain"):
        assert await store.db.fetchval(fold, (text,)) == (
            text.replace("-", " ").replace("_", " ").replace("/", " "))


@pytest.mark.parametrize("backend", POSTGRES_ONLY)
async def test_searches_still_find_accented_and_plain_spellings(store: Store, clock):
    from storage.models import NewArticle

    await store.articles.add(NewArticle(
        source="Wire", title="Łódź utility hit", url="https://news.example/lodz",
        text="Attackers hit the Łódź water utility’s network.", content_hash="l"),
        story_id=None, now=clock())
    for query in ("Lodz", "Łódź", "lodz water"):
        assert [h.article.title for h in await store.search.search(query)] == [
            "Łódź utility hit"], query
