"""What a digest says: read from the archive, independent of how it is sent.

Two questions live here:

* which articles a delivery should cover (``uncovered_article_ids``): those
  matching the digest's filter that no earlier delivery of this digest on this
  channel already holds in ``digest_items`` — the items table, not a
  timestamp, is the watermark, so an article archived while a send was in
  flight is neither skipped nor repeated;
* what to say about them (``build_content``): entries grouped by theme and
  known event, copies collapsed under the cluster's first-seen article, then
  new event candidates and contradictions found in those articles, then the
  sources that are failing.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsmon.config import Config, Digest
from storage.models import (
    Article,
    ArticleTopic,
    CandidateSource,
    Contradiction,
    CrawlRun,
    DigestDelivery,
    DigestItem,
    Event,
    EventCandidate,
    EventMention,
    Source,
    ThemeMatch,
    utcnow,
)

# A new digest on an old archive starts with the last week, not with years of articles.
FIRST_DELIVERY_LOOKBACK = timedelta(days=7)
SNIPPET_SENTENCES = 3
SNIPPET_MAX_CHARS = 420
NO_THEME = "Other articles"

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”»)]?\s+(?=[\"'“«(¿¡]?[A-ZÁÉÍÓÚÑÜ0-9])")


@dataclass
class Entry:
    """One story: the first-seen article of its cluster among this delivery's articles."""

    article_id: int
    title: str
    source: str
    url: str
    published_at: datetime | None
    first_seen: datetime
    snippet: str
    also_reported: list[tuple[str, str]] = field(default_factory=list)  # (outlet, url)
    themes: list[str] = field(default_factory=list)
    event: str | None = None


@dataclass
class EventGroup:
    title: str | None  # the known event's title; None for stories tied to no known event
    entries: list[Entry]


@dataclass
class Section:
    theme: str
    groups: list[EventGroup]

    @property
    def entries(self) -> list[Entry]:
        return [entry for group in self.groups for entry in group.entries]


@dataclass
class CandidateItem:
    title: str
    date: str | None
    reports: int
    sources: list[str]


@dataclass
class ContradictionItem:
    kind: str
    fact: str
    stated_value: str
    known_value: str
    sentence: str
    source: str
    title: str
    url: str
    event: str | None


@dataclass
class FailingSource:
    name: str
    since: datetime
    failed_runs: int
    last_error: str | None


@dataclass
class DigestContent:
    digest: str
    delivery_key: str
    generated_at: datetime
    sections: list[Section] = field(default_factory=list)
    followups: list[Entry] = field(default_factory=list)  # stories sent earlier, now reported by more outlets
    candidates: list[CandidateItem] = field(default_factory=list)
    contradictions: list[ContradictionItem] = field(default_factory=list)
    failing_sources: list[FailingSource] = field(default_factory=list)
    article_ids: list[int] = field(default_factory=list)
    new_failures: bool = False  # a source started failing since the last delivery

    @property
    def entries(self) -> list[Entry]:
        return [entry for section in self.sections for entry in section.entries]

    @property
    def is_empty(self) -> bool:
        """Nothing worth a message: no stories, no candidates or contradictions,
        and no source that started failing since the last delivery."""
        return not (self.article_ids or self.candidates or self.contradictions or self.new_failures)

    @property
    def title(self) -> str:
        return f"newsmon digest {self.digest}: {len(self.entries)} stories ({self.generated_at:%Y-%m-%d %H:%M} UTC)"


# --- which articles -----------------------------------------------------------------


