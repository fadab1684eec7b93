"""What a page says about itself, and the values we trust from it.

The page's markup signals (canonical link, declared language, og:type, JSON-LD
article/listing types, paywall flag, structured dates, authors, tags, the
declared body's length), read
once per page; trafilatura's metadata pass without the work we would throw
away; the choice of a publication date (structured data first, never in the
future, never before the source's earliest plausible date); the language of
the text; the canonical URL.
"""
from __future__ import annotations

import html as html_lib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html
from htmldate import find_date
from lxml.html import HtmlElement
from lxml.etree import XPath
from trafilatura import json_metadata as trafilatura_json
from trafilatura import metadata as trafilatura_metadata
from trafilatura.settings import Document

from crawler.urls import canonicalize_url

try:  # language detection on the text itself; without it we trust the page's lang attributes
    import py3langid
except ImportError:  # pragma: no cover - optional
    py3langid = None

log = logging.getLogger("crawler.extract")
tm = trafilatura_metadata

FUTURE_TOLERANCE = timedelta(days=1)  # time zones and date-only values: "tomorrow" can be today somewhere
LANGUAGE_SAMPLE_CHARS = 600  # detection cost grows with length; a dozen sentences decide it
LANGUAGE_CONFIRM_CHARS = 300  # enough to confirm the language the page declares
ARTICLE_TYPES = frozenset({
    "article", "newsarticle", "reportagenews", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
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
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z]{2,8});")
_MARKUP = re.compile(r"<[^>]{0,200}>")
_LANG = re.compile(r"^([A-Za-z]{2,3})(?:[-_].*)?$")


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
class Signals:
    """What the page's markup says about itself, read once from the tree."""

    canonical: str | None = None
    html_lang: str | None = None
    og_type: str | None = None
    structured_article: bool = False
    live_blog: bool = False  # JSON-LD LiveBlogPosting
    structured_listing: bool = False
    not_free: bool = False
    dates: list[tuple[str, str]] = field(default_factory=list)  # (origin, raw value) in order of trust
    authors: list[str] = field(default_factory=list)  # JSON-LD article author names
    tags: list[str] = field(default_factory=list)  # article:tag / JSON-LD keywords / news_keywords
    card_titles: list[str] = field(default_factory=list)  # og:title, twitter:title
    headline: str | None = None  # JSON-LD article headline
    titles: list[str] = field(default_factory=list)  # those, JSON-LD headline, <title>
    site_name: str | None = None  # og:site_name
    body: str | None = None  # the longest JSON-LD articleBody, as declared
    body_chars: int = 0  # its length, markup removed, whitespace collapsed


def _declared_canonical(links) -> str | None:
    """The first ``<link rel=canonical>``'s href as written (``rel`` is a list of tokens)."""
    for link in links:
        if "canonical" in (link.get("rel") or "").lower().split() and (link.get("href") or "").strip():
            return link.get("href").strip()
    return None


_HEAD_END = re.compile(rb"</head\s*>|<body[\s>]", re.IGNORECASE)


def head_canonical(body: bytes, encoding: str | None = None) -> str | None:
    """The canonical link a page declares, read from its ``<head>`` alone (the
    spider checks it before handing the page on: parsing a whole outlet page
    for it cost the crawl process ~1 ms a page; the extractor reads every
    signal from the full tree later)."""
    end = _HEAD_END.search(body)
    head = body[:end.start()] if end else body
    if not head.strip():
        return None
    try:
        parser = lxml.html.HTMLParser(encoding=encoding) if encoding else None
        tree = lxml.html.document_fromstring(head, parser=parser)
    except (ValueError, LookupError, lxml.etree.ParserError):  # unknown encoding, nothing parsable
        return None
    return _declared_canonical(tree.iter("link"))


