"""The event diff of one text against a timeline: a pure function.

For every relevant article it answers three questions, sentence by sentence:

1. **Which known events does it mention?** A sentence mentions an event when
   one of the event's aliases appears in it (or all terms of one of its
   ``terms`` groups plus one of its actors), and no date stated in the same
   clause disagrees with the event's date.
2. **Which dated claims match no known event?** A sentence with a resolved
   date, an action verb and a watched actor that mentions no known event
   becomes a *candidate*.
3. **What does it contradict?** A date stated for a known event, or a figure
   stated for a known fact, that disagrees with the timeline or with the
   article itself. Figures are compared as intervals after unit conversion,
   so bounds ("exceeding"), approximations ("nearly") and rounding are not
   disagreements.

Precision comes first: a figure is attached to a fact only when the sentence
names one of the fact's keywords near it, in the fact's year, and a date is
held against an event only when it stands in the same clause as the words
that name the event. ``docs/events.md`` describes the rules and the measured
precision/recall; :mod:`crawler.events.store` stores the result and compares
it with other archived articles.
"""
from __future__ import annotations

import logging
import re
from datetime import date, timedelta

from crawler.events.candidates import IRREGULAR_PAST, _candidate, about_start, dates_another_act, topic_word_in
from crawler.events.figures import RIVAL_BOUNDARY, _fact_statements
from crawler.events.hits import ArticleDiff, ContradictionHit, MentionHit, StatementHit, date_value, statements_agree
from crawler.events.match import _ABOUT_EVENT, _clause_of, _clauses, _denied, _match_event, _opens_sentence, _verb_form
from crawler.events.timeline import Timeline
from crawler.events.lemmas import OTHER_COUNTRIES, Words
from crawler.events.ordinals import ordinal_dates
from crawler.events.rival import rival_dates
from crawler.events.modality import false_claims, modality_reason, presupposed
from crawler.events.monthparts import month_parts
from crawler.facts import DateSpan, find_dates, find_quantities, lead_paragraph, metadata_prefix, split_sentences
from crawler.text import fold

log = logging.getLogger(__name__)

# "two days later", "tres días después": the date is an anchor, not the event's.
_OFFSET_PHRASE = re.compile(r"\b(?:\w+\s+)(?:days?|weeks?|months?|hours?|dias?|semanas?|meses|horas?)\s+"
                            r"(?:later|earlier|after|before|despues|antes)\b")
# "… again on 3 November": a repeat of the event, i.e. another event, not a wrong date.
_ANOTHER_TIME = re.compile(r"\b(?:again|once more|a second time|de nuevo|otra vez|nuevamente|por segunda vez)\b")


# A subject and a past verb after "after/before": "a day after Petro addressed the UN".
_ANOTHER_ACTION = re.compile(r"\s+[a-z]+\s+(?:[a-z]+\s+)?(?:[a-z]{3,}ed|" + "|".join(sorted(IRREGULAR_PAST)) + r")\b")


def _offset_from_event(folded: str, offsets: list[int]) -> bool:
    """An offset phrase dates the sentence relative to the event ("two days
    later", "months after revoking it", "a day after the revocation"), not
    when it is anchored on something else ("a month after the deadline": the
    date is then the event's own, and can disagree)."""
    clauses = _clauses(folded)
    mine = {_clause_of(clauses, o) for o in offsets}
    for m in _OFFSET_PHRASE.finditer(folded):
        if _clause_of(clauses, m.start()) not in mine and m.group(0).endswith(("later", "earlier")):
            continue  # "…, and Colombia followed suit hours later": another clause's act
        if re.match(r"\s+(?:he|she|they|we|i|el|ella|ellos)\s+\w+", folded[m.end():]):
            continue  # "two days before he was due to speak": anchored on another action
        anchor = re.match(r"\s+(?:de\s+|of\s+)?(?:the|a|an|his|her|its|their|el|la|los|las|su|sus)\s+", folded[m.end():])
        if anchor is None:
            if _ANOTHER_ACTION.match(folded, m.end()):
                continue  # "a day after Petro addressed the UN", "… after Trump cut off aid": another action
            return True
        noun_at = m.end() + anchor.end()
        if any(0 <= o - noun_at <= 15 for o in offsets):
            return True
    return False




# "the 24 September 2025 speech": a date modifying a noun dates that noun.
# (English only: Spanish writes "el 30 de septiembre" for "on 30 September".)
_ATTRIBUTIVE = re.compile(r"\b(?:the|his|her|its|their|a|an|this)\s*$", re.I)


# "…, eso fue el viernes 26", "That was on January 27": a clause that only dates what was just told.
_THAT_WAS = re.compile(r"(?:^|[,;:.!?—-]\s*|\b(?:y|and|pero|but|mijo|parce|parcero|pues)\s+)(?:eso|esto|that|this|it)\s+"
                       r"(?:fue|was|happened|paso|ocurrio|sucedio)\s+(?:on\s+|in\s+|el\s+|en\s+)?$")


def _that_was(span: DateSpan, folded: str) -> bool:
    return bool(_THAT_WAS.search(folded, max(0, span.offset - 40), span.offset))


