"""The CPU work of filing a page, in a pool of worker processes (both cores).

A crawl process fetches and writes in its reactor thread; what costs CPU and
needs no archive — extraction (trafilatura, with its time limit), the dedup
fingerprint, topic rule matching, the event diff of the text and the raw
HTML's compression — runs here,
in a persistent pool started once per crawl process (pebble's ProcessPool:
a worker that dies or overruns its task's deadline is killed and replaced,
and the task fails with a reason; the page is logged as failed and fetched
again on the next run).

:func:`analyse` is a pure function of the page and the config; the stages
use its results when they were computed from the text they file (else they
compute them themselves, as ``newsmon reextract`` does).
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from crawler.classify import compile_topics
from crawler.decode import compress_html
from crawler.dedup import fingerprint, sentence_keys_of
from crawler.events.diff import diff_text
from crawler.events.timeline import load_timeline
from crawler.extract import extract_for_source
from crawler.extracted import Extracted, Hints, NotArticle
from crawler.metadata import load_language_model
from crawler.text import text_hash

log = logging.getLogger("newsmon.crawl")

# Beyond the extraction time limit, what a task may take (classification and
# the event diff of a long page) before its worker is killed.
ANALYSIS_GRACE_SECONDS = 30.0


@dataclass
class Analysis:
    """What the stages would compute from a page's text, computed in a worker."""

    text_hash: str  # of the text the results below were computed from
    title: str | None
    fingerprint: object | None = None  # crawler.dedup.Fingerprint without any boilerplate filtered
    sentence_keys: object | None = None
    topics: list | None = None  # crawler.classify.TopicResult per topic
    diff: object | None = None  # crawler.events.diff.ArticleDiff, when the text is relevant
    diff_inputs: tuple | None = None  # (published, reference date, language, date order) it was made with
    _checked: tuple = field(default=(None, False), repr=False, compare=False)  # (text, fits) last asked about

    def fits(self, text: str | None, title: str | None = None) -> bool:
        """Whether these results were computed from ``text`` (and ``title``).
        Each stage asks about the same string object: it is hashed once (a
        long text costs ~1 ms to hash)."""
        text = text or ""
        if text is not self._checked[0]:
            self._checked = (text, self.text_hash == text_hash(text))
        return self._checked[1] and (title is None or title == self.title)

    def remember(self, text: str, digest: str) -> None:
        """The caller hashed ``text`` already (the archive step does): reuse it."""
        self._checked = (text, self.text_hash == digest)


@dataclass
class PageResult:
    extracted: Extracted | None = None
    analysis: Analysis | None = None
    not_article: str | None = None  # the refusal reason
    raw_html: bytes | None = field(default=None, repr=False)  # the page compressed for article_versions


# --- in the worker -------------------------------------------------------------------------

_state: dict = {}


def _init_worker(config) -> None:
    # Forked from a crawl process: its signal handlers and database connections are not ours.
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the crawl, which stops the pool
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _state.get("config") is not config:  # a timeline loaded before the fork is inherited as it is
        _state["config"] = config
        _state["timeline"] = None


def _timeline():
    if _state.get("timeline") is None:
        _state["timeline"] = load_timeline(_state["config"])
    return _state["timeline"]


def analyse_text(config, text: str, title: str | None, published: datetime | None, language: str | None,
                 date_order: str | None, timeline=None) -> Analysis:
    """Fingerprint, topic results and (for a relevant text) the event diff of one article text."""
    analysis = Analysis(text_hash(text), title)
    analysis.fingerprint = fingerprint(text, config.dedup)
    analysis.sentence_keys = sentence_keys_of(text)
    if config.topics:
        analysis.topics = compile_topics(config.topics).classify(title, text)
        relevant = any(r.relevant for r in analysis.topics)
    else:
        relevant = None
    if config.events and relevant is not False and text:
        day = published.date() if published else None
        reference = day or datetime.utcnow().date()
        analysis.diff_inputs = (day, reference, language, date_order)
        analysis.diff = diff_text(text, timeline if timeline is not None else _timeline(), day, language,
                                  date_order, reference)
    return analysis


