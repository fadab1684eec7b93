"""Turn one fetched page into an article, or say in one line why it is not one.

trafilatura finds the main text and most metadata; this module adds what a
monitoring archive needs on top: robust decoding, a canonical URL, dates we can
trust (structured data first, never in the future), the language, paywall
teasers, index pages, and a hard time limit per page.

Choices made by measurement (``python bench/extract_throughput.py``) on 31
pages: the 5 seed articles in 3 boilerplate-heavy templates
(tests/fixtures/html) and the 16 fixture-site articles with expected files
(newsmon/data/site/expected); recall = required sentences found, leaks =
boilerplate strings found (cookie banners, newsletter boxes, related links,
comments, author boxes, tickers, footers):

    options (seed pages | site pages)       recall         leaks   rejected
    fast pass, fallback retry if short      100% | 100%    0 | 0   0 | 0   <- chosen
    balanced (fallbacks always)             100% | 100%    0 | 0   0 | 0
    balanced + favor_precision              100% | 100%    0 | 0   0 | 0
    balanced + favor_recall                 100% | 100%    0 | 0   0 | 0
    chosen + include_comments               100% | 100%    0 | 0   0 | 0
    chosen + deduplicate                    100% |  83%   50 | 3   0 | 2

  Quality is equal for every setting except ``deduplicate``, whose cache is
  process-wide: it drops the second outlet's copy of a syndicated story (our
  dedup stage must see it) and lets boilerplate through on later pages. So speed decides:
  ``fast`` skips trafilatura's fallback extractors (readability, jusText),
  which cost about a third of trafilatura's time on these pages; the rare page whose
  fast pass finds under ``min_text_chars`` of prose is extracted again with
  them. Comments stay off (they are not the article), tables on (results and
  budgets live in tables). One fixture-driven addition: author boxes with
  non-English class names ("sobre-autor") are pruned before extraction.

Cost (1 core, pages interleaved, best of 18 rounds; two runs, one on a quiet
and one on a loaded shared machine, so the ratios matter more than the ms):

    ms/page                         fixture pages (7 KB)   outlet-size (133 KB)
    bare trafilatura.extract                2.8 / 5.1             8.5 / 17.2
    bare_extraction + metadata              2.9 / 5.5            11.5 / 23.2
    extract_article                         4.0 / 8.0            13.2 / 26.2

  On outlet-size pages extract_article costs +13-15% over trafilatura doing
  the same work (text + metadata) and +50-55% over bare ``extract`` without
  metadata; on tiny pages our fixed costs weigh more (+40-57%). The extra is
  trafilatura's own metadata pass (title, author, date, site name: ~1/3 of
  bare on big pages) and language detection of the text (~0.5-1.5 ms; needed,
  since a site-wide template declares one language for all its stories). The
  15%-over-bare goal is met only against bare extraction *with* metadata,
  which the archive needs.

  Since then the metadata pass is ours (:func:`_metadata`: trafilatura's
  steps minus the licence, the tag-link guess when the page declares tags,
  and the htmldate search when a structured date is accepted), run once
  even when the fallback retry extracts the text again. Same results on the
  78 fixture, seed and padded pages; A/B against the previous version,
  interleaved, best of 9: 6.74 -> 6.20 ms (-8%) on fixture pages, 19.0 ->
  18.3 ms (-4%) on outlet-size pages. What remains over bare ``extract`` is
  needed: trafilatura's byline search on pages without structured authors
  (~1/4 of the metadata cost), language detection, the index/paywall checks.

Paywalls: a page that marks itself not free (JSON-LD ``isAccessibleForFree``)
or shows a subscription prompt, and whose text is short, is a *teaser*: it is
returned with ``paywalled=True`` and ``text=""`` so the archive keeps the
metadata but never files a teaser as the article's text (the description keeps
the lede).

Time limit: trafilatura can spin on pathological HTML and a thread cannot be
killed, so in the main thread (where the Scrapy reactor calls us) a SIGALRM
timer interrupts the work; from any other thread the page goes to a worker
process that is killed when it overruns. Measured: the timer costs 10-30
microseconds per page; the worker process 1-3 ms per page (pickling the page
and the result); a page that takes 1.3 s unlimited stops at 0.20 s either way.
"""
from __future__ import annotations

import atexit
import codecs
import html as html_lib
import json
import logging
import multiprocessing
import os
import queue
import re
import signal
import threading
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urljoin, urlsplit

import trafilatura
from htmldate import find_date
from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura import metadata as trafilatura_metadata
from trafilatura.settings import Document
from trafilatura.utils import load_html

from crawler.text import fold
from crawler.urls import canonicalize_url, host_of

try:  # language detection on the text itself; without it we trust the page's lang attributes
    import py3langid
except ImportError:  # pragma: no cover - optional
    py3langid = None

log = logging.getLogger(__name__)

