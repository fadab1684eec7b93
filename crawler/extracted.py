"""What extraction returns: the article, the feed's hints about it, and the
one-line refusal (:class:`NotArticle`). Pure data, imported by the pipeline,
the items and the spiders without loading the extraction code's helpers."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import trafilatura

EXTRACTOR = f"trafilatura {trafilatura.__version__}"


class NotArticle(Exception):
    """The page is not an article we file; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ExtractionTimeout(NotArticle):
    """Extraction ran past its time limit (the page is skipped)."""



@dataclass
class Hints:
    """What the feed or sitemap entry that linked the page said about it."""

    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    language: str | None = None


@dataclass
class Extracted:
    """One article as extracted from one page."""

    url: str
    canonical_url: str | None
    title: str | None
    author: str | None
    published_at: datetime | None  # naive UTC
    language: str | None
    site_name: str | None
    description: str | None
    tags: list[str]
    text: str  # paragraphs separated by blank lines
    paywalled: bool
    origins: dict[str, str] = field(default_factory=dict)
    extractor: str = EXTRACTOR
