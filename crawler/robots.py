"""robots.txt once per origin (scheme://host:port) per crawl process, and
once per ``crawl.robots_txt_ttl_minutes`` across processes.

Scrapy's :class:`~scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware`
keeps its parsers per crawler, and ``newsmon crawl`` runs one crawler per
source: five sources on one host fetched robots.txt five times, and every
scheduled crawl process fetched it again. This subclass replaces only its
``robot_parser`` hook: parsers live in a process-wide table shared by every
crawler of the process, and the body is kept in the archive
(``robots_cache``) for later processes while it is younger than the TTL.
Everything else (the allow check, the user agent, the parser class set by
``ROBOTSTXT_PARSER``, the ``robots_parsed`` signal) is Scrapy's.

It relies on Scrapy internals (``robot_parser`` being the hook that
``process_request`` awaits, ``_parserimpl``, ``_stats``,
``engine.download_async``): pyproject.toml pins the Scrapy range and
tests/test_robots.py notices a change.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred

from storage.db import session_scope
from storage.models import RobotsCache, utcnow
from storage.upsert import upsert

if TYPE_CHECKING:  # pragma: no cover
    from scrapy.robotstxt import RobotParser

log = logging.getLogger("newsmon.crawl")

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str | Request) -> str:
    """scheme://host:port of a URL or request, the port always written out."""
    from urllib.parse import urlsplit

    parts = urlparse_cached(url) if isinstance(url, Request) else urlsplit(url)
    scheme = (parts.scheme or "http").lower()
    port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


@dataclass
class _Known:
    parser: "RobotParser | None"  # None: robots.txt could not be fetched; everything is allowed (Scrapy's rule)
    expires: float  # time.monotonic()


class _InFlight:
    """A robots.txt being fetched: every request waiting for it gets its own Deferred."""

    def __init__(self) -> None:
        self.waiters: list[Deferred] = []

    def wait(self) -> Deferred:
        waiter: Deferred = Deferred()
        self.waiters.append(waiter)
        return waiter

    def resolve(self, parser) -> None:
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            waiter.callback(parser)


# (parser class, origin) → parser, or the fetch under way. One table per process: every crawler shares it.
_PARSERS: dict[tuple[str, str], _Known | _InFlight] = {}


def forget_all() -> None:
    """Empty the process-wide table (for a process that runs several crawls)."""
    _PARSERS.clear()


class ArchiveRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware with parsers shared per process and the
    body cached in the archive (``NEWSMON_ROBOTSTXT_TTL`` seconds; 0: once per process)."""

    def __init__(self, crawler) -> None:
        super().__init__(crawler)
        self.ttl = max(crawler.settings.getfloat("NEWSMON_ROBOTSTXT_TTL", 3600.0), 0.0)
        impl = self._parserimpl
        self._impl_name = f"{impl.__module__}.{impl.__qualname__}"

    def _db_url(self) -> str | None:
        return getattr(self.crawler.spider, "db_url", None)

    async def robot_parser(self, request: Request):
        key = (self._impl_name, origin_of(request))
        entry = _PARSERS.get(key)
        if isinstance(entry, _InFlight):
            return await maybe_deferred_to_future(entry.wait())
        if entry is not None and entry.expires > time.monotonic():
            return entry.parser
        flight = _PARSERS[key] = _InFlight()
        parser = None
        try:
            parser = await self._load(key[1], request)
        finally:
            expires = time.monotonic() + self.ttl if self.ttl else float("inf")
            _PARSERS[key] = _Known(parser, expires)
            flight.resolve(parser)
        return parser

    async def _load(self, origin: str, request: Request):
        """The parser for ``origin``: from the archive when fresh, else fetched
        (and stored); None when robots.txt cannot be fetched."""
        body = self._cached_body(origin)
        if body is None:
            robots_request = Request(f"{origin}/robots.txt", priority=self.DOWNLOAD_PRIORITY,
                                     meta={"dont_obey_robotstxt": True}, callback=NO_CALLBACK)
            try:
                response = await self.crawler.engine.download_async(robots_request)
            except Exception as exc:  # noqa: BLE001 - as Scrapy: a robots.txt that cannot be had allows all
                if not isinstance(exc, IgnoreRequest):
                    log.error("could not fetch %s: %s", robots_request.url, exc)
                    self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
                return None
            finally:
                self._stats.inc_value("robotstxt/request_count")
            self._stats.inc_value("robotstxt/response_count")
            self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
            body = response.body
            if response.status < 500:  # a server error is not worth remembering for an hour
                self._store_body(origin, response.status, body)
        else:
            self._stats.inc_value("newsmon/robotstxt/archive_hits")
        parser = build_from_crawler(self._parserimpl, self.crawler, body)
        await self.crawler.signals.send_catch_log_async(signal=signals.robots_parsed, robotparser=parser,
                                                        request=request)
        return parser

    def _cached_body(self, origin: str) -> bytes | None:
        db_url = self._db_url()
        if not db_url or not self.ttl:
            return None
        try:
            with session_scope(db_url) as session:
                row = session.get(RobotsCache, origin)
                if row is not None and row.fetched_at >= utcnow() - timedelta(seconds=self.ttl):
                    log.debug("robots.txt of %s from the archive (fetched %s)", origin, row.fetched_at)
                    return bytes(row.body)
        except Exception as exc:  # noqa: BLE001 - the cache is an optimisation: fetch instead
            log.warning("could not read the robots.txt cache for %s: %s", origin, exc)
        return None

    def _store_body(self, origin: str, status: int, body: bytes) -> None:
        db_url = self._db_url()
        if not db_url or not self.ttl:
            return
        try:
            with session_scope(db_url) as session:
                upsert(session, RobotsCache, {"origin": origin},
                       {"status": status, "body": body, "fetched_at": utcnow()})
        except Exception as exc:  # noqa: BLE001 - the next process fetches it again
            log.warning("could not store robots.txt of %s in the archive: %s", origin, exc)