# (Also an act noun as the subject, "El anuncio se hizo el …", "The decision came on …"; a Spanish verb with
# its subject left out, "Fue el …"; and a weekday before the day, "Eso fue el domingo 2 de febrero".)
_THAT_WAS_OPENS = re.compile(r"^\W*(?:(?:y|and|pero|but)\s+)?(?:(?:(?:eso|esto|that|this|it)\s+|(?:the|el|la)\s+(?:announcement|"
                             r"decision|move|order|anuncio|decision|medida|orden)\s+)(?:fue|was|happened|paso|ocurrio|"
                             r"sucedio|came|was\s+made|was\s+announced|se\s+hizo|se\s+anuncio|se\s+tomo|se\s+conocio|llego)|"
                             r"(?:fue|ocurrio|sucedio)(?=\s+el\s))\s+(?:on\s+|in\s+|el\s+|en\s+)?"
                             r"(?:(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|lunes|martes|miercoles|jueves|"
                             r"viernes|sabado|domingo),?\s+)?")


def _dated_next(diff: ArticleDiff, timeline: Timeline, sentence, folded: str, dates: list[DateSpan],
                before: dict[str, list[int]], today: date, claimed: set[int]) -> None:
    """"¿Se acuerda cuando Petro devolvió los aviones? Eso fue el 27 de enero.": a sentence that opens by
    dating what the sentence before told ("That was on …") states the date of the events it named."""
    opening = _THAT_WAS_OPENS.match(folded)
    span = next((d for d in dates if opening and d.offset <= opening.end() + 1), None)
    if span is None or span.precision not in ("day", "month"):
        return
    for event_id in before:
        event = timeline.get(event_id)
        if event is None:
            continue
        start, end = event.interval(today)
        claimed.add(span.offset)
        diff.statements.append(StatementHit(event.id, "date", date_value(span.start), span.precision, "exact",
                                            span.text, sentence.text, sentence.start, sentence.end,
                                            _date_interval(span)))
        if span.overlaps(start, end, slack_days=_slack(span)) or \
                span.distance_days(start, end) > timeline.settings.contradiction_window_days:
            continue
        diff.contradictions.append(ContradictionHit("timeline", event.id, "date", span.label(), event.date_label(),
                                                    sentence.text, known_source=event.source))
        for mention in reversed(diff.mentions):
            if mention.event_id == event.id and mention.flag is None:
                mention.flag = "date-contradicted"
                mention.how += f"; the next sentence dates it {span.text!r}, the timeline {event.date_label()}"
                break


def _dates_the_words(span: DateSpan, offsets: list[int]) -> bool:
    """"The September 17 decertification": an attributive date right before the event's words dates them."""
    end = span.offset + len(span.text)
    return any(0 <= o - end <= 2 for o in offsets)


def _date_statement(event, span, sentence) -> StatementHit:
    """The sentence states ``span`` as the event's date."""
    return StatementHit(event.id, "date", date_value(span.start), span.precision, "exact", span.text,
                        sentence.text, sentence.start, sentence.end, _date_interval(span))


def _timeline_date_contradiction(event, span, sentence) -> ContradictionHit:
    """The date the sentence states for the event is not the timeline's."""
    return ContradictionHit("timeline", event.id, "date", span.label(), event.date_label(), sentence.text,
                            known_source=event.source)


def _date_interval(span: DateSpan) -> tuple[float, float]:
    return float(span.start.toordinal()), float(span.end.toordinal())



def diff_text(text: str, timeline: Timeline, published: date | None = None, language: str | None = None,
              date_order: str | None = None, reference: date | None = None) -> ArticleDiff:
    """The event diff of one article text, without the archive: mentions,
    statements of known facts, candidates and contradictions with the
    timeline and within the text. ``reference`` (publication date, else when
    the article was first seen) bounds how old a candidate's date may be."""
    diff = ArticleDiff()
    sentences = split_sentences(text or "")
    lead = lead_paragraph(sentences, text or "")
    lede_index = next((i for i, s in enumerate(sentences) if s.paragraph == lead), None)
    today = reference or published or date.today()
    named: list[dict[str, list[int]]] = []
    paragraph_events: dict[int, set[str]] = {}
    per_sentence = []
    anchor: date | None = None  # the last day the article stated: "the following month" counts from it
    # A claim the text rates false (a fact check): its dates and figures are not statements.
    folds = [fold(s.text) for s in sentences]
    refuted = false_claims(folds)
    for sentence, folded, claim in zip(sentences, folds, refuted):
        skip = metadata_prefix(sentence.text)  # a live blog's timestamp, a dateline: not the news's dates
        dates = ordinal_dates(sentence.text, published,  # (+ "on the 26th", "el viernes 26"; "early October")
                              month_parts(sentence.text, published,
                                          find_dates(sentence.text, published, date_order, language, anchor)))
        dates = [d for d in dates if d.offset >= skip and not (claim and claim[0] <= d.offset < claim[1])]
        if dates and _has_weekday(sentence.text):
            dates = [_with_weekday(d, sentence.text) for d in dates]
        anchor = next((d.start for d in reversed(dates) if d.precision == "day"), anchor)
        words = Words(sentence.text)
        per_sentence.append((folded, dates, words))
        claimed: set[int] = set()  # offsets of the dates the sentence's known events take
        found = _sentence_events(diff, timeline, sentence, folded, words, dates, today, lead, claimed,
                                 set(named[-1]) if named else set())
        if not found and named and named[-1]:
            _dated_next(diff, timeline, sentence, folded, dates, named[-1], today, claimed)
        named.append(found)
        per_sentence[-1] += (claimed,)
        paragraph_events.setdefault(sentence.paragraph, set()).update(found)
    # A story is this timeline's when it names a known event or a topic actor; elsewhere a watched
    # actor's dated action ("Trump imposed tariffs on China") is another story's news.
    gated = bool(timeline.topic_actors or timeline.topic_words)
    topical = [gated and (any(n.search(f, s.text, w) for n in timeline.topic_actors)
                          or topic_word_in(timeline, f, s.text, w))
               for s, (f, _d, w, _c) in zip(sentences, per_sentence)]
    article_topical = bool(diff.mentions) or any(topical)
    for index, sentence in enumerate(sentences):
        folded, dates, words, claimed = per_sentence[index]
        topic = 1.0 if not gated or topical[index] else 0.9 if article_topical else 0.4
        # The events of the sentence's paragraph, and of the sentence before it: a story goes on
        # ("The deportation stand-off began …\nWithin hours Trump announced tariffs of 25 per cent …").
        events_here = paragraph_events.get(sentence.paragraph, set())
        if index:
            events_here = events_here | set(named[index - 1])
        _fact_statements(diff, timeline, sentence, folded, events_here, language, published, words,
                         refuted[index])
        candidate = _candidate(sentence, folded, words, dates, timeline, published, today,
                               is_lede=index == lede_index, named=named[index], claimed=claimed, topic=topic)
        if candidate and -1 not in claimed:
            diff.candidates.append(candidate)
    _internal_contradictions(diff)
    return diff


