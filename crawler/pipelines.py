"""Item pipelines: a fetched page becomes an archived article.

Data flows one way: spider → :class:`ExtractPipeline` (page → article fields
and the text's analysis, or a logged reason why it is not an article) →
:class:`ArchivePipeline` (one transaction: article, version, raw HTML, fetch
row, the run's counters, the page's ``pending_pages`` row deleted, and every
analysis stage's rows, or none of them). A page that could not be filed is
recorded as pending (:mod:`crawler.pending`) with its error fetch row, so the
next run fetches it again.

Both cores: the extraction and the pure text analysis run in the crawl
process's pool of worker processes (``crawler.workers``), so the reactor
thread only fetches and writes; ``crawl.analysis_workers: 0`` runs them
inline (with the SIGALRM time limit). A worker that dies or overruns is
replaced and its page logged as failed, to be fetched again next run.
"""
from __future__ import annotations

import logging

from scrapy.exceptions import DropItem
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError

from crawler import pending
from crawler.decode import compress_html
from crawler.extract import extract_for_source
from crawler.extracted import NotArticle
from crawler.items import ArticleItem
from crawler.runlog import brief, page_fields, source_id
from crawler.stages import StageRunner
from crawler.text import text_hash
from crawler.urls import canonicalize_url
from crawler.workers import AnalysisPool, failure_reason
from storage.db import session_scope
from storage.models import Article, ArticleVersion, utcnow

log = logging.getLogger("newsmon.crawl")


def extract_item(item: ArticleItem, source, timeout: float):
    """Run the extractor on one fetched page with the source's expectations."""
    return extract_for_source(item.body, item.url, source, hints=item.hints, fetched_at=item.fetched_at,
                              timeout=timeout, encoding=item.encoding, content_type=item.content_type)


def _when_done(future):
    """A Deferred fired in the reactor thread when a worker's future completes."""
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred

    deferred = Deferred()

    def done(f) -> None:
        exc = f.exception()
        reactor.callFromThread(deferred.errback if exc else deferred.callback, exc or f.result())

    future.add_done_callback(done)
    return deferred


