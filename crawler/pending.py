"""Article pages a run meant to file and could not: ``pending_pages``.

A page that was fetched but not archived (the archive transaction failed, the
extractor crashed), or whose fetch failed for a passing reason (timeout,
5xx, connection refused), is recorded here in the transaction of its
``error`` fetch row. The source's next runs request it again whatever its feed
or sitemap says (a 304 on the list hides nothing), until it is filed (the row
is deleted in the filing transaction), fails for a reason about the page
itself (not an article, 404/410: the row is deleted and the fetch row says
why), or has failed ``crawl.pending_retry_limit`` times: then the row stays,
``abandoned``, with its last error, and a warning is logged.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Iterable

from sqlalchemy import bindparam, delete, select

from storage.models import PendingPage, utcnow
from storage.upsert import upsert

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

log = logging.getLogger("newsmon.crawl")


def record_failure(session: "Session", source_id: int, canonical_url: str, url: str, reason: str,
                   limit: int, source_name: str = "") -> PendingPage:
    """Note one failed attempt at a page (in the caller's transaction);
    returns its row, ``abandoned`` once ``limit`` attempts have failed."""
    now = utcnow()
    upsert(session, PendingPage, {"source_id": source_id, "canonical_url": canonical_url},
           {"url": url, "status": "pending", "attempts": 1, "last_error": reason[:2000], "first_failed_at": now,
            "last_attempt_at": now},
           {"url": url, "attempts": PendingPage.attempts + 1, "last_error": reason[:2000], "last_attempt_at": now})
    row = session.scalars(select(PendingPage).where(PendingPage.source_id == source_id,
                                                    PendingPage.canonical_url == canonical_url)
                          .execution_options(populate_existing=True)).one()
    if row.status == "pending" and row.attempts >= limit:
        row.status = "abandoned"
        log.warning("%s: giving up on %s after %d failed attempts (last: %s); kept in pending_pages as abandoned",
                    source_name, url, row.attempts, reason)
    return row


_CLEAR = (delete(PendingPage.__table__)  # built once: every filed page runs it
          .where(PendingPage.__table__.c.source_id == bindparam("source"),
                 PendingPage.__table__.c.canonical_url.in_(bindparam("keys", expanding=True))))


def clear(session: "Session", source_id: int, canonical_urls: Iterable[str]) -> int:
    """Forget pages that were filed or turned out not to be fileable (in the
    caller's transaction); returns how many rows went."""
    keys = sorted({url for url in canonical_urls if url})
    if not keys:
        return 0
    return session.execute(_CLEAR, {"source": source_id, "keys": keys}).rowcount


def due(session: "Session", source_id: int) -> list[tuple[str, str, int]]:
    """(canonical URL, URL, attempts so far) of the source's pending pages, oldest failure first."""
    return [tuple(row) for row in session.execute(
        select(PendingPage.canonical_url, PendingPage.url, PendingPage.attempts)
        .where(PendingPage.source_id == source_id, PendingPage.status == "pending")
        .order_by(PendingPage.first_failed_at, PendingPage.id))]