# "denied on Thursday that Petro's visa was under review": everything in the denied clause is denied.
_DENIED_THAT = re.compile(r"\b(?:den(?:y|ies|ied)|neg(?:o|aron|a)|niega\w*|desminti\w*|desmient\w*)\b"
                          r"(?:\s+\w+){0,3}?\s+(?:that|que)\b")


_ANCHOR_OFFSET = re.compile(r"\b(?P<n>\d{1,2}|an?|one|two|three|four|five|six|seven|eight|nine|ten|un|una|dos|tres|"
                            r"cuatro|cinco|seis|siete|ocho|nueve|diez)\s+(?P<unit>days?|weeks?|months?|d[ií]as?|"
                            r"semanas?|mes(?:es)?)\s+(?P<dir>after|before|despu[eé]s\s+de|antes\s+de)\b", re.I)
_COUNTS = {"a": 1, "an": 1, "one": 1, "un": 1, "una": 1, "two": 2, "dos": 2, "three": 3, "tres": 3, "four": 4,
           "cuatro": 4, "five": 5, "cinco": 5, "six": 6, "seis": 6, "seven": 7, "siete": 7, "eight": 8, "ocho": 8,
           "nine": 9, "nueve": 9, "ten": 10, "diez": 10}


_ANCHOR_CUE = re.compile(r"(?i)after|before|despu|antes")


class _Counted(DateSpan):
    """A day counted back from the day stated ("El 19 de octubre, cuatro días antes de que …"): the
    writer's own arithmetic, with no time-zone slack."""


class _Derived:
    """A date computed from an offset anchored on another dated thing, and
    where that anchor's phrase ends (only words after it take the date)."""

    __slots__ = ("span", "end_at", "anchor", "until")

    def __init__(self, span: DateSpan, end_at: int, anchor: DateSpan | None = None, until: int | None = None) -> None:
        self.span, self.end_at, self.anchor, self.until = span, end_at, anchor, until


def _derived_dates(sentence: str, dates: list[DateSpan], clauses: list[tuple[int, int]]) -> list[_Derived]:
    """"A week after the September 15 decertification", "dos días después de la descertificación del 15 de
    septiembre": the anchor's day plus (or minus) the offset, for what the sentence says next."""
    out = []
    if not dates or not _ANCHOR_CUE.search(sentence):
        return out
    for m in _ANCHOR_OFFSET.finditer(sentence):
        clause = clauses[_clause_of(clauses, m.start())]
        anchor = next((d for d in dates if d.precision == "day" and m.end() <= d.offset < min(clause[1], m.end() + 60)),
                      None)
        # "El 19 de octubre, cuatro días antes de que el Tesoro sancionara a Petro, …": the day stated is the
        # offset's other end, so what follows the offset is that day minus (or plus) it.
        before = None if anchor is not None else next(
            (d for d in dates if d.precision == "day" and 0 <= m.start() - (d.offset + len(d.text)) <= 3), None)
        if anchor is None and before is None:
            continue
        n = m.group("n").lower()
        count = int(n) if n.isdigit() else _COUNTS.get(fold(n), 1)
        unit = fold(m.group("unit").lower())
        days = count * (7 if unit.startswith(("week", "seman")) else 30 if unit.startswith("m") else 1)
        sign = -1 if fold(m.group("dir").lower()).startswith(("before", "antes")) else 1
        if before is not None:
            day = before.start - timedelta(days=sign * days)
            span = _Counted(day, day, "day", f"{before.text}, {m.group(0)}", m.start(), True)
            out.append(_Derived(span, m.end(), before, clause[1]))  # (only what its own clause names)
            continue
        day = anchor.start + timedelta(days=sign * days)
        span = DateSpan(day, day, "day", f"{m.group(0)} {anchor.text}", m.start(), True)
        out.append(_Derived(span, anchor.offset + len(anchor.text)))
    return out


