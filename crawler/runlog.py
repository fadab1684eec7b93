"""A crawl run's bookkeeping in the archive: its ``crawl_runs`` row (counts,
status, owning process) and one ``fetches`` row per request outcome, and the
``sources`` row a configured source name maps to.

Counts are written with the rows they count: each increment of a
``crawl_runs`` counter runs in the same transaction as the ``fetches`` row
(and, for an article, the archive rows) it stands for, so a run killed at
any moment reports exactly what it did. A run records the pid and host of
its process; a ``running`` run whose process is gone is marked
``interrupted`` by the next run of its source and by ``newsmon status``,
``sources`` and ``stats`` (:func:`reap_stale_runs`).
"""
from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, fields
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, event, select, update

from storage.db import session_scope
from storage.models import CrawlRun, Fetch, Source, utcnow
from storage.upsert import get_or_create

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

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


COUNT_NAMES = [f.name for f in fields(Counts)]


@dataclass
class RunSummary:
    """One source's run, as ``newsmon crawl`` reports it."""

    source: str
    status: str
    counts: Counts
    message: str | None = None


def page_fields(source: str | None, kind: str, url: str, outcome: str, **more) -> dict:
    """The ``extra=`` of a per-page log line: its ``fetches`` row's source, kind,
    url and outcome (and any of ``more`` that is set) as structured fields, which
    JSON logs show as keys and text logs leave to the message
    (``newsmon/logging_setup.py``, key ``data``)."""
    fields = {"event": "page", "source": source, "kind": kind, "url": url, "outcome": outcome}
    fields.update({k: v for k, v in more.items() if v is not None})
    return {"data": fields}


def source_id(session: "Session", name: str) -> int:
    """The ``sources`` row id for a configured source name, created on first
    use (safely when several crawls of a new source start at once)."""
    return get_or_create(session, Source, {"name": name}, {"created_at": utcnow()}).id


# --- is the process that owns a run still there? ------------------------------------------

HOST = socket.gethostname()[:255]
# A process found under a run's pid that started this much later than the run is another process.
_PID_REUSE_SLACK = timedelta(seconds=5)


def process_gone(pid: int | None, host: str | None, started_at: datetime) -> bool:
    """True when the process that started a run (``pid`` on ``host``, the run
    begun at ``started_at``) no longer exists. A run without a pid predates
    this bookkeeping and counts as gone; a run of another host is never
    judged from here."""
    if pid is None:
        return True
    if host != HOST:
        return False
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        created = datetime.fromtimestamp(process.create_time(), timezone.utc).replace(tzinfo=None)
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:  # e.g. access denied: it exists
        return False
    return created > started_at + _PID_REUSE_SLACK  # the pid was reused by a later process


def reap_stale_runs(session: "Session", source_id: int | None = None) -> int:
    """Mark ``running`` runs (of one source, or all) whose process is gone as
    ``interrupted``; returns how many. Their counts stay as written."""
    query = select(CrawlRun).where(CrawlRun.status == "running")
    if source_id is not None:
        query = query.where(CrawlRun.source_id == source_id)
    reaped = 0
    for run in session.scalars(query):
        if run.pid == os.getpid() and run.host == HOST:
            continue  # this process's own run
        if process_gone(run.pid, run.host, run.started_at):
            run.status = "interrupted"
            run.finished_at = utcnow()
            who = f"process {run.pid} on {run.host}" if run.pid else "process"
            run.message = f"the crawl {who} ended before it could record its end"
            reaped += 1
    return reaped


