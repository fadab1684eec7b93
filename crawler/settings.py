"""Scrapy settings: the project's defaults, and the one function that derives
the rest from a newsmon config.

``scrapy crawl source -a source=NAME`` (scrapy.cfg points here) and
``newsmon crawl`` get the same settings: the spider applies
:func:`settings_from_config` when it is created, the runner does it before.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from crawler.config import Config

BOT_NAME = "newsmon"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# Politeness (the config overrides the values it names).
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_DELAY = 0.5
CONCURRENT_REQUESTS = 16
ZERO_DELAY = 0.001  # what a configured download_delay of 0 becomes (see settings_from_config)
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
# A news page that redirects more than five times is broken, not moved.
REDIRECT_MAX_TIMES = 5
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
RETRY_GIVE_UP_LOG_LEVEL = "DEBUG"  # the spider logs the final outcome itself
# Seconds before the first retry; doubles for each further one (see BackoffRetryMiddleware).
NEWSMON_RETRY_BACKOFF = 1.0
NEWSMON_RETRY_BACKOFF_MAX = 30.0

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # no listening ports in a crawl process
LOG_LEVEL = "INFO"
# One crawl = one source; we de-duplicate by canonical URL ourselves (the
# scheduler's fingerprint filter would silently drop redirect loops).
DUPEFILTER_CLASS = "scrapy.dupefilters.BaseDupeFilter"

# The SSRF guard (crawler/netguard.py): host and port checks before anything
# else, the address check at connect time; only http(s) is ever fetched.
TWISTED_DNS_RESOLVER = "crawler.netguard.GuardedResolver"
DOWNLOAD_HANDLERS = {"file": None, "data": None, "s3": None, "ftp": None}

DOWNLOADER_MIDDLEWARES = {
    "crawler.netguard.NetGuardMiddleware": 50,
    # robots.txt once per origin per process, and per TTL across processes (crawler/robots.py).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.robots.ArchiveRobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "crawler.middlewares.ConditionalGetMiddleware": 560,
}

ITEM_PIPELINES = {
    "crawler.pipelines.ExtractPipeline": 300,
    "crawler.pipelines.ArchivePipeline": 800,
}
# Seconds a robots.txt stored in the archive is reused by later crawl processes (the config's
# crawl.robots_txt_ttl_minutes sets it).
NEWSMON_ROBOTSTXT_TTL = 3600.0


def settings_from_config(config: "Config") -> dict:
    """The Scrapy settings a newsmon config decides (one place for all of them)."""
    crawl = config.crawl
    return {
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots_txt,
        # Scrapy 2.19's downloader hands a slot's whole queue to the handler at once when the delay is 0
        # (a request counts as transferring only once its coroutine runs), so the per-domain limit did not
        # hold; any positive delay makes it take one request per pass. tests/test_politeness.py notices.
        "DOWNLOAD_DELAY": crawl.download_delay or ZERO_DELAY,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(crawl.download_delay, 0.1),
        "CONCURRENT_REQUESTS": crawl.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_requests_per_domain,
        "DOWNLOAD_TIMEOUT": crawl.download_timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_response_bytes,
        "RETRY_TIMES": crawl.retry_times,
        "NEWSMON_ROBOTSTXT_TTL": crawl.robots_txt_ttl_minutes * 60,
    }
