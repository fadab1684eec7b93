"""A small news web served over real HTTP on 127.0.0.1, for tests and ``newsmon demo``.

Three outlets with distinct templates share one server and one port, each
under its own path prefix, so a crawl exercises the parts a real crawl needs:

* ``/andean-post/``   English, RSS 2.0 feed, JSON-LD metadata, a section page
  (``/andean-post/world/``) with links that must not be followed;
* ``/el-observador/`` Spanish template (``lang="es"``) carrying English and
  Spanish articles, Atom feed, ``og:``/``article:published_time`` metadata;
* ``/capital-wire/``  Google News sitemap reached from a sitemap index, plus a
  gzip sitemap; no metadata at all, only a visible byline and date.

``/bad/...`` holds one endpoint per kind of bad input a crawler meets in the
wild (see :data:`BAD_CASES`). Every request is recorded, so tests can count
what a crawler fetched (and what it politely did not).

The content (article metadata, bodies, templates, expected extraction
results) is package data in ``newsmon/data/site/``; the five seed articles are
read from ``newsmon/data/seeds/`` (the tests use them too: one copy).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from newsmon.resources import data_path

SITE_DIR = data_path("site")
SEEDS_DIR = data_path("seeds")
EXPECTED_DIR = SITE_DIR / "expected"

# Sitemap and feed dates are absolute (2025), so sources look far back.
HORIZON_DAYS = 3650
# When the bad endpoints and static pages "last changed".
SITE_EPOCH = datetime(2025, 11, 1, tzinfo=timezone.utc)

OUTLETS = {
    "andean-post": {"name": "The Andean Post", "home": "/andean-post/"},
    "el-observador": {"name": "El Observador", "home": "/el-observador/"},
    "capital-wire": {"name": "Capital Wire", "home": "/capital-wire/"},
}

# case -> (entry-point kind, path, what a crawler should do with it)
BAD_CASES: dict[str, tuple[str, str, str]] = {
    "malformed": ("feeds", "/bad/malformed/feed.xml",
                  "truncated, unclosed XML: report the feed as malformed; no article links in it"),
    "latin1": ("feeds", "/bad/latin1/feed.xml",
               "declares UTF-8 but sends Latin-1 bytes; titles must come out with their accents intact"),
    "empty": ("feeds", "/bad/empty/feed.xml", "a valid RSS feed with no items: nothing to fetch, not an error"),
    "entities": ("feeds", "/bad/entities/feed.xml",
                 "titles with &amp; &#8217; &quot;: archived titles must be decoded"),
    "broken-links": ("feeds", "/bad/broken-links/feed.xml", "items link to a 404 and a 500 page"),
    "redirect-loop": ("feeds", "/bad/redirect-loop/feed.xml", "the item link 301-redirects in a loop"),
    "slow": ("feeds", "/bad/slow/feed.xml", "the item page answers only after slow_seconds"),
    "slow-feed": ("feeds", "/bad/slow-feed/feed.xml", "the feed itself answers only after slow_seconds"),
    "pdf": ("feeds", "/bad/pdf/feed.xml", "the item URL serves application/pdf"),
    "png": ("feeds", "/bad/png/feed.xml", "the item URL serves image/png"),
    "oversized": ("feeds", "/bad/oversized/feed.xml", "the item page is oversized_bytes long (default 12 MB)"),
    "no-text": ("feeds", "/bad/no-text/feed.xml", "the item page has no extractable text"),
    "offsite-sitemap": ("sitemaps", "/bad/offsite-sitemap/sitemap.xml",
                        "lists only URLs on other.example: filter them, never fetch them"),
}

_BAD_ITEMS = {
    # case -> [(path, title)] linked from that case's feed
    "broken-links": [("/bad/broken-links/missing-story", "A story that was deleted"),
                     ("/bad/broken-links/server-error", "A story whose server fails")],
    "redirect-loop": [("/bad/redirect-loop/a", "A story that redirects forever")],
    "slow": [("/bad/slow/story", "A story from a very slow server")],
    "pdf": [("/bad/pdf/2025/11/annual-security-report", "Annual security report")],
    "png": [("/bad/png/2025/11/photo-of-the-day", "Photo of the day")],
    "oversized": [("/bad/oversized/story", "An enormous page")],
    "no-text": [("/bad/no-text/story", "Photo gallery")],
}
_LATIN1_SLUGS = ("de-los-aranceles-a-la-descertificacion", "nacional-remonta-clasico-paisa")

_SPANISH_MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                   "septiembre", "octubre", "noviembre", "diciembre")


@dataclass(frozen=True)
class RequestRecord:
    """One request the site answered (the status is known before the body is sent)."""

    method: str
    path: str
    query: str
    status: int
    headers: dict
    time: float


@dataclass
class SiteArticle:
    """An article as the content files declare it (both editions)."""

    outlet: str
    slug: str
    path: str
    title: str
    author: str | None
    author_bio: str | None
    published: datetime
    kind: str
    language: str
    summary: str
    listed_in: list[str]
    blocks: list[tuple[str, str]]
    seed: str | None = None
    date_text: str | None = None
    feed_query: str | None = None
    blocks_v2: list[tuple[str, str]] | None = None
    modified_v2: datetime | None = None
    summary_v2: str | None = None

    def modified(self, edition: int) -> datetime:
        return self.modified_v2 if edition >= 2 and self.modified_v2 else self.published

    def body(self, edition: int) -> list[tuple[str, str]]:
        return self.blocks_v2 if edition >= 2 and self.blocks_v2 else self.blocks

    def blurb(self, edition: int) -> str:
        return self.summary_v2 if edition >= 2 and self.summary_v2 else self.summary


@dataclass
class Reply:
    """What the router decided to send."""

    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    last_modified: datetime | None = None  # set → ETag + Last-Modified, conditional GET honoured
    delay: float = 0.0
    stream: Callable[[Callable[[bytes], None], Callable[[], bool]], None] | None = None
    length: int | None = None


# --------------------------------------------------------------------------- content


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(str(text))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _body_blocks(text: str) -> list[tuple[str, str]]:
    """Paragraphs separated by blank lines; a paragraph starting with '## ' is a subheading."""
    blocks = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        chunk = " ".join(chunk.split())
        if chunk.startswith("## "):
            blocks.append(("h2", chunk[3:]))
        elif chunk:
            blocks.append(("p", chunk))
    return blocks


def _seed_blocks(seed: str, first: int, last: int, headings: list[str]) -> list[tuple[str, str]]:
    """Lines FIRST..LAST of a seed file, one paragraph per non-empty line."""
    (path,) = SEEDS_DIR.glob(f"{seed}_*.txt")
    lines = path.read_text(encoding="utf-8").splitlines()[first - 1:last]
    return [("h2" if line.strip() in headings else "p", line.strip()) for line in lines if line.strip()]


def load_articles(site_dir: Path = SITE_DIR) -> list[SiteArticle]:
    """Every article declared in content/articles.yaml, bodies resolved."""
    data = yaml.safe_load((site_dir / "content" / "articles.yaml").read_text(encoding="utf-8"))
    bios = data.get("authors") or {}
    bodies = site_dir / "content" / "bodies"
    articles = []
    for entry in data["articles"]:
        if entry.get("seed"):
            first, last = entry["seed_lines"]
            blocks = _seed_blocks(entry["seed"], first, last, entry.get("headings") or [])
        else:
            blocks = _body_blocks((bodies / entry["body"]).read_text(encoding="utf-8"))
        edition2 = entry.get("edition2") or {}
        articles.append(SiteArticle(
            outlet=entry["outlet"], slug=entry["slug"], path=entry["path"], title=entry["title"],
            author=entry.get("author"), author_bio=bios.get(entry.get("author")),
            published=_parse_time(entry["published"]), kind=entry["kind"], language=entry["language"],
            summary=entry.get("summary") or "", listed_in=list(entry.get("listed_in") or []),
            blocks=blocks, seed=entry.get("seed"), date_text=entry.get("date_text"),
            feed_query=entry.get("feed_query"),
            blocks_v2=_body_blocks((bodies / edition2["body"]).read_text(encoding="utf-8")) if edition2 else None,
            modified_v2=_parse_time(edition2["modified"]) if edition2 else None,
            summary_v2=edition2.get("summary"),
        ))
    return articles


def _date_text(article: SiteArticle) -> str:
    """The visible date, in each outlet's house style."""
    if article.date_text:
        return article.date_text
    day = article.published
    if article.outlet == "el-observador":
        return f"{day.day} de {_SPANISH_MONTHS[day.month - 1]} de {day.year}"
    return f"{day:%B} {day.day}, {day.year}"


