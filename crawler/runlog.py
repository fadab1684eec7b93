"""A crawl run's bookkeeping in the archive: its ``crawl_runs`` row (counts,
status) and one ``fetches`` row per request outcome, and the ``sources`` row
a configured source name maps to.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from storage.db import session_scope
from storage.models import CrawlRun, Fetch, Source, utcnow

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