EXTRACTOR = f"trafilatura {trafilatura.__version__}"
MIN_TEXT_CHARS = 300          # less prose than this is not an article (captions, stubs, error pages)
PROSE_MIN_WORDS = 15          # a paragraph shorter than this is a menu, a ticker or a caption, not prose
PAYWALL_TEASER_MAX_CHARS = 1500  # a page with a paywall prompt and less text than this is a teaser
FUTURE_TOLERANCE = timedelta(days=1)  # time zones and date-only values: "tomorrow" can be today somewhere
WORKER_START_TIMEOUT = 60.0  # seconds for a worker process to import trafilatura
LANGUAGE_SAMPLE_CHARS = 600  # detection cost grows with length; a dozen sentences decide it
AUTHOR_BOX_XPATH = (
    "//*[self::div or self::section or self::aside or self::footer]["
    + " or ".join(f"contains(@class, '{name}')" for name in (
        "author-bio", "author-box", "about-author", "author-info", "sobre-autor", "autor-bio", "bio-autor",
        "caja-autor", "a-propos-auteur", "auteur-bio", "sobre-o-autor", "autor-box"))
    + "]"
)
# A page whose fast pass yields too little prose is extracted again with the fallbacks.
RETRY_WITH_FALLBACK = True
# The options chosen by measurement (see the module docstring).
TRAFILATURA_OPTIONS = dict(
    include_comments=False,
    include_tables=True,
    include_images=False,
    include_links=False,
    favor_precision=False,
    favor_recall=False,
    fast=True,  # no fallback extractors on the first pass; see RETRY_WITH_FALLBACK
    deduplicate=False,  # its cache is process-wide: it drops syndicated copies our dedup stage must see
    # Author boxes ("About the author", "Sobre el autor") sit inside the article
    # element; trafilatura's own list only knows the English class names.
    prune_xpath=AUTHOR_BOX_XPATH,
)

ARTICLE_TYPES = frozenset({
    "article", "newsarticle", "reportagenews", "analysisnewsarticle", "opinionnewsarticle",
    "backgroundnewsarticle", "reviewnewsarticle", "blogposting", "liveblogposting", "scholarlyarticle",
    "report", "techarticle", "socialmediaposting",
})
LISTING_TYPES = frozenset({"collectionpage", "itemlist", "searchresultspage", "website", "profilepage"})
# <meta> names that carry a publication date, in order of trust.
DATE_META = (
    ("property", "article:published_time"), ("property", "og:published_time"),
    ("name", "article:published_time"), ("itemprop", "datepublished"), ("name", "pubdate"),
    ("name", "publishdate"), ("name", "publish-date"), ("name", "parsely-pub-date"),
    ("name", "sailthru.date"), ("name", "dc.date.issued"), ("name", "dcterms.created"),
    ("name", "dc.date"), ("name", "date"),
)
# Subscription prompts, matched in the case-folded page text with and without
# accents (folding a whole page's accents costs milliseconds; these are few).
_PROMPTS = (
    "subscribe to read", "subscribe to continue reading", "this article is for subscribers",
    "for subscribers only", "sign in to continue reading",
    "to continue reading, subscribe", "become a subscriber to read", "unlock this article",
    "suscríbete para seguir leyendo", "suscríbete para continuar leyendo", "contenido exclusivo para suscriptores",
    "para seguir leyendo", "exclusivo para suscriptores",
    "réservé aux abonnés", "abonnez-vous pour lire", "assine para ler", "conteúdo exclusivo para assinantes",
    "nur für abonnenten", "jetzt abonnieren und weiterlesen",
)
PAYWALL_PHRASES = tuple(dict.fromkeys(form for p in _PROMPTS for form in (p.casefold(), fold(p))))
# File signatures of things servers send with a text/html label now and then.
MAGIC = (
    (b"%PDF", "application/pdf"), (b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"), (b"PK\x03\x04", "application/zip"), (b"\x1f\x8b", "application/gzip"),
    (b"RIFF", "audio/video (RIFF)"), (b"ID3", "audio/mpeg"), (b"\x00\x00\x00", "binary data"),
)
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
_HTML_LANG = re.compile(rb"""<html[^>]*\slang\s*=\s*["']?([A-Za-z]{2})""", re.I)
# Languages written in windows-1252 when not in UTF-8.
WESTERN_LANGS = frozenset({"en", "es", "fr", "de", "it", "pt", "nl", "ca", "gl", "eu", "da", "sv", "no", "nb",
                           "fi", "is", "ga", "af", "id", "ms", "sw"})
WESTERN_LANGUAGE_NAMES = frozenset({"English", "Spanish", "French", "German", "Italian", "Portuguese", "Dutch",
                                    "Danish", "Swedish", "Norwegian", "Finnish", "Catalan", "Indonesian"})
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z]{2,8});")
_LANG = re.compile(r"^([A-Za-z]{2,3})(?:[-_].*)?$")


