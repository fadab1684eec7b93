"""What a digest says: read from the archive, independent of how it is sent.

Two questions live here:

* which articles a delivery should cover (``uncovered_article_ids``): those
  matching the digest's filter that no earlier delivery of this digest on this
  channel already holds in ``digest_items`` — the items table, not a
  timestamp, is the watermark, so an article archived while a send was in
  flight is neither skipped nor repeated;
* what to say about them (``build_content``): entries grouped by theme and
  known event, copies collapsed under the cluster's first-seen article, then
  edits of earlier stories (changed sentences), new event candidates and
  contradictions found in those articles, then the sources that are failing.

Links are canonical (``crawler.urls``: no tracking parameters); times are
shown in the digest's ``timezone`` (stored times are UTC).
"""
from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from crawler.config import Config, Digest
from crawler.urls import canonicalize_url
from storage.models import (
    Article,
    ArticleTopic,
    ArticleVersion,
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
PREVIEW_KEY = "(new)"  # the delivery key of a dry run (no delivery row yet)
EDIT_SENTENCES = 3  # changed sentences shown per edited article

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
    updated_at: datetime | None = None  # when its newest version was fetched (Atom's <updated>)


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
    kind: str  # timeline | internal | article
    fact: str
    stated_value: str
    known_value: str
    sentence: str
    source: str
    title: str
    url: str
    event: str | None
    article_id: int | None = None
    other_sentence: str | None = None
    known_source: str | None = None  # the timeline's source for the known value
    other_source: str | None = None  # kind 'article': the outlet that says otherwise
    other_url: str | None = None

    @property
    def wording(self) -> str:
        """What disagrees with what, worded as ``newsmon report`` words it."""
        if self.kind == "timeline":
            source = f" ({self.known_source})" if self.known_source else ""
            return f"{self.source} states {self.stated_value}, the timeline says {self.known_value}{source}"
        if self.kind == "internal":
            return f"{self.source} states both {self.stated_value} and {self.known_value} in one article"
        other = self.other_source or "another article"
        return f"{self.source} states {self.stated_value}, {other} says {self.known_value}"


@dataclass
class EditItem:
    """An article archived earlier whose text changed (a new version) since the last delivery."""

    article_id: int
    title: str
    source: str
    url: str
    version: int
    edited_at: datetime
    removed: list[str] = field(default_factory=list)  # sentences of the previous version no longer there
    added: list[str] = field(default_factory=list)  # sentences new in this version


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
    edits: list[EditItem] = field(default_factory=list)
    timezone: str = "UTC"

    def local(self, moment: datetime | None) -> datetime | None:
        """A stored (naive UTC) time in the digest's time zone."""
        if moment is None:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(ZoneInfo(self.timezone))

    def when(self, moment: datetime | None) -> str:
        """``2025-11-20 09:20 America/Bogota``-style, for the templates."""
        local = self.local(moment)
        return f"{local:%Y-%m-%d %H:%M}" if local else ""

    @property
    def is_preview(self) -> bool:
        return self.delivery_key == PREVIEW_KEY

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
        return f"newsmon digest {self.digest}: {len(self.entries)} stories ({self.when(self.generated_at)} {self.timezone})"


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
        article_id=article.id, title=article.title or article.url, source=source,
        url=canonicalize_url(article.url), published_at=article.published_at, first_seen=article.first_seen,
        snippet=snippet(article.text, article.description), themes=list(themes.get(article.id, [])),
        event=events.get(article.id),
    )


