"""The archive's tables (SQLAlchemy 2.0). Alembic migrations create them;
``docs/schema.md`` describes every column for SQL users.

Times are stored as naive UTC datetimes (SQLite has no time zones), JSON-ish
lists as JSON columns, raw HTML zlib-compressed.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Now, as the naive UTC datetime every table stores."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


# Full-text search lives outside the ORM (migration 0005): SQLite's FTS5 table
# ``articles_fts`` (and its shadow tables) and PostgreSQL's generated column
# ``articles.search_vector`` with its GIN index. Schema comparison skips them.
SEARCH_TABLE_PREFIX = "articles_fts"
SEARCH_COLUMN = "search_vector"


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter: the search objects are not the models' business."""
    if type_ == "table" and reflected and compare_to is None and (name or "").startswith(SEARCH_TABLE_PREFIX):
        return False
    if type_ == "column" and name == SEARCH_COLUMN and compare_to is None:
        return False
    if type_ == "index" and name == "ix_articles_search_vector":
        return False
    return True


# --- core: sources, crawl runs, fetch log, articles --------------------------------


class Source(Base):
    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FeedState(Base):
    """Per entry point (feed, sitemap, section page): conditional-GET validators,
    body hash and failure count, so unchanged lists cost no parsing."""

    __tablename__ = "feed_states"
    __table_args__ = (UniqueConstraint("source_id", "url"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))  # feed | sitemap | section
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    body_hash: Mapped[str | None] = mapped_column(String(64))
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="ok")  # ok | failing
    last_error: Mapped[str | None] = mapped_column(Text)


class CrawlRun(Base):
    __tablename__ = "crawl_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | ok | failed | interrupted
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    new_articles: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    skipped_seen: Mapped[int] = mapped_column(Integer, default=0)
    not_articles: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    # The crawl process that owns the run, so a 'running' run whose process is gone is seen as interrupted.
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))


class Fetch(Base):
    """The fetch log: one row per request outcome, failures included."""

    __tablename__ = "fetches"
    __table_args__ = (Index("ix_fetches_url", "url"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    crawl_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))  # feed | sitemap | section | article
    status: Mapped[int | None] = mapped_column(Integer)  # HTTP status; NULL when no response
    outcome: Mapped[str] = mapped_column(String(30))  # e.g. new | updated | unchanged | not_modified | not_article | error
    reason: Mapped[str | None] = mapped_column(Text)
    bytes: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    fetched_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_source_published", "source_id", "published_at"),
        Index("ix_articles_first_seen", "first_seen"),
        Index("ix_articles_url", "url"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    canonical_url: Mapped[str] = mapped_column(Text, unique=True)
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    language: Mapped[str | None] = mapped_column(String(16))
    site_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list | None] = mapped_column(JSON)
    text: Mapped[str | None] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64), index=True)
    # Where each metadata value came from: {"title": "page", "published_at": "json-ld", ...}
    origins: Mapped[dict | None] = mapped_column(JSON)
    paywalled: Mapped[bool] = mapped_column(Boolean, default=False)
    relevant: Mapped[bool | None] = mapped_column(Boolean)  # NULL until classified
    # The cluster's first-seen article (itself when it heads a cluster or stands alone).
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"), index=True)
    first_seen: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_checked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    versions: Mapped[list["ArticleVersion"]] = relationship(
        back_populates="article", order_by="ArticleVersion.version", cascade="all, delete-orphan"
    )


class ArticleVersion(Base):
    """One fetched state of an article: raw HTML kept so extraction can be re-run."""

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    fetched_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    http_status: Mapped[int | None] = mapped_column(Integer)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    raw_html: Mapped[bytes] = mapped_column(LargeBinary)  # zlib-compressed bytes as received
    encoding: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64))
    extractor: Mapped[str | None] = mapped_column(String(60))  # e.g. trafilatura 2.0.0
    article: Mapped[Article] = relationship(back_populates="versions")


# --- dedup ----------------------------------------------------------------------


class ArticleSignature(Base):
    """MinHash signature of an article's normalized text (compared with a
    candidate's), with the settings it was made with."""

    __tablename__ = "article_signatures"
    __table_args__ = (Index("ix_article_signatures_source_article", "source_id", "article_id"),)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    # The article's source: the per-source boilerplate window is its newest signatures.
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    num_perm: Mapped[int] = mapped_column(Integer)
    shingle_size: Mapped[int] = mapped_column(Integer)
    # LSH banding the article's dedup_bands rows were made with (NULL: not yet banded).
    lsh_bands: Mapped[int | None] = mapped_column(Integer)
    lsh_rows: Mapped[int | None] = mapped_column(Integer)
    signature: Mapped[bytes] = mapped_column(LargeBinary)  # num_perm uint32 MinHash values
    # Sampled shingle hashes (uint32) that find rewrites sharing passages, and the
    # article's sentence keys (uint32) that teach the per-source boilerplate filter.
    anchors: Mapped[bytes] = mapped_column(LargeBinary)
    sentence_keys: Mapped[bytes] = mapped_column(LargeBinary)