def _filter_conditions(digest: Digest) -> list:
    flt = digest.filter
    conditions = []
    if flt.sources:
        conditions.append(Source.name.in_(flt.sources))
    topic_rows = select(ArticleTopic.article_id).where(ArticleTopic.relevant.is_(True))
    if flt.min_relevance > 0:
        topic_rows = topic_rows.where(ArticleTopic.score >= flt.min_relevance)
    if flt.topics:
        topic_rows = topic_rows.where(ArticleTopic.topic.in_(flt.topics))
    if flt.themes:
        conditions.append(Article.id.in_(
            topic_rows.join(ThemeMatch, ThemeMatch.article_topic_id == ArticleTopic.id)
            .where(ThemeMatch.theme.in_(flt.themes))
        ))
    elif flt.topics or flt.min_relevance > 0:
        conditions.append(Article.id.in_(topic_rows))
    else:
        # No topic filter: everything except what classification ruled irrelevant.
        conditions.append(Article.relevant.is_not(False))
    return conditions


def uncovered_article_ids(session: Session, digest: Digest, channel: str, now: datetime | None = None) -> list[int]:
    """Articles matching the digest's filter that no delivery of this digest on
    this channel holds yet (pending, failed or delivered), oldest first."""
    now = now or utcnow()
    covered = (
        select(DigestItem.article_id)
        .join(DigestDelivery, DigestDelivery.id == DigestItem.delivery_id)
        .where(DigestDelivery.digest == digest.name, DigestDelivery.channel == channel)
    )
    query = (
        select(Article.id)
        .join(Source, Source.id == Article.source_id)
        .where(Article.first_seen >= now - FIRST_DELIVERY_LOOKBACK, Article.id.not_in(covered),
               *_filter_conditions(digest))
        .order_by(Article.first_seen, Article.id)
    )
    return list(session.scalars(query))


# --- what to say about them ------------------------------------------------------------


def snippet(text: str | None, description: str | None = None) -> str:
    """The first two or three sentences of the article (its lead), else its description."""
    body = " ".join((text or "").split()) or " ".join((description or "").split())
    if not body:
        return ""
    sentences = _SENTENCE_END.split(body)
    chosen: list[str] = []
    for sentence in sentences[:SNIPPET_SENTENCES]:
        if chosen and len(" ".join(chosen + [sentence])) > SNIPPET_MAX_CHARS:
            break
        chosen.append(sentence)
    out = " ".join(chosen)
    if len(out) > SNIPPET_MAX_CHARS:
        out = out[:SNIPPET_MAX_CHARS].rsplit(" ", 1)[0] + " …"
    return out


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _themes_by_article(session: Session, ids: list[int], digest: Digest) -> dict[int, list[str]]:
    """Theme names per article, best score first, limited to the digest's topics/themes."""
    out: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for chunk in _chunks(ids):
        query = (
            select(ArticleTopic.article_id, ThemeMatch.theme, ThemeMatch.score)
            .join(ThemeMatch, ThemeMatch.article_topic_id == ArticleTopic.id)
            .where(ArticleTopic.article_id.in_(chunk))
        )
        if digest.filter.topics:
            query = query.where(ArticleTopic.topic.in_(digest.filter.topics))
        if digest.filter.themes:
            query = query.where(ThemeMatch.theme.in_(digest.filter.themes))
        for article_id, theme, score in session.execute(query):
            out[article_id].append((score, theme))
    return {aid: list(dict.fromkeys(t for _, t in sorted(pairs, key=lambda p: (-p[0], p[1]))))
            for aid, pairs in out.items()}


def _events_by_article(session: Session, ids: list[int]) -> dict[int, str]:
    """The known event each article mentions most confidently."""
    best: dict[int, tuple[float, str]] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(EventMention.article_id, Event.title, EventMention.confidence)
            .join(Event, Event.id == EventMention.event_id)
            .where(EventMention.article_id.in_(chunk))
        )
        for article_id, title, confidence in rows:
            if article_id not in best or confidence > best[article_id][0]:
                best[article_id] = (confidence, title)
    return {aid: title for aid, (_, title) in best.items()}


