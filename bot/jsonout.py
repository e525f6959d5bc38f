"""JSON documents for the CLI's --json output (one document per command)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from bot.services.actors import ActorLookup
from storage.models import ArticleRef, SearchHit


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def article_ref(ref: ArticleRef) -> dict:
    return {
        "id": ref.id,
        "title": ref.title,
        "url": ref.url,
        "source": ref.source,
        "published_at": ref.published_at.isoformat() if ref.published_at else None,
        "story_id": ref.story_id,
    }


def actor_lookup(lookup: ActorLookup) -> dict:
    data: dict[str, Any] = {"query": lookup.query, "status": lookup.status}
    if lookup.profile:
        profile = lookup.profile
        actor = profile.actor
        data.update(
            name=actor.name,
            aliases=actor.aliases,
            schemes=actor.schemes,
            country=actor.country,
            description=actor.description,
            refs=actor.refs,
            mitre_id=actor.mitre_id,
            origin=actor.origin,
            stored_articles=profile.total,
            first_seen=profile.first_seen,
            last_seen=profile.last_seen,
            articles=[article_ref(a) for a in profile.articles],
            weekly_mentions=[{"week": week, "count": n} for week, n in profile.weekly],
        )
    else:
        data.update(
            candidates=[
                {"name": a.name, "country": a.country, "aliases": a.aliases[:10]}
                for a in lookup.candidates
            ],
            suggestions=lookup.suggestions,
            mentions=lookup.mentions,
            organisation=(
                {"name": lookup.organisation[0], "linked_actor": lookup.organisation[1]}
                if lookup.organisation else None
            ),
        )
    return data


def search_hits(query: str, hits: list[SearchHit]) -> dict:
    return {
        "query": query,
        "count": len(hits),
        "results": [{**article_ref(h.article), "snippet": h.snippet} for h in hits],
    }
