"""Parts of a month and months counted back, which :func:`crawler.facts.find_dates` reads as a whole month
or not at all: "early October", "a inicios de septiembre", "late last month", "a finales del mes pasado",
"the month before last", "el mes antepasado", and the day of the current month "el pasado 15".

* a **part of a month** ("early / mid / late", "the beginning / end of", "a principios / inicios /
  comienzos / mediados / finales / fines de") narrows the month it qualifies to days 1-10, 10-20 or 20-end
  (the bounds overlap a day so a date on the edge agrees with both): "a inicios de septiembre" no longer
  agrees with 26 September;
* "del mes pasado" (the month before publication after "de"), "the month before last" / "el mes
  antepasado" (two months back);
* "el pasado 15" / "el 15 pasado": the latest day 15 not after publication;
* a time counted from an act to publication: "hoy se cumplen tres semanas de la descertificación", "it has
  been two weeks since the recall" (publication less the count, a day either side for weeks, three for
  months); "this past weekend", "el pasado fin de semana" read as the Saturday and Sunday before publication.

:func:`month_parts` is called by the event diff on a sentence's dates, after ``find_dates``; it only looks
when a cheap substring test finds one of its words.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

from crawler.events.numberwords import NUMBER_WORDS
from crawler.facts import DateSpan, month_interval, months_before

_CUES = ("early", "mid", "late", "beginning", "end of", "start of", "principio", "inicio", "comienzo", "mediado",
         "finales", "fines de", "fin de", "antepasado", "before last", "mes pasado", "pasado", "cumple", "s since", "past weekend", "past week")
_CUE = re.compile("|".join(re.escape(c) for c in _CUES))  # one search of the lowercased text: cheaper than a loop
_PART = re.compile(r"(?i)(?:\b(?P<en>early|mid|late|the\s+(?:beginning|start|middle|end)\s+of)[\s-]*(?:in\s+)?$)|"
                   r"(?:\ba\s+(?P<es>principios|inicios|comienzos|mediados|finales|fines)(?:\s+(?:de|del))?\s*$)")
_PART_DAYS = {"early": (1, 10), "beginning": (1, 10), "start": (1, 10), "principios": (1, 10),
              "inicios": (1, 10), "comienzos": (1, 10), "mid": (10, 20), "middle": (10, 20), "mediados": (10, 20),
              "late": (20, 31), "end": (20, 31), "finales": (20, 31), "fines": (20, 31)}
_RELATIVE_MONTH = re.compile(r"(?i)\b(?:(?P<last>last|the\s+previous|this)\s+month|d?el\s+mes\s+(?P<es>pasado|"
                             r"antepasado)|(?P<two>the\s+month\s+before\s+last)|este\s+mes)\b")
_PAST_DAY = re.compile(r"(?i)\bel\s+(?:pasado\s+(?P<a>\d{1,2})|(?P<b>\d{1,2})\s+pasado)\b(?!\s*(?:de\s+)?[a-z]*\d)"
                       r"(?!\s+(?:de|del)\s+[a-záéíóú]+)")


_COUNT = r"(?P<n>\d{1,2}|un|una|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|an?|one|two|three|four|five|six|" \
         r"seven|eight|nine|ten)"
_SINCE = re.compile(rf"(?i)\bse\s+cumplen?\s+{_COUNT}\s+(?P<unit>d[ií]as?|semanas?|mes(?:es)?)(?=\s+(?:de|del|desde)\b)|"
                    rf"\b{_COUNT.replace('?P<n>', '?P<n2>')}\s+(?P<unit2>days?|weeks?|months?)\s+(?:to\s+the\s+day\s+|today\s+)?since\b")
_PAST_WEEKEND = re.compile(r"(?i)\bthis\s+past\s+weekend\b|\bel\s+pasado\s+fin\s+de\s+semana\b")


def _narrow(span: DateSpan, text: str) -> DateSpan:
    """The span narrowed to the part of its month the words before it name."""
    part = _PART.search(text, max(0, span.offset - 28), span.offset)
    head = span.text.lower()
    word = None
    if part:
        word = (part.group("en") or part.group("es")).lower().split()
        word = word[1] if word[0] == "the" else word[0]
    else:  # the qualifier inside the span itself ("a finales de octubre", "mid-October")
        inner = re.match(r"(?i)(?:a\s+(principios|inicios|comienzos|mediados|finales|fines)\s+de|"
                         r"(early|late|mid)\b-?)", head)
        if inner:
            word = (inner.group(1) or inner.group(2)).lower()
    if word is None:
        return span
    first, last = _PART_DAYS[word]
    last = min(last, span.end.day)
    return replace(span, start=span.start.replace(day=first), end=span.start.replace(day=last))


def month_parts(text: str, published: date | None, dates: list[DateSpan]) -> list[DateSpan]:
    """``dates`` with the forms this module reads added, and month spans narrowed to the part stated."""
    if published is None or _CUE.search(text.lower()) is None:
        return dates
    out = list(dates)
    covered = [(d.offset, d.offset + len(d.text)) for d in dates]

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in covered)

    for m in _RELATIVE_MONTH.finditer(text):
        if not free(m.start(), m.end()):
            continue
        back = 2 if m.group("two") or (m.group("es") or "").lower() == "antepasado" else \
            0 if m.group(0).lower().startswith(("this", "este")) else 1
        year, month = months_before(published.year, published.month, back)
        start, end = month_interval(year, month)
        out.append(DateSpan(start, end, "month", m.group(0), m.start(), True))
        covered.append((m.start(), m.end()))
    for m in _PAST_DAY.finditer(text):
        if not free(m.start(), m.end()):
            continue
        day = int(m.group("a") or m.group("b"))
        value = None
        for back in (0, 1):
            year, month = months_before(published.year, published.month, back)
            try:
                candidate = date(year, month, day)
            except ValueError:
                continue
            if candidate <= published + timedelta(days=1):
                value = candidate
                break
        if value is not None:
            out.append(DateSpan(value, value, "day", m.group(0), m.start(), True))
            covered.append((m.start(), m.end()))
    for m in _SINCE.finditer(text):
        if not free(m.start(), m.end()):
            continue
        count = m.group("n") or m.group("n2")
        n = int(count) if count.isdigit() else NUMBER_WORDS[count.lower()]
        unit = (m.group("unit") or m.group("unit2")).lower()
        days, slack = (n, 0) if unit.startswith(("d", "dí")) else (7 * n, 1) if unit.startswith(("w", "s")) else \
            (30 * n, 3)
        day = published - timedelta(days=days)
        out.append(DateSpan(day - timedelta(days=slack), day + timedelta(days=slack), "day" if not slack else "week",
                            m.group(0), m.start(), True))
        covered.append((m.start(), m.end()))
    for m in _PAST_WEEKEND.finditer(text):
        if not free(m.start(), m.end()):
            continue
        saturday = published - timedelta(days=(published.weekday() - 5) % 7 or 7)
        out.append(DateSpan(saturday, saturday + timedelta(days=1), "week", m.group(0), m.start(), True))
        covered.append((m.start(), m.end()))
    out = [_narrow(d, text) if d.precision == "month" else d for d in out]
    return sorted(out, key=lambda d: d.offset)
