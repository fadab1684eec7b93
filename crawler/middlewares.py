"""Downloader middlewares: conditional GET and retries with backoff."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import task

from crawler.netguard import connect_refusal

log = logging.getLogger(__name__)


class ConditionalGetMiddleware:
    """Send the validators a request carries in ``meta['validators']``
    (``etag``, ``last_modified`` from the archive or ``feed_states``) as
    If-None-Match / If-Modified-Since, and let the 304 reach the callback
    instead of being treated as an HTTP error."""

    def process_request(self, request):
        validators = request.meta.get("validators") or {}
        if validators.get("etag"):
            request.headers.setdefault(b"If-None-Match", validators["etag"])
        if validators.get("last_modified"):
            request.headers.setdefault(b"If-Modified-Since", validators["last_modified"])
        if validators:
            allowed = list(request.meta.get("handle_httpstatus_list", []))
            if 304 not in allowed:
                request.meta["handle_httpstatus_list"] = allowed + [304]
        return None


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries (5xx, 429, timeouts, refused connections), but the
    n-th retry waits ``NEWSMON_RETRY_BACKOFF * 2**(n-1)`` seconds (at most
    ``NEWSMON_RETRY_BACKOFF_MAX``) so a struggling server gets room to recover.
    The wait holds only this request; the rest of the crawl goes on."""

    def __init__(self, settings):
        super().__init__(settings)
        self.backoff = settings.getfloat("NEWSMON_RETRY_BACKOFF", 1.0)
        self.backoff_max = settings.getfloat("NEWSMON_RETRY_BACKOFF_MAX", 30.0)

    async def _delayed(self, retry):
        if retry is None:
            return None
        delay = min(self.backoff * 2 ** (retry.meta.get("retry_times", 1) - 1), self.backoff_max)
        if delay > 0:
            from twisted.internet import reactor

            await maybe_deferred_to_future(task.deferLater(reactor, delay, lambda: None))
        return retry

    async def process_response(self, request, response):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = await self._delayed(self._retry(request, f"HTTP {response.status}"))
        return retry or response

    async def process_exception(self, request, exception):
        if request.meta.get("dont_retry", False) or not isinstance(exception, self.exceptions_to_retry):
            return None
        if connect_refusal(urlsplit(request.url).hostname):
            return None  # the SSRF guard refused the address: asking again changes nothing
        return await self._delayed(self._retry(request, exception))