def _entities(value: str) -> Markup:
    """Escape like a CMS that loves entities: &amp; &quot; &#8217;."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Markup(text.replace('"', "&quot;").replace("\u2019", "&#8217;"))


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)


def _rfc822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(timezone.utc))


def _tiny_pdf() -> bytes:
    """A valid one-page PDF, built with correct xref offsets."""
    stream = b"BT /F1 18 Tf 72 720 Td (Annual security report) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _tiny_png() -> bytes:
    """A valid 1×1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xcc\x33\x33")) + chunk(b"IEND", b""))


# --------------------------------------------------------------------------- the server


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LocalNewsSite/1.0"
    timeout = 15  # idle keep-alive connections close by themselves
    site: "LocalNewsSite"

    def do_GET(self):  # noqa: N802 - http.server API
        self._serve(send_body=True)

    def do_HEAD(self):  # noqa: N802
        self._serve(send_body=False)

    def log_message(self, format, *args):  # noqa: A002 - quiet: tests read site.requests instead
        pass

    def _serve(self, send_body: bool) -> None:
        started = time.time()
        parts = urlsplit(self.path)
        try:
            reply = self.site._route(parts.path, parts.query)
        except Exception as exc:  # a bug in the fixture must show up as a 500, not a hung client
            reply = Reply(status=500, body=f"fixture error: {exc!r}".encode(), content_type="text/plain")
        etag = None
        status = reply.status
        if reply.last_modified is not None and reply.stream is None:
            etag = '"' + hashlib.sha1(reply.body).hexdigest()[:20] + '"'
            if status == 200 and _not_modified(self.headers, etag, reply.last_modified):
                status = 304
        # Record before answering, so a client that has its answer sees it counted.
        self.site._record(RequestRecord(self.command, parts.path, parts.query, status,
                                        dict(self.headers.items()), started))
        if reply.delay and self.site._stopping.wait(reply.delay):
            self.close_connection = True
            return
        try:
            self.send_response(status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.last_modified is not None:
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Last-Modified", _http_date(reply.last_modified))
            if status == 304:
                self.end_headers()
                return
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(reply.length if reply.stream else len(reply.body)))
            self.end_headers()
            if not send_body:
                return
            if reply.stream:
                reply.stream(self.wfile.write, self.site._stopping.is_set)
            else:
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. on an oversized page)


