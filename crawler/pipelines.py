"""Item pipelines: a fetched page becomes an archived article.

Data flows one way: spider → :class:`ExtractPipeline` (page → article fields,
or a logged reason why it is not an article) → :class:`ArchivePipeline` (one
transaction: article, version, raw HTML, fetch row, and every analysis stage's
rows, or none of them).

Inline or in a thread? Measured on the local news site (3 sources, 24
requests, 15 article pages; 2 shared cores, load ~6), spider open → close,
three runs each (``NEWSMON_EXTRACT_IN_THREAD``):

    inline (reactor thread, SIGALRM time limit)   3.2 s  4.4 s  3.2 s
    deferToThread (extractor worker processes)   48.9 s 41.6 s 41.2 s

In a thread the extractor cannot use a signal for its time limit, so each
pool thread gets a worker process that must import trafilatura first; on two
cores that start-up dwarfs any overlap of fetching and extracting (loopback
fetching is as fast as extraction anyway). So extraction runs inline; the
setting switches it for machines with cores to spare.
"""
from __future__ import annotations

import logging

from scrapy.exceptions import DropItem
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crawler.extract import NotArticle, compress_html, extract_for_source
from crawler.items import ArticleItem
from crawler.runner import source_id
from crawler.stages import DEFAULT_STAGES, StageRunner
from crawler.text import text_hash
from crawler.urls import canonicalize_url
from storage.db import session_scope
from storage.models import Article, ArticleVersion, utcnow

log = logging.getLogger("newsmon.crawl")


def extract_item(item: ArticleItem, source, timeout: float):
    """Run the extractor on one fetched page with the source's expectations."""
    return extract_for_source(item.body, item.url, source, hints=item.hints, fetched_at=item.fetched_at,
                              timeout=timeout, encoding=item.encoding, content_type=item.content_type)


class ExtractPipeline:
    """Page → :class:`~crawler.extract.Extracted`; a page that is not an
    article is logged with its reason, counted, and dropped."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self.in_thread = crawler.settings.getbool("NEWSMON_EXTRACT_IN_THREAD")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_item(self, item: ArticleItem):
        if item.not_modified:
            return item
        spider = self.crawler.spider
        timeout = spider.config.crawl.extraction_timeout
        try:
            if self.in_thread:
                from scrapy.utils.defer import maybe_deferred_to_future
                from twisted.internet import threads

                item.extracted = await maybe_deferred_to_future(
                    threads.deferToThread(extract_item, item, spider.source, timeout))
            else:
                item.extracted = extract_item(item, spider.source, timeout)
        except NotArticle as exc:
            spider.runlog.count("not_articles")
            spider.runlog.fetch(item.url, "article", "not_article", status=item.status, reason=exc.reason,
                                size=len(item.body), duration_ms=item.duration_ms)
            log.info("%s: not an article: %s: %s", item.source, item.url, exc.reason)
            raise DropItem(f"not an article: {exc.reason}", log_level="DEBUG") from None
        return item


class ArchivePipeline:
    """One transaction per article: source row, article (new, updated with a
    new version, or unchanged), raw HTML, fetch row, analysis stages. On any
    error the whole article is rolled back, logged and counted."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler
        self.stage_names = crawler.settings.getlist("NEWSMON_STAGES") or list(DEFAULT_STAGES)
        self.stages: StageRunner | None = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self) -> None:
        spider = self.crawler.spider
        self.stages = StageRunner(spider.config, self.stage_names)

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
                    return self.failed(item, None, "the article was archived concurrently; will retry")
            except Exception as exc:  # noqa: BLE001 - one bad article must not stop the crawl
                return self.failed(item, touched.get("article"), f"{type(exc).__name__}: {exc}")
        if outcome in ("new", "updated"):
            self.stages.committed(article)
        runlog.count({"new": "new_articles", "updated": "updated", "unchanged": "unchanged"}[outcome])
        log.info("%s: %s %s%s", item.source, outcome, item.url,
                 f" ({article.title})" if outcome != "unchanged" and article.title else "")
        return item

    def failed(self, item: ArticleItem, article, reason: str):
        spider = self.crawler.spider
        if article is not None:
            self.stages.rolled_back(article)
        spider.runlog.count("errors")
        spider.runlog.archive_failed(reason)
        # The lists that led here are read again next run (not skipped as unchanged): the article is not lost.
        for state in getattr(spider, "states", {}).values():
            state.complete = False
        log.error("%s: could not archive %s: %s", item.source, item.url, reason, exc_info=log.isEnabledFor(10))
        try:
            spider.runlog.fetch(item.url, "article", "error", status=item.status,
                                reason=f"archive failed: {reason}", size=len(item.body), duration_ms=item.duration_ms)
        except Exception as exc:  # noqa: BLE001 - the archive is down or full: the log line says it
            log.debug("%s: cannot log the failed fetch of %s: %s", item.source, item.url, exc)
        raise DropItem(f"archive failed: {reason}", log_level="DEBUG")


