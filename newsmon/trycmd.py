"""Trying a source before configuring it: ``newsmon try URL`` (what the crawl
would store from one page, archived nowhere), ``newsmon discover URL`` (a
site's feeds and sitemaps, as a ready source declaration) and ``newsmon
sources import feeds.opml`` (a feed reader's list as source declarations).

Fetching is polite: the config's user agent, robots.txt obeyed (unless the
config says otherwise), one request at a time, a size limit and a timeout."""
from __future__ import annotations

import argparse
import os
import re
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from newsmon.cli import add_command
from newsmon.cli_support import UsageError, console, get_config, require_archive

COMMON_FEEDS = ("/feed", "/feed/", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml", "/feeds/all.atom.xml")
COMMON_SITEMAPS = ("/sitemap.xml", "/sitemap_index.xml", "/sitemap-index.xml", "/news-sitemap.xml",
                   "/sitemap-news.xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/rdf+xml")


def register(subparsers) -> None:
    p = add_command(subparsers, "try", help="show what the crawl would store from one page (archives nothing)",
                    description="Fetch one page (politely: robots.txt, the config's user agent) and print what "
                                "a crawl would store: title, author, date, language, or why it is refused; the "
                                "themes it matches; copies of it already archived; its event diff. Nothing is "
                                "written to the archive.",
                    example="newsmon try https://example.org/news/2025/11/20/story --source example")
    p.add_argument("url", help="the page's URL")
    p.add_argument("--source", metavar="NAME", help="judge it with this configured source's expectations")
    p.set_defaults(func=cmd_try)

    p = add_command(subparsers, "discover", help="find a site's feeds and sitemaps; print a source declaration",
                    description="Look for feeds (<link rel=alternate> on the page, common paths) and sitemaps "
                                "(robots.txt 'Sitemap:' lines, common paths), check each one parses, and print "
                                "a source declaration to paste into the config.",
                    example="newsmon discover https://example.org/")
    p.add_argument("url", help="the site's home page (or any page of it)")
    p.add_argument("--name", help="the source's name (default: from the host name)")
    p.set_defaults(func=cmd_discover)


def register_sources_import(sources_parser) -> None:
    """``newsmon sources import FILE`` (the sources command owns the parser)."""
    sub = sources_parser.add_subparsers(dest="sources_command", metavar="SUBCOMMAND")
    p = sub.add_parser("import", help="turn an OPML feed list into source declarations",
                       description="Read an OPML file (exported by any feed reader) and print one source "
                                   "declaration per feed, to paste under 'sources:' in the config.",
                       epilog="Example:\n  newsmon sources import feeds.opml >> sources.yaml",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("opml", metavar="FILE", help="the OPML file")
    p.set_defaults(func=cmd_sources_import)


# --- fetching ----------------------------------------------------------------------------


@dataclass
class Page:
    url: str  # after redirects
    status: int
    body: bytes
    content_type: str | None
    encoding: str | None


class Fetcher:
    """One polite HTTP client for a command: robots.txt read once per host."""

    def __init__(self, config) -> None:
        self.crawl = config.crawl
        self._robots: dict[str, RobotFileParser | None] = {}
        self._last = 0.0

    def _request(self, url: str) -> Page:
        wait = self._last + self.crawl.download_delay - time.monotonic()  # the crawl's politeness delay
        if wait > 0:
            time.sleep(wait)
        try:
            return self._fetch(url)
        finally:
            self._last = time.monotonic()

    def _fetch(self, url: str) -> Page:
        request = urllib.request.Request(url, headers={"User-Agent": self.crawl.user_agent,
                                                       "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        try:
            with urllib.request.urlopen(request, timeout=self.crawl.download_timeout) as response:
                body = response.read(self.crawl.max_response_bytes + 1)
                if len(body) > self.crawl.max_response_bytes:
                    raise UsageError(f"{url}: larger than crawl.max_response_bytes "
                                     f"({self.crawl.max_response_bytes} bytes)")
                return Page(response.geturl(), response.status, body, response.headers.get_content_type(),
                            response.headers.get_content_charset())
        except urllib.error.HTTPError as exc:
            return Page(url, exc.code, b"", None, None)
        except (urllib.error.URLError, OSError) as exc:
            raise UsageError(f"cannot fetch {url}: {getattr(exc, 'reason', exc)}") from None

    def allowed(self, url: str) -> bool:
        if not self.crawl.obey_robots_txt:
            return True
        return self.robots(url) is None or self.robots(url).can_fetch(self.crawl.user_agent, url)

    def robots(self, url: str) -> RobotFileParser | None:
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        if root not in self._robots:
            page = self._request(f"{root}/robots.txt")
            parser = None
            if page.status == 200:
                parser = RobotFileParser(f"{root}/robots.txt")
                parser.parse(page.body.decode("utf-8", "replace").splitlines())
            self._robots[root] = parser
        return self._robots[root]

    def get(self, url: str) -> Page:
        if not self.allowed(url):
            raise UsageError(f"{url}: robots.txt disallows it for {self.crawl.user_agent!r}")
        return self._request(url)


def _check_url(url: str) -> str:
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise UsageError(f"{url!r} is not an http(s) URL")
    return url


# --- try ------------------------------------------------------------------------------------


def cmd_try(args: argparse.Namespace) -> int:
    from crawler.extract import extract_for_source
    from crawler.extracted import NotArticle

    config = get_config(args)
    source = config.source(args.source) if args.source else None
    url = require_archive(args)
    page = Fetcher(config).get(_check_url(args.url))
    out = console()
    out.print(f"{page.url}: HTTP {page.status}, {len(page.body)} bytes, {page.content_type or 'no type'}",
              markup=False)
    if page.status != 200:
        out.print(f"would not archive: HTTP {page.status}", markup=False)
        return 0
    try:
        extracted = extract_for_source(page.body, page.url, source, timeout=config.crawl.extraction_timeout,
                                       encoding=page.encoding, content_type=page.content_type)
    except NotArticle as exc:
        out.print(f"would not archive: not an article: {exc.reason}", markup=False)
        return 0
    for label, value in (("title", extracted.title), ("author", extracted.author),
                         ("published", extracted.published_at), ("language", extracted.language),
                         ("site", extracted.site_name), ("canonical URL", extracted.canonical_url),
                         ("paywalled", "yes (teaser only)" if extracted.paywalled else None)):
        if value:
            origin = extracted.origins.get({"published": "published_at"}.get(label, label))
            out.print(f"{label:>14}: {value}{f'  (from {origin})' if origin else ''}", markup=False)
    words = len(extracted.text.split())
    out.print(f"{'text':>14}: {words} words: {' '.join(extracted.text.split()[:40])}"
              f"{' …' if words > 40 else ''}", markup=False)
    for line in trial_analysis(config, url, page, extracted):
        out.print(line, markup=False)
    return 0


def trial_analysis(config, url: str, page: Page, extracted) -> list[str]:
    """Run the archive's stages on the page inside a transaction that is rolled
    back: what dedup, classification and the event diff would record."""
    from sqlalchemy import select

    from crawler.decode import compress_html
    from crawler.stages import StageRunner
    from crawler.text import text_hash
    from crawler.urls import canonicalize_url
    from storage.db import session_factory
    from storage.models import (Article, ArticleTopic, ArticleVersion, CandidateSource, Contradiction,
                                DuplicateLink, EventMention, Source, ThemeMatch)

    key = extracted.canonical_url or canonicalize_url(page.url)
    lines = []
    session = session_factory(url)()
    stages = StageRunner(config)
    article = None
    try:
        archived = session.scalar(select(Article.id).where(Article.canonical_url == key))
        if archived:
            lines.append(f"{'archived':>14}: already, as article {archived} (newsmon report {archived})")
        source = Source(name=f"newsmon-try-{os.getpid()}")  # a throw-away source row, rolled back with the rest
        session.add(source)
        session.flush()
        article = Article(source_id=source.id, canonical_url=f"newsmon-try:{key}", url=page.url,
                          title=extracted.title, author=extracted.author, published_at=extracted.published_at,
                          language=extracted.language, site_name=extracted.site_name,
                          description=extracted.description, text=extracted.text,
                          text_hash=text_hash(extracted.text), paywalled=extracted.paywalled)
        session.add(article)
        session.flush()
        session.add(ArticleVersion(article_id=article.id, version=1, raw_html=compress_html(page.body),
                                   title=extracted.title, text=extracted.text, text_hash=article.text_hash))
        stages.process(session, article)
        session.flush()
        topics = session.scalars(select(ArticleTopic).where(ArticleTopic.article_id == article.id)).all()
        if not config.topics:
            lines.append(f"{'themes':>14}: no topics configured")
        for topic in topics:
            themes = session.execute(select(ThemeMatch.theme, ThemeMatch.score).where(
                ThemeMatch.article_topic_id == topic.id).order_by(ThemeMatch.score.desc())).all()
            lines.append(f"{'topic':>14}: {topic.topic}: score {topic.score:.2f}, "
                         f"{'relevant' if topic.relevant else 'not relevant'}"
                         + (f"; themes {', '.join(f'{t} ({s:.2f})' for t, s in themes)}" if themes else ""))
        for other, kind, similarity in session.execute(
                select(DuplicateLink.other_article_id, DuplicateLink.kind, DuplicateLink.similarity)
                .where(DuplicateLink.article_id == article.id)):
            lines.append(f"{'copy':>14}: {kind} of article {other} (similarity {similarity:.2f})")
        for event, sentence in session.execute(select(EventMention.event_id, EventMention.sentence)
                                               .where(EventMention.article_id == article.id)):
            lines.append(f"{'confirms':>14}: {event}: {sentence}")
        for sentence, in session.execute(select(CandidateSource.sentence)
                                         .where(CandidateSource.article_id == article.id)):
            lines.append(f"{'new event?':>14}: {sentence}")
        for c in session.scalars(select(Contradiction).where(Contradiction.article_id == article.id)):
            lines.append(f"{'contradicts':>14}: {c.event_id or ''} {c.fact}: states {c.stated_value}, "
                         f"{ {'timeline': 'the timeline says', 'internal': 'and elsewhere in it'}.get(c.kind, 'another article says')} "
                         f"{c.known_value}")
        lines.append("nothing was archived")
    finally:
        session.rollback()
        if article is not None:
            stages.rolled_back(article)
        session.close()
    return lines


# --- discover ---------------------------------------------------------------------------------


def _kind_of(page: Page) -> str | None:
    """'feed', 'sitemap' or None: what the body actually is."""
    if page.status != 200 or not page.body:
        return None
    head = page.body[:2048].lstrip().lower()
    if b"<urlset" in head or b"<sitemapindex" in head:
        return "sitemap"
    import feedparser

    parsed = feedparser.parse(page.body)
    if parsed.get("version") and (parsed.entries or parsed.feed.get("title")):
        return "feed"
    return None


def discover(fetcher: Fetcher, url: str) -> tuple[list[str], list[str]]:
    """(feeds, sitemaps) found for the site of ``url``, each checked to parse."""
    from lxml import html as lxml_html

    page = fetcher.get(url)
    candidates: list[tuple[str, str | None]] = []  # (url, what it claims to be)
    if page.status == 200 and page.body:
        try:
            tree = lxml_html.fromstring(page.body)
            for link in tree.xpath("//link[@href]"):
                rel = (link.get("rel") or "").lower().split()
                if "alternate" in rel and (link.get("type") or "").lower() in FEED_TYPES:
                    candidates.append((urljoin(page.url, link.get("href")), "feed"))
        except (ValueError, SyntaxError):
            pass
    parts = urlsplit(page.url)
    root = f"{parts.scheme}://{parts.netloc}"
    robots = fetcher.robots(page.url)
    for sitemap in (robots.site_maps() or []) if robots else []:
        candidates.append((sitemap, "sitemap"))
    candidates += [(root + path, None) for path in COMMON_FEEDS + COMMON_SITEMAPS]
    feeds, sitemaps, seen = [], [], set()
    for candidate, _claim in candidates:
        if candidate in seen or not fetcher.allowed(candidate):
            continue
        seen.add(candidate)
        kind = _kind_of(fetcher.get(candidate))
        if kind == "feed" and candidate not in feeds:
            feeds.append(candidate)
        elif kind == "sitemap" and candidate not in sitemaps:
            sitemaps.append(candidate)
    return feeds, sitemaps


def source_name(url: str) -> str:
    host = (urlsplit(url).hostname or "source").removeprefix("www.")
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", host).strip("-") or "source"


def declaration(name: str, feeds: list[str], sitemaps: list[str]) -> str:
    import yaml

    entry: dict = {"name": name}
    if feeds:
        entry["feeds"] = feeds
    if sitemaps:
        entry["sitemaps"] = sitemaps
    return yaml.safe_dump([entry], sort_keys=False, allow_unicode=True)


def cmd_discover(args: argparse.Namespace) -> int:
    config = get_config(args)
    feeds, sitemaps = discover(Fetcher(config), _check_url(args.url))
    if not feeds and not sitemaps:
        console().print(f"no feed or sitemap found for {args.url}: declare a section page instead "
                        "(sections: [{url: …, allow: […]}], see docs/configuration.md)", markup=False)
        return 1
    name = args.name or source_name(args.url)
    print(f"# {len(feeds)} feed(s), {len(sitemaps)} sitemap(s) found; paste under 'sources:'")
    print(declaration(name, feeds, sitemaps), end="")
    return 0


# --- OPML -------------------------------------------------------------------------------------


def opml_feeds(path: Path) -> list[tuple[str, str]]:
    """(title, feed URL) of every feed outline, in file order."""
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except ET.ParseError as exc:
        raise UsageError(f"{path}: not valid OPML (XML error: {exc})") from None
    if root.tag.lower() != "opml":
        raise UsageError(f"{path}: not an OPML file (the root element is <{root.tag}>)")
    found = []
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl") or outline.get("xmlurl")
        if url:
            found.append((outline.get("title") or outline.get("text") or "", url.strip()))
    return found


def cmd_sources_import(args: argparse.Namespace) -> int:
    from crawler.config import parse_config

    feeds = opml_feeds(Path(args.opml))
    if not feeds:
        raise UsageError(f"{args.opml}: no feeds in it (no <outline xmlUrl=…>)")
    config = get_config(args)
    taken = {s.name for s in config.sources}
    entries, skipped = [], []
    for title, url in feeds:
        if urlsplit(url).scheme not in ("http", "https"):
            skipped.append(url)
            continue
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", title.lower()).strip("-") or source_name(url)
        name, n = base, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        taken.add(name)
        entries.append({"name": name, "feeds": [url]})
    parse_config({"sources": entries}, args.opml)  # the declarations load as they are printed
    import yaml

    print(f"# {len(entries)} source(s) from {args.opml}; paste under 'sources:'"
          + (f" ({len(skipped)} non-http feed(s) skipped)" if skipped else ""))
    print(yaml.safe_dump(entries, sort_keys=False, allow_unicode=True), end="")
    return 0