def _not_modified(headers, etag: str, last_modified: datetime) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if_modified_since = headers.get("If-Modified-Since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        return last_modified.replace(microsecond=0) <= since
    return False


class LocalNewsSite:
    """The fixture web. ``with LocalNewsSite() as site: ... site.base_url``."""

    def __init__(self, port: int = 0, *, host: str = "127.0.0.1", slow_seconds: float = 5.0,
                 oversized_bytes: int = 12 * 1024 * 1024, edition: int = 1):
        self.host = host
        self.port = port
        self.slow_seconds = slow_seconds
        self.oversized_bytes = oversized_bytes
        self.edition = edition
        self._articles = load_articles()
        self._by_path = {a.path: a for a in self._articles}
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._env = Environment(loader=FileSystemLoader(str(SITE_DIR / "templates")),
                                autoescape=select_autoescape(["html", "xml"]),
                                undefined=StrictUndefined, keep_trailing_newline=True)
        self._env.filters["entities"] = _entities

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> "LocalNewsSite":
        handler = type("LocalNewsSiteHandler", (_Handler,), {"site": self})
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._stopping.clear()
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-news-site", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; wakes any handler sleeping in a slow response."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> "LocalNewsSite":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def edition(self) -> int:
        return self._edition

    @edition.setter
    def edition(self, value: int) -> None:
        if value not in (1, 2):
            raise ValueError(f"edition must be 1 or 2, not {value!r}")
        self._edition = value

    # -- request log -----------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every request so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests.append(record)

    def count(self, prefix: str | None = None, status: int | None = None) -> int:
        """How many requests had a path starting with PREFIX (and this STATUS)."""
        return sum(1 for r in self.requests
                   if (prefix is None or r.path.startswith(prefix)) and (status is None or r.status == status))

    def reset_log(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- what a crawler is told ---------------------------------------------------

    def sources(self) -> list[dict]:
        """Source declarations (crawler.config.Source fields) for the three good outlets."""
        base = self.base_url
        common = {"allowed_domains": [self.host], "horizon_days": HORIZON_DAYS, "allow_private_addresses": True}
        return [
            {"name": "andean-post", "language": "en",
             "feeds": [f"{base}/andean-post/feed.xml"],
             "sections": [{"url": f"{base}/andean-post/world/",
                           "allow": [r"/andean-post/\d{4}/\d{2}/\d{2}/[a-z0-9-]+$"],
                           "deny": [r"/tag/", r"/login", r"/about/"]}],
             "url_allow": [f"^{re.escape(base)}/andean-post/"], **common},
            {"name": "el-observador", "date_order": "DMY",
             "feeds": [f"{base}/el-observador/atom.xml"],
             "url_allow": [f"^{re.escape(base)}/el-observador/"], **common},
            {"name": "capital-wire", "language": "en",
             "sitemaps": [f"{base}/capital-wire/sitemap-index.xml"],
             "url_allow": [f"^{re.escape(base)}/capital-wire/"], **common},
        ]

    def bad_sources(self) -> list[dict]:
        """One source per bad-input case, named 'bad-<case>' (see BAD_CASES)."""
        return [{"name": f"bad-{case}", kind: [self.base_url + path], "allowed_domains": [self.host],
                 "horizon_days": HORIZON_DAYS, "allow_private_addresses": True}
                for case, (kind, path, _why) in BAD_CASES.items()]

    def articles(self) -> list[dict]:
        """The manifest: every article page the site serves (kind 'thin' and
        'private' pages included; they have no expected file)."""
        manifest = []
        for a in self._articles:
            expected = EXPECTED_DIR / a.outlet / f"{a.slug}.json"
            manifest.append({
                "outlet": a.outlet, "path": a.path, "url": self.base_url + a.path, "title": a.title,
                "author": a.author, "published": a.published.isoformat(), "seed": a.seed, "kind": a.kind,
                "language": a.language, "listed_in": list(a.listed_in),
                "expected": str(expected) if expected.exists() else None,
            })
        return manifest

    # -- routing ------------------------------------------------------------------

    def _route(self, path: str, query: str) -> Reply:
        if path in self._by_path:
            return self._article_page(self._by_path[path])
        handler = self._static_routes().get(path)
        if handler is not None:
            return handler()
        if path.startswith("/andean-post/tag/") or path.startswith("/andean-post/about/"):
            heading = "Tag: " + path.rstrip("/").rsplit("/", 1)[-1] if "/tag/" in path else "About us"
            return self._html("andean-post/page.html", heading=heading, text="Nothing to crawl here.")
        if path == "/bad/redirect-loop/a":
            return Reply(status=301, headers={"Location": "/bad/redirect-loop/b"}, body=b"moved")
        if path == "/bad/redirect-loop/b":
            return Reply(status=301, headers={"Location": "/bad/redirect-loop/a"}, body=b"moved")
        if path == "/bad/broken-links/server-error":
            return Reply(status=500, body=b"<html><body><h1>500 Internal Server Error</h1></body></html>")
        return self._not_found()

    def _static_routes(self) -> dict[str, Callable[[], Reply]]:
        return {
            "/": self._root,
            "/robots.txt": self._robots,
            "/andean-post/": lambda: self._listing("andean-post", "home", "The Andean Post"),
            "/andean-post/world/": lambda: self._listing("andean-post", "section", "World"),
            "/andean-post/login": lambda: self._html("andean-post/page.html", heading="Sign in",
                                                     text="Subscribers sign in here."),
            "/andean-post/feed.xml": self._andean_feed,
            "/el-observador/": lambda: self._listing("el-observador", None, "El Observador"),
            "/el-observador/atom.xml": self._atom_feed,
            "/capital-wire/": lambda: self._listing("capital-wire", None, "Capital Wire"),
            "/capital-wire/sitemap-index.xml": self._sitemap_index,
            "/capital-wire/sitemap-news.xml": self._news_sitemap,
            "/capital-wire/sitemap-archive.xml.gz": self._archive_sitemap,
            "/bad/malformed/feed.xml": lambda: self._xml("bad/malformed.xml", "application/rss+xml"),
            "/bad/latin1/feed.xml": self._latin1_feed,
            "/bad/empty/feed.xml": lambda: self._simple_feed("empty", []),
            "/bad/entities/feed.xml": self._entities_feed,
            "/bad/slow-feed/feed.xml": self._slow_feed,
            **{f"/bad/{case}/feed.xml": (lambda case=case: self._simple_feed(case, _BAD_ITEMS[case]))
               for case in _BAD_ITEMS},
            "/bad/slow/story": self._slow_story,
            "/bad/pdf/2025/11/annual-security-report": lambda: Reply(
                body=_tiny_pdf(), content_type="application/pdf", last_modified=SITE_EPOCH),
            "/bad/png/2025/11/photo-of-the-day": lambda: Reply(
                body=_tiny_png(), content_type="image/png", last_modified=SITE_EPOCH),
            "/bad/oversized/story": self._oversized,
            "/bad/no-text/story": lambda: Reply(body=self._render("bad/no_text.html"), last_modified=SITE_EPOCH),
            "/bad/offsite-sitemap/sitemap.xml": lambda: self._xml("bad/offsite_sitemap.xml", "application/xml"),
        }

    # -- page builders ------------------------------------------------------------

    def _render(self, template: str, **context) -> bytes:
        return self._env.get_template(template).render(base=self.base_url, **context).encode("utf-8")

    def _html(self, template: str, **context) -> Reply:
        return Reply(body=self._render(template, **context), last_modified=SITE_EPOCH)

    def _xml(self, template: str, content_type: str, **context) -> Reply:
        return Reply(body=self._render(template, **context), content_type=f"{content_type}; charset=utf-8",
                     last_modified=SITE_EPOCH)

    def _not_found(self) -> Reply:
        return Reply(status=404, body=b"<!DOCTYPE html><html><head><title>Not found</title></head>"
                                      b"<body><h1>404 Not Found</h1><p>No such page.</p></body></html>")

    def _root(self) -> Reply:
        links = "".join(f'<li><a href="{o["home"]}">{o["name"]}</a></li>' for o in OUTLETS.values())
        body = f"<!DOCTYPE html><html><head><title>Local news site</title></head><body><ul>{links}</ul></body></html>"
        return Reply(body=body.encode(), last_modified=SITE_EPOCH)

    def _robots(self) -> Reply:
        body = ("User-agent: *\n"
                "Disallow: /capital-wire/private/\n"
                "Allow: /\n\n"
                f"Sitemap: {self.base_url}/capital-wire/sitemap-index.xml\n")
        return Reply(body=body.encode(), content_type="text/plain; charset=utf-8", last_modified=SITE_EPOCH)

    def _outlet_articles(self, outlet: str, listed: str | None = None) -> list[SiteArticle]:
        """Newest first; LISTED filters on where the article is linked from."""
        chosen = [a for a in self._articles if a.outlet == outlet and a.kind != "private"
                  and (listed is None or listed in a.listed_in)]
        return sorted(chosen, key=lambda a: a.published, reverse=True)

    def _latest(self, articles: list[SiteArticle]) -> datetime:
        return max((a.modified(self.edition) for a in articles), default=SITE_EPOCH)

    def _view(self, a: SiteArticle) -> dict:
        """What the article templates see, for the current edition."""
        return {
            "title": a.title, "author": a.author, "author_bio": a.author_bio, "url": self.base_url + a.path,
            "path": a.path, "summary": a.blurb(self.edition), "blocks": a.body(self.edition),
            "date_text": _date_text(a), "published_iso": a.published.isoformat(),
            "modified_iso": a.modified(self.edition).isoformat(),
            "section": {"opinion": "Opinión", "politica": "Política", "deportes": "Deportes",
                        "mundo": "Mundo"}.get(a.path.split("/")[2], "Noticias"),
        }

    def _article_page(self, a: SiteArticle) -> Reply:
        view = self._view(a)
        siblings = [s for s in self._outlet_articles(a.outlet) if s.path != a.path and s.kind != "thin"]
        related = [{"path": s.path, "title": s.title} for s in siblings[:3]]
        if a.outlet == "andean-post":
            body = self._render("andean-post/article.html", a=view, related=related, jsonld=self._jsonld(a))
        elif a.outlet == "el-observador":
            body = self._render("el-observador/article.html", a=view, related=related[:2],
                                most_read=[{"path": s.path, "title": s.title} for s in siblings[-2:]])
        elif a.outlet == "capital-wire":
            body = self._render("capital-wire/article.html", a=view, related=related)
        else:
            body = self._render("bad/entities_page.html", a=view)
        return Reply(body=body, last_modified=a.modified(self.edition))

    def _jsonld(self, a: SiteArticle) -> str:
        data = {
            "@context": "https://schema.org", "@type": "NewsArticle", "headline": a.title,
            "datePublished": a.published.isoformat(), "dateModified": a.modified(self.edition).isoformat(),
            "inLanguage": a.language, "mainEntityOfPage": self.base_url + a.path,
            "publisher": {"@type": "Organization", "name": "The Andean Post"},
        }
        if a.author:
            data["author"] = {"@type": "Person", "name": a.author}
        return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")

    def _listing(self, outlet: str, listed: str | None, heading: str) -> Reply:
        items = [{"path": a.path, "title": a.title, "summary": a.blurb(self.edition), "date_text": _date_text(a)}
                 for a in self._outlet_articles(outlet, listed)]
        extra_links = []
        if listed == "section":  # links a section crawl must not follow
            edited = "/andean-post/2025/11/19/us-halts-aid-payments-to-colombia"
            extra_links = [
                ("Colombia", "/andean-post/tag/colombia/"),
                ("Security", "/andean-post/tag/security/"),
                ("Sign in to save stories", f"/andean-post/login?next={edited}"),
                ("About us", "/andean-post/about/"),
                ("Follow us on X", "https://twitter.com/andeanpost"),
                ("Partner site", "http://other.example/2025/11/18/partner-story"),
                ("Top story, with comments", "/andean-post/2025/11/18/us-colombia-ties-at-breaking-point#comments"),
            ]
        canonical = self.base_url + OUTLETS[outlet]["home"] + ("world/" if listed == "section" else "")
        template = f"{outlet}/listing.html"
        context = {"items": items, "heading": heading, "canonical": canonical, "extra_links": extra_links}
        if outlet == "el-observador":
            context["most_read"] = items[:2]
        return Reply(body=self._render(template, **context),
                     last_modified=self._latest(self._outlet_articles(outlet, listed)))

    def _andean_feed(self) -> Reply:
        articles = self._outlet_articles("andean-post", "feed")
        items = [{"title": a.title, "link": self.base_url + a.path + (f"?{a.feed_query}" if a.feed_query else ""),
                  "guid": f"andean-post-{a.slug}", "pub_date": _rfc822(a.published), "author": a.author,
                  "summary": a.blurb(self.edition)} for a in articles]
        channel = {"title": "The Andean Post — World", "link": f"{self.base_url}/andean-post/",
                   "description": "News from the Andes", "language": "en",
                   "self": f"{self.base_url}/andean-post/feed.xml", "last_build": _rfc822(self._latest(articles))}
        return Reply(body=self._render("feeds/rss.xml", channel=channel, items=items),
                     content_type="application/rss+xml; charset=utf-8", last_modified=self._latest(articles))

    def _atom_feed(self) -> Reply:
        articles = self._outlet_articles("el-observador", "feed")
        items = [{"title": a.title, "link": self.base_url + a.path, "slug": a.slug,
                  "published": a.published.isoformat(), "updated": a.modified(self.edition).isoformat(),
                  "author": a.author, "summary": a.blurb(self.edition)} for a in articles]
        latest = self._latest(articles)
        return Reply(body=self._render("feeds/atom.xml", items=items, updated=latest.isoformat()),
                     content_type="application/atom+xml; charset=utf-8", last_modified=latest)

    def _capital_listed(self, where: str) -> list[SiteArticle]:
        return [a for a in self._articles if a.outlet == "capital-wire" and where in a.listed_in]

    def _sitemap_index(self) -> Reply:
        news, archive = self._capital_listed("news-sitemap"), self._capital_listed("archive-sitemap")
        sitemaps = [{"loc": f"{self.base_url}/capital-wire/sitemap-news.xml", "lastmod": self._latest(news).isoformat()},
                    {"loc": f"{self.base_url}/capital-wire/sitemap-archive.xml.gz",
                     "lastmod": self._latest(archive).isoformat()}]
        return Reply(body=self._render("feeds/sitemap_index.xml", sitemaps=sitemaps),
                     content_type="application/xml; charset=utf-8", last_modified=self._latest(news + archive))

    def _news_sitemap(self) -> Reply:
        articles = sorted(self._capital_listed("news-sitemap"), key=lambda a: a.published, reverse=True)
        urls = [{"loc": self.base_url + a.path, "lastmod": a.modified(self.edition).isoformat(),
                 "language": a.language, "published": a.published.isoformat(), "title": a.title} for a in articles]
        return Reply(body=self._render("feeds/news_sitemap.xml", urls=urls, publication="Capital Wire"),
                     content_type="application/xml; charset=utf-8", last_modified=self._latest(articles))

    def _archive_sitemap(self) -> Reply:
        articles = self._capital_listed("archive-sitemap")
        urls = [{"loc": self.base_url + a.path, "lastmod": a.modified(self.edition).isoformat()} for a in articles]
        xml = self._render("feeds/urlset.xml", urls=urls)
        return Reply(body=gzip.compress(xml, mtime=0), content_type="application/x-gzip",
                     last_modified=self._latest(articles))

    def _simple_feed(self, case: str, links: list[tuple[str, str]]) -> Reply:
        items = [{"title": title, "link": self.base_url + path, "guid": self.base_url + path,
                  "pub_date": _rfc822(SITE_EPOCH), "author": None, "summary": title} for path, title in links]
        channel = {"title": f"Bad case: {case}", "link": f"{self.base_url}/bad/{case}/",
                   "description": BAD_CASES[case][2], "language": "en",
                   "self": f"{self.base_url}/bad/{case}/feed.xml", "last_build": _rfc822(SITE_EPOCH)}
        return Reply(body=self._render("feeds/rss.xml", channel=channel, items=items),
                     content_type="application/rss+xml; charset=utf-8", last_modified=SITE_EPOCH)

    def _entities_feed(self) -> Reply:
        articles = self._outlet_articles("bad-entities")
        items = [{"title": a.title, "link": self.base_url + a.path, "pub_date": _rfc822(a.published),
                  "summary": a.summary} for a in articles]
        return Reply(body=self._render("bad/entities.xml", items=items),
                     content_type="application/rss+xml; charset=utf-8", last_modified=self._latest(articles))

    def _latin1_feed(self) -> Reply:
        """Declares UTF-8 in the XML prolog and the header, sends Latin-1 bytes."""
        articles = [a for a in self._articles if a.slug in _LATIN1_SLUGS]
        items = [{"title": a.title, "link": self.base_url + a.path, "pub_date": _rfc822(a.published),
                  "summary": a.summary} for a in articles]
        text = self._env.get_template("bad/latin1.xml").render(base=self.base_url, items=items)
        return Reply(body=text.encode("latin-1"), content_type="application/rss+xml; charset=utf-8",
                     last_modified=SITE_EPOCH)

    def _slow_feed(self) -> Reply:
        reply = self._simple_feed("slow-feed", [("/bad/slow/story", "A story from a very slow server")])
        reply.delay = self.slow_seconds
        return reply

    def _slow_story(self) -> Reply:
        body = (b"<!DOCTYPE html><html><head><title>Slow story</title></head><body><article><h1>Slow story</h1>"
                b"<p>This page took far too long to arrive.</p></article></body></html>")
        return Reply(body=body, delay=self.slow_seconds, last_modified=SITE_EPOCH)

    def _oversized(self) -> Reply:
        """An HTML page of exactly oversized_bytes, generated while it is sent."""
        size = self.oversized_bytes
        head = b"<!DOCTYPE html><html><head><title>An enormous page</title></head><body><article>"
        tail = b"</article></body></html>"
        paragraph = b"<p>This paragraph repeats until the page is far larger than any news article.</p>\n"
        chunk = paragraph * (65536 // len(paragraph))

        def stream(write: Callable[[bytes], None], stopping: Callable[[], bool]) -> None:
            remaining = size - len(head) - len(tail)
            write(head[:size])
            while remaining > 0 and not stopping():
                piece = chunk[:remaining]
                write(piece)
                remaining -= len(piece)
            if size > len(head):
                write(tail[:size - len(head)])

        return Reply(stream=stream, length=size)


def main(argv: list[str] | None = None) -> int:
    """``python -m newsmon.localsite [--port N]``: serve until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m newsmon.localsite", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--edition", type=int, choices=(1, 2), default=1, help="serve the edited article's edition")
    parser.add_argument("--slow-seconds", type=float, default=5.0, help="delay of the slow endpoints")
    args = parser.parse_args(argv)
    site = LocalNewsSite(port=args.port, slow_seconds=args.slow_seconds, edition=args.edition)
    try:
        site.start()
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}")
        return 2
    print(f"Local news site at {site.base_url}/ (edition {site.edition}); Ctrl-C to stop")
    for source in site.sources():
        print(f"  {source['name']}: {(source.get('feeds') or source.get('sitemaps'))[0]}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
