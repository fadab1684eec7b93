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
  them (since measured on real pages, the retry is decided by the text's
  quality and its share of the page's paragraphs and declared body, see
  :mod:`crawler.refusal`, not only its length; a text that is a part of the
  JSON-LD ``articleBody`` takes the declared body instead). Comments stay
  off (they are not the article), tables on (results and budgets live in
  tables). One fixture-driven addition: author boxes with
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

  Since then the metadata pass is ours (:func:`page_metadata`: trafilatura's
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
returned with ``paywalled=True`` and the free teaser as its text (the prompt
removed); the stages leave teasers out of dedup, topic text and the event diff.

The pieces live beside this module: bytes → text in :mod:`crawler.decode`,
the page's signals, metadata and date choice in :mod:`crawler.metadata`, the
headline in :mod:`crawler.titles`, boxes and text clean-up in
:mod:`crawler.boilerplate`, is-it-an-article in :mod:`crawler.refusal`, the
time limit in :mod:`crawler.timelimit`, the returned types in
:mod:`crawler.extracted`. This module keeps the order of the steps and the
entry points. How a page is judged: docs/extraction.md.
"""
from __future__ import annotations

import logging
from collections import Counter
import signal
import threading
from datetime import date, datetime, timezone

import trafilatura
from htmldate import find_date
from lxml.etree import XPath
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from crawler.boilerplate import clean_text, declared_text, find_boxes, standfirst
from crawler.decode import decode_html, sniff_not_html
from crawler.extracted import ExtractionTimeout, Extracted, Hints, NotArticle
from crawler.metadata import (
    FUTURE_TOLERANCE,
    Signals,
    canonical_url,
    choose_date,
    clean,
    clean_authors,
    detect_language,
    page_metadata,
    read_signals,
    to_naive_utc,
)
from crawler.refusal import TRUNCATED_DECLARED_SHARE, TRUNCATED_PAGE_SHARE, is_index_page, quality, too_little_text
from crawler.text import fold, normalize_text
from crawler.titles import choose_title, h1_texts
from crawler.timelimit import WORKERS, time_limit
from crawler.urls import host_of

log = logging.getLogger(__name__)

MIN_TEXT_CHARS = 300          # less prose than this is not an article (captions, stubs, error pages)
PAYWALL_TEASER_MAX_CHARS = 1500  # a page with a paywall prompt and less text than this is a teaser
# Every name holds "aut": that test first, on the four box tags only (a third of the cost of testing
# every name on every element; trafilatura compiles and runs it on each extraction).
AUTHOR_BOX_XPATH = (
    "(//div|//section|//aside|//footer)[contains(@class, 'aut')]["
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
# In a short line of a page that is not free: the prompt's offer or sign-in link.
SUBSCRIPTION_STEMS = ("subscri", "suscri", "abonn", "assin", "sign in", "log in", "inicia sesion", "accede a todo")
PAYWALL_PHRASES = tuple(dict.fromkeys(form for p in _PROMPTS for form in (p.casefold(), fold(p))))


def _headlines(tree: HtmlElement) -> list[str]:
    """Case-folded texts of the page's links of five words or more: headlines
    pointing elsewhere (reading every link costs ~1.5 ms on an outlet-size
    page; read once per page)."""
    texts = (" ".join(anchor.text_content().casefold().split()) for anchor in tree.iter("a"))
    return [text for text in texts if text.count(" ") >= 4]


def _unlinked_headings(tree: HtmlElement) -> set[str]:
    """Case-folded texts of the page's <h2>-<h4> that are not links nor inside one."""
    found = set()
    for heading in tree.iter("h2", "h3", "h4"):
        if heading.find(".//a") is None and next(heading.iterancestors("a"), None) is None:
            found.add(" ".join(heading.text_content().casefold().split()))
    return found


def _paragraph_chars(tree: HtmlElement) -> int:
    """Characters in the page's <p> elements, whitespace collapsed: what a
    text that stops at the article's first container falls far short of."""
    return sum(len(" ".join(p.text_content().split())) for p in tree.iter("p"))


_CONTENT_TEXT = XPath("//body//text()[not(ancestor::header or ancestor::nav or ancestor::footer "
                      "or ancestor::script or ancestor::style or ancestor::noscript)]")


def _paywall_marker(tree: HtmlElement, sig: Signals, whole_text: str) -> str | None:
    """The sign that the page hides its text behind a subscription, or None
    (``whole_text``: the tree's text, read once per page)."""
    if sig.not_free:
        return "isAccessibleForFree=false"
    # Site chrome offers subscriptions on free pages too ("Subscribe to read
    # unlimited articles" in the menu): only the page's content counts. Most
    # pages hold no phrase at all: one look at the whole text rules them out.
    everything = " ".join(whole_text.casefold().split())
    if not any(phrase in everything for phrase in PAYWALL_PHRASES):
        return None
    visible = " ".join(" ".join(_CONTENT_TEXT(tree)).casefold().split())
    for phrase in PAYWALL_PHRASES:
        if phrase in visible:
            return f"prompt {fold(phrase)!r}"
    return None


def _is_prompt(paragraph: str) -> bool:
    folded = paragraph.casefold()
    if any(phrase in folded for phrase in PAYWALL_PHRASES):
        return True
    return len(paragraph.split()) < 15 and any(stem in fold(paragraph) for stem in SUBSCRIPTION_STEMS)


def _remove_paywall_prompt(text: str) -> str:
    """Drop the paragraphs of a teaser that are the subscription prompt: the
    ones that ask for a subscription, and the short lines after them (the
    prompt's offer and sign-in links); prose after a prompt is kept."""
    kept, in_prompt = [], False
    for paragraph in text.split("\n\n"):
        if _is_prompt(paragraph):
            in_prompt = True
        elif not (in_prompt and len(paragraph.split()) < 15):
            kept.append(paragraph)
            in_prompt = False
    return "\n\n".join(kept)



def _worth(q) -> float:
    """What a text is worth for the retry choice: its clean prose, less a
    quarter of what is not prose (chrome the reader would wade through)."""
    return q.clean_chars - 0.25 * (q.chars - q.prose)


def _paragraphs(text: str, titles: list[str]) -> str:
    """One paragraph per line from trafilatura → paragraphs separated by blank
    lines, without the headline trafilatura keeps as the first line (the title
    is stored on its own; in the text it would make copies of one wire story
    under different headlines look different)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    # An article laid out in a table comes as one-cell rows ("| a paragraph |"): plain paragraphs.
    lines = [line[1:-1].strip() if line.startswith("|") and line.endswith("|") and line.count("|") == 2 else line
             for line in lines]
    if lines and normalize_text(lines[0]) in {normalize_text(t) for t in titles if t}:
        lines = lines[1:]
    return "\n\n".join(lines)



# --- the extraction ----------------------------------------------------------------------


def _trafilatura(tree: HtmlElement, url: str, options: dict):
    """trafilatura's text for the page (None when it finds no text); the
    metadata comes from :func:`page_metadata`, once, even when the text is
    extracted twice."""
    try:
        return trafilatura.bare_extraction(tree, url=url, with_metadata=False, **options)
    except (ValueError, TypeError, AttributeError) as exc:
        log.debug("trafilatura failed on %s", url, exc_info=True)
        raise NotArticle(f"extraction failed ({type(exc).__name__}: {exc})") from None


def _extract(html: bytes | str, url: str, hints: Hints | None, expected_language: str | None,
             fetched_at: datetime, earliest: date | None, date_order: str | None,
             encoding: str | None, content_type: str | None, min_text_chars: int) -> Extracted:
    """The whole extraction of one page, without a time limit."""
    if not html or not html.strip():
        raise NotArticle("empty response")
    media = sniff_not_html(html, content_type)
    if media:
        raise NotArticle(f"not HTML ({media})")
    page = decode_html(html, encoding) if isinstance(html, bytes) else html
    tree = load_html(page)
    if tree is None:
        raise NotArticle("not HTML (no parseable document)")
    sig = read_signals(tree)
    latest = fetched_at + FUTURE_TOLERANCE
    date_params = {"extensive_search": False, "original_date": True, "max_date": latest}
    if earliest:
        date_params["min_date"] = datetime.combine(earliest, datetime.min.time())
    meta = page_metadata(tree, url, sig)
    title = title_origin = None
    h1s = h1_texts(tree)
    if meta:
        title, title_origin = choose_title(clean(sig.headline), [*sig.card_titles, meta.title], h1s,
                                           sig.site_name or meta.sitename, host_of(url), meta.author,
                                           live_blog=sig.live_blog)
        title = clean(title)
    titles = [title, *(sig.titles if meta else [])]
    headlines = _headlines(tree)  # read once: the index check, link density and linked-headline lines use them
    # A line that is a heading of its own on the page (a live blog's entry, a
    # section) is kept even when a sidebar links a story under the same words.
    links = set(headlines) - _unlinked_headings(tree) if headlines else set()
    boxes = find_boxes(tree) if meta else []
    dateline, pruned, raw, retried = None, [], "", None

    def text_of(result) -> str:
        nonlocal dateline, pruned, raw
        if result is None:
            raw = ""
            return ""
        raw = _paragraphs(result.text, titles)
        cleaned, dateline, pruned = clean_text(raw, links, title, boxes, h1s)
        return cleaned

    body = _trafilatura(tree, url, TRAFILATURA_OPTIONS) if meta else None
    text = text_of(body)
    first = quality(text, links)
    # The page's whole text bounds its paragraphs' (measured only when the text could be a quarter of them).
    whole_text = tree.text_content()
    page_chars = _paragraph_chars(tree) if first.chars < TRUNCATED_PAGE_SHARE * len(whole_text) else 0
    poor = first.poor(min_text_chars, page_chars, sig.body_chars)
    if poor and body is not None and not sig.not_free and len(text) < TRUNCATED_DECLARED_SHARE * sig.body_chars:
        # A part of what the page declares as its body (an article split into
        # several containers, the rest hidden until consent): the declared
        # body, when it holds this text; the fallback extractors find no more.
        # Not on a page that declares itself not free: its JSON-LD body is the
        # text behind the paywall (for search engines), the teaser is what it publishes.
        declared = declared_text(sig.body, text)
        if declared and len(declared) > len(text):
            retried = f"declared articleBody (fast pass: {poor})"
            text, dateline, pruned = clean_text(declared, links, title, boxes, h1s)
            poor = None
    if RETRY_WITH_FALLBACK and meta and poor:
        # The fast pass found (almost) nothing, or mostly chrome: let
        # trafilatura's fallback extractors (readability, jusText) have a go,
        # and keep the better text.
        retry = _trafilatura(tree, url, {**TRAFILATURA_OPTIONS, "fast": False})
        first_dateline, first_pruned, first_raw = dateline, pruned, raw
        retry_text = text_of(retry)
        second = quality(retry_text, links)
        if _worth(second) > _worth(first):
            body, text = retry, retry_text
            retried = f"fallback extractors (fast pass: {poor})"
        else:
            dateline, pruned, raw = first_dateline, first_pruned, first_raw
    # As bare_extraction(with_metadata=True) did: no text, no metadata.
    doc = meta if body is not None else None
    lead = standfirst(tree, doc.description, text) if doc and text else None
    if lead:
        text = f"{lead}\n\n{text}"

    declared_article = sig.structured_article or sig.og_type == "article"
    if not declared_article:  # pages that declare themselves articles are trusted
        reason = is_index_page(url=url, og_type=sig.og_type, structured_listing=sig.structured_listing,
                               has_date=bool(sig.dates), has_author=bool(sig.authors or (meta and meta.author)),
                               headlines=headlines, text=raw)  # as extracted: teaser lines included
        if reason:
            raise NotArticle(reason)
    origins: dict[str, str] = {}
    if dateline:
        origins["dateline"] = dateline
    if retried:
        origins["text"] = retried
    if lead:
        origins["standfirst"] = "page (shown as the description, outside the body's container)"
    if pruned:
        origins["pruned"] = ", ".join(f"{kind} ×{n}" if n > 1 else kind
                                      for kind, n in Counter(pruned).items())
    paywalled = False
    # Only a short text can be a teaser; reading the whole page's text again costs time.
    marker = _paywall_marker(tree, sig, whole_text) if len(text) < PAYWALL_TEASER_MAX_CHARS + 500 else None
    if marker:
        readable = _remove_paywall_prompt(text)
        if len(readable) < PAYWALL_TEASER_MAX_CHARS:
            # The teaser is what the outlet publishes for free: kept, flagged,
            # and left out of dedup and analysis by the stages.
            paywalled, text = True, readable
            origins["paywalled"] = marker
    reason = None if paywalled else too_little_text(text, declared_article or bool(sig.dates), min_text_chars)
    if reason:
        raise NotArticle(reason)

    language, origins["language"] = detect_language(text, sig.html_lang), "text"
    if language is None:
        language, origins["language"] = sig.html_lang, "page"
    if language is None and hints and hints.language:
        language, origins["language"] = hints.language.lower()[:2], "feed"
    if language is None:
        del origins["language"]
    if expected_language and language and language != expected_language.lower():
        raise NotArticle(f"language {language}, source expects {expected_language.lower()}")

    values = {"title": title if doc else None, "author": clean(doc.author) if doc else None}
    if sig.authors:  # structured names beat a byline that may carry the agency ("Jane Roe, Reuters")
        values["author"] = clean("; ".join(dict.fromkeys(sig.authors)))
    values["author"] = clean_authors(values["author"])
    for key, hint in (("title", hints.title if hints else None), ("author", hints.author if hints else None)):
        if values[key]:
            origins[key] = "json-ld" if key == "author" and sig.authors else "page"
            if key == "title" and title_origin != "page":
                origins[key] = title_origin
        elif clean(hint):
            values[key], origins[key] = clean(hint), "feed"
    site_name = clean(doc.sitename) if doc else None
    if site_name:  # trafilatura falls back to the host name when the page names no site
        origins["site_name"] = "url" if site_name.lower() == host_of(url) else "page"
    description = clean(doc.description) if doc else None
    if description:
        origins["description"] = "page"
    quick_date = (lambda: find_date(tree, **date_params, url=doc.url)) if doc else (lambda: None)
    published = choose_date(tree, sig, quick_date, url, hints, latest, earliest, date_order, origins)
    # Tags the page declares for the article; trafilatura's link-based guess
    # (which can pick up a sidebar's tag cloud) only when there are none.
    tags = sig.tags or ([*(doc.categories or []), *(doc.tags or [])] if doc else [])
    tags = list(dict.fromkeys(t for t in (clean(t) for t in tags) if t))
    if tags:
        origins["tags"] = "page" if sig.tags else "links"
    return Extracted(
        url=url,
        canonical_url=canonical_url(sig, url, origins),
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
    fetched_at = to_naive_utc(fetched_at) if fetched_at else datetime.now(timezone.utc).replace(tzinfo=None)
    args = (html, url, hints, expected_language, fetched_at, earliest, date_order, encoding, content_type,
            min_text_chars)
    try:
        if not timeout or timeout <= 0:
            return _extract(*args)
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            with time_limit(timeout):
                return _extract(*args)
        return WORKERS.run(_extract, args, timeout)
    except NotArticle as exc:
        log.log(logging.WARNING if isinstance(exc, ExtractionTimeout) else logging.INFO,
                "%s: not an article: %s", url, exc.reason)
        raise
    except Exception as exc:  # a page that breaks a library: one line for the user, the traceback in the log
        log.warning("%s: extraction failed", url, exc_info=True)
        raise NotArticle(f"extraction failed ({type(exc).__name__}: {exc})") from None



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