def archive(session, item: ArticleItem, runlog, stages: StageRunner | None,
            touched: dict | None = None) -> tuple[str, Article | None]:
    """Write one fetched article in ``session``; returns (outcome, article).
    ``touched['article']`` names the article the stages saw, for ``rolled_back``.

    The archive key is the page's declared canonical URL when it has one, so
    the same article reached under two URLs is one row."""
    now = utcnow()
    if item.not_modified:
        article = session.scalar(select(Article).where(Article.canonical_url == item.canonical_url))
        if article is not None:
            article.last_seen = article.last_checked_at = now
        runlog.fetch(item.url, "article", "unchanged", status=304, reason="304: unchanged since the last check",
                     duration_ms=item.duration_ms, session=session)
        return "unchanged", article
    extracted = item.extracted
    key = extracted.canonical_url or canonicalize_url(item.url)
    new_hash = text_hash(extracted.text)
    fields = dict(
        url=item.url, title=extracted.title, author=extracted.author, published_at=extracted.published_at,
        language=extracted.language, site_name=extracted.site_name, description=extracted.description,
        tags=extracted.tags or None, text=extracted.text, text_hash=new_hash, origins=extracted.origins or None,
        paywalled=extracted.paywalled,
    )
    article = session.scalar(select(Article).where(Article.canonical_url == key))
    if article is not None and article.text_hash == new_hash:
        article.last_seen = article.last_checked_at = now
        latest = session.scalar(select(ArticleVersion).where(ArticleVersion.article_id == article.id)
                                .order_by(ArticleVersion.version.desc()).limit(1))
        if latest is not None:  # the server may change validators without changing the text
            latest.etag, latest.last_modified = item.etag or latest.etag, item.last_modified or latest.last_modified
        runlog.fetch(item.url, "article", "unchanged", status=item.status, size=len(item.body),
                     duration_ms=item.duration_ms, reason="same text as the archived version", session=session)
        return "unchanged", article
    if article is None:
        outcome, version = "new", 1
        # The run looked its source row up when it started; no query per article.
        sid = runlog.source_id or source_id(session, item.source)
        article = Article(source_id=sid, canonical_url=key, first_seen=now, last_seen=now, last_checked_at=now,
                          **fields)
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
        etag=item.etag, last_modified=item.last_modified, raw_html=compress_html(item.body),
        encoding=item.encoding, title=extracted.title, text=extracted.text, text_hash=new_hash,
        extractor=extracted.extractor,
    ))
    runlog.fetch(item.url, "article", outcome, status=item.status, size=len(item.body), duration_ms=item.duration_ms,
                 reason=None if outcome == "new" else f"text changed: version {version}", session=session)
    if stages is not None:
        if touched is not None:
            touched["article"] = article
        stages.process(session, article)
    return outcome, article