# The first of an ongoing campaign's acts, or its start: its date is the range's first day.
_FIRST_OF = re.compile(r"\b(?:first|began|begun|begin|begins|started|launched|opening|primer[oa]?|comenz\w+|empez\w+|"
                       r"inici\w+|arranc\w+)\b")


# "the first one there", "el primero en el Pacífico": the first in a place, not the campaign's first day.
_FIRST_HERE = re.compile(r"\b(?:first|primer[oa]?)\s+(?:\w+\s+)?(?:there|alli|alla|aqui|in\s+the|en\s+el|en\s+la|off|"
                         r"frente\s+a)\b")


def _calendar_week_off(span: DateSpan, event, start: date, end: date) -> bool:
    """"La semana pasada Washington descertificó…" a fortnight after the event: a calendar week
    ("last week", "this week") that misses a one-day event by three days or more disagrees with it."""
    return (span.precision == "week" and event.precision == "day" and (span.end - span.start).days <= 6
            and span.distance_days(start, end) >= 3)


def _slack(span: DateSpan) -> int:
    """A day stated may be a day off for time zones; a month or a year is not ("September 2024" is not October),
    nor a day counted by the writer or written with its weekday."""
    return 1 if span.precision == "day" and not isinstance(span, (_Counted, _Weekday)) else 0


class _Weekday(DateSpan):
    """A day written with its weekday ("On Saturday, January 25", "el jueves 23 de octubre", "on Thursday"): the
    writer fixed the local day, so it gets no time-zone slack."""


_WEEKDAY_WORD = re.compile(r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|lunes|martes|mi[eé]rcoles|"
                           r"jueves|viernes|s[aá]bado|domingo)\b", re.I)


_WEEKDAY_CUES = ("day", "lunes", "martes", "miércoles", "miercoles", "jueves", "viernes", "sábado", "sabado", "domingo")


def _has_weekday(text: str) -> bool:
    lower = text.lower()
    return any(w in lower for w in _WEEKDAY_CUES)


def _with_weekday(span: DateSpan, text: str) -> DateSpan:
    if span.precision != "day" or isinstance(span, _Counted):
        return span
    if _WEEKDAY_WORD.search(span.text) or _WEEKDAY_WORD.search(text, max(0, span.offset - 14), span.offset) or \
            _WEEKDAY_WORD.match(text[span.offset + len(span.text):span.offset + len(span.text) + 14].lstrip(" ,")) or \
            re.match(r"\W+(?:pues\W+)?(?:un|a)\s+" + _WEEKDAY_WORD.pattern, text[span.offset + len(span.text):], re.I):
        return _Weekday(span.start, span.end, span.precision, span.text, span.offset, span.relative)
    return span


def _unhappened(folded: str, original: str, words: Words, offsets: list[int]) -> str | None:
    """Why the words naming an event do not report it as having happened:
    any of them in a question, a condition, a plan, a negation or a denial,
    unless a determiner presupposes it ("if talks on the aid cut advance")."""
    for offset in offsets:
        reason = modality_reason(folded, original, offset)
        if reason in ("a hypothesis", "a verb in the conditional or future", "denied", "spared") and (
                reason != "denied" or _DENIED_THAT.search(folded, 0, offset)):
            return reason  # a whole sentence in a hypothesis, a denied "that" clause: no determiner makes it real
        if reason and not presupposed(words, offset, original) and not (
                reason not in ("denied", "negated") and _ANOTHER_TIME.search(folded)):
            return reason  # ("if Petro again turned back deportation flights": it happened once)
    return None


# "OFAC also designated two Clan del Golfo commanders", "sanctioned a money launderer", "revoked the visas
# of four cabinet members", "sancionó a dos narcotraficantes": the agency's act against others (a number
# or an indefinite article before them), not the known event against its person.
_OTHER_TARGETS = re.compile(r"\b(?:sanction\w*|designat\w*|blacklist\w*|sancion\w*|designo|designaron|incluy\w*|"
                            r"revok\w*\s+the\s+visas?\s+of|revoc\w*\s+(?:las\s+)?visas?\s+(?:de|a))\s+(?:also\s+)?"
                            r"(?:a\s+(?=(?:un|una|unos|unas|dos|tres|cuatro|cinco|seis|varios|varias|\d+)\s))?"
                            r"(?:a|an|two|three|four|five|six|seven|several|some|\d+|un|una|unos|unas|dos|tres|cuatro|"
                            r"cinco|seis|siete|varios|varias|otros|otras|other)\s+")


_SINCE = re.compile(r"\b(?:since|desde\s+que)\b")


