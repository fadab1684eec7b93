"""Days written without a month name, or with the day as a word: "on the 26th", "el día 14",
"el viernes 26", "Friday the 26th", "the twenty-sixth of September", "the 3rd of July".

:func:`crawler.facts.find_dates` reads a day only beside a month name in digits; news also writes
the day alone, as an ordinal or after its weekday, and leaves the month to the reader: the month the
sentence names, else publication's. These spans are added to the sentence's dates by the event diff
(:func:`ordinal_dates`); a weekday read alone ("el viernes") gives way to the weekday with its day.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from crawler.facts import MONTHS, WEEKDAYS, DateSpan, month_number, months_before
from crawler.text import fold

_UNITS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
          "ninth": 9}
_ORDINALS = {**_UNITS, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
             "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
             "twentieth": 20, "thirtieth": 30, "primero": 1}
for _tens, _base in (("twenty", 20), ("thirty", 30)):
    for _word, _unit in _UNITS.items():
        if _base + _unit <= 31:
            _ORDINALS[f"{_tens}-{_word}"] = _ORDINALS[f"{_tens} {_word}"] = _base + _unit
_ORDINAL_WORDS = "|".join(sorted((re.escape(w).replace(r"\ ", r"\s+") for w in _ORDINALS), key=len, reverse=True))
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_WEEKDAY = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|lunes|martes|mi[eé]rcoles|jueves|viernes|" \
           r"s[aá]bado|domingo"
# What an ordinal numbers when it is not a day: "the 21st century", "the 14th Amendment".
_NOT_A_DAY = r"(?!\s+(?:century|centuries|amendment|floor|anniversary|time|times|place|round|minute|hour|birthday|" \
             r"percentile|grade|street|st|avenue|ave|fleet|brigade|division|battalion|district|precinct|congress|" \
             r"session|edition|annual|consecutive|largest|biggest|most|best|worst|straight|year|week|month|day|" \
             r"summit|meeting|game|match|inning|lap|stage|parliament|legislature|army|corps|infantry|regiment|" \
             r"squadron|wing|circuit|court|ward|row|pick|seed)\b)"
_PATTERNS = [
    # "the twenty-sixth of September", "the 3rd of July", "the fourth of October 2025"
    (re.compile(rf"\b(?:the\s+)?(?P<day>{_ORDINAL_WORDS}|\d{{1,2}}(?:st|nd|rd|th))\s+(?:day\s+)?of\s+"
                rf"(?P<month>{_MONTH})(?:,?\s+(?P<year>(?:19|20)\d\d))?\b", re.I), "of_month"),
    # "el viernes 26", "el lunes 15", "Friday the 26th", "Friday, the 26th", "el pasado viernes 3"
    (re.compile(rf"\b(?P<weekday>{_WEEKDAY})(?:\s+|,?\s+the\s+|,\s+(?=\d+(?:st|nd|rd|th)))"
                rf"(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b"
                rf"(?!\s*(?:de\s+|of\s+)?(?:{_MONTH}))(?![.,/:]\d|\s*%|\s+(?:por\s+ciento|percent|per\s+cent))"
                rf"(?!\s+(?:years?|days?|weeks?|months?|hours?|people|a[ñn]os|d[ií]as|semanas|meses|horas|personas|"
                rf"muertos|dead|killed)\b)", re.I), "weekday_day"),
    # "on the 26th", "on the 14th,", "el día 14"
    (re.compile(rf"\b(?:on|by|since|until)\s+the\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)\b{_NOT_A_DAY}"
                rf"(?!\s+(?:of\s+)?(?:{_MONTH}))", re.I), "day"),
    (re.compile(rf"\b(?:on\s+)?the\s+(?P<day>{_ORDINAL_WORDS}|\d{{1,2}}(?:st|nd|rd|th))(?=\s*[,.;:)]|\s+(?:were|was|"
                rf"when|after|before|and|but|had|has|is)\b)(?!\s+(?:of\s+)?(?:{_MONTH}))", re.I), "day"),
    (re.compile(rf"\b(?:el|del|al)\s+d[ií]a\s+(?P<day>\d{{1,2}})\b(?!\s*(?:de\s+)?(?:{_MONTH}))(?![.,/:]\d)",
                re.I), "day"),
]
# A cheap test first: a digit ordinal, "día 14", an ordinal word before "of", a weekday (every one ends in
# day/es/do/go) before a number.
# Cheap tests first (most sentences have none of these forms): a digit ordinal ("26th"), a weekday (every
# name ends in day/es/do/go) before a number, an ordinal word, "día 14".
_DIGIT_ORDINAL = re.compile(r"\d(?:st|nd|rd|th)\b")
_WEEKDAY_CUE = re.compile(r"(?:day|es|do|go),?\s+(?:the\s+)?\d")
_ORDINAL_STEM = re.compile(r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
                           r"teenth|twentieth|thirtieth")
_DAY_WORD = re.compile(r"d[ií]a\s+\d")


def _cues(lower: str) -> tuple[bool, ...]:
    """Which of the patterns may match (in their order)."""
    digit = _DIGIT_ORDINAL.search(lower) is not None
    words = digit or _ORDINAL_STEM.search(lower) is not None
    return (words and " of " in lower, _WEEKDAY_CUE.search(lower) is not None, digit, words,
            _DAY_WORD.search(lower) is not None)


def _day_number(text: str) -> int:
    key = re.sub(r"\s+", " ", fold(text))
    return _ORDINALS[key] if key in _ORDINALS else int(re.match(r"\d+", key).group(0))


def _sentence_month(text: str, at: int) -> int | None:
    """The month the sentence names (the nearest before ``at``, else the first after)."""
    months = [(m.start(), month_number(m.group(0))) for m in re.finditer(rf"(?i)(?<![A-Za-z])(?:{_MONTH})(?![A-Za-z])",
                                                                        text)]
    months = [(o, n) for o, n in months if n]
    before = [n for o, n in months if o < at]
    return before[-1] if before else months[0][1] if months else None


def _latest(day: int, month: int | None, published: date) -> date | None:
    """Day ``day`` of ``month`` (else of publication's month, or the month before when that day is still
    more than a week ahead), in the latest year not more than a week after publication."""
    if month is None:
        year, month = published.year, published.month
        try:
            value = date(year, month, day)
        except ValueError:
            value = None
        if value is None or value > published + timedelta(days=7):
            year, month = months_before(year, month)
        try:
            return date(year, month, day)
        except ValueError:
            return None
    for year in (published.year, published.year - 1):
        try:
            value = date(year, month, day)
        except ValueError:
            continue
        if value <= published + timedelta(days=7):
            return value
    return None


def _weekday_day(weekday: int, day: int, published: date) -> date | None:
    """The latest day ``day`` of a month that falls on ``weekday``, not more than a week after publication."""
    year, month = published.year, published.month
    for _ in range(14):
        try:
            value = date(year, month, day)
        except ValueError:
            value = None
        if value is not None and value.weekday() == weekday and value <= published + timedelta(days=7):
            return value
        year, month = months_before(year, month)
    return None


def _weekday_with_date(text: str, dates: list[DateSpan]) -> list[DateSpan]:
    """"el viernes 3 de octubre", "Friday, October 3": a weekday written before the day it names is that day,
    not the weekday in the week before publication."""
    drop = set()
    for a, b in zip(dates, dates[1:]):
        if a.precision == "day" and b.precision == "day" and fold(a.text).split()[-1] in WEEKDAYS and \
                re.fullmatch(r"[\s,]*", text[a.offset + len(a.text):b.offset]):
            drop.add(id(a))
    return [d for d in dates if id(d) not in drop] if drop else dates


def ordinal_dates(text: str, published: date | None, dates: list[DateSpan]) -> list[DateSpan]:
    """``dates`` plus the days this module reads; a weekday alone inside one of them is dropped."""
    if len(dates) > 1:
        dates = _weekday_with_date(text, dates)
    if published is None:
        return dates
    cues = _cues(text.lower())
    if not any(cues):
        return dates
    added: list[DateSpan] = []
    for cued, (pattern, kind) in zip(cues, _PATTERNS):
        if not cued:
            continue
        for m in pattern.finditer(text):
            if any(s <= m.start() < e or m.start() <= s < m.end() for s, e in
                   [(d.offset, d.offset + len(d.text)) for d in added]):
                continue
            day = _day_number(m.group("day"))
            if not 1 <= day <= 31:
                continue
            if kind == "weekday_day":
                value = _weekday_day(WEEKDAYS[fold(m.group("weekday")).lower()], day, published)
            elif kind == "of_month":
                month = month_number(m.group("month"))
                if m.group("year"):
                    try:
                        value = date(int(m.group("year")), month, day)
                    except ValueError:
                        value = None
                else:
                    value = _latest(day, month, published)
            else:
                value = _latest(day, _sentence_month(text, m.start()), published)
            if value is None:
                continue
            span = DateSpan(value, value, "day", m.group(0), m.start(), True)
            # A date the regular reader found inside (or over) this span stands unless it is a weekday alone.
            overlapping = [d for d in dates if d.offset < m.end() and m.start() < d.offset + len(d.text)]
            if any(d.precision != "day" or fold(d.text).split()[-1] not in WEEKDAYS for d in overlapping):
                continue
            added.append(span)
    if not added:
        return dates
    kept = [d for d in dates if not any(a.offset <= d.offset < a.offset + len(a.text) or
                                        d.offset <= a.offset < d.offset + len(d.text) for a in added)]
    return sorted(kept + added, key=lambda d: d.offset)
