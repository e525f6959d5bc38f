"""JSON documents for the CLI's --json output (one document per command)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from bot.services.actors import ActorLookup
from bot.services.cves import CveLookup
from storage.models import ArticleRef, SearchPage
from storage.vuln_models import CveContext, CvssScore, EpssScore, KevEntry

if TYPE_CHECKING:
    from bot.services.briefings import Briefing


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
            related=actor.related,
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


def search_page(query: str, found: SearchPage) -> dict:
    """``count``: the results in this document; ``total``: every match in the store."""
    hits = found.hits
    return {
        "query": query,
        "count": len(hits),
        "total": max(found.total, len(hits)),
        "results": [{**article_ref(h.article), "snippet": h.snippet,
                     "cve_context": [cve_context(c) for c in h.cve_context]} for h in hits],
    }


# -- vulnerability context: one shape wherever a CVE appears ---------------------------------


def kev(entry: KevEntry | None) -> dict | None:
    if entry is None:
        return None
    return {
        "date_added": entry.date_added.isoformat(),
        "due_date": entry.due_date.isoformat() if entry.due_date else None,
        "vendor": entry.vendor,
        "product": entry.product,
        "name": entry.name,
        "required_action": entry.required_action,
        "known_ransomware": entry.known_ransomware,
        "description": entry.description,
    }


def epss(score: EpssScore | None) -> dict | None:
    if score is None:
        return None
    return {"score": score.score, "percentile": score.percentile,
            "date": score.date.isoformat()}


def cvss(score: CvssScore | None) -> dict | None:
    if score is None:
        return None
    return {"score": score.score, "severity": score.severity, "vector": score.vector,
            "source": score.source}


def cve_context(context: CveContext) -> dict:
    return {"id": context.id, "kev": kev(context.kev), "epss": epss(context.epss),
            "cvss": cvss(context.cvss)}


def cve_lookup(lookup: CveLookup) -> dict:
    """`secbrief cve ID --json`: the context, then the stories naming it, newest first
    (each story's newest article: ``id`` is the article's, as in `actor --json`)."""
    return {
        **cve_context(lookup.context),
        "name": lookup.name,
        "description": lookup.description or None,
        "vendor": lookup.vendor,
        "product": lookup.product,
        "stored_articles": lookup.stored_articles,
        "first_seen": lookup.first_seen,
        "last_seen": lookup.last_seen,
        "stories": [article_ref(a) for a in lookup.stories],
    }


def briefing(value: Briefing) -> dict:
    """`secbrief briefing --json`: each item with ``cve_context`` in the shape above."""
    data = value.as_dict()
    for item, shaped in zip(value.items, data["items"], strict=True):
        shaped["cve_context"] = [cve_context(c) for c in item.cve_context]
    return data
