"""What every newsmon spider shares: a source declaration turned into
requests, with the incremental and polite parts done before anything is
fetched.

A spider reads a source's entry points (feeds, sitemaps, section pages),
fetches each with the validators stored in ``feed_states`` (an unchanged list
costs a 304 or a hash comparison, no parsing), and turns the links it finds
into article requests, skipping URLs the archive already holds unless they are
due for an update check, and asks again for the pages earlier runs fetched
but could not file (:mod:`crawler.pending`). Every request outcome goes to
``fetches`` through the run's :class:`~crawler.runlog.RunLog`, with the run
counters it adds in the same transaction; the article pages go to the
pipelines.

Entry-point state (validators, failures) lives in :mod:`spiders.entrypoints`;
the lists themselves are read by :mod:`spiders.lists`.
"""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from sqlalchemy import bindparam, or_, select

from crawler import netguard, pending
from crawler.config import REGEX_TIMEOUT, Config, config_regex, load_config
from crawler.extracted import Hints
from crawler.items import ArticleItem
from crawler.metadata import head_canonical
from crawler.netguard import source_policy
from crawler.runlog import RunLog, brief, page_fields
from crawler.settings import settings_from_config
from crawler.urls import canonicalize_url, host_of
from spiders import lists
from spiders.lists import Link, ListError
from spiders.entrypoints import EntryState, load_state, save_states
from storage.db import session_scope
from storage.models import Article, ArticleVersion, utcnow

log = logging.getLogger("newsmon.crawl")

MAX_SITEMAP_DEPTH = 5  # sitemap indexes within indexes: deeper ones are not followed
MAX_LIST_URLS_PER_RUN = 100_000  # links and child sitemaps a run looks at, all lists together

# The seen-URL lookups, built once (constructing a statement cost more than running it).
_KNOWN = (select(Article.id, Article.first_seen, Article.last_checked_at)
          .where(Article.canonical_url == bindparam("canonical")).limit(1))
_KNOWN_BY_EITHER = (select(Article.id, Article.first_seen, Article.last_checked_at)
                    .where(or_(Article.canonical_url == bindparam("canonical"), Article.url == bindparam("url")))
                    .limit(1))
_VALIDATORS = (select(ArticleVersion.etag, ArticleVersion.last_modified)
               .where(ArticleVersion.article_id == bindparam("article"))
               .order_by(ArticleVersion.version.desc()).limit(1))


@dataclass
class Ignored:
    """Links of one list that were left out, reported once for the list
    (a sitemap of 200k offsite URLs is one line, not 200k)."""

    offsite: int = 0
    first_offsite: str | None = None
    not_http: int = 0
    not_allowed: int = 0
    denied: int = 0
    too_deep: int = 0
    capped: int = 0

    def over_cap(self, room: int) -> bool:
        if room > 0:
            return False
        self.capped += 1
        return True

    def note(self) -> str:
        parts = []
        if self.offsite:
            parts.append(f"{self.offsite} offsite links left out (first: {self.first_offsite})")
        if self.not_http:
            parts.append(f"{self.not_http} non-http(s) links left out")
        if self.not_allowed:
            parts.append(f"{self.not_allowed} not matching url_allow")
        if self.denied:
            parts.append(f"{self.denied} matching url_deny")
        if self.too_deep:
            parts.append(f"{self.too_deep} child sitemaps deeper than {MAX_SITEMAP_DEPTH} levels not followed")
        if self.capped:
            parts.append(f"the run's limit of {MAX_LIST_URLS_PER_RUN} listed URLs reached: the rest waits")
        return "".join("; " + p for p in parts)


@dataclass
class Known:
    """An archived article, as far as deciding whether to fetch it again goes."""

    first_seen: datetime
    last_checked_at: datetime
    etag: str | None
    last_modified: str | None