class NotArticle(Exception):
    """The page is not an article we file; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ExtractionTimeout(NotArticle):
    """Extraction ran past its time limit (the page is skipped)."""


class _Alarm(BaseException):
    """Raised by the SIGALRM handler. A BaseException so that no ``except
    Exception`` inside a library can swallow it and keep working."""


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


# --- bytes ---------------------------------------------------------------------------


def compress_html(body: bytes) -> bytes:
    """zlib-compress a page for ``article_versions.raw_html`` (news HTML shrinks ~5x)."""
    return zlib.compress(body, 6)


def decompress_html(blob: bytes) -> bytes:
    """The page bytes as received, from ``compress_html`` output."""
    return zlib.decompress(blob)


def _codec(name: str | None) -> str | None:
    """Python's codec name for a declared charset, or None if unknown.
    Latin-1 and ASCII labels mean windows-1252, as browsers read them."""
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None
    return "cp1252" if codec in ("latin-1", "iso8859-1", "ascii") else codec


def _is_utf8_with_non_ascii(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not body.isascii()


def decode_html(body: bytes, declared_encoding: str | None) -> str:
    """Decode a page: BOM, then the declared charset (HTTP header), then the
    page's own <meta charset>, then UTF-8, then detection.

    A declared charset is only believed if the bytes decode cleanly with it,
    because wrong declarations are common (Latin-1 pages served as UTF-8, and
    UTF-8 pages labelled Latin-1, which would decode to mojibake without error).
    """
    for bom, codec in BOMS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace")
    meta = _META_CHARSET.search(body[:4096])
    candidates = [_codec(declared_encoding), _codec(meta.group(1).decode("ascii", "ignore") if meta else None), "utf-8"]
    for codec in dict.fromkeys(c for c in candidates if c):
        if codec in ("cp1252", "iso8859-15") and _is_utf8_with_non_ascii(body):
            log.info("page declared %s but is UTF-8; decoding as UTF-8", codec)
            return body.decode("utf-8")
        try:
            text = body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        if declared_encoding and codec != _codec(declared_encoding):
            log.info("page declared %s but does not decode with it; used %s", declared_encoding, codec)
        return text
    # Detection: statistical guessers confuse the Latin code pages (cp1250 turns
    # "España" into "Espańa"), so text in a Western European language, by the
    # page's lang attribute or the guesser's own language verdict, is read as
    # windows-1252, the charset such mislabelled pages really use.
    from charset_normalizer import from_bytes

    lang = _HTML_LANG.search(body[:4096])
    encoding = "cp1252"
    if not (lang and lang.group(1).decode("ascii").lower() in WESTERN_LANGS):
        best = from_bytes(body).best()
        if best is not None and best.language not in WESTERN_LANGUAGE_NAMES:
            encoding = best.encoding
    log.info("page declared %s but does not decode with it; read as %s", declared_encoding, encoding)
    return body.decode(encoding, errors="replace")


def _sniff_not_html(body: bytes | str, content_type: str | None) -> str | None:
    """The media type when the payload is plainly not an HTML page, else None."""
    if content_type:
        media = content_type.split(";")[0].strip().lower()
        if media and media not in ("text/html", "application/xhtml+xml", "text/plain", "application/octet-stream"):
            return media
    head = body[:1024]
    if isinstance(head, bytes):
        for magic, media in MAGIC:
            if head.startswith(magic):
                return media
        head = head.decode("latin-1")
    head = head.lstrip("\ufeff \t\r\n").lower()
    if head.startswith(("{", "[")):
        return "application/json"
    if head.startswith("<?xml") and any(tag in head for tag in ("<rss", "<feed", "<urlset", "<sitemapindex")):
        return "application/xml (feed or sitemap)"
    if "<" not in head:
        return "text/plain"
    return None


# --- page signals ----------------------------------------------------------------------


def _metas(tree: HtmlElement) -> dict[tuple[str, str], list[str]]:
    """Every <meta> content by (attribute, lower-case value): {("property", "og:type"): ["article"]}."""
    found: dict[tuple[str, str], list[str]] = {}
    for meta in tree.iter("meta"):
        content = (meta.get("content") or "").strip()
        if content:
            for attr in ("property", "name", "itemprop", "http-equiv"):
                key = (meta.get(attr) or "").strip().lower()
                if key:
                    found.setdefault((attr, key), []).append(content)
    return found


def _json_ld(tree: HtmlElement) -> list[dict]:
    """Every JSON-LD object on the page, @graph and lists flattened; broken blocks skipped."""
    objects: list[dict] = []

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            objects.append(node)
            if "@graph" in node:
                walk(node["@graph"])

    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        try:
            walk(json.loads(script.text))
        except ValueError:
            log.debug("skipping unparseable JSON-LD block")
    return objects


def _types(obj: dict) -> set[str]:
    value = obj.get("@type") or []
    return {str(t).lower() for t in (value if isinstance(value, list) else [value])}


def _names(node) -> list[str]:
    """Author names from a JSON-LD author value (string, Person, or list of them)."""
    if isinstance(node, list):
        return [name for item in node for name in _names(item)]
    if isinstance(node, dict):
        node = node.get("name")
    return [node.strip()] if isinstance(node, str) and node.strip() else []


def _split_keywords(value) -> list[str]:
    if isinstance(value, list):
        return [k for item in value for k in _split_keywords(item)]
    return [k.strip() for k in value.split(",") if k.strip()] if isinstance(value, str) else []


@dataclass
class _Signals:
    """What the page's markup says about itself, read once from the tree."""

    canonical: str | None = None
    html_lang: str | None = None
    og_type: str | None = None
    structured_article: bool = False
    structured_listing: bool = False
    not_free: bool = False
    dates: list[tuple[str, str]] = field(default_factory=list)  # (origin, raw value) in order of trust
    authors: list[str] = field(default_factory=list)  # JSON-LD article author names
    tags: list[str] = field(default_factory=list)  # article:tag / JSON-LD keywords / news_keywords