def analyse_page(body: bytes, url: str, source_name: str | None, hints: Hints, fetched_at: datetime,
                 encoding: str | None, content_type: str | None) -> PageResult:
    """Extract one page with its source's expectations and analyse its text (runs in a worker)."""
    config = _state["config"]
    source = next((s for s in config.sources if s.name == source_name), None)
    try:
        extracted = extract_for_source(body, url, source, hints=hints, fetched_at=fetched_at,
                                       timeout=config.crawl.extraction_timeout, encoding=encoding,
                                       content_type=content_type)
    except NotArticle as exc:
        return PageResult(not_article=exc.reason)
    analysable = extracted.text if not extracted.paywalled else ""
    language = extracted.language or (source.language if source else None)
    analysis = analyse_text(config, analysable, extracted.title, extracted.published_at, language,
                            source.date_order if source else None)
    return PageResult(extracted=extracted, analysis=analysis, raw_html=compress_html(body))


# --- in the crawl process -----------------------------------------------------------------


def worker_count(setting: int | None) -> int:
    """``crawl.analysis_workers``: a number, 0 for inline, or None for one per core."""
    if setting is not None:
        return setting
    return max(1, min(os.cpu_count() or 1, 8))


class AnalysisPool:
    """One pool per crawl process, shared by its spiders (opened and closed with them)."""

    _shared: "AnalysisPool | None" = None
    _users = 0

    def __init__(self, config, workers: int) -> None:
        # fork: the workers start with the crawl's imports (trafilatura, lxml) and, loaded here
        # first, the timeline with its lemma dictionaries (seconds per process to load) in memory.
        _state["config"] = config
        try:
            _state["timeline"] = load_timeline(config) if config.events else None
        except Exception:  # noqa: BLE001 - e.g. an unreadable events file: each page's analysis says why
            _state["timeline"] = None
        load_language_model()  # likewise: shared by the workers instead of loaded by each
        self.config = config
        self.workers = workers
        self.pool = self._new_pool()
        self.deadline = config.crawl.extraction_timeout + ANALYSIS_GRACE_SECONDS

    @classmethod
    def acquire(cls, config) -> "AnalysisPool | None":
        workers = worker_count(config.crawl.analysis_workers)
        if workers == 0:
            return None
        if cls._shared is None:
            cls._shared = cls(config, workers)
            log.debug("analysis pool: %d worker processes", workers)
        cls._users += 1
        return cls._shared

    @classmethod
    def release(cls) -> None:
        cls._users -= 1
        if cls._users <= 0 and cls._shared is not None:
            cls._shared.pool.stop()
            cls._shared.pool.join(timeout=10)
            cls._shared, cls._users = None, 0

    def _new_pool(self):
        from pebble import ProcessPool

        return ProcessPool(max_workers=self.workers, initializer=_init_worker, initargs=(self.config,),
                           context=multiprocessing.get_context("fork"))

    def submit(self, body: bytes, url: str, source_name: str, hints: Hints, fetched_at: datetime,
               encoding: str | None, content_type: str | None) -> Future:
        if not self.pool.active:
            # pebble breaks the whole pool when a worker dies between taking a task and
            # saying which one (BrokenProcessPool: the pending tasks fail with it): start anew.
            log.warning("analysis pool: broken after a worker died; starting a new pool of %d workers", self.workers)
            self.pool.stop()
            self.pool = self._new_pool()
        return self.pool.schedule(analyse_page, args=(body, url, source_name, hints, fetched_at, encoding,
                                                      content_type), timeout=self.deadline)


def failure_reason(exc: BaseException, deadline: float) -> str:
    """Words for a task that did not come back."""
    from concurrent.futures import TimeoutError as FutureTimeout

    from concurrent.futures.process import BrokenProcessPool

    from pebble import ProcessExpired

    if isinstance(exc, BrokenProcessPool):
        return f"an analysis worker died before it said which page it had ({exc}): the pool was restarted"
    if isinstance(exc, FutureTimeout):
        return f"analysis did not finish within {deadline:g}s: its worker was replaced"
    if isinstance(exc, ProcessExpired):
        return f"the analysis worker died (exit code {exc.exitcode}): it was replaced"
    return f"analysis failed: {type(exc).__name__}: {exc}"
