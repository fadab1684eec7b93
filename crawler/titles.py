"""The article's headline: the declared title (JSON-LD headline, og:title,
<title>) that the page prints as its <h1>, up to the site's decoration; else
the JSON-LD headline or the declared title with the decoration taken off.

Outlets decorate the titles they declare for browsers and social cards with
their name, a section or a byline: "Mining blasts shatter homes - Lesotho
Times", "... | CBC News", "... * The Gateway Pundit * by Paul Serran". The
headline printed on the page has none of it, so an <h1> found inside the
declared title, with only short separator-led segments around it, is the
headline. Without such an <h1>, leading and trailing segments that name the
site (its og:site_name, or its host name: "Globalnews.ca", "The Namibian")
and trailing "by Author" segments are removed.
"""
from __future__ import annotations

import re

from lxml.html import HtmlElement

from crawler.text import normalize_text

# " | ", " - ", " – ", " — ", " * ", " :: ", " · ", " • ", " » ", " / " between segments.
_SEPARATOR = re.compile(r"\s+(?:\||-|–|—|\*|::|·|•|»|/)\s+")
_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)
DECORATION_MAX_WORDS = 6  # a site name, a section or a byline; a longer segment is part of the headline
H1_MAX_WORDS = 60
_HOST_NOISE = {"www", "m", "amp", "mobile", "edition", "news", "en", "es"}


def _compact(text: str) -> str:
    return _NOT_ALNUM.sub("", text).casefold()


def host_labels(host: str | None) -> set[str]:
    """The name-like labels of a host: 'www.namibian.com.na' → {'namibian'}."""
    labels = [label for label in (host or "").lower().split(".") if label and label not in _HOST_NOISE]
    if len(labels) > 1:
        labels = labels[:-1]  # the top-level domain
    return {label for label in labels if len(label) >= 3 and label not in ("com", "net", "org", "gov")}


def _names_site(segment: str, site_name: str | None, labels: set[str]) -> bool:
    compact = _compact(segment)
    if not compact:
        return True
    if site_name and compact == _compact(site_name):
        return True
    return any(label in compact or (len(compact) >= 4 and compact in label) for label in labels)


def _is_byline(segment: str, author: str | None) -> bool:
    words = segment.split()
    if words and words[0].casefold() in ("by", "por", "von", "par") and len(words) <= DECORATION_MAX_WORDS:
        return True
    return bool(author) and _compact(segment) == _compact(author)


def strip_decoration(title: str, site_name: str | None, host: str | None, author: str | None = None) -> str:
    """The title without leading/trailing segments naming the site or the byline."""
    segments = _SEPARATOR.split(title)
    if len(segments) < 2:
        return title
    labels = host_labels(host)

    def decoration(segment: str) -> bool:
        return (len(segment.split()) <= DECORATION_MAX_WORDS
                and (_names_site(segment, site_name, labels) or _is_byline(segment, author)))

    start, end = 0, len(segments)
    while end - start > 1 and decoration(segments[end - 1]):
        end -= 1
    while end - start > 1 and decoration(segments[start]):
        start += 1
    if (start, end) == (0, len(segments)):
        return title
    # Cut the original string at the separators kept, so inner punctuation survives.
    spans = [m.span() for m in _SEPARATOR.finditer(title)]
    first = spans[start - 1][1] if start else 0
    last = spans[end - 1][0] if end < len(segments) else len(title)
    return title[first:last].strip()


def h1_texts(tree: HtmlElement) -> list[str]:
    """The page's first few <h1> texts, whitespace collapsed."""
    found = []
    for h1 in tree.iter("h1"):
        text = " ".join(h1.text_content().split())
        if text and len(text.split()) <= H1_MAX_WORDS:
            found.append(text)
            if len(found) == 4:
                break
    return found


def _within(h1: str, declared: str) -> str | None:
    """The part of ``declared`` that is ``h1`` when the rest is separator-led
    short segments around it (in the declared title's typography), else None."""
    target = normalize_text(h1)
    if not target:
        return None
    if normalize_text(declared) == target:
        return declared
    segments = _SEPARATOR.split(declared)
    spans = [m.span() for m in _SEPARATOR.finditer(declared)]
    for start in range(len(segments)):
        for end in range(start + 1, len(segments) + 1):
            if normalize_text(" ".join(segments[start:end])) == target:
                rest = segments[:start] + segments[end:]
                if not all(len(s.split()) <= DECORATION_MAX_WORDS for s in rest):
                    return None
                first = spans[start - 1][1] if start else 0
                last = spans[end - 1][0] if end < len(segments) else len(declared)
                return declared[first:last].strip()
    return None


def choose_title(structured: str | None, declared: list[str], h1s: list[str], site_name: str | None,
                 host: str | None, author: str | None = None,
                 live_blog: bool = False) -> tuple[str | None, str | None]:
    """(title, origin) from the JSON-LD headline (``structured``), the titles
    the page declares for cards and browsers (og:title first) and its <h1>
    texts. Outlets often declare two headlines (a social one in og:title, a
    search one in JSON-LD); the one the page prints decides:
    - an <h1> that is the JSON-LD headline: the headline ('json-ld');
    - an <h1> that is a card/browser title plus decoration: that part ('h1',
      or 'page' when it is the declared title as it is);
    - else the JSON-LD headline, else the first declared title, without
      their decoration.
    Typography (curly quotes) follows the declaration, not the <h1>. A live
    blog's <h1> and headline are the running blog's name ("UK riots LIVE:
    ..."); its card title names the story: the first declared title wins
    there."""
    structured = " ".join(structured.split()) if structured and structured.strip() else None
    declared = [" ".join(d.split()) for d in declared if d and d.strip()]
    if live_blog and declared:
        return strip_decoration(declared[0], site_name, host, author), "page"
    for h1 in h1s:
        if structured and _within(h1, structured):
            return strip_decoration(structured, site_name, host, author), "json-ld"
        for title in declared:
            part = _within(h1, title)
            if part:
                return part, "page" if part == title else "h1"
    if structured:
        return strip_decoration(structured, site_name, host, author), "json-ld"
    if not declared:
        return None, None
    return strip_decoration(declared[0], site_name, host, author), "page"