def _read_signals(tree: HtmlElement) -> _Signals:
    sig = _Signals()
    metas = _metas(tree)

    def _meta(_tree, attr, name):
        return metas.get((attr, name), [])

    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and (link.get("href") or "").strip():
            sig.canonical = link.get("href").strip()
            break
    for raw in [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
                *_meta(tree, "http-equiv", "content-language"), *_meta(tree, "property", "og:locale")]:
        match = _LANG.match((raw or "").strip())
        if match:
            sig.html_lang = match.group(1).lower()
            break
    og_type = _meta(tree, "property", "og:type")
    sig.og_type = og_type[0].lower() if og_type else None
    for obj in _json_ld(tree):
        types = _types(obj)
        if types & ARTICLE_TYPES:
            sig.structured_article = True
            if obj.get("datePublished"):
                sig.dates.append(("json-ld", str(obj["datePublished"])))
            if str(obj.get("isAccessibleForFree", "")).lower() in ("false", "0", "no"):
                sig.not_free = True
            sig.authors.extend(_names(obj.get("author")))
            sig.tags.extend(_split_keywords(obj.get("articleSection")) + _split_keywords(obj.get("keywords")))
        elif types & LISTING_TYPES - {"website"}:
            sig.structured_listing = True
    for attr, name in DATE_META:
        sig.dates.extend(("meta " + name, value) for value in _meta(tree, attr, name))
    if _meta(tree, "property", "article:published_time"):
        sig.structured_article = True
    for value in (*_meta(tree, "property", "article:section"), *_meta(tree, "property", "article:tag"),
                  *_meta(tree, "name", "news_keywords")):
        sig.tags.extend(_split_keywords(value))
    return sig


def _headlines(tree: HtmlElement) -> list[str]:
    """Case-folded texts of the page's links of five words or more: headlines
    pointing elsewhere. Read only for pages that do not say what they are
    (reading every link costs ~1.5 ms on an outlet-size page)."""
    texts = (" ".join(anchor.text_content().casefold().split()) for anchor in tree.iter("a"))
    return [text for text in texts if text.count(" ") >= 4]


def _is_index_page(tree: HtmlElement, sig: _Signals, text: str) -> str | None:
    """Why the page is a listing rather than an article, or None.

    Pages that declare themselves articles are trusted. Otherwise a page that
    declares itself a website/collection is an index, and so is one whose
    text is mostly teasers: paragraphs that begin with the headline of a link
    (section fronts list headlines with a one-line summary; an article's
    paragraphs almost never start with a five-word link).
    """
    if sig.structured_article or sig.og_type == "article":
        return None
    if sig.og_type == "website" or sig.structured_listing:
        return f"index page ({'og:type website' if sig.og_type == 'website' else 'JSON-LD listing'})"
    headlines = _headlines(tree)
    if len(headlines) < 3:
        return None
    starts = tuple(set(headlines))
    paragraphs = [" ".join(p.casefold().lstrip("-*• ").split()) for p in text.split("\n\n") if p.strip()]
    teasers = sum(1 for p in paragraphs if p.startswith(starts))
    if teasers >= 3 and teasers * 2 >= len(paragraphs):
        return f"index page ({teasers} of {len(paragraphs)} paragraphs are linked headlines)"
    if len(headlines) >= 10 and sum(1 for p in paragraphs if len(p) >= 200) < len(headlines) / 4:
        return f"index page ({len(headlines)} headline links, little prose)"
    return None


def _prose_chars(text: str) -> int:
    """Characters in paragraphs that read as prose (15 words or more, not a
    table row). On a page without an article, trafilatura falls back to the
    page's chrome (tickers, menus, table cells), which must not count as text."""
    return sum(len(p) for p in text.split("\n\n") if not p.startswith("|") and len(p.split()) >= PROSE_MIN_WORDS)


