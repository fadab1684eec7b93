"""Reading dates and figures out of news sentences, and comparing them.

The event diff (``crawler/events/``) needs three small skills that have
nothing to do with the archive, so they live here as pure functions:

* **sentences** with their offsets (news text is one paragraph per line);
* **dates**: absolute forms in English and Spanish ("26 September 2025",
  "January 26", "26 de enero", "in September", "03/04/2025" read in the
  source's day/month order, a misspelled month such as "Octobr") and forms
  relative to the publication date ("last month", "on Tuesday"). Each date
  is an *interval* at the precision it was stated: "in September" is the
  whole month, so it agrees with 15 September;
* **figures** with their unit and bound: "nearly $590 million" is about 590
  million USD, "exceeding $400 million" is a lower bound, "625,000 acres" is
  252,929 ha give or take the rounding its three significant digits imply.

Regular expressions find the forms (``dateparser.search_dates`` was measured
on the seed articles: slower and it reads words such as "to", "a" or "bar" as
dates); the month table is the only "parser". Everything compares as closed
intervals so "agrees" has one meaning for dates and figures alike.
"""
from __future__ import annotations

import calendar
import difflib
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

from crawler.text import fold

# --- sentences ------------------------------------------------------------------

# Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "st", "sen", "rep", "gov", "gen", "col", "lt", "sgt", "prof", "jr", "sr",
    "no", "vs", "etc", "inc", "corp", "co", "ltd", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
    "sep", "sept", "oct", "nov", "dec", "approx", "est", "fig", "p", "pp", "sra", "sr", "dra", "ee", "uu",
}
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*\s+(?=[\"'“‘(\[¿¡]?[A-ZÁÉÍÓÚÑ0-9])")


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int
    paragraph: int  # index of the paragraph (line) it belongs to


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with offsets into ``text``. Paragraphs are lines; inside one,
    a full stop ends a sentence unless it closes an abbreviation ("U.S.",
    "Sept.", "Mr.")."""
    out: list[Sentence] = []
    offset = 0
    for index, line in enumerate(text.split("\n")):
        start = 0
        for match in _SENTENCE_END.finditer(line):
            before = line[start:match.start() + 1]
            last_word = re.search(r"([A-Za-zÁÉÍÓÚÑáéíóúñ.]+)\.$", before)
            if last_word:
                token = last_word.group(1).rstrip(".").lower()
                if token in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)*[a-z]", token):
                    continue  # "U.S. President", "Sept. 26"
            _add_sentence(out, line, start, match.end(), offset, index)
            start = match.end()
        _add_sentence(out, line, start, len(line), offset, index)
        offset += len(line) + 1
    return out


def _add_sentence(out: list[Sentence], line: str, start: int, end: int, offset: int, paragraph: int) -> None:
    chunk = line[start:end]
    stripped = chunk.strip()
    if not stripped:
        return
    lead = len(chunk) - len(chunk.lstrip())
    s = offset + start + lead
    out.append(Sentence(stripped, s, s + len(stripped), paragraph))


def lead_paragraph(sentences: list[Sentence], text: str) -> int | None:
    """The index of the lead: the first paragraph of at least 15 words, so a
    dateline ("6 July, 2025") or a URL slug above the story is not the lead."""
    for number, line in enumerate(text.split("\n")):
        if len(line.split()) >= 15:
            return number
    return sentences[0].paragraph if sentences else None


# --- dates ----------------------------------------------------------------------

MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}
_MONTH_ABBREVIATIONS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12, "ene": 1, "abr": 4, "ago": 8, "dic": 12,
}
WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5, "domingo": 6,
}
_FULL_MONTH_NAMES = sorted(MONTHS)


def month_number(word: str, fuzzy: bool = False) -> int | None:
    """'September', 'Sept.', 'septiembre' → 9; with ``fuzzy`` also a one-letter
    slip such as 'Octobr' (only used where a day and a year frame the word, so
    an ordinary word is never read as a month)."""
    key = fold(word).rstrip(".")
    if key in MONTHS:
        return MONTHS[key]
    if key in _MONTH_ABBREVIATIONS:
        return _MONTH_ABBREVIATIONS[key]
    if fuzzy and len(key) >= 5:
        close = difflib.get_close_matches(key, _FULL_MONTH_NAMES, n=1, cutoff=0.8)
        if close:
            return MONTHS[close[0]]
    return None


@dataclass(frozen=True)
class DateSpan:
    """A date as stated: the interval it covers at the stated precision."""

    start: date
    end: date
    precision: str  # day | month | year
    text: str
    offset: int  # start offset in the text it was found in
    relative: bool = False

    def overlaps(self, start: date, end: date, slack_days: int = 0) -> bool:
        return self.start - timedelta(days=slack_days) <= end and start - timedelta(days=slack_days) <= self.end

    def distance_days(self, start: date, end: date) -> int:
        if self.overlaps(start, end):
            return 0
        return min(abs((self.start - end).days), abs((start - self.end).days))

    def label(self) -> str:
        return format_date(self.start, self.precision)


def format_date(start: date, precision: str) -> str:
    if precision == "year":
        return f"{start.year}"
    if precision == "month":
        return f"{start.year}-{start.month:02d}"
    return start.isoformat()


def month_interval(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def months_before(year: int, month: int, n: int = 1) -> tuple[int, int]:
    """(year, month) ``n`` calendar months before the given one."""
    index = year * 12 + month - 1 - n
    return index // 12, index % 12 + 1


_WORD = r"[A-Za-zÀ-ÿ]{3,12}\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th|º|°)?"
_YEAR = r"((?:19|20)\d\d)"
_MONTH_WORDS = "|".join(sorted({*MONTHS, *_MONTH_ABBREVIATIONS}, key=len, reverse=True))
_MONTH_EXACT = rf"((?:{_MONTH_WORDS})\.?)"

# (pattern, kind) in priority order: longer, more precise forms first.
_ABSOLUTE_PATTERNS = [
    (re.compile(rf"\b{_YEAR}-(\d{{1,2}})-(\d{{1,2}})\b"), "iso"),
    (re.compile(r"\b(\d{1,4})[/.](\d{1,2})[/.](\d{2,4})\b"), "numeric"),
    (re.compile(rf"\b{_DAY}\s+(?:de\s+)?({_WORD}),?\s+(?:de\s+|del\s+)?{_YEAR}\b", re.I), "d_m_y"),
    (re.compile(rf"\b({_WORD})\s+{_DAY},?\s+{_YEAR}\b", re.I), "m_d_y"),
    (re.compile(rf"\b{_MONTH_EXACT},?\s+(?:de\s+|del\s+)?{_YEAR}\b", re.I), "m_y"),
    (re.compile(rf"\b{_DAY}\s+(?:de\s+)?{_MONTH_EXACT}(?!\w)", re.I), "d_m"),
    (re.compile(rf"\b{_MONTH_EXACT}\s+{_DAY}\b(?!\s*(?:%|per\b|percent|,\d))", re.I), "m_d"),
    (re.compile(rf"(?:\b(?:in|since|during|until|by|early|late|en|desde|durante|hasta|a\s+finales\s+de|"
                rf"a\s+principios\s+de|a\s+mediados\s+de|de)\s+|\bmid-?\s*){_MONTH_EXACT}(?!\w)", re.I), "m"),
    (re.compile(rf"\b(?:in|since|during|until|as\s+of|by|of|en|desde|durante|hasta|del)\s+(?:FY\s*)?{_YEAR}\b",
                re.I), "y"),
]
_RELATIVE_PATTERNS = [
    (re.compile(r"\b(?:the\s+)?day\s+before\s+yesterday\b|\b(?:anteayer|antier|antes\s+de\s+ayer)\b", re.I),
     "day_before_yesterday"),
    (re.compile(r"\b(?:yesterday|ayer)\b", re.I), "yesterday"),
    (re.compile(r"\b(?:last|the\s+previous)\s+month\b|\bel\s+mes\s+pasado\b", re.I), "last_month"),
    (re.compile(r"\b(?:earlier|later)\s+this\s+month\b|\bthis\s+month\b|\beste\s+mes\b", re.I), "this_month"),
    (re.compile(r"\blast\s+year\b|\bel\s+a[ñn]o\s+pasado\b", re.I), "last_year"),
    (re.compile(r"\bthis\s+year\b|\beste\s+a[ñn]o\b", re.I), "this_year"),
    (re.compile(r"\b(?:on|last|this\s+past|el|este|el\s+pasado)\s+(monday|tuesday|wednesday|thursday|friday|"
                r"saturday|sunday|lunes|martes|mi[ée]rcoles|jueves|viernes|s[áa]bado|domingo)\b(?:\s+pasado\b)?",
                re.I), "weekday"),
    # "the week before last", "la semana antepasada": the calendar week two weeks back.
    (re.compile(r"\b(?:the\s+)?week\s+before\s+last\b|\bla\s+semana\s+antepasada\b|\bla\s+antepasada\s+semana\b",
                re.I), "week_before_last"),
    # "this morning", "esta mañana": the day of publication; "last night", "anoche": the day before.
    (re.compile(r"\bthis\s+(?:morning|afternoon|evening)\b|\besta\s+(?:ma[ñn]ana|tarde)\b", re.I), "this_morning"),
    (re.compile(r"\blast\s+night\b|\banoche\b", re.I), "last_night"),
    (re.compile(r"\b(?:last|the\s+previous|the\s+past)\s+(?:week|weekend)\b|\b(?:la\s+semana|el\s+fin\s+de\s+semana)\s+"
                r"pasad[oa]\b|\b(?:la|el)\s+pasad[oa]\s+(?:semana|fin\s+de\s+semana)\b", re.I), "last_week"),
    (re.compile(r"\b(?:earlier|later)\s+this\s+week\b|\bthis\s+week\b|\besta\s+semana\b", re.I), "this_week"),
    (re.compile(r"\b(?P<n>\d{1,2}|an?|one|two|three|four|five|six|seven|eight|nine|ten)\s+days?\s+ago\b|"
                r"\bhace\s+(?P<m>\d{1,2}|un|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez)\s+d[ií]as?\b", re.I),
     "days_ago"),
    (re.compile(r"\b(?P<n>\d{1,2}|an?|one|two|three|four|five|six|seven|eight|nine|ten)\s+weeks?\s+ago\b|"
                r"\bhace\s+(?P<m>\d{1,2}|una|un|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez)\s+semanas?\b", re.I),
     "weeks_ago"),
    # "a fortnight ago", "hace quince días", "hace una quincena": two weeks back (the idiom, not 15 days).
    (re.compile(r"\ban?\s+fortnight\s+ago\b|\bhace\s+(?:quince\s+d[ií]as|una\s+quincena)\b", re.I), "fortnight_ago"),
    (re.compile(r"\b(?:this|last|past)\s+(spring|summer|fall|autumn|winter)\b|"
                r"\b(?:este|esta|el|la|el\s+pasado|la\s+pasada)\s+(primavera|verano|oto[ñn]o|invierno)"
                r"(?:\s+pasad[oa])?\b", re.I), "season"),
]
# Dates relative to the last date the article stated: "the following month", "al día siguiente".
_ANCHORED_PATTERNS = [
    (re.compile(r"\b(?:the\s+)?(?:following|next)\s+day\b|\b(?:al|el)\s+d[ií]a\s+siguiente\b", re.I), "next_day"),
    (re.compile(r"\b(?:the\s+)?(?:following|next)\s+month\b|\b(?:al|el)\s+mes\s+siguiente\b", re.I), "next_month"),
    (re.compile(r"\b(?:the\s+)?(?:following|next)\s+week\b|\b(?:a\s+)?la\s+semana\s+siguiente\b", re.I),
     "next_week"),
]
# The words each relative form has (lowercase substrings).
_PATTERN_CUES = {
    "day_before_yesterday": ("yesterday", "anteayer", "antier", "antes de ayer"), "yesterday": ("yesterday", "ayer"),
    "last_month": ("month", "mes"), "this_month": ("month", "mes"), "last_year": ("year", "año", "ano"),
    "this_year": ("year", "año", "ano"),
    "weekday": ("day", "lunes", "martes", "miércoles", "miercoles", "jueves", "viernes", "sábado", "sabado", "domingo"),
    "week_before_last": ("before last", "antepasada"), "this_morning": ("morning", "afternoon", "evening", "esta ma",
                                                                        "esta tar"),
    "last_night": ("night", "anoche"), "last_week": ("week", "seman"), "this_week": ("week", "seman"),
    "days_ago": ("ago", "hace"), "weeks_ago": ("ago", "hace"), "fortnight_ago": ("fortnight", "hace"),
    "season": ("spring", "summer", "fall", "autumn", "winter", "primavera", "verano", "otoño", "otono", "invierno"),
}
_ALL_PATTERN_CUES = tuple(sorted({c for cues in _PATTERN_CUES.values() for c in cues}))
# Every relative or anchored form has one of these words.
# Words that may make a date relative ("yesterday", "hace un mes", "el viernes", "the following week";
# "day" covers the English weekdays): substrings of the lowercased text, much cheaper than a
# case-insensitive regex, and the three that need a word boundary.
_CUE_WORDS = ("yesterday", "ayer", "antier", "month", "year", "año", "ano", "day", "día", "dia", "week", "seman",
              "spring", "summer", "fall", "autumn", "winter", "primavera", "verano", "otoño", "otono", "invierno",
              "following", "next", "siguiente", "lunes", "martes", "miércoles", "miercoles", "jueves", "viernes",
              "sábado", "sabado", "domingo", "morning", "afternoon", "evening", "night", "anoche", "esta ma",
              "esta tar")
_BOUNDED_CUES = re.compile(r"(?:mes|ago|hace)\b")


def _relative_cue(text: str) -> bool:
    """Whether ``text`` has a relative-date cue word (any case)."""
    lower = text.lower()
    return any(w in lower for w in _CUE_WORDS) or _BOUNDED_CUES.search(lower) is not None


_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "un": 1, "uno": 1, "two": 2, "dos": 2, "three": 3, "tres": 3, "four": 4,
                 "cuatro": 4, "five": 5, "cinco": 5, "six": 6, "seis": 6, "seven": 7, "siete": 7, "eight": 8,
                 "ocho": 8, "nine": 9, "nueve": 9, "ten": 10, "diez": 10, "una": 1}
_SEASONS = {"spring": 3, "primavera": 3, "summer": 6, "verano": 6, "fall": 9, "autumn": 9, "otono": 9,
            "winter": 12, "invierno": 12}

_ANY_MONTH = re.compile(rf"(?i)(?<![A-Za-zÀ-ÿ])(?:{_MONTH_WORDS})(?![A-Za-zÀ-ÿ])")
_NEEDS_MONTH = {"m_y", "d_m", "m_d", "m"}
_NEEDS_YEAR = {"iso", "d_m_y", "m_d_y", "m_y", "y"}  # forms with a four-digit year
_ANY_YEAR = re.compile(r"(?:19|20)\d\d")
_ANY_NUMERIC = re.compile(r"\d[/.]\d")
DEFAULT_DATE_ORDER = {"es": "DMY", "en": "MDY"}
_DIGIT = re.compile(r"\d")


def find_dates(text: str, published: date | None = None, date_order: str | None = None,
               language: str | None = None, anchor: date | None = None) -> list[DateSpan]:
    """Every date stated in ``text``, resolved to an interval.

    ``published`` anchors relative forms and years left out ("January 26" in a
    November 2025 article is 26 January 2025); without it only dates that
    carry their year are kept. ``date_order`` (DMY/MDY/YMD) reads ambiguous
    numeric dates; by default Spanish is DMY and anything else MDY."""
    order = date_order or DEFAULT_DATE_ORDER.get((language or "en")[:2], "MDY")
    taken: list[tuple[int, int]] = []
    found: list[DateSpan] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    has_digit = _DIGIT.search(text) is not None
    has_month = _ANY_MONTH.search(text) is not None
    has_year = has_digit and _ANY_YEAR.search(text) is not None
    has_numeric = has_digit and _ANY_NUMERIC.search(text) is not None
    for pattern, kind in _ABSOLUTE_PATTERNS:
        if not has_digit and kind != "m":
            continue  # every other form has a day or a year in digits
        if not has_month and kind in _NEEDS_MONTH:
            continue  # these forms name a month as written (a cheap test first)
        if kind in _NEEDS_YEAR and not has_year:
            continue
        if kind == "numeric" and not has_numeric:
            continue
        for match in pattern.finditer(text):
            if not free(match.start(), match.end()):
                continue
            span = _absolute(kind, match, published, order)
            if span is not None and span.text.endswith(".") and fold(span.text[:-1]).split()[-1] in MONTHS:
                span = replace(span, text=span.text[:-1])  # the full stop ends the sentence
            if span is not None:
                taken.append((match.start(), match.end()))
                found.append(span)
    relative = _relative_cue(text)  # no cue word: no relative date (a cheap test)
    if published is not None and relative:
        lower = text.lower()
        cues = {cue for cue in _ALL_PATTERN_CUES if cue in lower}
        for pattern, kind in _RELATIVE_PATTERNS:
            if cues.isdisjoint(_PATTERN_CUES[kind]):
                continue  # (each form has one of its own cue words: a substring test before the regex)
            for match in pattern.finditer(text):
                if not free(match.start(), match.end()):
                    continue
                span = _relative(kind, match, published)
                if span is not None:
                    taken.append((match.start(), match.end()))
                    found.append(span)
    for pattern, kind in _ANCHORED_PATTERNS if relative else ():
        for match in pattern.finditer(text):
            # Anchored on the last day stated before it: in this sentence ("After the July 3 recall, the
            # following month …"), else the article's last one.
            # ("In July …; the following month …": a month stated anchors the next one.)
            here = [d for d in found if (d.precision == "day" or d.precision == "month" and kind == "next_month")
                    and d.offset < match.start()]
            base = max(here, key=lambda d: d.offset).start if here else anchor
            if base is not None and free(match.start(), match.end()):
                taken.append((match.start(), match.end()))
                found.append(_anchored(kind, match, base))
    return sorted(found, key=lambda d: d.offset)


def _anchored(kind: str, m: re.Match, anchor: date) -> DateSpan:
    if kind == "next_day":
        day = anchor + timedelta(days=1)
        return DateSpan(day, day, "day", m.group(0), m.start(), True)
    if kind == "next_week":
        return DateSpan(anchor + timedelta(days=1), anchor + timedelta(days=13), "week", m.group(0), m.start(), True)
    year, month = (anchor.year + 1, 1) if anchor.month == 12 else (anchor.year, anchor.month + 1)
    start, end = month_interval(year, month)
    return DateSpan(start, end, "month", m.group(0), m.start(), True)


def _make_day(year: int, month: int, day: int, match: re.Match, relative: bool = False) -> DateSpan | None:
    try:
        value = date(year, month, day)
    except ValueError:
        return None
    return DateSpan(value, value, "day", match.group(0), match.start(), relative)


def _guess_year(month: int, day: int | None, published: date | None) -> int | None:
    """The year of a date stated without one: the latest occurrence not more
    than a week after publication (news reports the recent past)."""
    if published is None:
        return None
    year = published.year
    probe = date(year, month, min(day or 1, 28))
    if probe > published + timedelta(days=7):
        year -= 1
    return year


def _absolute(kind: str, m: re.Match, published: date | None, order: str) -> DateSpan | None:
    g = m.groups()
    if kind == "iso":
        return _make_day(int(g[0]), int(g[1]), int(g[2]), m)
    if kind == "numeric":
        a, b, c = g
        if len(a) == 4:
            year, month, day = int(a), int(b), int(c)
        elif len(c) in (2, 4) and len(a) <= 2:
            year = int(c) if len(c) == 4 else 2000 + int(c)
            first, second = int(a), int(b)
            if order == "DMY" or (order == "MDY" and first > 12):
                day, month = first, second
            else:
                month, day = first, second
        else:
            return None
        return _make_day(year, month, day, m)
    if kind == "d_m_y":
        month = month_number(g[1], fuzzy=True)
        return _make_day(int(g[2]), month, int(g[0]), m) if month else None
    if kind == "m_d_y":
        month = month_number(g[0], fuzzy=True)
        return _make_day(int(g[2]), month, int(g[1]), m) if month else None
    if kind == "m_y":
        month = month_number(g[0])
        if not month or not _month_word_ok(g[0]):
            return None
        start, end = month_interval(int(g[1]), month)
        return DateSpan(start, end, "month", m.group(0), m.start())
    if kind in ("d_m", "m_d"):
        day_text, month_text = (g[0], g[1]) if kind == "d_m" else (g[1], g[0])
        month = month_number(month_text)
        if not month or not _month_word_ok(month_text):
            return None
        year = _guess_year(month, int(day_text), published)
        return _make_day(year, month, int(day_text), m, relative=True) if year else None
    if kind == "m":
        month_text = g[0]
        month = month_number(month_text)
        if not month or not _month_word_ok(month_text, alone=True):
            return None
        year = _guess_year(month, None, published)
        if year is None:
            return None
        start, end = month_interval(year, month)
        return DateSpan(start, end, "month", m.group(0), m.start(), relative=True)
    if kind == "y":
        year = int(g[0])
        return DateSpan(date(year, 1, 1), date(year, 12, 31), "year", m.group(0), m.start())
    return None


def _month_word_ok(word: str, alone: bool = False) -> bool:
    """English month names are capitalized; 'may' or 'march' in lower case are
    a verb. Spanish month names are lower case by rule and unambiguous."""
    key = fold(word).rstrip(".")
    if key in ("may", "mar", "march") or (alone and key in _MONTH_ABBREVIATIONS):
        return word[:1].isupper() and (key != "mar" or not alone)
    if key in MONTHS and key not in ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                                     "septiembre", "setiembre", "octubre", "noviembre", "diciembre"):
        return word[:1].isupper()
    return True


def _relative(kind: str, m: re.Match, published: date) -> DateSpan | None:
    text, at = m.group(0), m.start()
    if kind in ("yesterday", "day_before_yesterday"):
        day = published - timedelta(days=1 if kind == "yesterday" else 2)
        return DateSpan(day, day, "day", text, at, True)
    if kind in ("last_month", "this_month"):
        year, month = months_before(published.year, published.month, 1 if kind == "last_month" else 0)
        start, end = month_interval(year, month)
        return DateSpan(start, end, "month", text, at, True)
    if kind in ("last_year", "this_year"):
        year = published.year - (1 if kind == "last_year" else 0)
        return DateSpan(date(year, 1, 1), date(year, 12, 31), "year", text, at, True)
    if kind == "weekday":
        weekday = WEEKDAYS[fold(m.group(1))]
        back = (published.weekday() - weekday) % 7
        if back == 0 and re.search(r"\b(?:last|past|pasado)\b", fold(text)):
            back = 7  # "last Thursday" written on a Thursday is a week ago
        day = published - timedelta(days=back)
        return DateSpan(day, day, "day", text, at, True)
    if kind in ("this_morning", "last_night"):
        day = published - timedelta(days=1 if kind == "last_night" else 0)
        return DateSpan(day, day, "day", text, at, True)
    if kind in ("last_week", "this_week", "week_before_last"):
        monday = published - timedelta(days=published.weekday())
        if kind != "this_week":
            monday -= timedelta(days=7 if kind == "last_week" else 14)
        return DateSpan(monday, min(monday + timedelta(days=6), published), "week", text, at, True)
    if kind == "fortnight_ago":
        day = published - timedelta(days=14)
        return DateSpan(day, day, "day", text, at, True)
    if kind in ("days_ago", "weeks_ago"):
        count = m.group("n") or m.group("m")
        count = int(count) if count.isdigit() else _NUMBER_WORDS[fold(count)]
        day = published - timedelta(days=count * (7 if kind == "weeks_ago" else 1))
        return DateSpan(day, day, "day", text, at, True)
    if kind == "season":
        word = fold(m.group(1) or m.group(2))
        first = _SEASONS[word]
        year = published.year
        starts = date(year, first, 1)
        if starts > published or re.search(r"\b(?:last|past|pasad[oa])\b", fold(text)):
            year -= 1
        start = date(year, first, 1)
        end_year, end_month = (year + 1, first + 2 - 12) if first + 2 > 12 else (year, first + 2)
        return DateSpan(start, month_interval(end_year, end_month)[1], "season", text, at, True)
    return None


def stated_years(text: str, published: date | None = None) -> set[int]:
    """The years a sentence states ("2024", "FY 2012", and with a
    publication date "last year", "el año pasado"): what a yearly figure is
    attached to."""
    return set(year_positions(text, published).values())


_RELATIVE_YEAR = re.compile(r"\b(?:last|the\s+previous|the\s+past)\s+year\b|\bel\s+a[ñn]o\s+pasado\b|"
                            r"\b(?P<this>this\s+year|este\s+a[ñn]o)\b|"
                            r"\b(?P<n>two|three|four|five|\d)\s+years\s+ago\b|"
                            r"\bhace\s+(?P<m>dos|tres|cuatro|cinco|\d)\s+a[ñn]os\b", re.I)


def year_positions(text: str, published: date | None = None) -> dict[int, int]:
    """{offset: year} for the years written in ``text`` (relative ones
    resolved against ``published`` when given)."""
    out = {m.start(): int(m.group(1)) for m in re.finditer(r"(?<![\d$])((?:19|20)\d\d)(?!\d|[,.]\d)", text)}
    if published is not None:
        for m in _RELATIVE_YEAR.finditer(text):
            count = m.group("n") or m.group("m")
            back = (int(count) if count.isdigit() else _NUMBER_WORDS[fold(count)]) if count else 1
            out[m.start()] = published.year - (0 if m.group("this") else back)
    if "year" in text or "ano" in text or "año" in text:
        for m in _PREVIOUS_YEAR.finditer(text):
            # "the previous year", "el año anterior": the year before the last one stated, else publication's
            earlier = [at for at in out if at < m.start()]
            base = out[max(earlier)] if earlier else published.year if published is not None else None
            if base is not None:
                out[m.start()] = base - 1
    return out


_PREVIOUS_YEAR = re.compile(r"\b(?:the\s+(?:previous|prior|preceding)\s+year|the\s+year\s+before|"
                            r"(?:el|del|al)\s+a[ñn]o\s+(?:anterior|previo|precedente))\b", re.I)


# Text before a sentence that is about the page, not the news: a live blog's timestamp
# ("Updated November 3, 2025 —", "10:32 a.m. ET —"), a dateline ("BOGOTA, Nov 14 (Reuters) -").
_METADATA = re.compile(
    r"^\s*(?:(?:last\s+)?(?:updated|published|posted|modified)(?:\s+on)?|actualizad[oa](?:\s+el)?|publicad[oa](?:\s+el)?|"
    r"modificad[oa]|[úu]ltima\s+actualizaci[óo]n)\b:?[^—–|\n]{0,80}?(?:\s[-—–|]\s*|[—–|]\s*|$)|"
    r"^\s*\d{1,2}[:.]\d{2}\s*(?:[ap]\.?\s?m\.?)?\s*(?:[A-Z]{2,4}\b)?\s*"
    r"(?:,\s*(?:\d{1,2}\s+(?:de\s+)?[A-Za-zÀ-ÿ]{3,10}\.?|[A-Za-zÀ-ÿ]{3,10}\.?\s+\d{1,2})(?:,?\s+(?:de\s+)?\d{4})?\s*)?"
    r"(?:[-—–|]\s*|$)|"
    r"^\s*(?:\d{1,2}\s+(?:de\s+)?[A-Za-zÀ-ÿ]{3,10}\.?|[A-Za-zÀ-ÿ]{3,10}\.?\s+\d{1,2}|\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4})"
    r",?\s+(?:(?:de\s+)?\d{4},?\s+)?(?:[-–—|]\s*)?\d{1,2}[:.]\d{2}\s*(?:[ap]\.?\s?m\.?)?\s*(?:[A-Z]{2,4}\b)?\s*"
    r"(?:[-—–|]\s*)|"
    r"^\s*[A-ZÁÉÍÓÚÑ][A-ZÁÉÍÓÚÑ.'-]{2,}(?:\s+[A-ZÁÉÍÓÚÑ][A-ZÁÉÍÓÚÑ.'-]+){0,3}(?:,\s*[^()\n.]{0,40}?)?\s*"
    r"(?:\((?:Reuters|AP|AFP|EFE|Bloomberg|dpa|DPA|Xinhua|Europa Press|Colprensa|UPI|ANSA)\)\s*)?(?:-|—|–|\.-)\s*",
    re.I)
_METADATA_CAPS = re.compile(r"^\s*[A-ZÁÉÍÓÚÑ]{3,}")


# A live blog's label before its timestamp: "Live | 11:05 ET, Sept. 30 -", "EN VIVO | 10:32 -".
_LIVE_LABEL = re.compile(r"^\s*(?:live|live updates|breaking|en vivo|en directo|directo|[úu]ltima hora|minuto a minuto)"
                         r"\s*[|:—–-]\s*", re.I)


def metadata_prefix(text: str) -> int:
    """How many leading characters of a sentence are page metadata (a live
    blog's timestamp, a dateline), whose dates are not the news's."""
    label = _LIVE_LABEL.match(text)
    if label:
        rest = metadata_prefix(text[label.end():])
        return label.end() + rest if rest else 0
    m = _METADATA.match(text)
    if not m:
        return 0
    if re.match(r"\s*[A-ZÁÉÍÓÚÑ][A-ZÁÉÍÓÚÑ.'-]{2,}", m.group(0)) and not _METADATA_CAPS.match(text):
        return 0
    first = m.group(0).split()[0] if m.group(0).split() else ""
    if first.isupper() or first[:1].isdigit() or month_number(first.rstrip(".,")) or re.match(r"(?i)(?:last|updated|published|posted|modified|"
                                                          r"actualizad|publicad|modificad|[úu]ltima)", first):
        return m.end()
    return 0


def nearest_year(years: dict[int, int], offset: int, end: int | None = None) -> int | None:
    """The year written closest to a figure: '$740 million in 2023, before
    falling in 2024' is a 2023 figure. A year after the figure is measured
    from its end (``end``)."""
    if not years:
        return None
    return years[min(years, key=lambda at: at - end if end is not None and at >= end else abs(at - offset))]


# --- figures --------------------------------------------------------------------

_SCALES = {
    "thousand": 1e3, "k": 1e3, "mil": 1e3,
    "million": 1e6, "millions": 1e6, "m": 1e6, "mn": 1e6, "mln": 1e6, "millon": 1e6, "millones": 1e6,
    "billion": 1e9, "billions": 1e9, "bn": 1e9, "b": 1e9, "mil millones": 1e9, "trillion": 1e12,
}
# unit word → (family, factor to the family's base unit)
_UNITS = {
    "%": ("percent", 1.0), "per cent": ("percent", 1.0), "percent": ("percent", 1.0),
    "por ciento": ("percent", 1.0),
    "usd": ("money", 1.0), "dollars": ("money", 1.0), "dolares": ("money", 1.0), "us dollars": ("money", 1.0),
    "ha": ("area", 1.0), "hectares": ("area", 1.0), "hectare": ("area", 1.0), "hectareas": ("area", 1.0),
    "hectarea": ("area", 1.0), "acres": ("area", 1 / 2.47105), "acre": ("area", 1 / 2.47105),
    "km2": ("area", 100.0), "square kilometers": ("area", 100.0), "square kilometres": ("area", 100.0),
    "tons": ("weight", 1.0), "tonnes": ("weight", 1.0), "toneladas": ("weight", 1.0), "metric tons": ("weight", 1.0),
}
_BOUNDS = [
    (r"in excess of|more than|exceeding|exceeded|exceeds|upwards of|at least|over|above|surpassing|no less than|"
     r"mas de|al menos|por lo menos|superior a|supera|supero", "min"),
    (r"up to|less than|fewer than|under|below|at most|no more than|hasta|menos de|como maximo", "max"),
    (r"nearly|almost|about|around|approximately|roughly|some|close to|an estimated|estimated|circa|~|"
     r"casi|cerca de|alrededor de|aproximadamente|unos|unas|en torno a", "about"),
]
_NUMBER = r"\d{1,3}(?:[,.]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?"
_SCALE = r"mil\s+millones|mil|thousand|millions?|billions?|trillion|millones|mill[oó]n|mln|mn|bn|k|m|b"
_UNIT_WORDS = r"%|per\s*cent|percent|por\s+ciento|hect[aá]reas?|hectares?|ha|acres?|km2|square\s+kil[oe]met(?:er|re)s|" \
              r"(?:metric\s+)?tons|tonnes|toneladas"
_MONEY_PREFIX = r"(?:US\$|U\.S\.\s?\$|USD|\$)\s?"
_QUANTITY = re.compile(
    rf"(?P<prefix>{_MONEY_PREFIX})?(?P<num>{_NUMBER})(?:\s*(?P<scale>{_SCALE})\b)?"
    rf"(?:\s*(?:de\s+)?(?P<unit>{_UNIT_WORDS}|USD|US\s+dollars|dollars|d[oó]lares)(?![A-Za-z]))?",
    re.I,
)


@dataclass(frozen=True)
class Quantity:
    """A figure as stated, in its family's base unit (USD, %, ha, tons)."""

    value: float
    family: str  # percent | money | area | weight | count
    bound: str  # exact | about | min | max | range
    rel_tol: float  # the rounding its significant digits imply (a range: its half-width)
    text: str
    start: int
    end: int

    def interval(self) -> tuple[float, float]:
        return bound_interval(self.value, self.bound, self.rel_tol)


def bound_interval(value: float, bound: str, rel_tol: float) -> tuple[float, float]:
    """The values a statement allows: exact = within rounding; about = ±10 %;
    min/max = one-sided; range = ``value`` is its middle and ``rel_tol`` its
    half-width ("between 240,000 and 260,000" = 250,000 ± 4 %)."""
    low, high = value * (1 - rel_tol), value * (1 + rel_tol)
    if bound == "about":
        return value * 0.9, value * 1.1
    if bound == "min":
        return low, float("inf")
    if bound == "max":
        return 0.0, high
    return low, high


def intervals_agree(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def parse_number(text: str) -> float:
    """'625,000' → 625000; '1.5' → 1.5; '253.000' (Spanish) → 253000; '2,5' → 2.5."""
    text = text.strip()
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        return float(text.replace(thousands, "").replace(decimal, "."))
    for sep in (",", "."):
        if sep in text:
            parts = text.split(sep)
            if len(parts) > 2 or len(parts[-1]) == 3:
                return float(text.replace(sep, ""))
            return float(text.replace(sep, "."))
    return float(text)


MAX_ROUNDING = 0.1  # an exact figure is never looser than an "about" one


def relative_tolerance(number_text: str, scaled: bool = False, floor: float = 0.005) -> float:
    """Half a unit of the last significant digit, relative to the value:
    '625,000' (3 digits) ±0.08 %, '25' ±2 %, '8' ±6 %. Trailing zeros count as
    rounding only in big or scaled numbers ('400 million', '253,000'): '10 %'
    means ten. Never below ``floor`` so conversions (acres → ha) do not fail
    on the last decimal, and never above ±10 %: a writer who wants "about"
    says so, and '300,000 hectares' read as 250,000-350,000 would hide a
    real disagreement with 253,000 (held-out set, docs/events.md)."""
    value = parse_number(number_text)
    if value == 0:
        return floor
    digits = re.sub(r"\D", "", number_text)
    if re.search(r"[.,]\d{1,2}$", number_text):  # has decimals: last digit is the unit
        decimals = len(re.search(r"[.,](\d{1,2})$", number_text).group(1))
        half_unit = 0.5 * 10 ** (-decimals)
    else:
        trailing = len(digits) - len(digits.rstrip("0")) if (scaled or value >= 1000) else 0
        half_unit = 0.5 * 10 ** trailing if digits.rstrip("0") else 0.5
    return min(MAX_ROUNDING, max(floor, half_unit / value))


def _unit_key(text: str) -> str:
    return re.sub(r"\s+", " ", fold(text)).strip()


def find_quantities(text: str) -> list[Quantity]:
    """Every figure with a unit we can compare: percentages, money, areas,
    weights. Bare counts are left out: without a unit nothing says what a
    figure measures."""
    out: list[Quantity] = []
    for m in _QUANTITY.finditer(text):
        prefix, unit_text, scale_text = m.group("prefix"), m.group("unit"), m.group("scale")
        if not prefix and not unit_text:
            continue
        if re.match(r"\d|[,.]\d", text[m.end():m.end() + 2]):
            continue
        number_text = m.group("num")
        if scale_text and scale_text.lower() in ("m", "b", "k") and not prefix:
            continue  # "40 m" is a distance, not money
        try:
            value = parse_number(number_text)
        except ValueError:
            continue
        scale = _SCALES.get(_unit_key(scale_text), 1.0) if scale_text else 1.0
        if prefix:
            family, factor = "money", 1.0
        else:
            family, factor = _UNITS.get(_unit_key(unit_text), (None, 1.0))
            if family is None:
                continue
        if family == "percent" and re.match(r"\s*(?:percentage\s+)?points?\b|\s*puntos\b", text[m.end():], re.I):
            continue
        bound = _bound_before(text, m.start())
        quantity = Quantity(value * scale * factor, family, bound, relative_tolerance(number_text, bool(scale_text)),
                            m.group(0).strip(), m.start(), m.end())
        out.append(_as_range(text, quantity, out, scale, factor))
    return out


# "between 240,000 and 260,000 hectares", "entre 550 y 600 millones", "ranged from 230,000 to 270,000 ha"
_RANGE_BEFORE = re.compile(
    rf"(?:\bbetween|\bentre|\b(?:rang|vari|oscil)\w*\s+(?:from|de|between|entre))\s+"
    rf"(?:{_MONEY_PREFIX})?(?P<low>{_NUMBER})(?:\s*(?P<scale>{_SCALE})\b)?(?:\s*(?:de\s+)?(?:{_UNIT_WORDS}|USD|"
    rf"US\s+dollars|dollars|d[oó]lares)(?![A-Za-z]))?\s+(?:and|to|y|a)\s+$", re.I)


def _as_range(text: str, q: Quantity, found: list[Quantity], scale: float, unit_factor: float) -> Quantity:
    """A figure that closes a range is the whole range: its middle, with the
    half-width as tolerance, so "between 240,000 and 260,000 hectares" agrees
    with 253,000. The lower end takes the upper end's scale and unit unless it
    has its own ("between $550 million and $600 million"), and is removed
    from ``found`` if it was read as a figure of its own."""
    match = _RANGE_BEFORE.search(text, max(0, q.start - 60), q.start)
    if not match:
        return q
    low_scale = _SCALES.get(_unit_key(match.group("scale")), scale) if match.group("scale") else scale
    try:
        low = parse_number(match.group("low")) * low_scale * unit_factor
    except ValueError:
        return q
    if not 0 < low < q.value:
        return q
    found[:] = [other for other in found if not (other.start >= match.start() and other.end <= q.start)]
    middle = (low + q.value) / 2
    return Quantity(middle, q.family, "range", (q.value - low) / 2 / middle, text[match.start():q.end].strip(),
                    match.start(), q.end)


# "up from 230,000 hectares", "down from $590 million", "frente a los 230.000": a value of another time.
_PREVIOUS_BEFORE = re.compile(
    r"(?:\b(?:up|down|rising|falling|increasing|decreasing|climbing|dropping)\s+from|\bcompared\s+(?:with|to)|"
    r"\bversus|\bvs\.?|\bfrente\s+a(?:\s+l[oa]s)?|\bcomparad[oa]s?\s+con(?:\s+l[oa]s)?|\bdesde)"
    r"(?:\s+(?:the|a|los|las|el|la|nearly|about|some|almost|roughly|casi|unos|unas))?\s*$", re.I)


def previous_value(text: str, q: Quantity) -> bool:
    """'… 253,000 hectares in 2023, up from 204,000 hectares two years
    earlier': a figure after "up from"/"down from"/"frente a" is the value
    the sentence compares with, i.e. of another time than the one it reports."""
    return bool(_PREVIOUS_BEFORE.search(text[max(0, q.start - 40):q.start]))


# Longest phrase first: "no more than" is an upper bound though it ends in "more than".
_BOUND_PHRASES = sorted(((phrase, bound) for pattern, bound in _BOUNDS for phrase in pattern.split("|")),
                        key=lambda pb: -len(pb[0]))


def _bound_before(text: str, start: int) -> str:
    """The bound the words before a figure set. An article may stand between
    them ("superó los 500 millones", "more than the $400 million")."""
    window = fold(text[max(0, start - 30):start]).rstrip()
    window = re.sub(r"\s+(?:the|los|las|el|la|a)$", "", window)
    for phrase, bound in _BOUND_PHRASES:
        if window.endswith(phrase):
            before = window[:-len(phrase)][-1:]
            if not before or not (before.isalnum() or before == "_"):  # the phrase as whole words
                return bound
    return "exact"


def parse_fact_value(text: str) -> tuple[float, str, str, float] | None:
    """A timeline value such as '25 %', '590 million USD' or '253000 ha' →
    (value in the family's base unit, family, display unit, relative
    tolerance); None when the unit is not one we compare."""
    match = re.fullmatch(rf"\s*(?:{_MONEY_PREFIX})?({_NUMBER})\s*(?:({_SCALE})\s+)?(.*?)\s*", text, re.I)
    if not match:
        return None
    number_text, scale_text, unit_text = match.groups()
    scale = _SCALES.get(_unit_key(scale_text), 1.0) if scale_text else 1.0
    unit_text = unit_text or ("USD" if "$" in text else "")
    if not unit_text:
        return None
    family, factor = _UNITS.get(_unit_key(unit_text), (None, 1.0))
    if family is None:
        return None
    value = parse_number(number_text) * scale * factor
    display = " ".join(x for x in (scale_text, unit_text) if x)
    return value, family, display, relative_tolerance(number_text, bool(scale_text))


def unit_scale(display_unit: str) -> float:
    """How many base units one display unit is ('million USD' → 1e6, 'acres' → 0.4047)."""
    parsed = parse_fact_value(f"1 {display_unit}")
    return parsed[0] if parsed else 1.0