def read_signals(tree: HtmlElement) -> Signals:
    sig = Signals()
    metas = _metas(tree)

    def _meta(_tree, attr, name):
        return metas.get((attr, name), [])

    sig.canonical = _declared_canonical(tree.iter("link"))
    for raw in [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang"),
                *_meta(tree, "http-equiv", "content-language"), *_meta(tree, "property", "og:locale")]:
        match = _LANG.match((raw or "").strip())
        if match:
            sig.html_lang = match.group(1).lower()
            break
    og_type = _meta(tree, "property", "og:type")
    sig.og_type = og_type[0].lower() if og_type else None
    sig.card_titles = (_meta(tree, "property", "og:title") + _meta(tree, "name", "twitter:title")
                       + _meta(tree, "property", "twitter:title"))
    sig.titles.extend(sig.card_titles)
    site_names = _meta(tree, "property", "og:site_name")
    sig.site_name = site_names[0] if site_names else None
    for obj in _json_ld(tree):
        types = _types(obj)
        if types & ARTICLE_TYPES or any(t.endswith(("newsarticle", "blogposting")) for t in types):
            sig.structured_article = True
            sig.live_blog = sig.live_blog or "liveblogposting" in types
            if obj.get("datePublished"):
                sig.dates.append(("json-ld", str(obj["datePublished"])))
            if str(obj.get("isAccessibleForFree", "")).lower() in ("false", "0", "no"):
                sig.not_free = True
            sig.authors.extend(_names(obj.get("author")))
            if isinstance(obj.get("headline"), str) and obj["headline"].strip():
                sig.titles.append(obj["headline"])
                sig.headline = sig.headline or obj["headline"]
            sig.tags.extend(_split_keywords(obj.get("articleSection")) + _split_keywords(obj.get("keywords")))
            body = obj.get("articleBody")
            if isinstance(body, str) and len(body) > len(sig.body or ""):
                sig.body, sig.body_chars = body, len(" ".join(_MARKUP.sub(" ", body).split()))
        elif types & LISTING_TYPES - {"website"}:
            sig.structured_listing = True
    for title in tree.iter("title"):
        if title.text and title.text.strip():
            sig.titles.append(title.text)
            break
    if not sig.authors:  # scholarly pages: one citation_author per author, "Last, First"
        sig.authors.extend(_meta(tree, "name", "citation_author"))
    for attr, name in DATE_META:
        sig.dates.extend(("meta " + name, value) for value in _meta(tree, attr, name))
    if _meta(tree, "property", "article:published_time"):
        sig.structured_article = True
    for value in (*_meta(tree, "property", "article:section"), *_meta(tree, "property", "article:tag"),
                  *_meta(tree, "name", "news_keywords")):
        sig.tags.extend(_split_keywords(value))
    return sig



def clean(value: str | None) -> str | None:
    """Whitespace-collapsed text with leftover (double-escaped) entities decoded."""
    if value is None:
        return None
    for _ in range(2):  # "&amp;#8217;" needs two rounds
        if not _ENTITY.search(value):
            break
        value = html_lib.unescape(value)
    value = " ".join(value.split())
    return value or None



def to_naive_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _parse_date(raw: str, date_order: str | None) -> datetime | None:
    """A structured date string → naive UTC datetime, ISO first, then dateparser."""
    raw = raw.strip()
    try:
        return to_naive_utc(datetime.fromisoformat(raw.replace("Z", "+00:00")))
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


def choose_date(tree, sig, quick_date, url, hints, latest, earliest, date_order, origins):
    """The publication date and its origin: structured data, then htmldate's
    quick then extensive search, then the feed's date. Implausible values are
    rejected with the reason recorded in ``origins['published_at_rejected']``.
    ``quick_date()`` runs htmldate's quick search: only called when no
    structured date is accepted (most news pages have one)."""
    rejected: list[str] = []

    def accept(value, origin):
        if value is None:
            return None
        value = to_naive_utc(value)
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


