"""Per entry point (feed, sitemap, section page) state in ``feed_states``:
conditional-GET validators, body hash, last/next check, consecutive failures.

Validators and body hash only move forward when the run finished and every
link the list led to was dealt with, so a crash or a failed article fetch
never hides a list's links from the next run. An entry point that failed
``crawl.feed_failure_limit`` times in a row is 'failing' and rests for
``crawl.feed_retry_hours``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import select

from storage.db import session_scope
from storage.models import FeedState, utcnow
from storage.upsert import get_or_create

log = logging.getLogger("newsmon.crawl")


@dataclass
class EntryState:
    """One entry point's ``feed_states`` row, as loaded, plus this run's outcome."""

    url: str
    kind: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    consecutive_failures: int = 0
    status: str = "ok"
    next_check_at: datetime | None = None
    last_error: str | None = None
    # this run
    fetched: bool = False
    failed: str | None = None
    complete: bool = True  # every link it led to was dealt with
    new_validators: dict = field(default_factory=dict)
    new_hash: str | None = None

    def validators(self) -> dict:
        return {k: v for k, v in (("etag", self.etag), ("last_modified", self.last_modified)) if v}

    def resting(self) -> bool:
        """Failing, and its retry time has not come yet."""
        return self.status == "failing" and self.next_check_at is not None and self.next_check_at > utcnow()


def load_state(db_url: str, source_id: int, url: str, kind: str) -> EntryState:
    with session_scope(db_url) as session:
        row = session.scalar(select(FeedState).where(FeedState.source_id == source_id, FeedState.url == url))
        if row is None:
            return EntryState(url, kind)
        return EntryState(url, kind, row.etag, row.last_modified, row.body_hash, row.consecutive_failures,
                          row.status, row.next_check_at, row.last_error)


def save_states(db_url: str, source_id: int, states: Iterable[EntryState], crawl, source, finished: bool) -> None:
    """Write the ``feed_states`` rows of the entry points this run requested."""
    now = utcnow()
    with session_scope(db_url) as session:
        # Sorted, so two crawls of one source lock the rows in the same order.
        for state in sorted(states, key=lambda s: s.url):
            if not state.fetched and not state.failed:
                continue  # resting, or never answered before the run stopped
            # Another crawl of the source may create the row at the same moment: one row either way.
            row = get_or_create(session, FeedState, {"source_id": source_id, "url": state.url},
                                {"kind": state.kind, "consecutive_failures": 0, "status": "ok"}, for_update=True)
            row.last_checked_at = now
            if state.failed:
                row.consecutive_failures = (row.consecutive_failures or 0) + 1
                row.last_error = state.failed
                if row.consecutive_failures >= crawl.feed_failure_limit:
                    row.status = "failing"
                    row.next_check_at = now + timedelta(hours=crawl.feed_retry_hours)
                    log.warning("%s: %s failed %d times in a row: resting it until %s", source.name, state.url,
                                row.consecutive_failures, f"{row.next_check_at:%Y-%m-%d %H:%M}")
                continue
            row.consecutive_failures, row.status, row.last_error = 0, "ok", None
            row.last_success_at = now
            row.next_check_at = now + timedelta(minutes=source.check_interval_minutes)
            if finished and state.complete:
                row.etag = state.new_validators.get("etag") or row.etag
                row.last_modified = state.new_validators.get("last_modified") or row.last_modified
                row.body_hash = state.new_hash or row.body_hash