_CONTENT_TEXT = XPath("//body//text()[not(ancestor::header or ancestor::nav or ancestor::footer "
                      "or ancestor::script or ancestor::style or ancestor::noscript)]")


def _paywall_marker(tree: HtmlElement, sig: _Signals) -> str | None:
    """The sign that the page hides its text behind a subscription, or None."""
    if sig.not_free:
        return "isAccessibleForFree=false"
    # Site chrome offers subscriptions on free pages too ("Subscribe to read
    # unlimited articles" in the menu): only the page's content counts.
    visible = " ".join(" ".join(_CONTENT_TEXT(tree)).casefold().split())
    for phrase in PAYWALL_PHRASES:
        if phrase in visible:
            return f"prompt {fold(phrase)!r}"
    return None


def _remove_paywall_prompt(text: str) -> str:
    """Drop the paragraphs of a teaser that are the subscription prompt."""
    return "\n\n".join(p for p in text.split("\n\n") if not any(ph in p.casefold() for ph in PAYWALL_PHRASES))


# --- values ------------------------------------------------------------------------------


def _clean(value: str | None) -> str | None:
    """Whitespace-collapsed text with leftover (double-escaped) entities decoded."""
    if value is None:
        return None
    for _ in range(2):  # "&amp;#8217;" needs two rounds
        if not _ENTITY.search(value):
            break
        value = html_lib.unescape(value)
    value = " ".join(value.split())
    return value or None


