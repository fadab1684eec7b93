"""What a spider hands to the pipelines: one fetched article page."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crawler.extracted import Extracted, Hints


@dataclass
class ArticleItem:
    """A fetched article page on its way to extraction and the archive.

    ``not_modified`` items (a 304 to an update check) carry no body: the
    archive only notes that the article was checked.
    """

    source: str
    url: str  # where the page was finally fetched (after redirects)
    requested_url: str  # the link as listed by the feed, sitemap or section page
    canonical_url: str  # canonicalize_url(requested_url): the archive key unless the page declares another
    kind: str  # how it was found: feed | sitemap | section | pending (an earlier run could not file it)
    status: int
    fetched_at: datetime
    body: bytes = field(default=b"", repr=False)
    encoding: str | None = None  # charset declared in the Content-Type header
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    hints: Hints = field(default_factory=Hints)
    duration_ms: float | None = None
    not_modified: bool = False
    extracted: Extracted | None = field(default=None, repr=False)
    analysis: object | None = field(default=None, repr=False)  # crawler.workers.Analysis, from a worker
    raw_html: bytes | None = field(default=None, repr=False)  # compress_html(body), made by that worker