class ExtractPipeline:
    """Page → :class:`~crawler.extracted.Extracted` (and, from a worker, its
    text's analysis); a page that is not an article is logged with its
    reason, counted, and dropped."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self.pool = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self) -> None:
        self.pool = AnalysisPool.acquire(self.crawler.spider.config)

    def close_spider(self) -> None:
        if self.pool is not None:
            self.pool = None
            AnalysisPool.release()

    async def process_item(self, item: ArticleItem):
        if item.not_modified:
            return item
        spider = self.crawler.spider
        if self.pool is None:
            try:
                item.extracted = extract_item(item, spider.source, spider.config.crawl.extraction_timeout)
            except NotArticle as exc:
                self.not_an_article(item, exc.reason)
            except Exception as exc:  # noqa: BLE001 - an extractor crash must not lose the page
                file_failure(spider, item, f"extraction failed: {type(exc).__name__}: {exc}")
                raise DropItem(f"extraction failed: {exc}", log_level="DEBUG") from None
            return item
        from scrapy.utils.defer import maybe_deferred_to_future

        future = self.pool.submit(item.body, item.url, spider.source.name if spider.source else None, item.hints,
                                  item.fetched_at, item.encoding, item.content_type)
        try:
            result = await maybe_deferred_to_future(_when_done(future))
        except Exception as exc:  # noqa: BLE001 - a worker's failure is this page's, not the crawl's
            reason = failure_reason(exc, self.pool.deadline)
            file_failure(spider, item, reason)
            raise DropItem(reason, log_level="DEBUG") from None
        if result.not_article is not None:
            self.not_an_article(item, result.not_article)
        item.extracted, item.analysis, item.raw_html = result.extracted, result.analysis, result.raw_html
        return item

    def not_an_article(self, item: ArticleItem, reason: str):
        """A reason about the page itself: counted with its fetch row, and no longer pending."""
        spider = self.crawler.spider
        runlog = spider.runlog
        with session_scope(spider.db_url) as session:
            runlog.record(item.url, "article", "not_article", counts={"fetched": 1, "not_articles": 1},
                          status=item.status, reason=reason, size=len(item.body),
                          duration_ms=item.duration_ms, session=session)
            pending.clear(session, runlog.source_id, [item.canonical_url])
        log.info("%s: not an article: %s: %s", item.source, item.url, reason,
                 extra=page_fields(item.source, "article", item.url, "not_article", status=item.status, reason=reason))
        raise DropItem(f"not an article: {reason}", log_level="DEBUG")


def file_failure(spider, item: ArticleItem, reason: str) -> None:
    """A fetched page that could not be filed: its error fetch row, the run's
    counters and its ``pending_pages`` row, in one transaction, so the next
    run fetches it again."""
    runlog = spider.runlog
    log.error("%s: could not archive %s: %s", item.source, item.url, reason, exc_info=log.isEnabledFor(10),
              extra=page_fields(item.source, "article", item.url, "error", status=item.status, reason=reason))
    try:
        with session_scope(spider.db_url) as session:
            row = pending.record_failure(session, runlog.source_id, item.canonical_url, item.requested_url,
                                         reason, spider.config.crawl.pending_retry_limit, item.source)
            note = "; will retry on the next run" if row.status == "pending" else "; given up (abandoned)"
            runlog.record(item.url, "article", "error", counts={"fetched": 1, "errors": 1}, status=item.status,
                          reason=f"archive failed: {reason}{note}", size=len(item.body),
                          duration_ms=item.duration_ms, session=session)
    except Exception as exc:  # noqa: BLE001 - e.g. the database itself is failing
        log.error("%s: could not record the failure of %s either: %s", item.source, item.url, exc)


class ArchivePipeline:
    """One transaction per article: source row, article (new, updated with a
    new version, or unchanged), raw HTML, fetch row, analysis stages. On any
    error the whole article is rolled back, logged and counted."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self.stages: StageRunner | None = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self) -> None:
        spider = self.crawler.spider
        self.stages = StageRunner(spider.config)
        try:
            with session_scope(spider.db_url) as session:  # its own transaction, before the first article
                self.stages.open(session)
        except Exception as exc:  # noqa: BLE001 - e.g. an unreadable events file: each article then fails
            # with the reason (and stays pending), instead of the whole source failing to start.
            log.error("%s: the analysis stages could not open: %s", spider.source.name, brief(exc))

    def process_item(self, item: ArticleItem):
        spider = self.crawler.spider
        runlog = spider.runlog
        touched: dict = {}
        for attempt in (1, 2):  # a parallel crawl may insert the same URL first: then it is an update
            try:
                with session_scope(spider.db_url) as session:
                    outcome, article = archive(session, item, runlog, self.stages, touched)
                break
            except IntegrityError:
                if touched.get("article") is not None:
                    self.stages.rolled_back(touched.pop("article"))
                if attempt == 2:
                    return self.failed(item, None, "the article was archived concurrently")
            except Exception as exc:  # noqa: BLE001 - one bad article must not stop the crawl
                return self.failed(item, touched.get("article"), f"{type(exc).__name__}: {exc}")
        if outcome in ("new", "updated"):
            self.stages.committed(article)
        log.info("%s: %s %s%s", item.source, outcome, item.url,
                 f" ({article.title})" if outcome != "unchanged" and article.title else "",
                 extra=page_fields(item.source, "article", item.url, outcome, status=item.status,
                                   **article_fields(article, outcome)))
        return item

    def failed(self, item: ArticleItem, article, reason: str):
        if article is not None:
            self.stages.rolled_back(article)
        spider = self.crawler.spider
        spider.runlog.archive_failed(reason)
        file_failure(spider, item, reason)  # the page is pending: fetched again next run whatever its list says
        raise DropItem(f"archive failed: {reason}", log_level="DEBUG")


def article_fields(article: Article | None, outcome: str) -> dict:
    """What a log line says about an archived article: its id, title and
    version; ``copy_of`` names its cluster's first article when the dedup stage
    found it a copy."""
    if article is None:
        return {}
    fields = {"article_id": article.id}
    if outcome != "unchanged":
        fields["title"] = article.title
    if article.cluster_id is not None and article.cluster_id != article.id:
        fields["copy_of"] = article.cluster_id
    return fields


