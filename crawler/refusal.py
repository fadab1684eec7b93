"""Is the extracted text an article? Evidence-weighted rules, each refusal with its reason.

No single signal refuses a page. A page's own declaration (JSON-LD article
types, ``article:published_time``, ``og:type article``) is trusted; otherwise
listing evidence (``og:type website``, a JSON-LD listing type, paragraphs that
begin with linked headlines, many headline links and little prose, a section
URL) is weighed against article evidence (long prose, a structured date, a
byline), and the page is an index only when the listing side wins by
``INDEX_MARGIN``. The reason names the evidence on both sides, so a wrong
refusal can be read and argued with (``newsmon reextract --explain``).

Measured on real pages (``python bench/extract_quality.py``): ``og:type
website`` alone refused a news agency's, a finance site's and a company
blog's articles; a count of 15-word paragraphs found no prose on Japanese
pages (no spaces) nor on articles trafilatura returns as table rows; a
standings page or a list-style article has no 15-word line at all.

Prose is measured per paragraph: 15 words or more, or for scripts written
without spaces (CJK, Thai, Lao, Khmer, Myanmar) 40 characters or more; a
table row counts its cells as paragraphs. A page that declares itself an
article also counts its list lines (4 words or more), so list-style articles
survive; an undeclared page needs prose.

Quality of a text, for the fallback retry: the share of its characters that
are not prose (boilerplate share), the share in lines that repeat a link text
of the page (link density), and the share in lines that occur more than once
(repeated-sentence share); and its length against the page's paragraph text
and the body the page declares (JSON-LD ``articleBody``), since a fast pass
that stops at the first of the article's containers returns clean prose that
is only its beginning.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

PROSE_MIN_WORDS = 15  # a paragraph shorter than this is a menu, a ticker or a caption, not prose
PROSE_MIN_CHARS_UNSPACED = 40  # the same for scripts without spaces: ~15 words of Japanese or Thai
LIST_LINE_MIN_WORDS = 4  # a list item or a table row of a list-style article
LIST_MIN_LINES = 5
LONG_PROSE_CHARS = 1500  # this much prose is article evidence
INDEX_MARGIN = 2  # listing evidence must outweigh article evidence by this much
TRUNCATED_PAGE_SHARE = 0.25  # a fast-pass text under this share of the page's paragraph text is retried
TRUNCATED_DECLARED_SHARE = 0.5  # ... or under this share of the articleBody the page declares
# Scripts written without spaces between words.
_UNSPACED = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
                       r"\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f]")


def _cells(paragraph: str) -> list[str]:
    """A table row ("| a | b |") as its cells; any other paragraph as itself."""
    if paragraph.startswith("|"):
        return [cell.strip() for cell in paragraph.strip("|").split("|") if cell.strip()]
    return [paragraph]


def is_prose(paragraph: str) -> bool:
    """A paragraph that reads as prose: 15 words, or 40 characters of a script without spaces."""
    if len(paragraph.split()) >= PROSE_MIN_WORDS:
        return True
    return len(paragraph) >= PROSE_MIN_CHARS_UNSPACED and len(_UNSPACED.findall(paragraph)) * 2 >= len(paragraph)


def prose_chars(text: str) -> int:
    """Characters in paragraphs (or table cells) that read as prose. On a page
    without an article, trafilatura falls back to the page's chrome (tickers,
    menus, short table cells), which must not count as text."""
    return sum(len(cell) for p in text.split("\n\n") for cell in _cells(p) if is_prose(cell))


def list_chars(text: str) -> tuple[int, int]:
    """(characters, lines) in lines of a list-style text: items or rows of
    ``LIST_LINE_MIN_WORDS`` words or more that are not prose."""
    chars = lines = 0
    for p in text.split("\n\n"):
        line = p.strip("|").replace("|", " ") if p.startswith("|") else p
        if not is_prose(line) and (len(line.split()) >= LIST_LINE_MIN_WORDS or len(_UNSPACED.findall(line)) >= 8):
            chars, lines = chars + len(line), lines + 1
    return chars, lines


def too_little_text(text: str, declared_article: bool, min_chars: int) -> str | None:
    """Why the text is too little to be an article, or None."""
    prose = prose_chars(text)
    if prose >= min_chars:
        return None
    listed, lines = list_chars(text)
    if declared_article and lines >= LIST_MIN_LINES and prose + listed >= min_chars:
        return None  # a list-style article: standings, a timeline, "10 things to know"
    detail = f", {listed} in {lines} list lines" if lines >= LIST_MIN_LINES else ""
    return f"too little text ({prose} chars of prose{detail})"


@dataclass
class Evidence:
    listing: list[tuple[str, int]]
    article: list[tuple[str, int]]

    @property
    def margin(self) -> int:
        return sum(w for _, w in self.listing) - sum(w for _, w in self.article)

    def reason(self) -> str:
        listing = "; ".join(what for what, _ in self.listing)
        against = "; ".join(what for what, _ in self.article)
        return f"index page ({listing}{' — against: ' + against if against else ''})"


def _section_url(url: str) -> bool:
    """A URL that looks like a section front: the root, or a short folder path
    of words without digits ("/world/", "/deportes/futbol/")."""
    raw = urlsplit(url).path
    path = raw.strip("/")
    if not path:
        return True
    parts = path.split("/")
    return (raw.endswith("/") and len(parts) <= 2 and not any(ch.isdigit() for ch in path)
            and all(p.count("-") < 3 for p in parts))


def index_evidence(*, url: str, og_type: str | None, structured_listing: bool, has_date: bool, has_author: bool,
                   headlines: list[str], text: str) -> Evidence:
    """The evidence that a page (which does not declare itself an article) is a listing."""
    listing: list[tuple[str, int]] = []
    article: list[tuple[str, int]] = []
    if og_type == "website":
        listing.append(("og:type website", 1))
    if structured_listing:
        listing.append(("JSON-LD listing", 2))
    paragraphs = [" ".join(p.casefold().lstrip("-*• ").split()) for p in text.split("\n\n") if p.strip()]
    if len(headlines) >= 3:
        starts = tuple(set(headlines))
        teasers = sum(1 for p in paragraphs if p.startswith(starts))
        if teasers >= 3 and teasers * 2 >= len(paragraphs):
            listing.append((f"{teasers} of {len(paragraphs)} paragraphs are linked headlines", 3))
        long_paragraphs = sum(1 for p in paragraphs if len(p) >= 200)
        if len(headlines) >= 10 and long_paragraphs < len(headlines) / 4:
            listing.append((f"{len(headlines)} headline links, {long_paragraphs} long paragraphs", 2))
    if _section_url(url):
        listing.append(("section-like URL", 1))
    prose = prose_chars(text)
    if prose >= LONG_PROSE_CHARS:
        article.append((f"{prose} chars of prose", 2 + prose // (4 * LONG_PROSE_CHARS)))
    if has_date:
        article.append(("a structured publication date", 1))
    if has_author:
        article.append(("a byline", 1))
    return Evidence(listing, article)


def is_index_page(**signals) -> str | None:
    """Why the page is a listing rather than an article, or None (see :func:`index_evidence`)."""
    evidence = index_evidence(**signals)
    return evidence.reason() if evidence.listing and evidence.margin >= INDEX_MARGIN else None


# --- quality of an extracted text, for the fallback retry -----------------------------------------


@dataclass
class Quality:
    chars: int
    prose: int
    boilerplate_share: float
    link_share: float
    repeated_share: float

    @property
    def clean_chars(self) -> float:
        """Prose characters discounted by link and repeated lines: what the text is worth."""
        return self.prose * (1 - self.link_share) * (1 - self.repeated_share)

    def poor(self, min_chars: int, page_chars: int = 0, declared_chars: int = 0) -> str | None:
        """Why the text looks like chrome rather than an article, or a part of
        the article, or None. ``page_chars``: the characters in the page's
        paragraphs; ``declared_chars``: the length of the body the page
        declares (JSON-LD ``articleBody``); 0 when unknown."""
        if self.prose < min_chars:
            return f"{self.prose} chars of prose"
        # The fast pass can stop at the first of the article's containers (a
        # "hidden until consent" block, a body split around ads): measured on
        # real pages, a text of under a quarter of the page's paragraphs or
        # under half the declared body was the truncated article.
        if page_chars and self.chars < TRUNCATED_PAGE_SHARE * page_chars:
            return f"{self.chars} chars of the page's {page_chars} in paragraphs"
        if declared_chars and self.chars < TRUNCATED_DECLARED_SHARE * declared_chars:
            return f"{self.chars} chars of the {declared_chars} the page declares"
        if self.boilerplate_share > 0.6:
            return f"{self.boilerplate_share:.0%} not prose"
        if self.link_share > 0.3:
            return f"{self.link_share:.0%} in link texts"
        if self.repeated_share > 0.25:
            return f"{self.repeated_share:.0%} repeated"
        return None


def quality(text: str, link_texts: set[str] | None = None) -> Quality:
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    chars = sum(len(p) for p in paragraphs) or 1
    prose = prose_chars(text)
    keys = [" ".join(p.casefold().split()) for p in paragraphs]
    seen: dict[str, int] = {}
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
    repeated = sum(len(p) for p, key in zip(paragraphs, keys) if seen[key] > 1 and len(p) > 20)
    linked = 0
    if link_texts:
        linked = sum(len(p) for p, key in zip(paragraphs, keys) if key in link_texts)
    return Quality(chars=chars, prose=prose, boilerplate_share=1 - min(prose, chars) / chars,
                   link_share=linked / chars, repeated_share=repeated / chars)
