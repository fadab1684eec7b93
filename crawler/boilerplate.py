"""Boilerplate inside the article element that trafilatura keeps: found by
structure and by the heading a box carries, not only by standard class names.

On the page (before extraction), boxes are removed when they are:
- reader comments: a container named for comments in any of the project's
  languages ("comentarios", "commentaires", "kommentare", "disqus"), headed
  "Comments" / "3 comentarios" / "Deja un comentario", or a run of three or
  more entries that each carry a <time> and a name (the shape of a thread);
- key-point, summary and related boxes: a container headed "Key points",
  "Summary", "Related", "Read more", "Te puede interesar", ... or named so
  ("key-points", "related", "recommended", "outbrain");
- pull quotes ("pullquote" / "pull-quote" classes) and embedded social posts
  (Twitter/X, Instagram, TikTok, Facebook blockquotes).
A box holding most of the page's paragraph text is never removed (it is the
article, whatever its class says).

In the text (after extraction): lines that only point elsewhere ("Read more:
...", "LEE TAMBIÉN | ..."), lines equal to a link's headline elsewhere on the
page, a pull quote repeating a sentence of the body, and a kicker + headline
repeated at the top. A dateline ("MEXICO CITY (AP) — ") is moved out of the
first paragraph into the article's metadata.
"""
from __future__ import annotations

import html as html_lib
import re

from lxml.etree import XPath
from lxml.html import HtmlElement

from crawler.refusal import is_prose
from crawler.text import fold, normalize_text

_BOX_TAGS = frozenset({"div", "section", "aside", "ul", "ol", "footer", "nav", "form"})
# Class/id words (split on spaces, '-' and '_') that name a box; two-word names as tuples.
_WORDS = {
    "comments": {"comments", "comment", "comentarios", "comentario", "commentaires", "kommentare", "disqus",
                 "coral", "commenting", "respond"},
    "key points": {"keypoints", "takeaways", "tldr", ("key", "points"), ("key", "facts"), ("puntos", "clave"),
                   ("article", "summary"), ("summary", "box")},
    "related": {"related", "relacionadas", "relacionados", "recommended", "recommendations", "outbrain",
                "taboola", "trending", ("read", "more"), ("more", "from"), ("most", "popular"), ("also", "read"),
                ("more", "stories"), ("te", "puede", "interesar")},
    "embed or pull quote": {"pullquote", ("pull", "quote"), "twitter-tweet", "instagram-media", "tiktok-embed"},
}
_NOT_A_BOX = {"has", "no", "with", "show", "enable", "enabled", "count", "icon", "btn", "button", "link", "toggle"}
_SPLIT = re.compile(r"[\s_\-]+")
_EMBED_CLASSES = ("twitter-tweet", "twitter-video", "instagram-media", "tiktok-embed", "fb-xfbml-parse-ignore")
_HEADINGS = {
    "comments": re.compile(r"^(?:\d+\s+)?(?:comments?|comentarios?|commentaires?|kommentare?|reader comments|"
                           r"leave a (?:reply|comment)|deja (?:un|tu) comentario|join the (?:conversation|discussion)|"
                           r"what do you think\??|opiniones de (?:los )?lectores)(?:\s*\(\d+\))?:?$"),
    "key points": re.compile(r"^(?:key (?:points?|takeaways|facts)|summary|in brief|at a glance|the big picture|"
                             r"puntos clave|claves|lo que (?:debes|hay que) saber|en resumen|en breve|"
                             r"l'essentiel|en bref|das wichtigste in kürze):?$"),
    "related": re.compile(r"^(?:related(?: (?:stories|articles|content|coverage|news))?|read (?:more|next|also)|"
                          r"more (?:[\w'’-]+ ){0,2}(?:from|on|stories|news)\b.*|must[- ]reads?\b.*|recommended(?: for you)?|most (?:popular|read)|popular|"
                          r"you (?:may|might) also like|trending(?: now)?|also read|see also|"
                          r"te puede interesar|lee tambi[eé]n|lea tambi[eé]n|m[aá]s noticias|relacionad[ao]s?|"
                          r"noticias relacionadas|lo m[aá]s (?:le[ií]do|visto)|[aà] lire aussi|sur le m[eê]me sujet|"
                          r"mehr zum thema|das k[oö]nnte sie auch interessieren):?$"),
}

# Lines that only send the reader elsewhere: "Read more: ...", "READ MORE | ...", "MORE : ...".
_POINTER = re.compile(
    r"^(?:read more|read also|also read|more|related|see also|watch|listen|recommended|"
    r"lee tambi[eé]n|lea tambi[eé]n|te puede interesar|leer m[aá]s|relacionad[oa]|m[aá]s informaci[oó]n|"
    r"[aà] lire aussi|lire aussi|mehr dazu|lesen sie auch|funda olunye udaba lapha|funda kabanzi|"
    r"click here to read|sign up|subscribe)\s*[:|»>\-–—]\s*", re.I)