_BY_KEY = select(Article).where(Article.canonical_url == bindparam("key"))  # built once: every page runs it
OUTCOME_COUNTER = {"new": "new_articles", "updated": "updated", "unchanged": "unchanged"}


def archive(session, item: ArticleItem, runlog, stages: StageRunner | None,
            touched: dict | None = None) -> tuple[str, Article | None]:
    """Write one fetched article in ``session``; returns (outcome, article).
    ``touched['article']`` names the article the stages saw, for ``rolled_back``.

    The archive key is the page's declared canonical URL when it has one, so
    the same article reached under two URLs is one row."""
    now = utcnow()
    if item.not_modified:
        article = session.scalar(_BY_KEY, {"key": item.canonical_url})
        if article is not None:
            article.last_seen = article.last_checked_at = now
        runlog.record(item.url, "article", "unchanged", counts={"fetched": 1, "unchanged": 1}, status=304,
                      reason="304: unchanged since the last check", duration_ms=item.duration_ms, session=session)
        pending.clear(session, runlog.source_id, [item.canonical_url])
        return "unchanged", article
    extracted = item.extracted
    key = extracted.canonical_url or canonicalize_url(item.url)
    new_hash = text_hash(extracted.text)
    if item.analysis is not None:
        item.analysis.remember(extracted.text, new_hash)
    fields = dict(
        url=item.url, title=extracted.title, author=extracted.author, published_at=extracted.published_at,
        language=extracted.language, site_name=extracted.site_name, description=extracted.description,
        tags=extracted.tags or None, text=extracted.text, text_hash=new_hash, origins=extracted.origins or None,
        paywalled=extracted.paywalled,
    )
    article = session.scalar(_BY_KEY, {"key": key})
    if article is not None and article.text_hash == new_hash:
        article.last_seen = article.last_checked_at = now
        latest = session.scalar(select(ArticleVersion).where(ArticleVersion.article_id == article.id)
                                .order_by(ArticleVersion.version.desc()).limit(1))
        if latest is not None:  # the server may change validators without changing the text
            latest.etag, latest.last_modified = item.etag or latest.etag, item.last_modified or latest.last_modified
        runlog.record(item.url, "article", "unchanged", counts={"fetched": 1, "unchanged": 1}, status=item.status,
                      size=len(item.body), duration_ms=item.duration_ms, reason="same text as the archived version",
                      session=session)
        pending.clear(session, runlog.source_id, [item.canonical_url, key])
        return "unchanged", article
    if article is None:
        outcome, version = "new", 1
        # The run looked its source row up when it started; no query per article.
        sid = runlog.source_id or source_id(session, item.source)
        # cluster_id given (None): the dedup stage's "no cluster" then changes nothing, and sends no UPDATE.
        article = Article(source_id=sid, canonical_url=key, first_seen=now, last_seen=now, last_checked_at=now,
                          cluster_id=None, **fields)
        session.add(article)
        session.flush()
    else:
        outcome = "updated"
        version = (session.scalar(select(func.max(ArticleVersion.version))
                                  .where(ArticleVersion.article_id == article.id)) or 0) + 1
        for name, value in fields.items():
            setattr(article, name, value)
        article.last_seen = article.last_checked_at = now
    session.add(ArticleVersion(
        article_id=article.id, version=version, fetched_at=item.fetched_at, http_status=item.status,
        etag=item.etag, last_modified=item.last_modified, raw_html=item.raw_html or compress_html(item.body),
        encoding=item.encoding, title=extracted.title, text=extracted.text, text_hash=new_hash,
        extractor=extracted.extractor,
    ))
    runlog.record(item.url, "article", outcome, counts={"fetched": 1, OUTCOME_COUNTER[outcome]: 1},
                  status=item.status, size=len(item.body), duration_ms=item.duration_ms,
                  reason=None if outcome == "new" else f"text changed: version {version}", session=session)
    pending.clear(session, runlog.source_id, [item.canonical_url, key])
    if stages is not None:
        if touched is not None:
            touched["article"] = article
        stages.process(session, article, item.analysis, new=outcome == "new")
    return outcome, article
