"""`secbrief forget`: remove an article everywhere, by id or URL, and say what went."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.news.canonical import canonical_url
from bot.services.commentary import CommentaryService
from bot.services.errors import UserError
from storage.forget import Forgotten
from storage.store import Store

_ID = re.compile(r"#?(\d{1,18})")


@dataclass(slots=True)
class ForgetReport:
    removed: Forgotten
    commentary_refreshed: bool

    @property
    def story_id(self) -> int | None:
        return self.removed.article.story_id

    def as_dict(self) -> dict[str, Any]:
        a, f = self.removed.article, self.removed
        return {
            "removed": {
                "id": a.id, "title": a.title, "url": a.url, "source": a.source,
                "published_at": a.published_at.isoformat() if a.published_at else None,
            },
            "story_id": a.story_id,
            "story_removed": f.story_removed,
            "story_articles_left": f.story_articles_left,
            "tags_removed": f.tags_removed,
            "pending_deliveries_removed": f.pending_deliveries_removed,
            "pending_batches_removed": f.pending_batches_removed,
            "commentary_refreshed": self.commentary_refreshed,
        }

    def text(self) -> str:
        a, f = self.removed.article, self.removed
        lines = [f"Forgot article {a.id}: {a.title}" + (f" <{a.url}>" if a.url else "")]
        if f.story_removed:
            story = f"its story {a.story_id} is gone"
            if f.pending_deliveries_removed:
                pending = f.pending_deliveries_removed
                story += f", with {pending} pending deliver{'y' if pending == 1 else 'ies'}"
            lines.append(f"  {story}.")
        elif a.story_id is not None:
            left = f.story_articles_left
            lines.append(f"  its story {a.story_id} keeps {left} other article"
                         f"{'s' if left != 1 else ''}; its commentary was refreshed.")
        tags = f.tags_removed
        lines.append(f"  removed from search and from {tags} tag count{'' if tags == 1 else 's'}.")
        return "\n".join(lines)


class ForgetService:
    def __init__(self, store: Store, *, commentary: CommentaryService) -> None:
        self._store = store
        self._commentary = commentary

    async def resolve(self, target: str) -> int:
        """The stored article an id (``12``, ``#12``) or a URL names; UserError if none."""
        target = target.strip()
        if not target:
            raise UserError("Give the article's id or URL, e.g. `secbrief forget 12` "
                            "(`secbrief search --json` shows ids).")
        if m := _ID.fullmatch(target):
            found = await self._store.forget.find(article_id=int(m.group(1)))
            if found is None:
                raise UserError(f"No stored article has id {m.group(1)}; "
                                "`secbrief search --json` shows ids.")
            return found
        if not target.lower().startswith(("http://", "https://")):
            raise UserError(f"{target[:80]!r} is neither an article id nor an http(s) URL.")
        try:
            url = canonical_url(target)
        except ValueError as exc:
            raise UserError(f"That is not a valid URL: {exc}") from exc
        found = await self._store.forget.find(url=url)
        if found is None and url != target:
            found = await self._store.forget.find(url=target)
        if found is None:
            raise UserError(f"No stored article has the URL {url}.")
        return found

    async def forget(self, target: str) -> ForgetReport:
        """Remove the article ``target`` names from briefings, search, actor counts, its
        story and pending deliveries. Unknown → UserError, nothing changed."""
        article_id = await self.resolve(target)
        removed = await self._store.forget.forget(article_id)
        if removed is None:  # forgotten meanwhile by another process
            raise UserError(f"No stored article has id {article_id}.")
        refreshed = False
        if removed.article.story_id is not None and not removed.story_removed:
            await self._commentary.refresh(removed.article.story_id)
            refreshed = True
        return ForgetReport(removed=removed, commentary_refreshed=refreshed)