def _other_targets(folded: str, event) -> bool:
    """Whether the sentence tells the event's kind of act against others, and names none of the event's
    people (actors written with a capital and no demonym: Petro)."""
    m = _OTHER_TARGETS.search(folded)
    if not m:
        return False
    people = event.titled_people
    # (not in a temporal clause after the act: "OFAC designated six financiers …, the first since Petro himself
    # was sanctioned" — that is the known event told as background)
    since = _SINCE.search(folded, m.end())
    return bool(people) and not any(p in folded[:since.start() if since else len(folded)] for p in people)


# "off the Venezuelan coast", "frente a las costas de Venezuela": where, not whom.
_LOCATION_BEFORE = re.compile(r"\b(?:off|near|cerca\s+de|frente\s+a|en\s+aguas\s+de|aguas)\s+(?:the\s+|las\s+|la\s+|los\s+)?"
                              r"(?:\w+\s+){0,2}$")


def _another_countrys(timeline: Timeline, folded: str, original: str, words: Words, offsets: list[int]) -> bool:
    """"OFAC sanctioned three Venezuelan officials", "Washington again listed Bolivia and Venezuela as
    having failed demonstrably": the act named is the agency's against another country's people, not
    the timeline's event — a sentence that names no topic actor and another country in the clause of the
    words naming the event (not as a place: "off the Venezuelan coast")."""
    if not timeline.topic_actors or any(n.search(folded, original, words) for n in timeline.topic_actors):
        return False
    clauses = _clauses(original)
    mine = {_clause_of(clauses, o) for o in offsets}
    return any(_clause_of(clauses, m.start()) in mine and not _LOCATION_BEFORE.search(folded, 0, m.start())
               and not _MODIFIES_TARGET.match(folded, m.end()) for m in OTHER_COUNTRIES.finditer(folded))


# "an attack on a Venezuelan vessel", "una lancha venezolana": the demonym says whose boat was hit, not whose act.
_MODIFIES_TARGET = re.compile(r"\w*\s+(?:vessels?|boats?|speedboats?|ships?|crews?|fishermen|fishing\s+boats?|"
                              r"lanchas?|embarcacion\w*|botes?|barcos?|pescadores|tripulantes)\b")