class ArchiveState(Base):
    """Small facts about the archive itself (e.g. the dedup settings its index rows were made with)."""

    __tablename__ = "archive_state"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DedupBand(Base):
    """One LSH band key of an article: articles sharing a key are near-duplicate candidates."""

    __tablename__ = "dedup_bands"
    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)


class DedupAnchor(Base):
    """One sampled shingle hash of an article: articles sharing several are rewrite candidates."""

    __tablename__ = "dedup_anchors"
    anchor: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)


class DedupSentence(Base):
    """One sentence key of an article, per source: what the boilerplate filter counts."""

    __tablename__ = "dedup_sentences"
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True)
    sentence_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)


class DuplicateLink(Base):
    """A pair of articles found to be copies, near-duplicates or related rewrites."""

    __tablename__ = "duplicate_links"
    __table_args__ = (UniqueConstraint("article_id", "other_article_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    other_article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # exact | copy | near-duplicate | related
    similarity: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# --- classification ---------------------------------------------------------------


class ArticleTopic(Base):
    __tablename__ = "article_topics"
    __table_args__ = (UniqueConstraint("article_id", "topic"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    topic: Mapped[str] = mapped_column(String(200), index=True)
    score: Mapped[float] = mapped_column(Float)
    relevant: Mapped[bool] = mapped_column(Boolean)
    classified_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    themes: Mapped[list["ThemeMatch"]] = relationship(cascade="all, delete-orphan", back_populates="article_topic")


class ThemeMatch(Base):
    __tablename__ = "theme_matches"
    id: Mapped[int] = mapped_column(primary_key=True)
    article_topic_id: Mapped[int] = mapped_column(ForeignKey("article_topics.id", ondelete="CASCADE"), index=True)
    theme: Mapped[str] = mapped_column(String(200), index=True)
    weight: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    clause: Mapped[str | None] = mapped_column(Text)  # the rule clause that matched
    article_topic: Mapped[ArticleTopic] = relationship(back_populates="themes")
    hits: Mapped[list["TermHit"]] = relationship(cascade="all, delete-orphan", back_populates="theme_match")


class TermHit(Base):
    __tablename__ = "term_hits"
    id: Mapped[int] = mapped_column(primary_key=True)
    theme_match_id: Mapped[int] = mapped_column(ForeignKey("theme_matches.id", ondelete="CASCADE"), index=True)
    term: Mapped[str] = mapped_column(Text)  # the rule term
    matched: Mapped[str] = mapped_column(Text)  # the text as it stands in the article
    field: Mapped[str] = mapped_column(String(10), default="text")  # title | text
    start_offset: Mapped[int] = mapped_column(Integer)
    end_offset: Mapped[int] = mapped_column(Integer)
    theme_match: Mapped[ThemeMatch] = relationship(back_populates="hits")


# --- known events and the per-article event diff -------------------------------------


class Event(Base):
    __tablename__ = "events"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    date_start: Mapped[date | None] = mapped_column(Date, index=True)
    date_end: Mapped[date | None] = mapped_column(Date)
    date_precision: Mapped[str | None] = mapped_column(String(10))  # day | month | year | range
    title: Mapped[str] = mapped_column(Text)
    actors: Mapped[list | None] = mapped_column(JSON)
    aliases: Mapped[list | None] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class EventFact(Base):
    __tablename__ = "event_facts"
    __table_args__ = (UniqueConstraint("event_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str | None] = mapped_column(Text)  # the value as written in the timeline
    source: Mapped[str | None] = mapped_column(Text)


class EventMention(Base):
    __tablename__ = "event_mentions"
    __table_args__ = (Index("ix_event_mentions_event", "event_id"),
                      Index("ix_event_mentions_event_reported", "event_id", "reported_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    sentence: Mapped[str] = mapped_column(Text)
    start_offset: Mapped[int] = mapped_column(Integer)
    end_offset: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float)  # the score: how surely the sentence names the event
    in_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    first_report: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the article reported it (published, else first seen): first reports by one indexed MIN.
    reported_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    how: Mapped[str | None] = mapped_column(Text)  # what named it: "alias 'decertif*'; dated '15 September'"
    # "date-contradicted": named at a date the timeline contradicts (never a first report)
    date_flag: Mapped[str | None] = mapped_column(String(30))


class EventCandidate(Base):
    __tablename__ = "event_candidates"
    __table_args__ = (Index("ix_event_candidates_status_date", "status", "date_start"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    date_start: Mapped[date | None] = mapped_column(Date, index=True)
    date_precision: Mapped[str | None] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(Text)  # the first evidence sentence, shortened
    actors: Mapped[list | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | promoted | dismissed
    promoted_event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    first_seen: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    score: Mapped[float | None] = mapped_column(Float)  # its best report's: action × date × topic
    explanation: Mapped[str | None] = mapped_column(Text)  # "actor Petro; action 'expelled' (expel, …); date …"


class CandidateSource(Base):
    __tablename__ = "candidate_sources"
    __table_args__ = (UniqueConstraint("candidate_id", "article_id", "start_offset"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("event_candidates.id", ondelete="CASCADE"), index=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    sentence: Mapped[str] = mapped_column(Text)
    start_offset: Mapped[int] = mapped_column(Integer)
    end_offset: Mapped[int] = mapped_column(Integer)


class CandidateTerm(Base):
    """A content word of a candidate's evidence: claims are matched to open candidates through these."""

    __tablename__ = "candidate_terms"
    term: Mapped[str] = mapped_column(String(12), primary_key=True)
    week: Mapped[int] = mapped_column(Integer, primary_key=True)  # of the candidate's date: the date bucket
    candidate_id: Mapped[int] = mapped_column(ForeignKey("event_candidates.id", ondelete="CASCADE"),
                                              primary_key=True, index=True)


class FactStatement(Base):
    """A figure or date an article states for a known fact or event."""

    __tablename__ = "fact_statements"
    __table_args__ = (Index("ix_fact_statements_fact_low", "fact", "event_id", "interval_lo"),
                      Index("ix_fact_statements_fact_high", "fact", "event_id", "interval_hi"))
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    fact: Mapped[str] = mapped_column(String(200), index=True)  # fact name, or "date" for an event's date
    value: Mapped[float | None] = mapped_column(Float)  # normalized to the fact's unit
    unit: Mapped[str | None] = mapped_column(String(40))
    bound: Mapped[str] = mapped_column(String(10), default="exact")  # exact | about | min | max | range
    value_text: Mapped[str] = mapped_column(Text)  # as written in the article
    sentence: Mapped[str] = mapped_column(Text)
    start_offset: Mapped[int] = mapped_column(Integer)
    end_offset: Mapped[int] = mapped_column(Integer)
    # The values the statement allows (base units, or day ordinals): disagreement is one indexed range test.
    interval_lo: Mapped[float | None] = mapped_column(Float)
    interval_hi: Mapped[float | None] = mapped_column(Float)


class Contradiction(Base):
    __tablename__ = "contradictions"
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    fact: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # timeline | article | internal
    stated_value: Mapped[str] = mapped_column(Text)
    known_value: Mapped[str] = mapped_column(Text)
    sentence: Mapped[str] = mapped_column(Text)
    other_sentence: Mapped[str | None] = mapped_column(Text)
    other_article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"),
                                                         index=True)
    known_source: Mapped[str | None] = mapped_column(Text)  # the timeline's source for the known value
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# --- digests --------------------------------------------------------------------------


class DigestDelivery(Base):
    """One attempt to deliver a digest on one channel; its items are the articles it covers."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (Index("ix_digest_deliveries_digest", "digest", "channel", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(200))  # e.g. email:0, webhook:1
    delivery_key: Mapped[str] = mapped_column(String(64), unique=True)  # stable across retries
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    error: Mapped[str | None] = mapped_column(Text)


class DigestItem(Base):
    __tablename__ = "digest_items"
    __table_args__ = (UniqueConstraint("delivery_id", "article_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("digest_deliveries.id", ondelete="CASCADE"), index=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)


# --- crawl bookkeeping that outlives a process ------------------------------------------


class PendingPage(Base):
    """An article page that was fetched (or meant to be) but not filed: fetched
    again on the source's next runs, whatever its list says, until it is filed
    (the row is deleted in the filing transaction), fails for a reason about the
    page itself, or has failed ``crawl.pending_retry_limit`` times ('abandoned')."""

    __tablename__ = "pending_pages"
    __table_args__ = (UniqueConstraint("source_id", "canonical_url"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    canonical_url: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)  # the link as listed: what the next run requests
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | abandoned
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    first_failed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RobotsCache(Base):
    """robots.txt per origin (scheme://host:port), reused by later crawl
    processes while younger than ``crawl.robots_txt_ttl_minutes``."""

    __tablename__ = "robots_cache"
    origin: Mapped[str] = mapped_column(String(300), primary_key=True)
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    fetched_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# --- the service: leases (leader, members, sources, deliveries) and frozen digests -------


class ServiceLease(Base):
    """A named lease held by one process until ``expires_at`` (renewed by its
    heartbeat): ``leader`` (the service that schedules), ``member:ID`` (every
    running service, leader or standby), ``source:NAME`` (a crawl in progress),
    ``delivery:ID`` (a digest delivery being sent). See ``storage/leases.py``."""

    __tablename__ = "service_leases"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))  # a random token per holder
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    renewed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    info: Mapped[dict | None] = mapped_column(JSON)


class DigestSnapshot(Base):
    """The content of a delivery, frozen when the delivery is created: every
    send of one delivery id renders exactly this (same items, same body)."""

    __tablename__ = "digest_snapshots"
    delivery_id: Mapped[int] = mapped_column(ForeignKey("digest_deliveries.id", ondelete="CASCADE"),
                                             primary_key=True)
    content: Mapped[str] = mapped_column(Text)  # DigestContent as JSON
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