def _heads_sent_earlier(session: Session, heads: set[int], digest: str, channel: str | None,
                        ids: list[int]) -> set[int]:
    """Cluster heads an earlier delivery of this digest and channel already covered."""
    heads = heads - set(ids)
    if not heads or channel is None:
        return set()
    return set(session.scalars(
        select(DigestItem.article_id).join(DigestDelivery, DigestDelivery.id == DigestItem.delivery_id)
        .where(DigestDelivery.digest == digest, DigestDelivery.channel == channel,
               DigestItem.article_id.in_(list(heads)))
    ))


def _entry(article: Article, source: str, themes: dict, events: dict) -> Entry:
    return Entry(
        article_id=article.id, title=article.title or article.url, source=source, url=article.url,
        published_at=article.published_at, first_seen=article.first_seen,
        snippet=snippet(article.text, article.description), themes=list(themes.get(article.id, [])),
        event=events.get(article.id),
    )


def _entries(session: Session, ids: list[int], digest: Digest,
             channel: str | None = None) -> tuple[list[Entry], list[Entry]]:
    """One entry per cluster, headed by the earliest-seen article; the others
    are 'also reported by'. Copies of a story an earlier delivery already sent
    come back separately, as that story with its new outlets (follow-ups), so
    the story is not told twice."""
    rows = []
    for chunk in _chunks(ids):
        rows += session.execute(
            select(Article, Source.name).join(Source, Source.id == Article.source_id).where(Article.id.in_(chunk))
        ).all()
    rows.sort(key=lambda r: (r[0].first_seen, r[0].id))
    themes = _themes_by_article(session, ids, digest)
    events = _events_by_article(session, ids)
    earlier = _heads_sent_earlier(session, {a.cluster_id for a, _ in rows if a.cluster_id}, digest.name, channel, ids)
    by_cluster: dict[int, Entry] = {}
    entries: list[Entry] = []
    followups: list[Entry] = []
    for article, source in rows:
        key = article.cluster_id or article.id
        head = by_cluster.get(key)
        if head is None and key in earlier:
            first, first_source = session.execute(
                select(Article, Source.name).join(Source, Source.id == Article.source_id).where(Article.id == key)
            ).one()
            head = by_cluster[key] = _entry(first, first_source, {}, {})
            followups.append(head)
        if head is not None:
            if (source, article.url) not in head.also_reported:
                head.also_reported.append((source, article.url))
            for theme in themes.get(article.id, []):
                if theme not in head.themes:
                    head.themes.append(theme)
            head.event = head.event or events.get(article.id)
            continue
        entry = by_cluster[key] = _entry(article, source, themes, events)
        entries.append(entry)
    return entries, followups


def _sections(entries: list[Entry], digest: Digest) -> list[Section]:
    """Entries under their best theme (in the order the digest lists themes), then by known event."""
    grouped: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        grouped[entry.themes[0] if entry.themes else NO_THEME].append(entry)
    order = {theme: i for i, theme in enumerate(digest.filter.themes)}
    names = sorted(grouped, key=lambda t: (t == NO_THEME, order.get(t, len(order)), -len(grouped[t]), t))
    sections = []
    for name in names:
        by_event: dict[str | None, list[Entry]] = defaultdict(list)
        for entry in grouped[name]:
            by_event[entry.event].append(entry)
        keys = sorted(by_event, key=lambda e: (e is None, e or ""))
        sections.append(Section(theme=name, groups=[EventGroup(title=k, entries=by_event[k]) for k in keys]))
    return sections


def _candidates(session: Session, ids: list[int]) -> list[CandidateItem]:
    """Open event candidates with evidence in this delivery's articles."""
    found: dict[int, CandidateItem] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(EventCandidate, Source.name)
            .join(CandidateSource, CandidateSource.candidate_id == EventCandidate.id)
            .join(Article, Article.id == CandidateSource.article_id)
            .join(Source, Source.id == Article.source_id)
            .where(CandidateSource.article_id.in_(chunk), EventCandidate.status == "open")
        ).all()
        for candidate, source in rows:
            item = found.setdefault(candidate.id, CandidateItem(
                title=candidate.title, date=candidate.date_start.isoformat() if candidate.date_start else None,
                reports=0, sources=[]))
            item.reports += 1
            if source not in item.sources:
                item.sources.append(source)
    return sorted(found.values(), key=lambda c: (-len(c.sources), c.date or "", c.title))


