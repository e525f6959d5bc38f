"""Full-text search of the store."""

from __future__ import annotations

from bot.services.errors import UserError
from storage.models import SearchHit
from storage.store import Store

MAX_QUERY = 200


class SearchService:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def search(
        self, query: str, *, limit: int = 10, offset: int = 0, guild_id: int | None = None
    ) -> list[SearchHit]:
        query = query.strip()
        if not query:
            raise UserError("Give some words to search for, e.g. `/search ransomware`.")
        if len(query) > MAX_QUERY:
            raise UserError(f"That search is too long (over {MAX_QUERY} characters).")
        if not any(ch.isalnum() for ch in query):
            raise UserError("Search for words or numbers; punctuation alone matches nothing.")
        return await self._store.search.search(
            query, limit=limit, offset=offset, guild_id=guild_id
        )