def _newest_versions(session: Session, ids: list[int]) -> dict[int, datetime]:
    out: dict[int, datetime] = {}
    for chunk in _chunks(ids):
        out.update(session.execute(select(ArticleVersion.article_id, func.max(ArticleVersion.fetched_at))
                                   .where(ArticleVersion.article_id.in_(chunk))
                                   .group_by(ArticleVersion.article_id)).all())
    return out


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
    newest = _newest_versions(session, ids + sorted(earlier))
    for article, source in rows:
        key = article.cluster_id or article.id
        head = by_cluster.get(key)
        if head is None and key in earlier:
            first, first_source = session.execute(
                select(Article, Source.name).join(Source, Source.id == Article.source_id).where(Article.id == key)
            ).one()
            head = by_cluster[key] = _entry(first, first_source, {}, {})
            head.updated_at = newest.get(first.id, first.first_seen)
            followups.append(head)
        if head is not None:
            link = (source, canonicalize_url(article.url))
            if link not in head.also_reported:
                head.also_reported.append(link)
            for theme in themes.get(article.id, []):
                if theme not in head.themes:
                    head.themes.append(theme)
            head.event = head.event or events.get(article.id)
            continue
        entry = by_cluster[key] = _entry(article, source, themes, events)
        entry.updated_at = newest.get(article.id, article.first_seen)
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
    other, other_source = aliased(Article), aliased(Source)
    out = []
    for chunk in _chunks(ids):
        rows = session.execute(
            select(Contradiction, Article.title, Article.url, Source.name, Event.title, other.url, other_source.name)
            .join(Article, Article.id == Contradiction.article_id)
            .join(Source, Source.id == Article.source_id)
            .outerjoin(Event, Event.id == Contradiction.event_id)
            .outerjoin(other, other.id == Contradiction.other_article_id)
            .outerjoin(other_source, other_source.id == other.source_id)
            .where(Contradiction.article_id.in_(chunk))
            .order_by(Contradiction.id)
        ).all()
        for c, title, url, source, event, other_url, other_name in rows:
            out.append(ContradictionItem(
                kind=c.kind, fact=c.fact, stated_value=c.stated_value, known_value=c.known_value,
                sentence=c.sentence, source=source, title=title or url, url=canonicalize_url(url), event=event,
                article_id=c.article_id, other_sentence=c.other_sentence, known_source=c.known_source,
                other_source=other_name, other_url=canonicalize_url(other_url) if other_url else None))
    return out


def _sentences(text: str | None) -> list[str]:
    body = " ".join((text or "").split())
    return [s for s in _SENTENCE_END.split(body) if s] if body else []


def changed_sentences(old: str | None, new: str | None) -> tuple[list[str], list[str]]:
    """(removed, added): sentences of the old text not in the new one, and the reverse, in order."""
    before, after = _sentences(old), _sentences(new)
    removed, added = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            removed += before[i1:i2]
        if tag in ("replace", "insert"):
            added += after[j1:j2]
    return removed, added


def _edits(session: Session, digest: Digest, since: datetime, exclude: list[int]) -> list[EditItem]:
    """Articles matching the digest's filter with a new version fetched since ``since``
    (articles new in this delivery are shown whole, not as edits)."""
    newest = (select(ArticleVersion.article_id, func.max(ArticleVersion.version).label("version"))
              .where(ArticleVersion.version > 1, ArticleVersion.fetched_at >= since)
              .group_by(ArticleVersion.article_id).subquery())
    rows = session.execute(
        select(Article, Source.name, newest.c.version)
        .join(newest, newest.c.article_id == Article.id)
        .join(Source, Source.id == Article.source_id)
        .where(*_filter_conditions(digest), Article.id.not_in(exclude or [-1]))
        .order_by(Article.id)
    ).all()
    out = []
    for article, source, version in rows:
        pair = {v.version: v for v in session.scalars(select(ArticleVersion).where(
            ArticleVersion.article_id == article.id, ArticleVersion.version.in_((version - 1, version))))}
        if version - 1 not in pair or version not in pair:
            continue
        removed, added = changed_sentences(pair[version - 1].text, pair[version].text)
        if not removed and not added and pair[version - 1].title == pair[version].title:
            continue
        out.append(EditItem(article_id=article.id, title=article.title or article.url, source=source,
                            url=canonicalize_url(article.url), version=version,
                            edited_at=pair[version].fetched_at,
                            removed=removed[:EDIT_SENTENCES], added=added[:EDIT_SENTENCES]))
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
    edits = _edits(session, digest, since or now - FIRST_DELIVERY_LOOKBACK, article_ids)
    return DigestContent(
        digest=digest.name, delivery_key=delivery_key, generated_at=now,
        sections=_sections(entries, digest), followups=followups,
        candidates=_candidates(session, article_ids) if digest.filter.include_candidates else [],
        contradictions=_contradictions(session, article_ids) if digest.filter.include_contradictions else [],
        failing_sources=failing, article_ids=list(article_ids),
        new_failures=any(since is None or f.since > since for f in failing),
        edits=edits, timezone=digest.timezone,
    )


__all__ = [
    "DigestContent", "Entry", "Section", "EventGroup", "CandidateItem", "ContradictionItem", "EditItem",
    "FailingSource", "changed_sentences",
    "uncovered_article_ids", "build_content", "failing_sources", "failure_streak", "snippet",
]