def load_language_model() -> None:
    """Load py3langid's model now (~0.5 s: it decompresses it on first use).
    A crawl's analysis pool does it before forking its workers, so they share
    one copy instead of each loading its own while pages wait."""
    if py3langid is not None:
        py3langid.classify("warm")


def detect_language(text: str, declared: str | None = None) -> str | None:
    """The text's language. When the page declares one, a half sample that
    agrees with it decides (half the cost; on the 108 real and fixture pages
    of bench/extract_quality.py the half sample never agreed with the
    declaration where the full sample disagreed); otherwise the full sample."""
    if py3langid is None or not text:
        return None
    if declared:
        lang, _ = py3langid.classify(text[:LANGUAGE_CONFIRM_CHARS])
        if lang == declared:
            return lang
    lang, _ = py3langid.classify(text[:LANGUAGE_SAMPLE_CHARS])
    return lang


def canonical_url(sig: Signals, url: str, origins: dict[str, str]) -> str | None:
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



_JSON_LD_SCRIPTS = XPath('.//script[@type="application/ld+json" or @type="application/settings+json"]')


def _meta_json(tree: HtmlElement, meta: Document) -> Document:
    """``trafilatura.metadata.extract_meta_json`` step for step, except that a
    block that is not valid JSON is regex-scanned (``extract_json_parse_error``)
    only when the page has not given an author and a title already: that scan
    searches the block for author names by repeated substitution, which took
    1.1 s of one real page's 1.3 s (an 800 KB live blog), for a result that
    was thrown away."""
    for elem in _JSON_LD_SCRIPTS(tree):
        if not elem.text:
            continue
        text = trafilatura_json.normalize_json(tm.JSON_MINIFY.sub(r"\1", elem.text))
        try:
            meta = trafilatura_json.extract_json(json.loads(text, strict=False), meta)
        except json.JSONDecodeError:
            if not (meta.author and meta.title):
                meta = trafilatura_json.extract_json_parse_error(text, meta)
    return meta


def page_metadata(tree: HtmlElement, url: str, sig: Signals) -> Document | None:
    """trafilatura's metadata pass (``trafilatura.metadata.extract_metadata``,
    step for step) without the work whose result we would throw away: the
    licence (not archived), categories and tag links when the page declares
    its tags (``sig.tags`` wins), the regex scan of broken JSON-LD when the
    author and title are known (:func:`_meta_json`), and htmldate's date search, which
    :func:`choose_date` runs only when no structured date is accepted.

    Why not ``bare_extraction(with_metadata=True)``: on outlet-size pages its
    metadata pass cost about a third of trafilatura's time, and the fallback
    retry ran it a second time (``python bench/extract_throughput.py``).
    None when trafilatura's metadata code fails on the page, as
    ``bare_extraction`` returned no document then."""
    try:
        meta = tm.examine_meta(tree)
        if meta.author and " " not in meta.author:  # a single word is a handle, not a byline
            meta.author = None
        try:
            meta = _meta_json(tree, meta)
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


_LAST_FIRST = re.compile(r"^([^,\d]+),\s*([^,\d]+)$")


def clean_authors(value: str | None) -> str | None:
    """A byline as readers see it: names separated by "; ", each once, and a
    profile slug ("chuck-ross") or "Last, First" written out as a name. (An
    outlet named as the author stays: agencies and desks sign that way.)"""
    if not value:
        return None
    names: dict[str, str] = {}
    for raw in value.split(";"):
        name = " ".join(raw.split())
        if not name:
            continue
        if " " not in name and "-" in name and name.islower():
            name = name.replace("-", " ").title()
        match = _LAST_FIRST.match(name)
        if match and all(1 <= len(part.split()) <= 3 for part in match.groups()):
            name = f"{match.group(2).strip()} {match.group(1).strip()}"
        compact = "".join(ch for ch in name.casefold() if ch.isalnum())
        if compact:
            names.setdefault(compact, name)
    return "; ".join(names.values()) or None

