"""Reading the lists a source publishes: feeds (feedparser), sitemaps (lxml)
and section pages (Scrapy's LinkExtractor). Each returns the article links
with what the list says about them (title, author, dates) as extraction hints.
"""
from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import feedparser
from lxml import etree
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.gz import gunzip

from crawler.extracted import Hints

log = logging.getLogger("newsmon.crawl")


@dataclass
class Link:
    """An article link found on an entry point, with what the list said about it."""

    url: str
    hints: Hints = field(default_factory=Hints)
    changed_at: datetime | None = None  # the list's updated/lastmod date (naive UTC)


class ListError(Exception):
    """An entry point that could not be read as what it claims to be."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def naive_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


GZIP_MAGIC = b"\x1f\x8b"
MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit for an uncompressed file
MAX_SITEMAP_URLS = 50_000  # the sitemaps.org limit of entries per file: the rest is left out


def _struct_time(value) -> datetime | None:
    """feedparser's UTC struct_time → naive UTC datetime."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), timezone.utc).replace(tzinfo=None)
    except (OverflowError, ValueError, TypeError):
        return None


def parse_feed(response, source_name: str) -> tuple[list[Link], list[str], str]:
    """RSS 0.9x/1.0/2.0 or Atom. A feed feedparser had to repair ("bozo") is
    used if it still yields linked entries; the repair is noted in the fetch log."""
    parsed = feedparser.parse(response.body, response_headers={
        "content-type": (response.headers.get("Content-Type") or b"").decode("latin-1"),
        "content-location": response.url,
    })
    links = []
    for entry in parsed.entries:
        url = entry.get("link") or next((l.get("href") for l in entry.get("links", []) if l.get("href")), None)
        if not url:
            continue
        published = _struct_time(entry.get("published_parsed")) or _struct_time(entry.get("updated_parsed"))
        hints = Hints(title=entry.get("title") or None, author=entry.get("author") or None, published=published,
                      language=parsed.feed.get("language") or None)
        changed = _struct_time(entry.get("updated_parsed")) if entry.get("updated_parsed") else None
        links.append(Link(response.urljoin(url.strip()), hints, changed))
    problem = None
    if parsed.bozo:
        exc = parsed.get("bozo_exception")
        problem = f"{type(exc).__name__}: {exc}" if exc is not None else "malformed"
        problem = " ".join(problem.split())
    if problem and not links:
        raise ListError(f"malformed feed, no usable entries ({problem})")
    version = parsed.get("version")  # absent altogether for an empty body
    if not version and not links:
        raise ListError("not a feed (no RSS or Atom document found)" if response.body.strip()
                        else "empty response (no feed)")
    note = f"{len(links)} entries ({version or 'unknown format'})"
    if problem:
        note += f"; repaired: {problem}"
        log.info("%s: feed %s needed repair (%s); using its %d entries", source_name, response.url, problem,
                 len(links))
    return links, [], note


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child_text(element, name: str) -> str | None:
    for child in element.iter():
        if _local(child.tag) == name and child.text and child.text.strip():
            return child.text.strip()
    return None


def _w3c_date(text: str | None) -> datetime | None:
    """A sitemap date (W3C datetime: 2025-11-19, 2025-11-19T17:45:00+00:00, …Z)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return naive_utc(value)


def parse_sitemap(response, horizon: datetime, host_allowed: Callable[[str], bool],
                  record_offsite: Callable[[str, str], None]) -> tuple[list[Link], list[str], str]:
    """A sitemap index (child sitemaps), a plain or Google News urlset, gzipped
    or not. Entries dated before ``horizon`` and URLs on other hosts are left out."""
    body = response.body
    if body[:2] == GZIP_MAGIC:
        try:
            body = gunzip(body, max_size=MAX_SITEMAP_BYTES)
        except Exception as exc:  # truncated or oversized archives raise assorted errors
            raise ListError(f"unreadable gzip sitemap ({type(exc).__name__}: {exc})") from None
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, remove_comments=True,
                             huge_tree=True)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ListError(f"not a sitemap (XML error: {exc})") from None
    if root is None or _local(root.tag) not in ("urlset", "sitemapindex"):
        found = _local(root.tag) if root is not None else "nothing"
        raise ListError(f"not a sitemap (root element {found!r})")
    is_index = _local(root.tag) == "sitemapindex"
    links, children, old, offsite, entries = [], [], 0, 0, 0
    for element in root:
        if _local(element.tag) not in ("url", "sitemap"):
            continue
        entries += 1
        if entries > MAX_SITEMAP_URLS:
            break
        loc = _child_text(element, "loc")
        if not loc:
            continue
        loc = response.urljoin(loc)
        lastmod = _w3c_date(_child_text(element, "lastmod"))
        published = _w3c_date(_child_text(element, "publication_date"))
        newest = max((d for d in (lastmod, published) if d), default=None)
        if newest is not None and newest < horizon:
            old += 1
            continue
        if not host_allowed(loc):
            offsite += 1
            record_offsite(loc, "sitemap" if is_index else "article")
            continue
        if is_index:
            children.append(loc)
        else:
            hints = Hints(title=_child_text(element, "title"), published=published,
                          language=_child_text(element, "language"))
            links.append(Link(loc, hints, lastmod))
    what = f"{len(children)} child sitemaps" if is_index else f"{len(links)} URLs"
    note = f"{what}; {old} older than the horizon"
    if entries > MAX_SITEMAP_URLS:
        note += f"; more than {MAX_SITEMAP_URLS} entries: the rest left out"
    return links, children, note


def parse_section(response, section, keep: Callable[[str], bool]) -> tuple[list[Link], list[str], str]:
    """The links of a section page that ``keep`` accepts (its allow/deny
    patterns, run with a time limit by the spider), one level deep."""
    if not hasattr(response, "xpath"):
        raise ListError("the section page is not HTML")
    extractor = LinkExtractor(unique=True)
    links = [Link(link.url, Hints(title=" ".join(link.text.split()) or None))
             for link in extractor.extract_links(response)[:MAX_SITEMAP_URLS] if keep(link.url)]
    return links, [], f"{len(links)} matching links"
