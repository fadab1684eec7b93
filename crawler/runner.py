"""Run a crawl of configured sources in this process.

:func:`run_crawl` runs Scrapy's ``CrawlerProcess`` (one per process:
the Twisted reactor cannot restart) over some sources and returns what each
run did.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler import settings as defaults
from crawler.runlog import Counts, RunLog, RunSummary, brief
from crawler.settings import settings_from_config
from spiders.source import SourceSpider

if TYPE_CHECKING:  # pragma: no cover
    from crawler.config import Config

log = logging.getLogger("newsmon.crawl")


def crawl_settings(config: "Config", overrides: dict | None = None):
    """Scrapy settings for a crawl: project defaults, then the config, then ``overrides``."""
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
    if on_tick is not None:  # the display's last frame: what the runs did in the end
        on_tick([c.spider.runlog for _, c in crawlers if getattr(c, "spider", None) is not None])
    summaries = []
    for name, crawler in crawlers:
        spider = getattr(crawler, "spider", None)
        runlog = getattr(spider, "runlog", None)
        if runlog is None:
            summaries.append(RunSummary(name, "failed", Counts(), "the crawl could not start"))
            continue
        if runlog.status == "running" and runlog.run_id is not None:
            # The spider never reached its end-of-crawl handler (it failed to open, or the handler died).
            try:
                runlog.finish("failed", "the crawl ended without recording its end")
            except Exception as exc:  # noqa: BLE001 - left 'running', the next run marks it interrupted
                log.error("%s: could not record the end of the run: %s", name, brief(exc))
                runlog.status, runlog.message = "failed", f"could not record the end of the run: {brief(exc)}"
        summaries.append(runlog.summary())
    return summaries