POINTER_MAX_WORDS = 30
# "MEXICO CITY (AP) — ", "BOGOTÁ, Colombia (Reuters) - ", "WASHINGTON — ", "MADRID, 20 oct (EFE).- "
_DATELINE = re.compile(
    r"^(?P<dateline>(?:[A-ZÁÉÍÓÚÑÜÇ][A-ZÁÉÍÓÚÑÜÇ.'’\-]*\s?){1,4}"
    r"(?:,\s*(?:[A-ZÁÉÍÓÚÑ][\w.'’\-]*\s?){1,3})?"
    r"(?:,\s*\d{1,2}\s+\w{3,10}\.?)?"
    r"(?:\s*\((?:AP|AFP|Reuters|EFE|Europa Press|dpa|Bloomberg|CNN|UPI|ANSA|Xinhua|EP)\))?)"
    r"\s*(?:\.-|—|–|--|-)\s+(?=\S)")
PULL_QUOTE_MAX_WORDS = 45
_LIST_MARKS = "-*•·– "
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
CONTACT_MAX_WORDS = 15  # a line this short with an e-mail address, among the last three, is a contact line
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
RELATED_MIN_LINK_SHARE = 0.2  # a box headed "Related"/"More from" is links to stories (headline + teaser)
MAX_BOX_SHARE = 0.3  # a box holding more of the page's paragraph text than this is (part of) the article
DECLARED_CONTAINS_SHARE = 0.8  # the declared body replaces a text only when it holds this much of it
_BLOCK_END = re.compile(r"</p\s*>|<br\s*/?>|</h[1-6]\s*>|</li\s*>|</div\s*>", re.I)
_TAG = re.compile(r"<[^>]{0,200}>")
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]{0,300})\]\([^)\s]{0,500}\)")  # "[text](https://...)" in a CMS's body


# Every word a name is made of: most elements' classes hold none, and one set intersection rules them
# out (splitting each class into its pairs of words cost a tenth of the extraction on real pages).
_NAME_WORDS = frozenset(part for words in _WORDS.values() for w in words for part in ([w] if isinstance(w, str) else w))
_EMBED_SET = frozenset(_EMBED_CLASSES)


def _named_kind(element: HtmlElement) -> str | None:
    """What a box's class or id names it, by whole words: 'comments-area',
    'related_stories', 'key-points' (not 'has-comments', 'comment-count')."""
    names = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
    if _NAME_WORDS.isdisjoint(_SPLIT.split(names)) and _EMBED_SET.isdisjoint(names.split()):
        return None
    for value in (element.get("class"), element.get("id")):
        if not value:
            continue
        for token in value.lower().split():
            if token in _EMBED_CLASSES:
                return "embed or pull quote"
            parts = [p for p in _SPLIT.split(token) if p]
            if not parts or parts[0] in _NOT_A_BOX or parts[-1] in _NOT_A_BOX:
                continue
            pairs = set(zip(parts, parts[1:])) | set(zip(parts, parts[1:], parts[2:]))
            for kind, words in _WORDS.items():
                if any(p in words for p in parts) or pairs & words:
                    return kind
    return None


def _heading_kind(element: HtmlElement) -> str | None:
    text = element.text_content()
    if len(text) > 60:
        return None
    text = fold(" ".join(text.split())).strip(" :")
    return next((kind for kind, pattern in _HEADINGS.items() if text and pattern.match(text)), None)


def _box_of(element: HtmlElement) -> HtmlElement | None:
    box = element.getparent()
    while box is not None and box.tag not in _BOX_TAGS:
        if box.tag in ("article", "main", "body"):
            return None
        box = box.getparent()
    return box


def _headed_by(box: HtmlElement, heading: HtmlElement) -> bool:
    """Whether the box's text begins with the heading's (the heading is the box's title)."""
    return " ".join(box.text_content().split()).startswith(" ".join(heading.text_content().split()))


def _link_share(box: HtmlElement) -> float:
    total = len(" ".join(box.text_content().split())) or 1
    return sum(len(" ".join(a.text_content().split())) for a in box.iter("a")) / total


def _p_text(element: HtmlElement) -> int:
    return sum(len(p.text_content()) for p in element.iter("p"))


def find_boxes(tree: HtmlElement) -> list[tuple[str, str]]:
    """The comment, key-point and related boxes and embeds of the page, as
    (kind, letters and digits of its text). The tree is left as it is: removing boxes changes
    which element trafilatura takes for the article (measured: a page lost
    its first seven paragraphs), so their lines are removed from the text."""
    candidates: list[tuple[HtmlElement, str]] = []
    for element in tree.iter("div", "section", "aside", "ul", "ol", "footer", "nav", "form", "blockquote",
                             "h2", "h3", "h4", "strong", "textarea"):
        tag = element.tag
        if tag in ("h2", "h3", "h4", "strong"):
            kind = _heading_kind(element)
            box = _box_of(element) if kind else None
            if box is None or not _headed_by(box, element):
                continue
            for _ in range(3):  # a title row of its own: the box is the container it heads
                parent = _box_of(box)
                if parent is None or not _headed_by(parent, element):
                    break
                box = parent
            if kind != "related" or _link_share(box) >= RELATED_MIN_LINK_SHARE:
                candidates.append((box, kind))
        elif tag == "textarea":  # a reply form: the comment section is around it
            if (element.text or "").strip():
                continue  # a filled textarea is a "republish this article" box, not a reply form
            box = _box_of(element)
            while box is not None and box.tag == "form":
                box = _box_of(box)
            if box is not None:
                candidates.append((box, "comments"))
        elif element.get("class") or element.get("id"):
            kind = _named_kind(element)
            if kind and (tag in _BOX_TAGS or kind == "embed or pull quote"):
                if "pull" in (element.get("class") or "").lower():
                    continue  # a pull quote repeats the body: removed as a repeat in the text
                candidates.append((element, kind))
    if not candidates:
        return []
    total = _p_text(tree) or 1
    body = tree.find("body")
    body_text = len((body if body is not None else tree).text_content()) or 1  # raw lengths: splitting costs ms
    # The element holding the most paragraph text is the article's body: a box around it is not boilerplate.
    by_parent: dict = {}
    for p in tree.iter("p"):
        parent = p.getparent()
        if parent is not None:
            by_parent[parent] = by_parent.get(parent, 0) + len(p.text_content())
    main = max(by_parent, key=by_parent.get) if by_parent else None
    boxes: list[tuple[str, str]] = []
    seen: set[int] = set()
    for element, kind in candidates:
        if id(element) in seen or element.tag in ("body", "html", "article", "main"):
            continue
        seen.add(id(element))
        if element.find(".//h1") is not None or element.get("itemprop") == "articleBody" \
                or element.find(".//*[@itemprop='articleBody']") is not None:
            continue
        if _p_text(element) > MAX_BOX_SHARE * total:
            continue
        if main is not None and (element is main or main in element.iterdescendants()):
            continue
        if len(element.text_content()) > 0.5 * body_text:
            continue
        text = _squeeze(element.text_content())
        if text:
            boxes.append((kind, text))
    return boxes


def _squeeze(text: str) -> str:
    """Letters and digits only, case-folded: how a paragraph is found in a box's text."""
    return _NOT_WORD.sub("", text.casefold())


def _is_list_heading(paragraph: str) -> bool:
    """A short line that can head a list ("More from TIME", "Related stories"): few words, no
    sentence end."""
    return len(paragraph.split()) <= 8 and not paragraph.rstrip().endswith((".", "!", "?", "\"", "”"))


def clean_text(text: str, link_texts: set[str], title: str | None,
               boxes: list[tuple[str, str]] = (), headlines: list[str] = ()) -> tuple[str, str | None, list[str]]:
    """(text without the lines of ``boxes``, pointer lines, linked headlines,
    pull quotes and a repeated kicker + headline; the dateline taken off the
    first paragraph or None; the kinds of boxes whose lines were removed)."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    removed: list[str] = []
    squeezed_of: dict[str, str] = {}  # each paragraph squeezed once (the box and the pull-quote checks)

    def squeeze(p: str) -> str:
        n = squeezed_of.get(p)
        if n is None:
            n = squeezed_of[p] = _squeeze(p)
        return n

    if boxes:
        kept = []
        for p in paragraphs:
            n = squeeze(p)  # spacing and punctuation differ between the page and trafilatura's text
            kind = next((k for k, box in boxes if n in box), None) if len(p.split()) >= 2 and n else None
            if kind:
                removed.append(kind)
            else:
                kept.append(p)
        paragraphs = kept
    # A kicker and the headline again at the top ("MIDDLE EAST CRISIS", then the title).
    targets = {normalize_text(t) for t in (title, *headlines) if t}
    if targets:
        longest = 2 * max(map(len, targets)) + 20  # a paragraph much longer than every target cannot fold to one
        for i, p in enumerate(paragraphs[:4]):
            if len(p) <= longest and normalize_text(p) in targets \
                    and all(len(normalize_text(q).split()) <= 6 for q in paragraphs[:i]):
                paragraphs = paragraphs[i + 1:]
                break
    kept, linked_run = [], 0
    for p in paragraphs:
        if len(p.split()) <= POINTER_MAX_WORDS and (_POINTER.match(p.casefold()) or (
                link_texts and " ".join(p.casefold().lstrip(_LIST_MARKS).split()) in link_texts)):
            linked_run += 1
            # A list of links to other stories ("- Headline" items): its short heading goes with
            # it ("More Must-Reads From TIME").
            if linked_run == 2 and kept and _is_list_heading(kept[-1]):
                kept.pop()
                removed.append("related")
            continue
        linked_run = 0
        kept.append(p)
    # A contact line at the end ("Write to Jane Roe at jane.roe@example.com", "jroe@agency.com"):
    # the reporter's address, not the story.
    for i in range(len(kept) - 1, len(kept) - 4, -1):
        if 0 < i < len(kept) and len(kept[i].split()) <= CONTACT_MAX_WORDS and _EMAIL.search(kept[i]):
            del kept[i]
            removed.append("contact line")
    # Pull quotes: a short paragraph that repeats a sentence of another paragraph.
    squeezed = [squeeze(p) for p in kept]
    final = []
    for i, p in enumerate(kept):
        n = squeezed[i]
        if n and len(p.split()) <= PULL_QUOTE_MAX_WORDS and (n in squeezed[:i] or any(
                j != i and len(squeezed[j]) > len(n) and n in squeezed[j] for j in range(len(kept)))):
            continue
        final.append(p)
    dateline = None
    # The dateline opens the first paragraph, or the second after a short standfirst.
    for i in range(min(2, len(final))):
        match = _DATELINE.match(final[i])
        if match and len(match.group("dateline").split()) <= 8 and len(final[i]) > match.end() + 40:
            dateline = match.group("dateline").strip()
            final[i] = final[i][match.end():]
            break
        if len(final[i].split()) >= 25:
            break
    return "\n\n".join(final), dateline, removed


_TEXT_STARTING = XPath("//body//text()[starts-with(normalize-space(.), $start)]")
_NOT_STANDFIRST = frozenset({"script", "style", "noscript", "a", "nav", "footer", "figcaption", "button", "option",
                             "textarea", "template", "title"})
STANDFIRST_MIN_CHARS = 60
STANDFIRST_MAX_TRIES = 5  # places on the page that show it (a hostile page could repeat it everywhere)


def standfirst(tree: HtmlElement, description: str | None, text: str) -> str | None:
    """The page's standfirst when the extracted text lacks it, or None: the text of the element
    that shows the page's description (``og:description``) on the page, outside links, menus,
    captions and scripts. trafilatura's fast pass takes the article's body container, and a
    standfirst ("article__lead", "dek", "entradilla") often sits just outside it; a description
    that is only in the page's ``<head>`` is not text the outlet published."""
    description = " ".join((description or "").split())
    if len(description) < STANDFIRST_MIN_CHARS:
        return None
    words = normalize_text(description).split(" ")
    # Already in the text, with or without a dateline or its first words: a window after them.
    window = " ".join(words[5:17] if len(words) >= 17 else words[len(words) // 3:])
    if window in normalize_text(text):
        return None
    start = normalize_text(description.rstrip(" .…"))[:80]
    for node in _TEXT_STARTING(tree, start=description[:30])[:STANDFIRST_MAX_TRIES]:
        element = node.getparent()
        if element is None:
            continue
        if element.tag in _NOT_STANDFIRST or any(a.tag in _NOT_STANDFIRST for a in element.iterancestors()):
            continue
        shown = " ".join(element.text_content().split())
        # The largest element around it that still holds only the standfirst (a <p> in a <div>).
        for parent in element.iterancestors():
            around = " ".join(parent.text_content().split())
            if len(around) > 1.2 * len(description) + 40 or not normalize_text(around).startswith(start):
                break
            shown = around
        if len(shown) >= 0.8 * len(description) and normalize_text(shown).startswith(start):
            return shown
    return None


def declared_text(body: str, text: str) -> str | None:
    """The body the page declares (JSON-LD ``articleBody``) as paragraphs, when
    it holds (nearly) all of the extracted ``text``: its prose lines, without
    the CMS's markup lines ("+++dropcap", "[#image: ...]"), link markup and
    captions. None
    when the declared body is another text (a video player's script, a teaser).
    For pages whose article trafilatura finds only the first part of (a body
    split into several containers around ads)."""
    raw = html_lib.unescape(_MARKDOWN_LINK.sub(r"\1", _TAG.sub(" ", _BLOCK_END.sub("\n", body))))
    prose = [line for line in (" ".join(line.split()) for line in raw.split("\n")) if is_prose(line)]
    if not prose:
        return None
    declared = _squeeze(" ".join(prose))
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    inside = sum(len(p) for p in paragraphs if _squeeze(p) in declared)
    if inside < DECLARED_CONTAINS_SHARE * sum(len(p) for p in paragraphs):
        return None
    return "\n\n".join(prose)
