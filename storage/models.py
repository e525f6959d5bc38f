"""Typed records the repositories return. Free of SQLite types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from storage.vuln_models import CveContext


@dataclass(slots=True)
class NewArticle:
    """An article ready to store (already cleaned, tagged and summarised)."""

    source: str
    title: str
    url: str | None = None
    guid: str | None = None
    import_key: str | None = None
    feed_id: int | None = None
    lead: str = ""
    text: str = ""
    published_at: datetime | None = None
    key_points: list[str] = field(default_factory=list)
    commentary: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    actors: list[str] = field(default_factory=list)
    cves: list[str] = field(default_factory=list)
    vendors: list[str] = field(default_factory=list)
    orgs: list[str] = field(default_factory=list)
    simhash: int = 0
    content_hash: str = ""
    scope_guild: int = 0  # 0: public; else only that guild sees it (its own feed)


@dataclass(slots=True)
class Article:
    id: int
    source: str
    title: str
    url: str | None
    guid: str | None
    published_at: datetime | None
    fetched_at: datetime
    lead: str
    text: str
    key_points: list[str]
    commentary: list[str]
    references: list[str]
    story_id: int | None
    simhash: int
    content_hash: str
    feed_id: int | None = None
    actors: list[str] = field(default_factory=list)
    cves: list[str] = field(default_factory=list)
    vendors: list[str] = field(default_factory=list)
    orgs: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ArticleRef:
    """A light view of an article for lists and lookups."""

    id: int
    title: str
    url: str | None
    source: str
    published_at: datetime | None
    story_id: int | None


@dataclass(slots=True)
class Story:
    id: int
    title: str
    first_seen: datetime
    updated_at: datetime
    published_at: datetime | None
    commentary: list[str]
    articles: list[Article] = field(default_factory=list)

    @property
    def lead_article(self) -> Article:
        return self.articles[0]

    @property
    def sources(self) -> list[str]:
        seen: list[str] = []
        for article in self.articles:
            if article.source not in seen:
                seen.append(article.source)
        return seen

    @property
    def actors(self) -> list[str]:
        return _union(a.actors for a in self.articles)

    @property
    def cves(self) -> list[str]:
        return _union(a.cves for a in self.articles)

    @property
    def vendors(self) -> list[str]:
        return _union(a.vendors for a in self.articles)


@dataclass(slots=True)
class StoryOutline:
    """A story without its articles' text: what commentary and ranking need."""

    id: int
    title: str
    first_seen: datetime
    published_at: datetime | None
    sources: list[str]
    actors: list[str]
    cves: list[str]
    vendors: list[str]


def _union(lists) -> list[str]:
    out: list[str] = []
    for values in lists:
        for value in values:
            if value not in out:
                out.append(value)
    return out


@dataclass(slots=True)
class ClusterCandidate:
    """The little of an article that story clustering compares."""

    id: int
    story_id: int
    title: str
    simhash: int
    published_at: datetime | None
    actors: set[str]
    cves: set[str]


@dataclass(slots=True)
class SearchHit:
    article: ArticleRef
    snippet: str
    tier: int  # 0: every word in the title or key points; 1: elsewhere in the article
    text: str = field(default="", repr=False)  # the article's text, to choose a snippet from
    cve_context: list[CveContext] = field(default_factory=list)  # its CVEs (services fill it)


@dataclass(slots=True)
class SearchPage:
    """One page of search results and how many there are in all."""

    hits: list[SearchHit]
    total: int
    offset: int = 0


@dataclass(slots=True)
class Feed:
    id: int
    url: str
    guild_id: int
    title: str | None
    etag: str | None
    last_modified: str | None
    failures: int
    next_poll_at: datetime | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    disabled: bool
    added_by: int | None
    notify_channel_id: int | None
    one_off: bool = False  # kept only for a one-off poll's validators; never polled


@dataclass(slots=True)
class Subscription:
    id: int
    guild_id: int
    owner_id: int
    target_kind: str  # "user" | "channel"
    target_id: int
    kind: str  # actor | cve | vendor | keyword | source
    value: str
    display: str
    created_at: datetime
    alias: str | None = None  # the name the owner typed, when it differs from display


@dataclass(slots=True)
class MatchReason:
    """Why a story reached a target: one subscription that matched it, as it was then."""

    subscription_id: int
    kind: str
    display: str
    alias: str | None = None


@dataclass(slots=True)
class Schedule:
    channel_id: int
    guild_id: int
    local_time: str  # HH:MM
    timezone: str
    filters: dict
    created_by: int
    last_sent_at: datetime | None
    paused: bool
    paused_reason: str | None
    created_at: datetime | None = None  # when the channel first got a schedule


@dataclass(slots=True)
class Batch:
    """One round's delivery to one target and the stories it carries."""

    id: int
    purpose: str  # alert | briefing
    target_kind: str
    target_id: int
    status: str
    attempts: int
    sent_parts: int
    story_ids: list[int]
    last_error: str | None = None
    message_id: int | None = None
    created_at: datetime | None = None
    period_start: datetime | None = None  # a briefing covers period_start → created_at
    header_message_id: int | None = None  # a digest's header, once Discord accepted it
    cards_channel_id: int | None = None  # where a digest's cards go: its thread, or the
    # channel itself when threads were refused

    def nonce(self, part: int) -> str:
        # Stable across retries and restarts: Discord drops a repeat of the same nonce
        # from the same author in the same channel (enforce_nonce), closing the window
        # between "sent" and "recorded as sent". At most 25 characters.
        return f"sb{self.id}p{part}"