def _sentence_events(diff: ArticleDiff, timeline: Timeline, sentence, folded: str, words: Words,
                     dates: list[DateSpan], today: date, lead: int | None, claimed: set[int],
                     before: set[str] = frozenset()) -> dict[str, list[int]]:
    """Mentions and date statements of known events in one sentence; returns
    the events it names with the offsets of the words that name them (an
    event whose date the sentence rules out is not named: the sentence may
    then propose a candidate)."""
    named: dict[str, list[int]] = {}
    window = timeline.settings.contradiction_window_days
    clauses = _clauses(sentence.text)
    matches = []
    for event in timeline.events:
        match = _match_event(event, folded, sentence.text, words, dates, timeline.settings.evidence_tolerance_days,
                             event.id in before)
        if match is None:
            continue
        if _another_countrys(timeline, folded, sentence.text, words, match[1]):
            log.debug("events: %s named for another country: %s", event.id, sentence.text[:120])
            claimed.add(-1)  # (the sentence is another country's story: no candidate either)
            continue
        if _other_targets(folded, event):
            log.debug("events: %s named for other targets: %s", event.id, sentence.text[:120])
            continue
        reason = _unhappened(folded, sentence.text, words, match[1])
        if reason:
            log.debug("events: %s named but not as having happened (%s): %s", event.id, reason, sentence.text[:120])
            continue
        matches.append((event, match))
    derived = _derived_dates(sentence.text, dates, clauses)
    for event, (confidence, offsets, how) in matches:
        start, end = event.interval(today)
        if event.precision == "range" and _FIRST_OF.search(folded, max(0, min(offsets) - 30), max(offsets) + 30) \
                and not _FIRST_HERE.search(folded):
            end = start  # "the first U.S. strike on a drug boat, on September 12": the campaign's first day
        # A date that is another named event's ("the decertification and the visa revocation on 26
        # September") is not held against this one.
        # (An ongoing campaign claims only its first day: "on October 2, a month after the first strike".)
        others = [e.interval(today) if e.precision != "range" else (e.start, e.start) for e, _m in matches
                  if e is not event]
        term_clauses = {_clause_of(clauses, o) for o in offsets}
        near = [d for d in dates if (_clause_of(clauses, d.offset) in term_clauses
                                     or _opens_sentence(d, sentence.text, clauses) or _that_was(d, folded)
                                     or _dated_apposition(d, sentence.text, clauses, term_clauses)
                                     or _date_clause_before(d, sentence.text, clauses, term_clauses, offsets)
                                     or _began_clause(d, folded, offsets))
                and not _dates_another_action(d, folded, offsets) and not _background_year(d, folded)
                and not dates_another_act(d, sentence.text, words, offsets, event.title_words)
                and not _of_another_noun(d, folded, words, offsets, event.title_words)
                and not _measured_year(d, event, sentence.text)
                and not modality_reason(folded, sentence.text, d.offset)  # "may travel in December"
                and (d.overlaps(start, end, slack_days=_slack(d)) or not any(d.overlaps(s, e, slack_days=_slack(d))
                                                                      for s, e in others))]
        if event.precision == "range":
            # "Colombia suspended intelligence sharing on November 11 until the strikes stop": a date before
            # the word that makes an ongoing campaign what another act is about is that act's, not a strike's.
            about = [a for a in (about_start(words, o) for o in offsets) if a is not None]
            if about:
                near = [d for d in near if d.offset > min(about)]
        # "A week after the September 15 decertification, the State Department revoked Petro's visa":
        # the other event's date plus the offset dates the event named after it.
        counted = [d for d in derived if min(offsets) > d.end_at and (d.until is None or max(offsets) < d.until)]
        near = [d for d in near if not any(d is c.anchor for c in counted)]  # "El 20 de septiembre, dos días antes de que …": that day is another act's
        near += [d for d in counted if d.span not in near]
        near = [d.span if isinstance(d, _Derived) else d for d in near]
        counted_spans = [d.span for d in counted]
        agreeing = [d for d in near if d.overlaps(start, end, slack_days=_slack(d))]
        if near and not agreeing:
            strict = _clauses(sentence.text, strict=True)
            strict_terms = {_clause_of(strict, o) for o in offsets}
            held = [d for d in near if (_clause_of(strict, d.offset) in strict_terms
                                        or _opens_sentence(d, sentence.text, clauses) or _that_was(d, folded)
                                        or _dated_apposition(d, sentence.text, clauses, term_clauses)
                                        or _date_clause_before(d, sentence.text, clauses, term_clauses, offsets)
                                        or _announced_that(d, folded, offsets) or _when_clause(d, folded, offsets)
                                        or _began_clause(d, folded, offsets)
                                        or d in counted_spans)
                    and (not _ATTRIBUTIVE.search(sentence.text[:d.offset]) or _dates_the_words(d, offsets))]
            if held:
                if _denied(folded, min(offsets)) or _ANOTHER_TIME.search(folded):
                    continue  # a denied report, or a repeat ("decertified again on …"): not this event
                wrong = [d for d in held if (d.precision in ("day", "month") or _calendar_week_off(d, event, start, end))
                         and d.distance_days(start, end) <= window]
                if any(d in counted_spans for d in wrong) or not _offset_from_event(folded, offsets):
                    if len(wrong) == 1 and len(near) == 1:
                        stated = wrong[0]
                        named[event.id] = offsets
                        claimed.add(stated.offset)
                        diff.statements.append(_date_statement(event, stated, sentence))
                        diff.contradictions.append(_timeline_date_contradiction(event, stated, sentence))
                        # The sentence does name the event, at another date: a mention, flagged.
                        diff.mentions.append(MentionHit(
                            event.id, sentence.text, sentence.start, sentence.end, round(confidence, 2),
                            sentence.paragraph == lead, f"{how}; states {stated.text!r}, the timeline "
                                                        f"{event.date_label()}", "date-contradicted"))
                    continue
                # "… restored Petro's visa, two months after revoking it": the date is the
                # event's plus an offset, so the event is named, undated.
            # The clause's date belongs to something else (a saying, a speech): the event is named undated.
        if not agreeing and _repeated_act(event, folded, sentence.text, words, offsets, dates, start, end, clauses, window):
            continue  # "Colombia recalled its ambassador again on Monday, October 20": a new act of the kind
        named[event.id] = offsets
        if agreeing:
            confidence += 0.1
            best = agreeing[0]
            claimed.update(d.offset for d in agreeing)
            how += f"; dated {best.text!r}"
            if best.precision in ("day", "month"):
                diff.statements.append(_date_statement(event, best, sentence))
                for rival in rival_dates(sentence.text, dates, best, start, start if event.precision == "range" else end,
                                         window):
                    claimed.add(rival.offset)  # "…; the sidebar says 4 October": a second date for this event
                    diff.statements.append(_date_statement(event, rival, sentence))
                    diff.contradictions.append(_timeline_date_contradiction(event, rival, sentence))
        elif any(d.overlaps(start, end, slack_days=1) for d in dates):
            confidence += 0.05
        diff.mentions.append(MentionHit(event.id, sentence.text, sentence.start, sentence.end,
                                        round(min(confidence, 1.0), 2), sentence.paragraph == lead, how))
    return named


def _repeated_act(event, folded: str, original: str, words: Words, offsets: list[int], dates: list[DateSpan],
                  start: date, end: date, clauses, window: int) -> bool:
    """The event's act told as a verb ("recalled", "sancionó") with a repeat marker in its clause ("again",
    "de nuevo", "otra vez") and a day or month in the sentence that is not the event's: the act done once
    more, at that date — another event of the kind (a candidate), not this one at a wrong date."""
    if event.precision == "range":
        return False
    first = words.index_at(min(offsets))
    if first >= len(words.tokens) or not _verb_form(words.tokens[first]):
        return False
    at = _clause_of(clauses, min(offsets))
    clause = clauses[at]
    if not _ANOTHER_TIME.search(folded, clause[0], clause[1]):
        # (without "again": a day of its own clause further from the event than the contradiction window —
        # "Colombia recalled its ambassador on October 20", three months after the July recall)
        return any(d.precision in ("day", "month") and d.distance_days(start, end) > window and (
            _clause_of(clauses, d.offset) == at or _date_clause_before(d, original, clauses, {at})) for d in dates)
    return any(d.precision in ("day", "month") and not d.overlaps(start, end, slack_days=_slack(d)) for d in dates)