def _paragraphs(text: str, title: str | None) -> str:
    """One paragraph per line from trafilatura → paragraphs separated by blank
    lines, without the headline trafilatura keeps as the first line (the title
    is stored on its own; in the text it would make copies of one wire story
    under different headlines look different)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if lines and title and fold(_clean(lines[0]) or "") == fold(_clean(title) or ""):
        lines = lines[1:]
    return "\n\n".join(lines)


def _to_naive_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _parse_date(raw: str, date_order: str | None) -> datetime | None:
    """A structured date string → naive UTC datetime, ISO first, then dateparser."""
    raw = raw.strip()
    try:
        return _to_naive_utc(datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except ValueError:
        pass
    import dateparser

    settings = {"TO_TIMEZONE": "UTC", "RETURN_AS_TIMEZONE_AWARE": False, "PREFER_DAY_OF_MONTH": "first"}
    if date_order:
        settings["DATE_ORDER"] = date_order
    try:
        return dateparser.parse(raw, settings=settings)
    except Exception:  # dateparser raises assorted errors on odd strings
        return None


def _plausible(value: datetime, latest: datetime, earliest: date | None) -> str | None:
    """Why a publication date cannot be right, or None."""
    if value > latest:
        return f"{value:%Y-%m-%d %H:%M} is after the fetch time"
    if earliest and value.date() < earliest:
        return f"{value:%Y-%m-%d} is before the earliest plausible date {earliest:%Y-%m-%d}"
    return None


def _choose_date(tree, sig, quick_date, url, hints, latest, earliest, date_order, origins):
    """The publication date and its origin: structured data, then htmldate's
    quick then extensive search, then the feed's date. Implausible values are
    rejected with the reason recorded in ``origins['published_at_rejected']``.
    ``quick_date()`` runs htmldate's quick search: only called when no
    structured date is accepted (most news pages have one)."""
    rejected: list[str] = []

    def accept(value, origin):
        if value is None:
            return None
        value = _to_naive_utc(value)
        why = _plausible(value, latest, earliest)
        if why:
            rejected.append(f"{origin}: {why}")
            return None
        origins["published_at"] = origin
        return value

    def htmldate_value(raw):
        return datetime.strptime(raw, "%Y-%m-%d") if raw else None

    found = None
    for origin, raw in sig.dates:
        found = accept(_parse_date(raw, date_order), origin)
        if found:
            break
    if found is None:
        found = accept(htmldate_value(quick_date()), "htmldate")
    if found is None:
        bounds = {"min_date": datetime.combine(earliest, datetime.min.time()) if earliest else None,
                  "max_date": latest}
        raw = find_date(tree, extensive_search=True, original_date=True, url=url, **bounds)
        found = accept(htmldate_value(raw), "htmldate extensive")
    if found is None and hints and hints.published:
        found = accept(hints.published, "feed")
    if rejected:
        origins["published_at_rejected"] = "; ".join(rejected)
        log.info("%s: rejected publication date(s): %s", url, origins["published_at_rejected"])
    return found


def _detect_language(text: str) -> str | None:
    if py3langid is None or not text:
        return None
    lang, _ = py3langid.classify(text[:LANGUAGE_SAMPLE_CHARS])
    return lang


def _canonical(sig: _Signals, url: str, origins: dict[str, str]) -> str | None:
    """<link rel=canonical> made absolute and canonical; a canonical that points
    an article at a site's home page (a CMS bug) would merge every article of
    the site into one row, so it is ignored."""
    if not sig.canonical:
        return None
    absolute = urljoin(url, sig.canonical)
    if urlsplit(absolute).scheme not in ("http", "https"):
        return None
    if urlsplit(absolute).path in ("", "/") and urlsplit(url).path not in ("", "/"):
        origins["canonical_url_rejected"] = f"{absolute} is the site's home page"
        return None
    origins["canonical_url"] = "page"
    return canonicalize_url(absolute)


# --- the extraction ----------------------------------------------------------------------


def _trafilatura(tree: HtmlElement, url: str, options: dict):
    """trafilatura's text for the page (None when it finds no text); the
    metadata comes from :func:`_metadata`, once, even when the text is
    extracted twice."""
    try:
        return trafilatura.bare_extraction(tree, url=url, with_metadata=False, **options)
    except (ValueError, TypeError, AttributeError) as exc:
        log.debug("trafilatura failed on %s", url, exc_info=True)
        raise NotArticle(f"extraction failed ({type(exc).__name__}: {exc})") from None


def _metadata(tree: HtmlElement, url: str, sig: _Signals) -> Document | None:
    """trafilatura's metadata pass (``trafilatura.metadata.extract_metadata``,
    step for step) without the work whose result we would throw away: the
    licence (not archived), categories and tag links when the page declares
    its tags (``sig.tags`` wins), and htmldate's date search, which
    :func:`_choose_date` runs only when no structured date is accepted.

    Why not ``bare_extraction(with_metadata=True)``: on outlet-size pages its
    metadata pass cost about a third of trafilatura's time, and the fallback
    retry ran it a second time (``python bench/extract_throughput.py``).
    None when trafilatura's metadata code fails on the page, as
    ``bare_extraction`` returned no document then."""
    tm = trafilatura_metadata
    try:
        meta = tm.examine_meta(tree)
        if meta.author and " " not in meta.author:  # a single word is a handle, not a byline
            meta.author = None
        try:
            meta = tm.extract_meta_json(tree, meta)
        except Exception as err:  # noqa: BLE001 - trafilatura's own guard: broken JSON-LD is skipped
            log.debug("trafilatura JSON-LD metadata failed on %s: %s", url, err)
        if not meta.title:
            meta.title = tm.extract_title(tree)
        if not meta.author:
            meta.author = tm.extract_author(tree)
        if not meta.url:
            meta.url = tm.extract_url(tree, url)
        if not meta.sitename:
            meta.sitename = tm.extract_sitename(tree)
        if meta.sitename:
            meta.sitename = meta.sitename.lstrip("@")  # a Twitter handle
            if meta.sitename and "." not in meta.sitename and not meta.sitename[0].isupper():
                meta.sitename = meta.sitename.title()
        elif meta.url:
            match = tm.META_URL.match(meta.url)
            if match:
                meta.sitename = match[1]
        if not sig.tags:
            meta.categories = meta.categories or tm.extract_catstags("category", tree)
            meta.tags = meta.tags or tm.extract_catstags("tag", tree)
        meta.clean_and_trim()
    except (ValueError, TypeError, AttributeError):
        log.debug("trafilatura metadata failed on %s", url, exc_info=True)
        return None
    return meta


def _extract(html: bytes | str, url: str, hints: Hints | None, expected_language: str | None,
             fetched_at: datetime, earliest: date | None, date_order: str | None,
             encoding: str | None, content_type: str | None, min_text_chars: int) -> Extracted:
    """The whole extraction of one page, without a time limit."""
    if not html or not html.strip():
        raise NotArticle("empty response")
    media = _sniff_not_html(html, content_type)
    if media:
        raise NotArticle(f"not HTML ({media})")
    page = decode_html(html, encoding) if isinstance(html, bytes) else html
    tree = load_html(page)
    if tree is None:
        raise NotArticle("not HTML (no parseable document)")
    sig = _read_signals(tree)
    latest = fetched_at + FUTURE_TOLERANCE
    date_params = {"extensive_search": False, "original_date": True, "max_date": latest}
    if earliest:
        date_params["min_date"] = datetime.combine(earliest, datetime.min.time())
    meta = _metadata(tree, url, sig)
    title = meta.title if meta else None
    body = _trafilatura(tree, url, TRAFILATURA_OPTIONS) if meta else None
    text = _paragraphs(body.text, title) if body is not None else ""
    if RETRY_WITH_FALLBACK and meta and _prose_chars(text) < min_text_chars:
        # The fast pass found (almost) nothing: let trafilatura's fallback
        # extractors (readability, jusText) have a go before giving up.
        retry = _trafilatura(tree, url, {**TRAFILATURA_OPTIONS, "fast": False})
        retry_text = _paragraphs(retry.text, title) if retry is not None else ""
        if _prose_chars(retry_text) > _prose_chars(text):
            body, text = retry, retry_text
    # As bare_extraction(with_metadata=True) did: no text, no metadata.
    doc = meta if body is not None else None

    reason = _is_index_page(tree, sig, text)
    if reason:
        raise NotArticle(reason)
    origins: dict[str, str] = {}
    paywalled = False
    # Only a short text can be a teaser; reading the whole page's text again costs time.
    marker = _paywall_marker(tree, sig) if len(text) < PAYWALL_TEASER_MAX_CHARS + 500 else None
    if marker:
        readable = _remove_paywall_prompt(text)
        if len(readable) < PAYWALL_TEASER_MAX_CHARS:
            paywalled, text = True, ""
            origins["paywalled"] = marker
    prose = _prose_chars(text)
    if not paywalled and prose < min_text_chars:
        raise NotArticle(f"too little text ({prose} chars of prose)")

    language, origins["language"] = _detect_language(text), "text"
    if language is None:
        language, origins["language"] = sig.html_lang, "page"
    if language is None and hints and hints.language:
        language, origins["language"] = hints.language.lower()[:2], "feed"
    if language is None:
        del origins["language"]
    if expected_language and language and language != expected_language.lower():
        raise NotArticle(f"language {language}, source expects {expected_language.lower()}")

    values = {"title": _clean(doc.title) if doc else None, "author": _clean(doc.author) if doc else None}
    if sig.authors:  # structured names beat a byline that may carry the agency ("Jane Roe, Reuters")
        values["author"] = _clean("; ".join(dict.fromkeys(sig.authors)))
    for key, hint in (("title", hints.title if hints else None), ("author", hints.author if hints else None)):
        if values[key]:
            origins[key] = "json-ld" if key == "author" and sig.authors else "page"
        elif _clean(hint):
            values[key], origins[key] = _clean(hint), "feed"
    site_name = _clean(doc.sitename) if doc else None
    if site_name:  # trafilatura falls back to the host name when the page names no site
        origins["site_name"] = "url" if site_name.lower() == host_of(url) else "page"
    description = _clean(doc.description) if doc else None
    if description:
        origins["description"] = "page"
    quick_date = (lambda: find_date(tree, **date_params, url=doc.url)) if doc else (lambda: None)
    published = _choose_date(tree, sig, quick_date, url, hints, latest, earliest, date_order, origins)
    # Tags the page declares for the article; trafilatura's link-based guess
    # (which can pick up a sidebar's tag cloud) only when there are none.
    tags = sig.tags or ([*(doc.categories or []), *(doc.tags or [])] if doc else [])
    tags = list(dict.fromkeys(t for t in (_clean(t) for t in tags) if t))
    if tags:
        origins["tags"] = "page" if sig.tags else "links"
    return Extracted(
        url=url,
        canonical_url=_canonical(sig, url, origins),
        title=values["title"],
        author=values["author"],
        published_at=published,
        language=language,
        site_name=site_name,
        description=description,
        tags=tags,
        text=text,
        paywalled=paywalled,
        origins=origins,
    )


def extract_article(html: bytes | str, url: str, *, hints: Hints | None = None,
                    expected_language: str | None = None, fetched_at: datetime | None = None,
                    earliest: date | None = None, date_order: str | None = None, timeout: float = 10.0,
                    encoding: str | None = None, content_type: str | None = None,
                    min_text_chars: int = MIN_TEXT_CHARS) -> Extracted:
    """Extract the article in ``html`` (bytes as received, or text) fetched from ``url``.

    ``hints`` fill values the page lacks; ``expected_language`` rejects pages
    in another language; dates after ``fetched_at`` (default: now) or before
    ``earliest`` are rejected; ``date_order`` ('DMY', 'MDY', 'YMD') reads
    ambiguous structured dates; ``encoding`` is the charset the server declared;
    ``content_type`` its media type. Raises :class:`NotArticle` with the reason
    when the page is not an article, including when extraction takes longer
    than ``timeout`` seconds (0 or None: no limit).
    """
    fetched_at = _to_naive_utc(fetched_at) if fetched_at else datetime.now(timezone.utc).replace(tzinfo=None)
    args = (html, url, hints, expected_language, fetched_at, earliest, date_order, encoding, content_type,
            min_text_chars)
    try:
        if not timeout or timeout <= 0:
            return _extract(*args)
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            with time_limit(timeout):
                return _extract(*args)
        return _WORKERS.run(args, timeout)
    except NotArticle as exc:
        log.log(logging.WARNING if isinstance(exc, ExtractionTimeout) else logging.INFO,
                "%s: not an article: %s", url, exc.reason)
        raise
    except Exception as exc:  # a page that breaks a library: one line for the user, the traceback in the log
        log.warning("%s: extraction failed", url, exc_info=True)
        raise NotArticle(f"extraction failed ({type(exc).__name__}: {exc})") from None


# --- time limits ---------------------------------------------------------------------------


@contextmanager
def time_limit(seconds: float):
    """Stop the block after ``seconds`` with :class:`ExtractionTimeout` (main thread only).

    A SIGALRM timer interrupts whatever Python code runs; it re-fires every
    50 ms in case a library swallowed the first one. A timer already set by
    someone else (e.g. pytest-timeout) is kept: restored afterwards, and
    honoured if it is due first.
    """
    started = time.monotonic()
    deadline = started + seconds
    fired = disarmed = False
    previous_handler = signal.getsignal(signal.SIGALRM)
    previous_delay, previous_interval = signal.getitimer(signal.ITIMER_REAL)
    outer_deadline = started + previous_delay if previous_delay else None

    def on_alarm(signum, frame):
        nonlocal fired
        if disarmed:  # a signal delivered while we were already cleaning up
            return
        now = time.monotonic()
        if outer_deadline is not None and now >= outer_deadline and callable(previous_handler):
            previous_handler(signum, frame)
        if now >= deadline - 0.001:
            fired = True
            raise _Alarm()

    signal.signal(signal.SIGALRM, on_alarm)
    first = min(seconds, previous_delay) if previous_delay else seconds
    signal.setitimer(signal.ITIMER_REAL, max(first, 1e-6), 0.05)
    try:
        try:
            yield
        finally:
            disarmed = True
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Alarm:  # also when the alarm landed in the inner finally, before disarming
        raise ExtractionTimeout(f"extraction timed out after {seconds:g}s") from None
    finally:
        signal.signal(signal.SIGALRM, previous_handler if previous_handler is not None else signal.SIG_DFL)
        if previous_delay:
            remaining = previous_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-6), previous_interval)
    if fired:  # the alarm was swallowed by library code: the result is not trustworthy
        raise ExtractionTimeout(f"extraction timed out after {seconds:g}s")


def _worker_loop(conn) -> None:
    """A worker process: extract pages sent over ``conn`` until it closes."""
    conn.send("ready")  # imports done: time limits count from here
    while True:
        try:
            args = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            conn.send(("ok", _extract(*args)))
        except NotArticle as exc:
            conn.send(("not_article", exc.reason))
        except Exception as exc:  # report, keep serving
            conn.send(("not_article", f"extraction failed ({type(exc).__name__}: {exc})"))


class _Worker:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # no fork: the crawl process runs threads
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_loop, args=(child,), daemon=True, name="newsmon-extract")
        self.process.start()
        child.close()
        if not self.conn.poll(WORKER_START_TIMEOUT) or self.conn.recv() != "ready":
            self.kill()
            raise NotArticle("extraction worker did not start")

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class _WorkerPool:
    """Worker processes for calls from non-main threads, where no signal can
    interrupt the work: a worker that overruns is killed and replaced."""

    def __init__(self, size: int) -> None:
        self.idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self.all: list[_Worker] = []
        self.lock = threading.Lock()
        # More workers than cores adds memory, not speed: callers beyond that wait their turn
        # (the wait does not count against their time limit).
        self.slots = threading.BoundedSemaphore(size)

    def _take(self) -> _Worker:
        try:
            return self.idle.get_nowait()
        except queue.Empty:
            worker = _Worker()
            with self.lock:
                self.all.append(worker)
            return worker

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self.lock:
            if worker in self.all:
                self.all.remove(worker)

    def run(self, args: tuple, timeout: float) -> Extracted:
        with self.slots:
            return self._run(args, timeout)

    def _run(self, args: tuple, timeout: float) -> Extracted:
        worker = self._take()
        try:
            worker.conn.send(args)
            if not worker.conn.poll(timeout):
                self._discard(worker)
                raise ExtractionTimeout(f"extraction timed out after {timeout:g}s")
            status, value = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError) as exc:
            self._discard(worker)
            raise NotArticle(f"extraction worker died ({type(exc).__name__})") from None
        self.idle.put(worker)
        if status == "not_article":
            raise NotArticle(value)
        return value

    def close(self) -> None:
        with self.lock:
            workers, self.all = self.all, []
        for worker in workers:
            worker.kill()
        self.idle = queue.SimpleQueue()


_WORKERS = _WorkerPool(size=os.cpu_count() or 2)
atexit.register(_WORKERS.close)


def extract_for_source(html: bytes | str, url: str, source, *, hints: Hints | None = None,
                       fetched_at: datetime | None = None, timeout: float = 10.0,
                       encoding: str | None = None, content_type: str | None = None) -> Extracted:
    """``extract_article`` with a configured source's expectations (language,
    plausible earliest date, numeric date order): the crawl and ``newsmon
    reextract`` must judge a page the same way. ``source`` may be None (a
    source removed from the config since the page was archived)."""
    earliest = source.earliest_date if source is not None else None  # a date, checked when the config loads
    return extract_article(html, url, hints=hints, fetched_at=fetched_at, timeout=timeout, encoding=encoding,
                           content_type=content_type, earliest=earliest,
                           expected_language=source.language if source is not None else None,
                           date_order=source.date_order if source is not None else None)