def header(response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def declared_charset(content_type: str | None) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([^;\"'\s]+)", content_type or "", re.I)
    return match.group(1) if match else None


def failure_reason(failure) -> tuple[str, str, int | None]:
    """(outcome, reason, HTTP status) for a failed request, in words a user reads."""
    from scrapy.exceptions import CannotResolveHostError, DownloadCancelledError, DownloadTimeoutError
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet.error import ConnectError, DNSLookupError, TimeoutError as TxTimeout

    exc = failure.value
    if isinstance(exc, netguard.Refused):
        return "refused", str(exc), None
    if isinstance(exc, (DNSLookupError, CannotResolveHostError)):
        refusal = netguard.connect_refusal(host_of(failure.request.url))
        if refusal:
            return "refused", refusal, None
    if isinstance(exc, HttpError):
        status = exc.response.status
        return "error", f"HTTP {status}", status
    if isinstance(exc, IgnoreRequest):
        text = str(exc) or type(exc).__name__
        if "robots.txt" in text:
            return "skipped", "robots.txt", None
        if "during decompression" in text or "DOWNLOAD_MAXSIZE" in text:
            # a decompression bomb (or just a huge compressed page): an error, not a polite skip
            limit = re.search(r"DOWNLOAD_MAXSIZE \((\d+) B\)", text)
            return "error", ("too large after decompression: over the "
                             f"{limit.group(1) if limit else 'max_response_bytes'} byte limit"), None
        if "redirect" in text.lower():
            return "error", f"redirect loop ({text})", None
        if "offsite" in text.lower():
            return "skipped", f"offsite ({text})", None
        return "skipped", text, None
    if isinstance(exc, (DownloadTimeoutError, TxTimeout)):
        return "error", f"timeout ({exc})", None
    if isinstance(exc, DownloadCancelledError) or "max size" in str(exc):
        return "error", f"too large: {exc}", None
    if isinstance(exc, DNSLookupError):
        return "error", f"DNS lookup failed ({exc})", None
    if isinstance(exc, ConnectError):
        return "error", f"connection failed ({type(exc).__name__}: {exc})", None
    return "error", f"{type(exc).__name__}: {exc}".strip(": "), None


def passing_failure(outcome: str, reason: str, status: int | None) -> bool:
    """A failed article fetch worth trying again on the next run (a timeout,
    a refused connection, a 5xx, 408 or 429), as opposed to one about the page
    itself (404, 410 and other 4xx, a redirect loop, too large, robots.txt)."""
    if outcome != "error":
        return False
    if status is not None:
        return status >= 500 or status in (408, 429)
    return not reason.startswith(("redirect loop", "too large"))


class NewsSpider(scrapy.Spider):
    """Base spider: ``-a source=NAME`` (required), ``-a config=PATH``
    (else ``$NEWSMON_CONFIG`` / ``./newsmon.yaml``). Subclasses choose which
    kinds of entry point they read (``entry_kinds``)."""

    name = None  # not a runnable spider itself (keeps it out of `scrapy list`)
    entry_kinds: tuple[str, ...] = ("feeds", "sitemaps", "sections")

    @classmethod
    def from_crawler(cls, crawler, *args, source: str | None = None, config: Config | str | None = None,
                     db_url: str | None = None, **kwargs):
        if not source:
            raise ValueError("which source? pass -a source=NAME")
        config = config if isinstance(config, Config) else load_config(config)
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.config = config
        spider.source = config.source(source)
        # Settings the config decides; cmdline (-s) and runner overrides stay on top.
        crawler.settings.setdict(settings_from_config(config), priority="spider")
        spider.db_url = db_url or config.effective_database_url()
        spider.runlog = RunLog(spider.db_url, spider.source.name)
        spider.net_policy = source_policy(spider.source, spider.entry_urls())
        netguard.POLICY.register(spider.net_policy)
        spider.allowed_hosts = spider.net_policy.hosts
        spider.allowed_domains = sorted(spider.allowed_hosts)
        spider.url_allow = [config_regex(p) for p in spider.source.url_allow]
        spider.url_deny = [config_regex(p) for p in spider.source.url_deny]
        spider.ignored = Ignored()
        spider.listed = 0  # links and child sitemaps considered this run (MAX_LIST_URLS_PER_RUN)
        spider.slow_patterns: set[str] = set()
        spider.queued: set[str] = set()
        spider.budget = spider.source.max_articles_per_run
        spider.states: dict[str, EntryState] = {}
        spider.skipped_seen = 0  # seen links not yet counted: written with the list's fetch row
        crawler.signals.connect(spider.on_closed, signal=signals.spider_closed)
        return spider

    # --- entry points -------------------------------------------------------------------

    def entry_urls(self) -> list[str]:
        urls = []
        if "feeds" in self.entry_kinds:
            urls += self.source.feeds
        if "sitemaps" in self.entry_kinds:
            urls += self.source.sitemaps
        if "sections" in self.entry_kinds:
            urls += [s.url for s in self.source.sections]
        return urls

    async def start(self):
        self.runlog.start()
        entries = []
        if "feeds" in self.entry_kinds:
            entries += [(url, "feed", {}) for url in self.source.feeds]
        if "sitemaps" in self.entry_kinds:
            entries += [(url, "sitemap", {}) for url in self.source.sitemaps]
        if "sections" in self.entry_kinds:
            entries += [(s.url, "section", {"section": i}) for i, s in enumerate(self.source.sections)]
        if not entries:
            log.warning("%s: no %s to crawl", self.source.name, " or ".join(self.entry_kinds))
        for url, kind, extra in entries:
            request = self.entry_request(url, kind, **extra)
            if request is not None:
                yield request
        for request in self.pending_requests():
            yield request

    def pending_requests(self) -> list[scrapy.Request]:
        """Pages an earlier run fetched (or tried to) but did not file: asked
        for again whatever their list says now (see :mod:`crawler.pending`)."""
        with session_scope(self.db_url) as session:
            due = pending.due(session, self.runlog.source_id)
        if due:
            log.info("%s: fetching %d page(s) again that earlier runs could not file", self.source.name, len(due))
        requests = []
        for canonical, url, _attempts in due:
            if canonical in self.queued:
                continue
            if self.budget <= 0:
                log.warning("%s: max_articles_per_run (%d) reached; pending pages wait for the next run",
                            self.source.name, self.source.max_articles_per_run)
                break
            self.queued.add(canonical)
            self.budget -= 1
            self.runlog.articles_planned += 1
            requests.append(scrapy.Request(url, callback=self.parse_article, errback=self.on_error,
                                           dont_filter=True, meta={"kind": "article", "found_in": "pending",
                                                                   "entry": None, "canonical": canonical,
                                                                   "hints": Hints(), "validators": {}}))
        return requests

    def entry_request(self, url: str, kind: str, **meta) -> scrapy.Request | None:
        """A request for a feed, sitemap or section page, or None when it is
        resting after repeated failures (or already requested this run)."""
        if url in self.states:
            return None
        state = self.states[url] = load_state(self.db_url, self.runlog.source_id, url, kind)
        if state.resting():
            reason = (f"failing ({state.consecutive_failures} failures in a row, last: {state.last_error}); "
                      f"next try after {state.next_check_at:%Y-%m-%d %H:%M} UTC")
            log.warning("%s: skipping %s %s: %s", self.source.name, kind, url, reason,
                        extra=page_fields(self.source.name, kind, url, "skipped", reason=reason))
            state.complete = False
            self.runlog.record(url, kind, "skipped", reason=reason)
            return None
        return scrapy.Request(url, callback=self.parse_entry, errback=self.on_error, dont_filter=True,
                              meta={"kind": kind, "entry": url, "validators": state.validators(), **meta})

    def parse_entry(self, response):
        kind, entry = response.meta["kind"], response.meta["entry"]
        state = self.states[entry]
        state.fetched = True
        duration = round(response.meta.get("download_latency", 0) * 1000, 1)
        validators = {"etag": header(response, "ETag"), "last_modified": header(response, "Last-Modified")}
        if response.status == 304:
            state.new_validators = validators
            self.runlog.record(response.url, kind, "not_modified", counts={"fetched": 1}, status=304,
                               duration_ms=duration, reason="304: unchanged since the last check")
            return
        body_hash = hashlib.sha256(response.body).hexdigest()
        if body_hash == state.body_hash:
            state.new_validators = validators
            self.runlog.record(response.url, kind, "unchanged", counts={"fetched": 1}, status=response.status,
                               size=len(response.body), duration_ms=duration,
                               reason="same content as at the last check")
            return
        self.ignored = Ignored()
        try:
            links, children, note = self.parse_list(response, kind)
        except Exception as exc:  # ListError, or a hostile list tripping a parser: never the spider
            if not isinstance(exc, ListError):
                log.debug("%s: %s %s could not be read", self.source.name, kind, response.url, exc_info=True)
                exc = ListError(f"unreadable {kind} ({type(exc).__name__}: {exc})"[:500])
            self.entry_failed(state, exc.reason)
            log.warning("%s: %s %s: %s", self.source.name, kind, response.url, exc.reason,
                        extra=page_fields(self.source.name, kind, response.url, "error", status=response.status,
                                          reason=exc.reason))
            self.runlog.record(response.url, kind, "error", counts={"fetched": 1, "errors": 1},
                               status=response.status, size=len(response.body), duration_ms=duration,
                               reason=exc.reason)
            return
        state.new_validators, state.new_hash = validators, body_hash
        depth = response.meta.get("depth_in_index", 0)
        requests = []
        for child in children:
            if self.ignored.over_cap(MAX_LIST_URLS_PER_RUN - self.listed):
                state.complete = False
                break
            self.listed += 1
            if depth + 1 > MAX_SITEMAP_DEPTH:
                self.ignored.too_deep += 1
                continue
            request = self.entry_request(child, "sitemap", depth_in_index=depth + 1)
            if request is not None:
                requests.append(request)
        for link in links:
            if self.ignored.over_cap(MAX_LIST_URLS_PER_RUN - self.listed):
                state.complete = False
                break
            self.listed += 1
            request = self.article_request(link, entry, kind)
            if request is not None:
                requests.append(request)
        note = note + self.ignored.note()
        # Every link is decided first: the seen ones are counted with this list's fetch row.
        skipped, self.skipped_seen = self.skipped_seen, 0
        self.runlog.record(response.url, kind, "parsed", counts={"fetched": 1, "skipped_seen": skipped},
                           status=response.status, size=len(response.body), duration_ms=duration, reason=note)
        log.info("%s: %s %s: %s", self.source.name, kind, response.url, note,
                 extra=page_fields(self.source.name, kind, response.url, "parsed", status=response.status,
                                   links=len(links), reason=note))
        yield from requests

    def parse_list(self, response, kind: str) -> tuple[list[Link], list[str], str]:
        """(article links, child sitemaps, a note for the fetch log); raises ListError."""
        if kind == "feed":
            return lists.parse_feed(response, self.source.name)
        if kind == "sitemap":
            return lists.parse_sitemap(response, self.horizon(), self.host_allowed, self.record_offsite)
        section = self.source.sections[response.meta["section"]]
        allow = [config_regex(p) for p in section.allow]
        deny = [config_regex(p) for p in section.deny]

        def keep(url: str) -> bool:
            if allow and not any(self.pattern_says(p, url, "allow", False) for p in allow):
                return False
            return not any(self.pattern_says(p, url, "deny", True) for p in deny)

        return lists.parse_section(response, section, keep)

    def horizon(self) -> datetime:
        return utcnow() - timedelta(days=self.source.horizon_days)

    def entry_failed(self, state: EntryState, reason: str) -> None:
        state.failed = reason
        state.complete = False

    # --- article requests ---------------------------------------------------------------

    def host_allowed(self, url: str) -> bool:
        host = host_of(url)
        return any(host == allowed or host.endswith("." + allowed) for allowed in self.allowed_hosts)

    def record_offsite(self, url: str, kind: str) -> None:
        """A link to another host: counted, reported once per list (see :class:`Ignored`)."""
        self.ignored.offsite += 1
        self.ignored.first_offsite = self.ignored.first_offsite or (host_of(url) or url[:200])

    def pattern_says(self, pattern, url: str, key: str, on_timeout: bool) -> bool:
        """``pattern.search(url)`` within the regex time limit; a pattern that
        runs out of time counts as ``on_timeout`` (url_allow: no, url_deny: yes)
        and is reported once per run."""
        if pattern.pattern in self.slow_patterns:
            return on_timeout  # it ran out of time once this run: not again for every URL
        try:
            try:
                return pattern.search(url, timeout=REGEX_TIMEOUT) is not None
            except TimeoutError:  # once more with room, so a busy machine is not mistaken for a bad pattern
                return pattern.search(url, timeout=4 * REGEX_TIMEOUT) is not None
        except TimeoutError:
            if pattern.pattern not in self.slow_patterns:
                self.slow_patterns.add(pattern.pattern)
                log.warning("%s: %s pattern %r ran longer than %.2f s on %s: treated as %s for the rest of the run",
                            self.source.name, key, pattern.pattern, 4 * REGEX_TIMEOUT, url[:200],
                            "matching" if on_timeout else "not matching")
            return on_timeout

    def article_request(self, link: Link, entry: str, kind: str) -> scrapy.Request | None:
        """The request for an article link, or None when it is filtered, queued
        already, archived and not due for a check, or over the run's budget."""
        url = link.url.split("#", 1)[0]
        try:
            scheme = urlsplit(url).scheme
        except ValueError:
            scheme = ""
        if scheme not in ("http", "https"):
            self.ignored.not_http += 1
            return None
        canonical = canonicalize_url(url)
        if not self.host_allowed(canonical):
            self.record_offsite(url, "article")
            return None
        if self.url_allow and not any(self.pattern_says(p, canonical, "url_allow", False) for p in self.url_allow):
            log.debug("%s: %s does not match url_allow", self.source.name, url)
            self.ignored.not_allowed += 1
            return None
        if any(self.pattern_says(p, canonical, "url_deny", True) for p in self.url_deny):
            log.debug("%s: %s matches url_deny", self.source.name, url)
            self.ignored.denied += 1
            return None
        if canonical in self.queued:
            return None
        self.queued.add(canonical)
        known = self.archived(canonical, url)
        validators = {}
        if known is not None:
            if not self.due_for_check(known, link.changed_at):
                self.skipped_seen += 1
                return None
            validators = {"etag": known.etag, "last_modified": known.last_modified}
        if self.budget <= 0:
            if self.budget == 0:
                log.warning("%s: max_articles_per_run (%d) reached; the rest waits for the next run",
                            self.source.name, self.source.max_articles_per_run)
                self.budget -= 1
            self.states[entry].complete = False
            return None
        self.budget -= 1
        self.runlog.articles_planned += 1
        return scrapy.Request(url, callback=self.parse_article, errback=self.on_error, dont_filter=True,
                              meta={"kind": "article", "found_in": kind, "entry": entry, "canonical": canonical,
                                    "hints": link.hints, "validators": {k: v for k, v in validators.items() if v}})

    def archived(self, canonical: str, url: str | None = None) -> Known | None:
        """What the archive knows about an article URL, or None (two indexed lookups).
        The URL as listed matters too: a page whose ``rel=canonical`` names
        another address is archived under that address, and without the
        listed URL it would be fetched again on every run."""
        with session_scope(self.db_url) as session:
            if url is not None and url != canonical:
                row = session.execute(_KNOWN_BY_EITHER, {"canonical": canonical, "url": url}).first()
            else:
                row = session.execute(_KNOWN, {"canonical": canonical}).first()
            if row is None:
                return None
            validators = session.execute(_VALIDATORS, {"article": row.id}).first()
            return Known(row.first_seen, row.last_checked_at, *(validators or (None, None)))

    def due_for_check(self, known, changed_at: datetime | None) -> bool:
        """An archived article is fetched again when its list says it changed
        since we last looked, or while it is young (``update_check.max_age_hours``
        since first seen) and was last checked ``every_hours`` ago or more."""
        now = utcnow()
        if changed_at is not None and changed_at > known.last_checked_at:
            return True
        policy = self.source.update_check
        young = now - known.first_seen <= timedelta(hours=policy.max_age_hours)
        return young and now - known.last_checked_at >= timedelta(hours=policy.every_hours)

    # --- article pages ------------------------------------------------------------------

    def parse_article(self, response):
        meta = response.meta
        duration = round(meta.get("download_latency", 0) * 1000, 1)
        if response.status != 304 and isinstance(response, TextResponse):
            declared = head_canonical(response.body, response.encoding)
            if declared:
                canonical = canonicalize_url(response.urljoin(declared))
                if canonical != meta["canonical"] and canonical not in self.queued:
                    known = self.archived(canonical)
                    if known is not None and not self.due_for_check(known, None):
                        with session_scope(self.db_url) as session:
                            self.runlog.record(response.url, "article", "seen",
                                               counts={"fetched": 1, "skipped_seen": 1}, status=response.status,
                                               size=len(response.body), duration_ms=duration,
                                               reason=f"its canonical URL {canonical} is archived already",
                                               session=session)
                            pending.clear(session, self.runlog.source_id, [meta["canonical"]])
                        log.info("%s: seen %s: its canonical URL %s is archived already", self.source.name,
                                 response.url, canonical,
                                 extra=page_fields(self.source.name, "article", response.url, "seen",
                                                   status=response.status, canonical_url=canonical))
                        return
        content_type = header(response, "Content-Type")
        yield ArticleItem(
            source=self.source.name, url=response.url,
            requested_url=(meta.get("redirect_urls") or [response.request.url])[0],
            canonical_url=meta["canonical"], kind=meta["found_in"], status=response.status, fetched_at=utcnow(),
            body=response.body if response.status != 304 else b"", encoding=declared_charset(content_type),
            content_type=content_type, etag=header(response, "ETag"),
            last_modified=header(response, "Last-Modified"), hints=meta.get("hints") or Hints(),
            duration_ms=duration, not_modified=response.status == 304,
        )

    # --- failures and the end ---------------------------------------------------------

    def on_error(self, failure):
        request = failure.request
        kind = request.meta.get("kind", "article")
        outcome, reason, status = failure_reason(failure)
        entry = request.meta.get("entry")
        state = self.states.get(entry)
        if state is not None:
            if kind == "article":
                # Retry the list next time unless the page is gone for good.
                if status not in (404, 410) and outcome in ("error", "refused"):
                    state.complete = False
            else:
                self.entry_failed(state, reason)
        level = logging.WARNING if outcome in ("error", "refused") else logging.INFO
        url = (request.meta.get("redirect_urls") or [request.url])[0]  # the link as listed, not the last hop
        log.log(level, "%s: %s %s: %s", self.source.name, kind, url, reason,
                extra=page_fields(self.source.name, kind, url, outcome, status=status, reason=reason))
        counts = {"fetched": int(status is not None), "errors": int(outcome in ("error", "refused"))}
        with session_scope(self.db_url) as session:
            canonical = request.meta.get("canonical")
            if kind == "article" and canonical:
                if passing_failure(outcome, reason, status):
                    row = pending.record_failure(session, self.runlog.source_id, canonical, url, reason,
                                                 self.config.crawl.pending_retry_limit, self.source.name)
                    if row.status == "abandoned":
                        reason += f"; given up after {row.attempts} attempts"
                else:
                    pending.clear(session, self.runlog.source_id, [canonical])
            self.runlog.record(url, kind, outcome, counts=counts, status=status, reason=reason, session=session)

    def on_closed(self, spider, reason):
        if spider is not self:
            return
        try:
            save_states(self.db_url, self.runlog.source_id, self.states.values(), self.config.crawl,
                        self.source, finished=reason == "finished")
            unsaved = None
        except Exception as exc:  # noqa: BLE001 - the archive is down or full: say so below
            log.error("%s: could not save the feed states: %s", self.source.name, brief(exc))
            unsaved = f"could not save the feed states: {brief(exc)}"
        entries = list(self.states.values())
        failed = [s for s in entries if s.failed]
        fetched = [s for s in entries if s.fetched and not s.failed]
        runlog = self.runlog
        archived = runlog.counts.new_articles + runlog.counts.updated + runlog.counts.unchanged
        if reason not in ("finished",):
            status, message = "interrupted", f"crawl ended early: {reason}"
        elif runlog.archive_failures and not archived:
            status = "failed"
            message = (f"{runlog.archive_failures} articles could not be archived (they are fetched again next "
                       f"run): {runlog.last_archive_error}")[:2000]
        elif entries and not fetched and failed:
            status, message = "failed", "; ".join(f"{s.url}: {s.failed}" for s in failed)[:2000]
        else:
            # 'partial': the run finished but some pages or lists failed (errors > 0)
            status = "partial" if failed or self.runlog.counts.errors else "ok"
            message = ("; ".join(f"{s.url}: {s.failed}" for s in failed)[:2000]) or None
            if runlog.archive_failures:
                message = "; ".join(filter(None, [f"{runlog.archive_failures} articles could not be archived "
                                                  f"(fetched again next run): {runlog.last_archive_error}",
                                                  message]))[:2000]
            if message is None and status == "partial":
                message = f"{self.runlog.counts.errors} pages failed (see fetches)"
        if unsaved:
            status, message = "failed", "; ".join(filter(None, [unsaved, message]))[:2000]
        if runlog.run_id is None and runlog.start_error:
            status, message = "failed", f"could not record the run in the archive: {runlog.start_error}"
        try:
            self.runlog.finish(status, message)
        except Exception as exc:  # noqa: BLE001 - the next run (or `newsmon status`) marks it interrupted
            log.error("%s: could not record the end of the run: %s", self.source.name, brief(exc))
            self.runlog.status = "failed"
            self.runlog.message = f"could not record the end of the run: {brief(exc)}"
        c = self.runlog.counts
        log.info("%s: run %s: %d fetched, %d new, %d updated, %d unchanged, %d skipped as seen, "
                 "%d not articles, %d errors", self.source.name, self.runlog.status, c.fetched, c.new_articles,
                 c.updated, c.unchanged, c.skipped_seen, c.not_articles, c.errors,
                 extra=self.runlog.end_fields())