# "since 1997", "desde 1997", "until 2023": a year bounding a period, not the event's own time.
_BOUNDING = re.compile(r"^(?:since|until|till|by|as\s+of|desde|hasta)\b", re.I)
# "The White House announced on Oct. 12 that …": the announcement's date is the announced act's.
_ANNOUNCED = re.compile(r"\b(?:announc\w+|declar\w+|anunci\w+|proclaim\w+|notif\w+)\s+(?:\w+\s+){0,2}$")


# "The White House on Friday declared that Colombia had failed …": the date before the announcing verb.
_ANNOUNCED_AFTER = re.compile(r"\W*(?:(?:it|he|she|they|officially|formally|publicly)\s+)?(?:announc\w+|declar\w+|"
                              r"anunci\w+|proclaim\w+|notif\w+)\s+(?:\w+\s+){0,2}?(?:that|que)\b")


def _measured_year(span: DateSpan, event, text: str) -> bool:
    """"The UNODC counted 253,000 hectares in 2023" about the survey published in 2024: the year a fact
    of the event measures, beside a figure of the fact's kind, is the figure's year, not the event's date
    ("proposed cutting aid for the police in 2024" dates the cutting)."""
    if span.precision != "year":
        return False
    families = {f.family for f in event.facts if f.year == span.start.year}
    if not families:
        return False
    end = span.offset + len(span.text)
    return any(q.family in families and (0 <= span.offset - q.end <= 40 or 0 <= q.start - end <= 25)
               for q in find_quantities(text))


def _background_year(span: DateSpan, folded: str) -> bool:
    return span.precision == "year" and bool(_BOUNDING.match(folded[span.offset:]))


# "Fue el 1 de septiembre cuando la Casa Blanca le retiró la certificación", "on July 3, when both
# capitals called their envoys home": a date the words "when / cuando / en que" follow dates their clause.
_WHEN_AFTER = re.compile(r"\s*,?\s*(?:cuando|when|en\s+que|in\s+which)\b")
# "It was on 1 September that …" (a cleft; "said on 2 October that …" is a saying's date).
_CLEFT_BEFORE = re.compile(r"\b(?:it\s+was|it's|fue|was)\s+(?:on\s+|in\s+|el\s+|en\s+)?$")


def _when_clause(span: DateSpan, folded: str, offsets: list[int]) -> bool:
    end = span.offset + len(span.text)
    first = min((o for o in offsets if o >= end), default=None)
    if first is None or re.search(r"[;.?!]", folded[end:first]):
        return False
    return bool(_WHEN_AFTER.match(folded, end)) or (
        bool(re.match(r"\s*(?:that|que)\b", folded[end:])) and bool(_CLEFT_BEFORE.search(folded, 0, span.offset)))


# "The campaign of strikes on boats, which began on August 25, …": a relative clause right after the event's
# words that only says when it began dates the event (its first day).
_BEGAN_AFTER = re.compile(r"\W*(?:(?:which|that|que|la\s+cual|el\s+cual)\s+)(?:\w+\s+)?(?:began|begun|started|"
                          r"comenz\w+|empez\w+|inici\w+|arranc\w+)\s+(?:on\s+|in\s+|el\s+|en\s+)?$")


def _began_clause(span: DateSpan, folded: str, offsets: list[int]) -> bool:
    last = max(offsets)
    if last > span.offset:
        return False
    gap = folded[last:span.offset]
    cut = re.search(r"[,;]", gap)
    return cut is not None and len(gap) - cut.start() < 40 and bool(_BEGAN_AFTER.match(gap, cut.start() + 1)) and \
        len(gap[:cut.start()].split()) <= 6


def _announced_that(span: DateSpan, folded: str, offsets: list[int]) -> bool:
    """"announced on Oct. 12 that it had decertified …": the date of an
    announcement holds for what it announces, in the clause after "that"."""
    end = span.offset + len(span.text)
    between = folded[end:min(offsets)] if offsets and min(offsets) > end else ""
    return (bool(_ANNOUNCED.search(folded[max(0, span.offset - 40):span.offset])) and bool(
        re.match(r"\W*(?:that|que)\b", between))) or bool(_ANNOUNCED_AFTER.match(between))


def _dates_another_action(span: DateSpan, folded: str, offsets: list[int]) -> bool:
    """A date before the event's words with "over/about/por …" between them
    dates the action about the event, not the event; so does any date of a
    sentence that names the event as what another action is against or about
    ("filed suit against the decertification … on 3 November")."""
    end = span.offset + len(span.text)
    first = min(offsets)
    after = min((o for o in offsets if o >= end), default=None)  # "asked the Treasury on November 4 to take…"
    if after is not None and _ABOUT_EVENT.search(folded[end:after]):
        return True
    return bool(_OBJECT_OF.search(folded, max(0, first - 40), first))


# "… against the decertification", "sobre las sanciones": the event is what another act is about.
_OBJECT_OF = re.compile(r"\b(?:against|over|about|regarding|concerning|contra|sobre|ante|in\s+response\s+to|"
                        r"in\s+protest\s+(?:at|over|against)|en\s+respuesta\s+a|en\s+protesta\s+por)\s+"
                        r"(?:the|its|this|that|el|la|los|las|su|sus|esta|este)\s+(?:[\w'.-]+\s+){0,2}$")