def _contradictions(session: Session, ids: list[int]) -> list[ContradictionItem]:
    out = []
    for chunk in _chunks(ids):
        rows = session.execute(
            select(Contradiction, Article.title, Article.url, Source.name, Event.title)
            .join(Article, Article.id == Contradiction.article_id)
            .join(Source, Source.id == Article.source_id)
            .outerjoin(Event, Event.id == Contradiction.event_id)
            .where(Contradiction.article_id.in_(chunk))
            .order_by(Contradiction.id)
        ).all()
        for c, title, url, source, event in rows:
            out.append(ContradictionItem(kind=c.kind, fact=c.fact, stated_value=c.stated_value,
                                         known_value=c.known_value, sentence=c.sentence, source=source,
                                         title=title or url, url=url, event=event))
    return out


def failure_streak(session: Session, source_name: str) -> list[tuple[datetime, str | None]]:
    """The source's consecutive failed runs, newest first, as (started_at, message).

    Interrupted runs (a stopped service) neither break nor extend a streak."""
    runs = session.execute(
        select(CrawlRun.status, CrawlRun.started_at, CrawlRun.message)
        .join(Source, Source.id == CrawlRun.source_id)
        .where(Source.name == source_name, CrawlRun.status.in_(("ok", "partial", "failed")))
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc()).limit(200)
    ).all()
    streak = []
    for status, started_at, message in runs:
        if status != "failed":
            break
        streak.append((started_at, message))
    return streak


def failing_sources(session: Session, config: Config) -> list[FailingSource]:
    """Configured sources whose last ``crawl.feed_failure_limit`` runs (or more) all failed.

    'Failing since' is the start of the first failed run of the current streak."""
    out = []
    for source in config.sources:
        streak = failure_streak(session, source.name)
        if len(streak) >= config.crawl.feed_failure_limit:
            out.append(FailingSource(name=source.name, since=streak[-1][0], failed_runs=len(streak),
                                     last_error=streak[0][1]))
    return out


def last_delivered_at(session: Session, digest: str, channel: str) -> datetime | None:
    return session.scalar(
        select(DigestDelivery.delivered_at)
        .where(DigestDelivery.digest == digest, DigestDelivery.channel == channel,
               DigestDelivery.status == "delivered")
        .order_by(DigestDelivery.delivered_at.desc()).limit(1)
    )


def build_content(session: Session, config: Config, digest: Digest, article_ids: list[int],
                  delivery_key: str, channel: str | None = None, now: datetime | None = None) -> DigestContent:
    """Everything one delivery says about ``article_ids``."""
    now = now or utcnow()
    entries, followups = _entries(session, article_ids, digest, channel)
    failing = failing_sources(session, config)
    since = last_delivered_at(session, digest.name, channel) if channel else None
    return DigestContent(
        digest=digest.name, delivery_key=delivery_key, generated_at=now,
        sections=_sections(entries, digest), followups=followups,
        candidates=_candidates(session, article_ids) if digest.filter.include_candidates else [],
        contradictions=_contradictions(session, article_ids) if digest.filter.include_contradictions else [],
        failing_sources=failing, article_ids=list(article_ids),
        new_failures=any(since is None or f.since > since for f in failing),
    )


__all__ = [
    "DigestContent", "Entry", "Section", "EventGroup", "CandidateItem", "ContradictionItem", "FailingSource",
    "uncovered_article_ids", "build_content", "failing_sources", "failure_streak", "snippet",
]
