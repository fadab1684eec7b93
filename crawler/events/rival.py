"""Rival dates: a second source quoted for an event's date in the same sentence.

"X happened on 15 September; the infographic that accompanies this article
gives 25 September": the clause after the semicolon names no event of its own,
only a reporting verb (says, gives, dates, puts, shows, sitúa, fecha, …) and a
day; that day is a second statement of the same event's date, so it can
disagree with the timeline and with the first clause.
"""
from __future__ import annotations

import re

from crawler.facts import DateSpan

# A verb by which a document, chart or source states a date ("the sidebar says", "la cronología los sitúa").
_REPORTS = re.compile(r"\b(?:says?|gives?|dates?|puts?|places?|shows?|lists?|records?|sets?|"
                      r"dice|da|fecha|pone|muestra|registra|ubica|situa|sitúa|señala|senala)\b", re.I)
# A verb of an act of its own in the rival clause: another event, not another date for this one.
_OWN_ACT = re.compile(r"\b\w{3,}(?:ed|aron|ó)\b", re.I)


def rival_dates(text: str, dates: list[DateSpan], first: DateSpan, start, end, window: int) -> list[DateSpan]:
    """The one day-precision date of the clause after the first semicolon that follows ``first`` (the
    agreeing date) when that clause reports a date with a reporting verb and disagrees with the event."""
    cut = text.find(";", first.offset)
    if cut < 0:
        return []
    later = [d for d in dates if d.offset > cut]
    if len(later) != 1:
        return []
    rival = later[0]
    tail = text[cut:rival.offset]
    if rival.precision != "day" or rival.overlaps(start, end) or rival.distance_days(start, end) > window:
        return []
    if not _REPORTS.search(tail) or _OWN_ACT.search(tail):
        return []
    return [rival]
