"""Full-text search of the store."""

from __future__ import annotations

from dataclasses import replace

from bot.services.cves import cve_contexts
from bot.services.errors import UserError
from bot.services.snippets import choose_snippets
from storage.models import SearchHit, SearchPage
from storage.store import Store

MAX_QUERY = 200
MAX_LIMIT = 100


class SearchService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def page(
        self, query: str, *, limit: int = 10, offset: int = 0, guild_id: int | None = None
    ) -> SearchPage:
        """One page of results, newest first, with the total number of matches; each
        hit's snippet comes from its own text (see bot.services.snippets)."""
        query = query.strip()
        if not query:
            raise UserError("Give some words to search for, e.g. `/search ransomware`.")
        if len(query) > MAX_QUERY:
            raise UserError(f"That search is too long (over {MAX_QUERY} characters).")
        if not any(ch.isalnum() for ch in query):
            raise UserError("Search for words or numbers; punctuation alone matches nothing.")
        if offset < 0 or not 1 <= limit <= MAX_LIMIT:
            raise UserError(f"No such page of results (1–{MAX_LIMIT} a page, from the first).")
        found = await self._store.search.page(
            query, limit=limit, offset=offset, guild_id=guild_id
        )
        snippets = choose_snippets(query, [hit.text for hit in found.hits])
        cves = await self._store.articles.tag_values_of([h.article.id for h in found.hits],
                                                        "cve")
        contexts = await cve_contexts(self._store, (c for ids in cves.values() for c in ids))
        found.hits = [replace(hit, snippet=snippet, text="", cve_context=[
                          contexts[c] for c in cves.get(hit.article.id, [])])
                      for hit, snippet in zip(found.hits, snippets, strict=True)]
        return found

    async def search(
        self, query: str, *, limit: int = 10, offset: int = 0, guild_id: int | None = None
    ) -> list[SearchHit]:
        return (await self.page(query, limit=limit, offset=offset, guild_id=guild_id)).hits
