"""The spiders. All the work is in :class:`spiders.base.NewsSpider`; these
only choose which of a source's entry points they read."""
from __future__ import annotations

from spiders.base import NewsSpider


class SourceSpider(NewsSpider):
    """A source's feeds, sitemaps and section pages: what ``newsmon crawl`` runs."""

    name = "source"
    entry_kinds = ("feeds", "sitemaps", "sections")


class FeedsSpider(NewsSpider):
    """Only the source's RSS/Atom feeds."""

    name = "feeds"
    entry_kinds = ("feeds",)


class SitemapsSpider(NewsSpider):
    """Only the source's sitemaps (indexes, gzip, Google News)."""

    name = "sitemaps"
    entry_kinds = ("sitemaps",)


class SectionsSpider(NewsSpider):
    """Only the source's section pages, links followed one level deep."""

    name = "sections"
    entry_kinds = ("sections",)