# "Your editorial of 5 July called the recall …", "la nota del 5 de julio", "the letter of 4 August": a date
# after "of / del / de" dates the noun before it; when that noun is none of the event's words, not the event.
_OF_BEFORE = re.compile(r"(?:\b(?:of|del|de\s+la|de\s+el|de)\s+)$")


def _of_another_noun(span: DateSpan, folded: str, words: Words, offsets: list[int], event_words) -> bool:
    m = _OF_BEFORE.search(folded, max(0, span.offset - 8), span.offset)
    if m is None or _dates_the_words(span, offsets) or any(
            0 <= o - (span.offset + len(span.text)) <= 2 for o in offsets):
        return False  # "The determination of 15 September decertified Colombia": the dated noun did the act
    index = words.index_at(m.start()) - 1
    if index < 0:
        return False
    noun = words.tokens[index]
    if not event_words.isdisjoint(noun.forms) or any(
            0 <= index - words.index_at(o) <= 3 for o in offsets):
        return False  # "the decertification of 15 September", "el llamado a consultas del 5 de julio"
    if noun.surface.isdigit() or len(noun.surface) < 3:
        return False
    # (only a noun: "in the week of 3 July", "a principios de mes" are not dated nouns)
    return not any(noun.surface.startswith(w) for w in ("week", "seman", "mes", "month", "day", "dia", "principio",
                                                         "mediado", "finale", "end", "start", "middle", "night",
                                                         "noche", "morning", "manana", "tarde"))


def _date_clause_before(span: DateSpan, sentence: str, clauses: list[tuple[int, int]], term_clauses: set[int],
                        offsets: list[int] | None = None) -> bool:
    """"…, on 20 October, Colombia recalled its ambassador": a clause that is
    only a date dates the clause after it."""
    index = _clause_of(clauses, span.offset)
    start, end = clauses[index]
    rest = (sentence[start:span.offset] + sentence[span.offset + len(span.text):end]).split()
    # (…and after it when the term clause ends on its weekday: "recalled its envoy again on Monday, October 20, …")
    if len(rest) > 1:
        return False
    if index + 1 in term_clauses:
        return True
    if index - 1 not in term_clauses:
        return False
    before_start, before_end = clauses[index - 1]
    # "…, the first bombing, on 4 September, …": a date-only clause right after the event's noun phrase
    return bool(_ENDS_ON_WEEKDAY.search(sentence, before_start, before_end)) or (
        offsets is not None and span.precision in ("day", "month") and any(before_start <= o and len(sentence[o:before_end].split()) <= 2 for o in offsets))


_ENDS_ON_WEEKDAY = re.compile(r"\b(?:on\s+|el\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|lunes|martes|"
                              r"mi[eé]rcoles|jueves|viernes|s[aá]bado|domingo)\s*$", re.I)


def _dated_apposition(span: DateSpan, sentence: str, clauses: list[tuple[int, int]], term_clauses: set[int]) -> bool:
    """"Trump's decertification of Colombia, dated 12 September 2025, …": a
    clause opening with "dated"/"fechado" dates the noun just before it."""
    index = _clause_of(clauses, span.offset)
    start, _end = clauses[index]
    return index - 1 in term_clauses and bool(_APPOSITION.match(sentence[start:span.offset]))


# "…, dated 12 September 2025, …", "…, ocurrida el 24 de septiembre, …", "…, announced on 21 October, …",
# "…, published in September 2024, …", "…, signed on September 5, …", "…, firmada el 3 de …": a clause
# opening with a past participle (any regular one, and the common irregular ones) dates the noun before it.
_APPOSITION = re.compile(r"\s*(?:[a-z]{3,}ed|[a-zñ]{2,}(?:ad|id)[oa]s?|made|hech[oa]s?|issued|written|escrit[oa]s?|"
                         r"taken|tomad[oa]s?|carried\s+out|put\s+in\s+place|impuest[oa]s?|dispuest[oa]s?)"
                         r"(?:\s+(?:in|en)\s+[A-Z][\w.-]+)?"  # "…, presented in Bogotá on October 23, …"
                         r"(?:\s+(?:on|in|el|en|a|the))?\s*$", re.I)



def _internal_contradictions(diff: ArticleDiff) -> None:
    """Two statements of one fact in one article that cannot both be true."""
    seen: set[tuple] = set()
    for i, a in enumerate(diff.statements):
        for b in diff.statements[i + 1:]:
            if (a.event_id, a.fact) != (b.event_id, b.fact) or (a.sentence == b.sentence and ";" not in a.sentence and (
                    a.fact == "date" or not RIVAL_BOUNDARY.search(a.sentence))):
                continue  # (two figures of one sentence only from two sides of a semicolon, a contrast, a list)
            key = (a.event_id, a.fact, a.value_text, b.value_text)
            if key in seen or statements_agree(a, b):
                continue
            seen.add(key)
            diff.contradictions.append(ContradictionHit(
                "internal", b.event_id, b.fact, b.value_text, a.value_text, b.sentence, other_sentence=a.sentence))

