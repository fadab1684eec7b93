"""Run a crawl of configured sources in this process, and the run's bookkeeping.

:class:`RunLog` is what one source's crawl writes besides articles: its
``crawl_runs`` row (counts, status) and one ``fetches`` row per request
outcome. :func:`run_crawl` runs Scrapy's ``CrawlerProcess`` (one per process:
the Twisted reactor cannot restart) over some sources and returns what each
run did.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Callable

from sqlalchemy import select, update

from storage.db import session_scope
from storage.models import CrawlRun, Fetch, Source, utcnow

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from newsmon.config import Config

log = logging.getLogger("newsmon.crawl")


@dataclass
class Counts:
    """What a run did, column for column as ``crawl_runs`` stores it."""

    fetched: int = 0
    new_articles: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_seen: int = 0
    not_articles: int = 0
    errors: int = 0


@dataclass
class RunSummary:
    """One source's run, as ``newsmon crawl`` reports it."""

    source: str
    status: str
    counts: Counts
    message: str | None = None


def source_id(session: "Session", name: str) -> int:
    """The ``sources`` row id for a configured source name, created on first use."""
    found = session.scalar(select(Source.id).where(Source.name == name))
    if found is not None:
        return found
    row = Source(name=name)
    session.add(row)
    session.flush()
    return row.id


class RunLog:
    """The ``crawl_runs`` row of one source's crawl and its ``fetches`` rows.

    Counters live in memory and are written when the run ends; a run killed
    before that stays 'running' until the next run marks it 'interrupted'.
    """

    def __init__(self, db_url: str, source_name: str) -> None:
        self.db_url = db_url
        self.source_name = source_name
        self.counts = Counts()
        self.run_id: int | None = None
        self.source_id: int | None = None
        self.status = "running"
        self.message: str | None = None

    def start(self) -> None:
        with session_scope(self.db_url) as session:
            self.source_id = source_id(session, self.source_name)
            stale = session.execute(
                update(CrawlRun)
                .where(CrawlRun.source_id == self.source_id, CrawlRun.status == "running")
                .values(status="interrupted", finished_at=utcnow(),
                        message="the crawl stopped before it could record its end")
            ).rowcount
            if stale:
                log.warning("%s: %d earlier run(s) never finished; marked interrupted", self.source_name, stale)
            run = CrawlRun(source_id=self.source_id, status="running", started_at=utcnow())
            session.add(run)
            session.flush()
            self.run_id = run.id

    def count(self, name: str, n: int = 1) -> None:
        setattr(self.counts, name, getattr(self.counts, name) + n)

    def fetch(self, url: str, kind: str, outcome: str, *, status: int | None = None, reason: str | None = None,
              size: int | None = None, duration_ms: float | None = None, session: "Session | None" = None) -> None:
        """Record one request outcome; inside ``session`` when given (so it
        lands with the article it describes), else in its own transaction."""
        row = Fetch(crawl_run_id=self.run_id, source_id=self.source_id, url=url, kind=kind, status=status,
                    outcome=outcome, reason=reason, bytes=size, duration_ms=duration_ms, fetched_at=utcnow())
        if session is not None:
            session.add(row)
            return
        with session_scope(self.db_url) as own:
            own.add(row)

    def finish(self, status: str, message: str | None = None) -> None:
        self.status, self.message = status, message
        if self.run_id is None:
            return
        with session_scope(self.db_url) as session:
            run = session.get(CrawlRun, self.run_id)
            run.status = status
            run.message = message
            run.finished_at = utcnow()
            for name, value in asdict(self.counts).items():
                setattr(run, name, value)

    def summary(self) -> RunSummary:
        return RunSummary(self.source_name, self.status, self.counts, self.message)


COUNT_NAMES = [f.name for f in fields(Counts)]


def crawl_settings(config: "Config", overrides: dict | None = None):
    """Scrapy settings for a crawl: project defaults, then the config, then ``overrides``."""
    from scrapy.settings import Settings

    from crawler import settings as defaults
    from crawler.settings import settings_from_config

    settings = Settings()
    settings.setmodule(defaults, priority="project")
    settings.setdict(settings_from_config(config), priority="project")
    settings.setdict(overrides or {}, priority="cmdline")
    return settings


def run_crawl(config: "Config", source_names: list[str], *, db_url: str | None = None,
              overrides: dict | None = None, stop_grace: float = 30.0,
              on_tick: Callable[[list[RunLog]], None] | None = None) -> list[RunSummary]:
    """Crawl the named sources (concurrently, one spider each) in this process
    and return one summary per source. ``on_tick`` is called about twice a
    second with the live run logs (for a progress display). Can run once per
    process."""
    from scrapy.crawler import CrawlerProcess

    from spiders.source import SourceSpider

    db_url = db_url or config.effective_database_url()
    # newsmon's logging setup formats every line; Scrapy must not add its own handler.
    settings = crawl_settings(config, {"LOG_INSTALL_ROOT_HANDLER": False, **(overrides or {})})
    process = CrawlerProcess(settings)
    # Scrapy's logging setup puts its loggers at DEBUG; our handlers decide the
    # format, LOG_LEVEL how much Scrapy itself says.
    logging.getLogger("scrapy").setLevel(settings.get("LOG_LEVEL") or "INFO")
    crawlers = []
    for name in source_names:
        crawler = process.create_crawler(SourceSpider)
        process.crawl(crawler, source=name, config=config, db_url=db_url)
        crawlers.append((name, crawler))
    if on_tick is not None:
        from twisted.internet import task

        def tick() -> None:
            on_tick([c.spider.runlog for _, c in crawlers if getattr(c, "spider", None) is not None])

        looper = task.LoopingCall(tick)
        from twisted.internet import reactor

        reactor.callWhenRunning(looper.start, 0.5, now=False)
    from twisted.internet import reactor

    from crawler.watchdog import StopWatchdog

    def record_interrupted(message: str) -> None:
        for _, c in crawlers:
            runlog = getattr(getattr(c, "spider", None), "runlog", None)
            if runlog is not None and runlog.status == "running":
                runlog.finish("interrupted", message)

    watchdog = StopWatchdog(stop_grace, record_interrupted)
    # After Scrapy's own signal handlers (installed on start-up), which it calls on.
    reactor.callWhenRunning(reactor.callLater, 0, watchdog.install)
    try:
        process.start()
    finally:
        watchdog.finished.set()
    summaries = []
    for name, crawler in crawlers:
        spider = getattr(crawler, "spider", None)
        runlog = getattr(spider, "runlog", None)
        if runlog is None:
            summaries.append(RunSummary(name, "failed", Counts(), "the crawl could not start"))
        else:
            summaries.append(runlog.summary())
    return summaries