def reap_stale_runs_quietly(db_url: str) -> None:
    """:func:`reap_stale_runs` for the read-mostly commands (status, stats):
    an archive they cannot write to is still shown."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with session_scope(db_url) as session:
            reap_stale_runs(session)
    except SQLAlchemyError as exc:
        log.debug("could not mark stale runs interrupted: %s", exc)


def brief(exc: BaseException) -> str:
    """An exception in one line for a run's message (a database error's own words, without its SQL)."""
    inner = getattr(exc, "orig", None) or exc
    text = " ".join(str(inner).split("\n", 1)[0].split())
    return f"{type(inner).__name__}: {text}"[:500]


_WAITING = "newsmon.runlog.counts"  # session.info: (run log, counts) added in the open transaction


def _mirror(session: "Session") -> None:
    for runlog, counts in session.info.pop(_WAITING, []):
        for name, n in counts.items():
            setattr(runlog.counts, name, getattr(runlog.counts, name) + n)


@lru_cache(maxsize=64)
def _increment(names: tuple[str, ...]):
    """``UPDATE crawl_runs SET name = name + :n_name, … WHERE id = :run`` for
    these counters, built once per set of names (every page runs one)."""
    runs = CrawlRun.__table__
    return (update(runs).where(runs.c.id == bindparam("run"))
            .values({runs.c[name]: runs.c[name] + bindparam(f"n_{name}") for name in names}))


class RunLog:
    """The ``crawl_runs`` row of one source's crawl and its ``fetches`` rows.

    :meth:`record` writes a fetch row and the counters it stands for in one
    transaction (the caller's, when it passes ``session``); :attr:`counts`
    mirrors what was committed, for the progress display."""

    def __init__(self, db_url: str, source_name: str) -> None:
        self.db_url = db_url
        self.source_name = source_name
        self.counts = Counts()
        self.run_id: int | None = None
        self.source_id: int | None = None
        self.status = "running"
        self.message: str | None = None
        self.start_error: str | None = None  # why the run could not be recorded at all
        self.articles_planned = 0  # article pages requested so far (for the progress display's ETA)
        self.articles_done = 0  # article pages with a committed fetch row
        self.archive_failures = 0  # articles fetched but not archived (the database refused them)
        self.last_archive_error: str | None = None

    def archive_failed(self, reason: str) -> None:
        self.archive_failures += 1
        self.last_archive_error = reason

    def start(self) -> None:
        try:
            self._start()
        except Exception as exc:
            self.start_error = f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}".splitlines()[0]
            raise

    def _start(self) -> None:
        with session_scope(self.db_url) as session:
            self.source_id = source_id(session, self.source_name)
            stale = reap_stale_runs(session, self.source_id)
            if stale:
                log.warning("%s: %d earlier run(s) never finished; marked interrupted", self.source_name, stale)
            run = CrawlRun(source_id=self.source_id, status="running", started_at=utcnow(), pid=os.getpid(),
                           host=HOST, **{name: 0 for name in COUNT_NAMES})
            session.add(run)
            session.flush()
        self.run_id = run.id  # once committed

    def add_counts(self, session: "Session", counts: dict[str, int]) -> None:
        """Add ``counts`` to the run's counters in ``session``'s transaction."""
        counts = {name: n for name, n in counts.items() if n}
        if not counts:
            return
        unknown = set(counts) - set(COUNT_NAMES)
        if unknown:
            raise ValueError(f"not a crawl_runs counter: {', '.join(sorted(unknown))}")
        if self.run_id is not None:
            names = tuple(sorted(counts))
            session.execute(_increment(names), {"run": self.run_id, **{f"n_{name}": counts[name] for name in names}})
        # Mirrored in memory once the transaction commits: one listener per
        # session, whatever the number of calls (registering one costs more
        # than the update).
        waiting = session.info.setdefault(_WAITING, [])
        if not waiting:
            event.listen(session, "after_commit", _mirror, once=True)
        waiting.append((self, counts))

    def count(self, name: str, n: int = 1, *, session: "Session | None" = None) -> None:
        """Add ``n`` to one counter (in ``session``, else in its own transaction)."""
        if session is not None:
            self.add_counts(session, {name: n})
            return
        with session_scope(self.db_url) as own:
            self.add_counts(own, {name: n})

    def record(self, url: str, kind: str, outcome: str, *, counts: dict[str, int] | None = None,
               status: int | None = None, reason: str | None = None, size: int | None = None,
               duration_ms: float | None = None, session: "Session | None" = None) -> None:
        """One request outcome and the counters it adds, in ``session`` when
        given (so they land with the article they describe), else in their own
        transaction."""
        row = Fetch(crawl_run_id=self.run_id, source_id=self.source_id, url=url, kind=kind, status=status,
                    outcome=outcome, reason=reason, bytes=size, duration_ms=duration_ms, fetched_at=utcnow())
        if session is not None:
            session.add(row)
            self.add_counts(session, counts or {})
            if kind == "article":
                event.listen(session, "after_commit", self._article_done, once=True)
            return
        with session_scope(self.db_url) as own:
            own.add(row)
            self.add_counts(own, counts or {})
        if kind == "article":
            self.articles_done += 1

    def _article_done(self, _session=None) -> None:
        self.articles_done += 1

    def finish(self, status: str, message: str | None = None) -> None:
        """Record the run's end; its counters are read back from the row."""
        if self.run_id is None:
            self.status, self.message = status, message
            return
        with session_scope(self.db_url) as session:
            run = session.get(CrawlRun, self.run_id)
            run.status = status
            run.message = message
            run.finished_at = utcnow()
            self.counts = Counts(**{name: getattr(run, name) or 0 for name in COUNT_NAMES})
        self.status, self.message = status, message

    def end_fields(self) -> dict:
        """The ``extra=`` of the run's last log line: its status and counts as structured fields."""
        return {"data": {"event": "run_end", "source": self.source_name, "run_id": self.run_id,
                         "status": self.status, "message": self.message,
                         "counts": {name: getattr(self.counts, name) for name in COUNT_NAMES}}}

    def summary(self) -> RunSummary:
        return RunSummary(self.source_name, self.status, self.counts, self.message)
