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
from dataclasses import dataclass, field
from datetime import date, timedelta

from crawler.events.timeline import KnownEvent, KnownFact, Timeline
from crawler.facts import (
    DateSpan,
    Quantity,
    bound_interval,
    find_dates,
    find_quantities,
    intervals_agree,
    lead_paragraph,
    nearest_year,
    previous_value,
    split_sentences,
    stated_years,
    year_positions,
)
from crawler.text import fold, words

log = logging.getLogger(__name__)

# Action verbs as news reports them (past tense, headline present, Spanish
# preterite). Nouns ("deportations", "sanctions", "orders") are left out on
# purpose: a claim needs someone doing something.
_ACTION_VERBS = [
    "announced", "announces", "imposed", "imposes", "revoked", "revokes", "recalled", "recalls", "signed",
    "signs", "declared", "declares", "decertified", "decertifies", "sanctioned", "suspended", "suspends",
    "expelled", "expels", "arrested", "killed", "attacked", "struck", "bombed", "launched", "launches",
    "approved", "approves", "banned", "bans", "deported", "deports", "refused", "refuses", "rejected",
    "rejects", "ordered", "orders", "cancelled", "canceled", "cancels", "froze", "seized", "met", "meets",
    "visited", "visits", "designated", "designates", "withdrew", "withdraws", "slashed", "slashes", "raised",
    "blocked", "blocks", "deployed", "deploys", "telephoned", "reopened", "summoned", "extradited", "captured", "resigned", "resigns", "elected", "agreed", "agrees",
    "threatened", "threatens", "retaliated", "halted", "halts", "terminated", "closed", "closes", "lifted",
    "anuncio", "impuso", "revoco", "retiro", "llamo", "firmo", "declaro", "descertifico", "sanciono",
    "suspendio", "expulso", "detuvo", "capturo", "ataco", "bombardeo", "lanzo", "aprobo", "prohibio",
    "deporto", "rechazo", "ordeno", "cancelo", "congelo", "reunio", "visito", "renuncio", "amenazo", "cerro",
    "desplego", "convoco", "reabrio",
]
VERB_PATTERN = re.compile(r"(?<!\w)(?:" + "|".join(
    re.escape(v.rstrip("*")) + (r"\w*" if v.endswith("*") else "") for v in _ACTION_VERBS) + r")(?!\w)")
_CLAUSE_BREAK = re.compile(r"[,;:()\[\]]|\s[-–—]\s|—")
# Stricter clauses for holding a date against an event: a complement clause
# ("Petro said on 2 October that the revocation …") has its own time.
_STRICT_BREAK = re.compile(r"[,;:()\[\]]|\s[-–—]\s|—|\b(?:that|which|who|when|after|before|que|cuando|tras)\b",
                           re.I)
# "two days later", "tres días después": the date is an anchor, not the event's.
_OFFSET_PHRASE = re.compile(r"\b(?:\w+\s+)(?:days?|weeks?|months?|hours?|dias?|semanas?|meses|horas?)\s+"
                            r"(?:later|earlier|after|before|despues|antes)\b")
# "… again on 3 November": a repeat of the event, i.e. another event, not a wrong date.
_ANOTHER_TIME = re.compile(r"\b(?:again|once more|a second time|de nuevo|otra vez|nuevamente|por segunda vez)\b")
# A report the sentence denies or rejects ("Petro denied that …", "rejected claims that …",
# "negó que …") is not a statement of fact: neither its figures nor its dates nor its events.
_DENIAL = re.compile(
    r"\b(?:den(?:y|ies|ied|ying)|neg(?:o|aron|a|ando)|niega\w*|desminti\w*|desmient\w*)\b(?:\s+\w+){0,3}?\s+(?:that|que)\b|"
    r"\b(?:reject\w*|dismiss\w*|disput\w*|refut\w*|rechaz\w*|denied|denies|negaron|nego|desminti\w*)\s+"
    r"(?:the\s+|las\s+|los\s+)?(?:\w+\s+)?(?:claims?|reports?|allegations?|rumou?rs?|suggestions?|versiones|informes|"
    r"afirmaciones|acusaciones|rumores)\b|\b(?:falsely|wrongly|erroneously|falsamente|erroneamente)\b")


def _denied(folded: str, offset: int) -> bool:
    """Whether the words at ``offset`` stand in a report the sentence denies."""
    return bool(_DENIAL.search(folded[:offset]))


def _offset_from_event(folded: str, offsets: list[int]) -> bool:
    """An offset phrase dates the sentence relative to the event ("two days
    later", "months after revoking it", "a day after the revocation"), not
    when it is anchored on something else ("a month after the deadline": the
    date is then the event's own, and can disagree)."""
    for m in _OFFSET_PHRASE.finditer(folded):
        if re.match(r"\s+(?:he|she|they|we|i|el|ella|ellos)\s+\w+", folded[m.end():]):
            continue  # "two days before he was due to speak": anchored on another action
        anchor = re.match(r"\s+(?:the|a|an|his|her|its|their|el|la|los|las|su|sus)\s+", folded[m.end():])
        if anchor is None:
            return True
        noun_at = m.end() + anchor.end()
        if any(0 <= o - noun_at <= 15 for o in offsets):
            return True
    return False


# "the 24 September 2025 speech": a date modifying a noun dates that noun.
# (English only: Spanish writes "el 30 de septiembre" for "on 30 September".)
_ATTRIBUTIVE = re.compile(r"\b(?:the|his|her|its|their|a|an|this)\s*$", re.I)
STOPWORDS = set("""the a an and or of to in on at by for with from as that this these those its his her their
their our is was were be been has have had it he she they them which who whom what when where while after before
than then there also said says would will could should may might not no but into over about against between
el la los las un una y o de del en con por para que se su sus al lo como mas pero sin sobre entre""".split())


@dataclass
class MentionHit:
    event_id: str
    sentence: str
    start: int
    end: int
    confidence: float
    in_lead: bool


@dataclass
class StatementHit:
    event_id: str | None
    fact: str  # fact name, or "date"
    value: float | None  # display unit for figures; ordinal of the first day for dates
    unit: str | None  # display unit for figures; precision for dates
    bound: str
    value_text: str
    sentence: str
    start: int
    end: int
    interval: tuple[float, float]  # base units, or day ordinals


@dataclass
class CandidateHit:
    date_start: date
    precision: str
    title: str
    actors: list[str]
    verb: str
    sentence: str
    start: int
    end: int


@dataclass
class ContradictionHit:
    kind: str  # timeline | internal
    event_id: str | None
    fact: str
    stated_value: str
    known_value: str
    sentence: str
    other_sentence: str | None = None
    known_source: str | None = None


@dataclass
class ArticleDiff:
    mentions: list[MentionHit] = field(default_factory=list)
    statements: list[StatementHit] = field(default_factory=list)
    candidates: list[CandidateHit] = field(default_factory=list)
    contradictions: list[ContradictionHit] = field(default_factory=list)


def _clauses(sentence: str, strict: bool = False) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in (_STRICT_BREAK if strict else _CLAUSE_BREAK).finditer(sentence):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(sentence)))
    return spans


def _clause_of(clauses: list[tuple[int, int]], offset: int) -> int:
    for index, (s, e) in enumerate(clauses):
        if s <= offset < e or (offset == e and index == len(clauses) - 1):
            return index
    return len(clauses) - 1


def _opens_sentence(span: DateSpan, sentence: str, clauses: list[tuple[int, int]]) -> bool:
    """'On January 26, …' / 'El 15 de septiembre, …': a date that opens the
    sentence on its own dates the whole sentence, not just its first clause."""
    first_start, first_end = clauses[0]
    if not (first_start <= span.offset < first_end):
        return False
    rest = (sentence[first_start:span.offset] + sentence[span.offset + len(span.text):first_end]).split()
    return len(rest) <= 2


def _match_event(event: KnownEvent, folded: str, original: str) -> tuple[float, list[int]] | None:
    """(confidence, offsets of the words that named it) or None."""
    hits = [m.start() for p in event.alias_patterns for m in p.finditer(folded, original)]
    if hits:
        return 0.85, hits
    if event.term_groups and any(p.search(folded, original) for p in event.actor_patterns):
        for group in event.term_groups:
            found = [p.search(folded, original) for p in group]
            if all(found):
                return 0.7, [m.start() for m in found]
    return None


def date_value(day: date) -> float:
    """How a stated date is stored in ``fact_statements.value``: 20250926 for
    26 September 2025 (readable in SQL, sorts like the date); ``unit`` holds
    the precision (day, month)."""
    return float(day.year * 10000 + day.month * 100 + day.day)


def value_date(value: float) -> date:
    number = int(value)
    return date(number // 10000, number // 100 % 100, number % 100)


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
    named: list[bool] = []
    paragraph_events: dict[int, set[str]] = {}
    per_sentence = []
    for sentence in sentences:
        folded = fold(sentence.text)
        dates = find_dates(sentence.text, published, date_order, language)
        per_sentence.append((folded, dates))
        found = _sentence_events(diff, timeline, sentence, folded, dates, today, lead)
        named.append(bool(found))
        paragraph_events.setdefault(sentence.paragraph, set()).update(found)
    for index, sentence in enumerate(sentences):
        folded, dates = per_sentence[index]
        _fact_statements(diff, timeline, sentence, folded, paragraph_events.get(sentence.paragraph, set()), language)
        if not named[index]:
            candidate = _candidate(sentence, folded, dates, timeline, published, today,
                                   is_lede=index == lede_index)
            if candidate:
                diff.candidates.append(candidate)
    _internal_contradictions(diff)
    return diff


def _sentence_events(diff: ArticleDiff, timeline: Timeline, sentence, folded: str, dates: list[DateSpan],
                     today: date, lead: int | None) -> set[str]:
    """Mentions and date statements of known events in one sentence; returns
    the events it names (an event whose date the sentence rules out is not
    named: the sentence may then propose a candidate)."""
    named: set[str] = set()
    window = timeline.settings.contradiction_window_days
    clauses = _clauses(sentence.text)
    for event in timeline.events:
        match = _match_event(event, folded, sentence.text)
        if match is None:
            continue
        confidence, offsets = match
        start, end = event.interval(today)
        term_clauses = {_clause_of(clauses, o) for o in offsets}
        near = [d for d in dates if (_clause_of(clauses, d.offset) in term_clauses
                                     or _opens_sentence(d, sentence.text, clauses)
                                     or _dated_apposition(d, sentence.text, clauses, term_clauses)
                                     or _date_clause_before(d, sentence.text, clauses, term_clauses))
                and not _dates_another_action(d, folded, offsets)]
        agreeing = [d for d in near if d.overlaps(start, end, slack_days=1)]
        if near and not agreeing:
            strict = _clauses(sentence.text, strict=True)
            strict_terms = {_clause_of(strict, o) for o in offsets}
            held = [d for d in near if (_clause_of(strict, d.offset) in strict_terms
                                        or _opens_sentence(d, sentence.text, clauses)
                                        or _dated_apposition(d, sentence.text, clauses, term_clauses)
                                        or _date_clause_before(d, sentence.text, clauses, term_clauses))
                    and not _ATTRIBUTIVE.search(sentence.text[:d.offset])]
            if held:
                if _denied(folded, min(offsets)) or _ANOTHER_TIME.search(folded):
                    continue  # a denied report, or a repeat ("decertified again on …"): not this event
                wrong = [d for d in held if d.precision in ("day", "month") and d.distance_days(start, end) <= window]
                if not _offset_from_event(folded, offsets):
                    if len(wrong) == 1 and len(near) == 1:
                        stated = wrong[0]
                        named.add(event.id)
                        diff.statements.append(StatementHit(
                            event.id, "date", date_value(stated.start), stated.precision, "exact", stated.text,
                            sentence.text, sentence.start, sentence.end, _date_interval(stated)))
                        diff.contradictions.append(ContradictionHit(
                            "timeline", event.id, "date", stated.label(), event.date_label(), sentence.text,
                            known_source=event.source))
                    continue
                # "… restored Petro's visa, two months after revoking it": the date is the
                # event's plus an offset, so the event is named, undated.
            # The clause's date belongs to something else (a saying, a speech): the event is named undated.
        named.add(event.id)
        if agreeing:
            confidence += 0.1
            best = agreeing[0]
            if best.precision in ("day", "month"):
                diff.statements.append(StatementHit(
                    event.id, "date", date_value(best.start), best.precision, "exact", best.text,
                    sentence.text, sentence.start, sentence.end, _date_interval(best)))
        elif any(d.overlaps(start, end, slack_days=1) for d in dates):
            confidence += 0.05
        diff.mentions.append(MentionHit(event.id, sentence.text, sentence.start, sentence.end,
                                        round(min(confidence, 1.0), 2), sentence.paragraph == lead))
    return named


# "The Senate voted on Tuesday to summon the minister over the US sanctions": the words between the
# date and the event's say the event is what another, dated action is about.
# So do the verbs of reacting to something: "met on Wednesday to debate the sanctions".
# ("in over 30 years", "about 40 days": amounts, not what something is about.)
_ABOUT_EVENT = re.compile(r"\b(?:(?:over|about)(?!\s+(?:a\s+)?\d)|regarding|concerning|because of|in response to|in protest (?:at|over|against)|"
                          r"to (?:debate|discuss|summon|protest|condemn|denounce|respond|answer|review|consider|"
                          r"challenge|question|examine|investigate|analy[sz]e)|"
                          r"por|sobre|en respuesta a|a causa de|para (?:debatir|discutir|analizar|rechazar|condenar))\b")


def _dates_another_action(span: DateSpan, folded: str, offsets: list[int]) -> bool:
    """A date before the event's words with "over/about/por …" between them
    dates the action about the event, not the event."""
    end = span.offset + len(span.text)
    first = min(offsets)
    return end <= first and bool(_ABOUT_EVENT.search(folded[end:first]))


def _date_clause_before(span: DateSpan, sentence: str, clauses: list[tuple[int, int]], term_clauses: set[int]) -> bool:
    """"…, on 20 October, Colombia recalled its ambassador": a clause that is
    only a date dates the clause after it."""
    index = _clause_of(clauses, span.offset)
    start, end = clauses[index]
    rest = (sentence[start:span.offset] + sentence[span.offset + len(span.text):end]).split()
    return index + 1 in term_clauses and len(rest) <= 1


def _dated_apposition(span: DateSpan, sentence: str, clauses: list[tuple[int, int]], term_clauses: set[int]) -> bool:
    """"Trump's decertification of Colombia, dated 12 September 2025, …": a
    clause opening with "dated"/"fechado" dates the noun just before it."""
    index = _clause_of(clauses, span.offset)
    start, _end = clauses[index]
    return index - 1 in term_clauses and bool(
        re.match(r"\s*(?:dated|fechad[oa]s?)\s*$", sentence[start:span.offset], re.I))


def _before_event(event: KnownEvent, folded: str, original: str) -> bool:
    """'… was 6.8 percent before the deportation standoff': the figure is
    about another time than the event."""
    match = _match_event(event, folded, original)
    return bool(match) and any(re.search(r"\b(?:before|prior to|until|antes de|hasta)\s+(?:the\s+|el\s+|la\s+)?$",
                                         folded[max(0, o - 20):o]) for o in match[1])


# Figures said to be possible, planned or threatened are not statements of fact.
_HYPOTHETICAL = re.compile(r"(?:^|\W)(?:could|would|will|might|may|plans?\s+to|threat\w*\s+to|propos\w*\s+to|rais\w*(?:\s+\w+)?\s+to|"
                           r"ris\w*\s+to|increas\w*(?:\s+\w+)?\s+to|hik\w*(?:\s+\w+)?\s+to|double\w*\s+to|"
                           r"podria\w*|subir\w*\s+a|elevar\w*\s+a|amenaz\w*\s+con\s+\w+(?:ar|er|ir)|propus\w*|propon\w*)"
                           r"(?:\W+\w+){0,3}\W*$")


# After a figure, its clause saying it is conditional: "50% tariffs if Colombia …".
_CONDITION_AFTER = re.compile(r"^[^,;:]{0,40}?\b(?:if|unless|si|a menos que|en caso de que)\b")
# A part of the total: "Of that, $45 million …", "of which $59 million", "de los cuales 38 millones".
_PART_BEFORE = re.compile(r"(?:\bof\s+(?:that|this|it|which|those|these|them|the\s+total)|\bincluding|"
                          r"\bde\s+(?:los|las)\s+cuales|\bde\s+(?:ese|esa|esos|esas|ellos|ellas)|\bincluid[oa]s?)"
                          r"\W+(?:\w+\W+){0,2}$")
# A purpose or recipient after the figure or the fact's keyword: "$59 million for alternative
# development", "funding for rural development", "ayuda a la sustitución de cultivos",
# "$112 million went to the national police". The fact's own subject ("for Colombia") is not one.
_PURPOSE = r"(?:for|para|destinad\w*\s+a|went\s+to|goes\s+to|go\s+to|fue(?:ron)?\s+(?:para|a)|se\s+destin\w+\s+a)"
_PURPOSE_AFTER_FIGURE = re.compile(rf"^\s*(?:(?:in|of|de|en)\s+)?(?:[\w'.-]+\s+){{0,3}}?{_PURPOSE}\s+(?P<target>[^,;]{{0,30}})")
_PURPOSE_AFTER_KEYWORD = re.compile(
    r"^\s*(?:(?:estadounidense|norteamericana|americana|us|u\.s\.|total|exterior)\s+)?"
    r"(?:for|para|to|a|al|a\s+la|a\s+los|a\s+las)\s+(?P<target>[^,;]{0,30})")
_OWN_TARGET = re.compile(r"^(?:the\s+|el\s+)?(?:colombia\b(?!')|bogota\b|country\b|pais\b|fiscal\b|fy\b|\d|"
                         r"(?:the|this|last|that)\s+year\b|(?:el|este)\s+ano\b)")
# A keyword with a modifier naming a programme: "crop-substitution assistance", "military aid",
# "ayuda militar". Modifiers that keep the total: "US aid", "total assistance", "foreign aid".
_TOTAL_MODIFIERS = {"total", "overall", "foreign", "annual", "yearly", "bilateral", "american", "federal", "direct",
                    "official", "combined", "entire", "whole", "u.s", "us", "washington's", "america's", "more",
                    "much", "less", "such", "dollars", "dolares", "worth", "punitive", "retaliatory", "sweeping",
                    "emergency", "steep", "blanket", "heavy", "hefty", "new"}
_PREPOSITIONS = {"under", "over", "into", "onto", "about", "across", "against", "through", "toward", "towards",
                 "within", "without", "between", "among", "beyond", "throughout", "despite", "upon", "near"}
# Spanish puts the modifier after the noun; "arancel general", "arancel base" are general rates.
_PROGRAMME_AFTER = re.compile(r"^\s+(?:general\w*|universal\w*|base\b|basic\w*|militar\w*|humanitari\w*|antidrogas|antinarcoticos|policial\w*|judicial\w*|"
                              r"electoral\w*|alimentari\w*|para\s+el\s+desarrollo)\b")
# Other countries: "Ecuador received $95 million in US aid" is not Colombia's aid.
_OTHER_COUNTRIES = re.compile(
    r"\b(?:ecuador\w*|ecuatorian\w*|peru\b|peruvian\w*|peruan\w*|bolivia\w*|venezuela\w*|venezolan\w*|mexic\w*|"
    r"brazil\w*|brasil\w*|panama\w*|hondura\w*|guatemal\w*|el salvador|salvador\w+|haiti\w*|argentin\w*|"
    r"chile\b|chilean\w*|nicaragu\w*|cuba\b|cuban\w*|paraguay\w*|uruguay\w*|costa rica\w*|israel\w*|ukrain\w*|"
    r"ucrania\w*|egypt\w*|egipto|jordan\b|jordania|afghan\w*|afgan\w*)")


# "USAID's share of the 2024 assistance", "a portion of the aid": a part, unless the share is the
# fact's own place's ("Colombia's share of US aid" is Colombia's total).
_SHARE = re.compile(r"(?:(?P<owner>[\w.-]+)'s\s+|\b(?:a|the|its|their)\s+)(?:\w+\s+)?(?:share|portion|part|slice|fraction|chunk|"
                    r"proportion)\s+of\b|\b(?:parte|porcion|tajada)\s+de\b")
# "The Colombian navy alone absorbed $140 million …": one recipient among others.
# ("In 2024 alone", "this year alone" are a time, not a recipient.)
_ALONE = re.compile(r"(?P<owner>(?!(?:\d+|year|month|week|quarter|period)\b)[\w.-]+)\s+alone\b")
# A tariff or aid "on US goods", "sobre productos estadounidenses": the other direction.
_ON_THE_US = re.compile(r"^\s+(?:\w+\s+){0,2}?(?:on|against|sobre|contra|a)\s+(?:(?:the|los|las|el|la)\s+)?"
                        r"(?:(?:goods|imports|products|productos|bienes|importaciones)\s+(?:from\s+|de\s+)?)?"
                        r"(?:us|u\.s\.?|american|united states|estados unidos|estadounidense\w*|norteamerican\w*)\b")


def _own_place(fact: KnownFact, event: KnownEvent, word: str) -> bool:
    return any(p.search(word) for p in fact.context) or any(p.search(word, word) for p in event.actor_patterns)


def _a_part(fact: KnownFact, event: KnownEvent, folded: str, q: Quantity) -> bool:
    """A share of the total named before the figure ("USAID's share of …
    was $210 million", "the navy alone absorbed $140 million of …")."""
    before = folded[:q.start]
    for pattern in (_SHARE, _ALONE):
        for m in pattern.finditer(before):
            owner = m.groupdict().get("owner")
            if not (owner and _own_place(fact, event, owner)):
                return True
    return False


def _not_the_fact(fact: KnownFact, event: KnownEvent, text: str, folded: str, q: Quantity,
                  keywords: list[tuple[int, int]], language: str | None = None) -> str | None:
    """Why the figure ``q`` is not a statement of ``fact`` (None: it is).

    Each rule comes from a false contradiction on text the code had not seen
    (docs/events.md): the keyword must stand close to the figure (before it,
    or just after it in the same clause); the figure must not be possible,
    threatened, conditional or denied; not a value the sentence compares with
    ("up from X") unless its own year follows; not a part of the total or a
    programme ("$59 million for alternative development", "military aid");
    and not another country's."""
    before = [k for k in keywords if k[1] <= q.start and q.start - k[1] <= 60]
    after = [k for k in keywords if k[0] >= q.end and k[0] - q.end <= 30 and not re.search(r"[,;:()]", text[q.end:k[0]])]
    if not before and not after:
        return "no keyword close to it"
    if _HYPOTHETICAL.search(folded[max(0, q.start - 40):q.start]) or _CONDITION_AFTER.search(folded[q.end:]):
        return "possible, planned or conditional"
    if _denied(folded, q.start):
        return "in a denied report"
    if previous_value(text, q) and not re.match(r"\s*(?:in|en|del?|for)?\s*(?:FY\s*)?(?:19|20)\d\d\b", text[q.end:]):
        return "the value it is compared with"
    if _PART_BEFORE.search(folded[max(0, q.start - 30):q.start]) or _a_part(fact, event, folded, q):
        return "a part of a total"
    if any(_ON_THE_US.match(folded[k[1]:]) for k in before + after):
        return "the other direction (on US goods)"
    # Every close keyword counts: "provided $45 million in crop-substitution assistance".
    for purpose in [_PURPOSE_AFTER_FIGURE.match(folded[q.end:])] + [
            _PURPOSE_AFTER_KEYWORD.match(folded[k[1]:]) for k in before + after]:
        if purpose and not _OWN_TARGET.match(purpose.group("target")):
            return f"for a purpose or recipient ({purpose.group('target').strip()})"
    if any(_programme_modifier(text, folded, k, q, language) for k in before + after):
        return "a programme's share"
    if _other_country(fact, event, text, folded, q):
        return "another country's"
    return None


def _programme_modifier(text: str, folded: str, keyword: tuple[int, int], q: Quantity,
                        language: str | None) -> bool:
    """'crop-substitution assistance', 'military aid', 'ayuda militar': the
    keyword names a programme, not the total. English puts the modifier
    before the noun, Spanish after it; a past-tense keyword ('provided') has
    its subject before it, not a modifier."""
    word = folded[keyword[0]:keyword[1]]
    if _PROGRAMME_AFTER.match(folded[keyword[1]:]):
        return True
    if word.endswith("ed") or (language or "en")[:2] == "es":
        return False
    window_start = max(keyword[0] - 30, q.end if q.end <= keyword[0] else 0)
    modifier = re.search(r"(?<![\w'.-])([A-Za-z][\w'.-]*)\s+$", text[window_start:keyword[0]])
    if not modifier:
        return False
    raw = modifier.group(1)
    key = fold(raw).rstrip(".")
    return (raw[:1].islower() and len(key) >= 4 and key not in _TOTAL_MODIFIERS and key not in STOPWORDS
            and key not in _PREPOSITIONS  # "320,000 hectares under coca"
            and not key.endswith(("ly", "ed")) and not key.isdigit())  # adverbs and verbs: "threatened tariffs"


_COMPARISON = re.compile(r"\b(?:against|versus|vs|compared\s+(?:with|to)|while|whereas|than|frente\s+a|contra|"
                         r"mientras)\b")


def _other_country(fact: KnownFact, event: KnownEvent, text: str, folded: str, q: Quantity) -> bool:
    """Whether the place nearest the figure, preferably in its clause, is
    another country than the fact's own (its ``context`` and the event's actors)."""
    places = [(m.start(), m.end(), False) for p in fact.context for m in p.finditer(folded)]
    places += [(m.start(), m.end(), False) for p in event.actor_patterns for m in p.finditer(folded, text)]
    own = list(places)
    places += [(m.start(), m.end(), True) for m in _OTHER_COUNTRIES.finditer(folded)
               if not any(s <= m.start() < e for s, e, _ in own)]
    if not any(foreign for _s, _e, foreign in places):
        return False
    # "about 2,000 hectares in 2023 against Colombia's 253,000": a place after a comparison word
    # belongs to the other side of the comparison.
    places = [p for p in places if not (p[0] >= q.end and _COMPARISON.search(folded[q.end:p[0]]))]
    if not places:
        return False
    clauses = _clauses(text)
    mine = _clause_of(clauses, q.start)
    same = [p for p in places if _clause_of(clauses, p[0]) == mine] or places

    def gap(place):
        start, end, _foreign = place
        return q.start - end if end <= q.start else max(0, start - q.end)

    return min(same, key=gap)[2]


# A figure stated for the present, with no year, is not a past year's fact.
_PRESENT = re.compile(r"\b(?:now|currently|these days|at present|presently|ahora|actualmente)\b")


def _fact_statements(diff: ArticleDiff, timeline: Timeline, sentence, folded: str, paragraph_events: set[str],
                     language: str | None = None) -> None:
    quantities: list[Quantity] | None = None
    for event in timeline.events:
        for fact in event.facts:
            if fact.require_event and (event.id not in paragraph_events or _before_event(event, folded, sentence.text)):
                continue
            keywords = [m.span() for p in fact.keywords for m in p.finditer(folded)]
            if not keywords:
                continue
            if fact.context and not any(p.search(folded) for p in fact.context):
                continue
            years = stated_years(sentence.text)
            if fact.year is not None and (fact.year not in years if years else
                                          fact.require_year or _PRESENT.search(folded)):
                continue  # another year's figure, or today's ("Colombia now has …") for a past year's fact
            if quantities is None:
                quantities = find_quantities(sentence.text)
            near = []
            for q in (q for q in quantities if q.family == fact.family):
                reason = _not_the_fact(fact, event, sentence.text, folded, q, keywords, language)
                if reason:
                    log.debug("events: %s: %r not read as %s (%s)", event.id, q.text, fact.name, reason)
                else:
                    near.append(q)
            if fact.year is not None and years:
                positions = year_positions(sentence.text)
                near = [q for q in near if nearest_year(positions, q.start) == fact.year]
            if len({round(q.value, 6) for q in near}) > 1:
                log.debug("events: %s: several figures near %r, none attached: %s", fact.name,
                          fact.name, sentence.text[:120])
                continue  # which one is the fact is unclear
            if not near:
                continue
            q = near[0]
            diff.statements.append(StatementHit(
                event.id, fact.name, fact.display(q.value), fact.unit, q.bound, q.text, sentence.text,
                sentence.start, sentence.end, q.interval()))
            if fact.value is not None:
                known = bound_interval(fact.value, "exact", fact.rel_tol)
                if not intervals_agree(q.interval(), known):
                    diff.contradictions.append(ContradictionHit(
                        "timeline", event.id, fact.name, _stated_label(q, fact), fact.describe(), sentence.text,
                        known_source=fact.source))


def _stated_label(q: Quantity, fact: KnownFact) -> str:
    bound = {"min": "at least ", "max": "at most ", "about": "about ", "exact": "", "range": ""}[q.bound]
    converted = fact.display(q.value)
    return f"{q.text} ({bound}{converted:,.6g} {fact.unit})"


def _internal_contradictions(diff: ArticleDiff) -> None:
    """Two statements of one fact in one article that cannot both be true."""
    seen: set[tuple] = set()
    for i, a in enumerate(diff.statements):
        for b in diff.statements[i + 1:]:
            if (a.event_id, a.fact) != (b.event_id, b.fact) or a.sentence == b.sentence:
                continue
            key = (a.event_id, a.fact, a.value_text, b.value_text)
            if key in seen or statements_agree(a, b):
                continue
            seen.add(key)
            diff.contradictions.append(ContradictionHit(
                "internal", b.event_id, b.fact, b.value_text, a.value_text, b.sentence, other_sentence=a.sentence))


def statements_agree(a, b) -> bool:
    """Whether two statements of the same fact can both be true (dates get a
    day of slack for time zones)."""
    slack = 1.0 if a.fact == "date" else 0.0
    ia, ib = a.interval, b.interval
    return ia[0] - slack <= ib[1] and ib[0] - slack <= ia[1]


def content_words(text: str) -> set[str]:
    """The words that make two sentences similar (six-letter stems of the longer words)."""
    return {w[:6] for w in words(text) if len(w) >= 4 and w not in STOPWORDS and not w.isdigit()}


def similarity(a: str, b: str) -> float:
    wa, wb = content_words(a), content_words(b)
    return len(wa & wb) / len(wa | wb) if wa and wb else 0.0


def _short_title(sentence: str, limit: int = 110) -> str:
    if len(sentence) <= limit:
        return sentence
    return sentence[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


# "could meet", "will visit", "plans to sign", "podría firmar": not done (yet).
_MODAL_BEFORE = re.compile(r"\b(?:could|would|will|might|may|shall|to|podria\w*|va|van|vaya\w*)\s+(?:\w+\s+)?$")
# Verbs that, in a short last clause, only say who reported the news: "…, anunció la Casa Blanca."
_ATTRIBUTION_VERBS = {"announced", "announces", "anuncio"}


def _action_verb(sentence: str, folded: str):
    """The first action verb reporting something done: not in a denied
    report ("denied reports that Washington had decertified …"), not after a
    modal ("could meet", "will visit"), and not a trailing attribution
    ("Trump visitará Colombia en marzo, anunció la Casa Blanca": the visit
    is the news, and it has not happened)."""
    clauses = _clauses(sentence)
    for verb in VERB_PATTERN.finditer(folded):
        if _DENIAL.match(folded, verb.start()):
            continue  # "Petro rejected reports that …": the denial; its dates are the denied report's
        if _denied(folded, verb.start()) or _MODAL_BEFORE.search(folded[max(0, verb.start() - 30):verb.start()]):
            continue
        index = _clause_of(clauses, verb.start())
        last_start, last_end = clauses[-1]
        if (verb.group(0) in _ATTRIBUTION_VERBS and len(clauses) > 1 and index == len(clauses) - 1
                and len(sentence[last_start:last_end].split()) <= 6):
            continue
        return verb
    return None


def _candidate(sentence, folded: str, dates: list[DateSpan], timeline: Timeline, published: date | None,
               today: date, is_lede: bool) -> CandidateHit | None:
    verb = _action_verb(sentence.text, folded)
    if not verb:
        return None
    actors = [name for name, p in zip(timeline.watch_names, timeline.watch_actors) if p.search(folded, sentence.text)]
    if not actors:
        return None
    window = timedelta(days=timeline.settings.candidate_window_days)
    # The dates of the verb's clause date the action when there are any: "expelled a diplomat
    # in 1998, a precedent Petro cited on Monday" is background, not Monday's news.
    clauses = _clauses(sentence.text)
    own = [d for d in dates if _clause_of(clauses, d.offset) == _clause_of(clauses, verb.start())]
    usable = [d for d in own or dates if d.precision in ("day", "month")
              and today - window <= d.end and d.start <= today + timedelta(days=31)]
    if usable:
        chosen = min(usable, key=lambda d: abs(d.offset - verb.start()))
        start, precision = chosen.start, chosen.precision
    elif own and not usable:
        return None
    elif is_lede and published is not None and not dates:
        # The lede reports the news of the day: undated, it happened around publication.
        start, precision = date(published.year, published.month, 1), "month"
    else:
        return None
    if precision == "day" and _facet_of_known_event(timeline, start, folded, sentence.text):
        return None
    return CandidateHit(start, precision, _short_title(sentence.text), actors, verb.group(0), sentence.text,
                        sentence.start, sentence.end)


def _facet_of_known_event(timeline: Timeline, day: date, folded: str, original: str) -> bool:
    """A claim dated the very day of a known (single-day) event and naming one
    of its actors is most often that event told in other words ("Trump
    imposed a 25% tariff on Colombian goods on January 26" was the deportation
    stand-off), not a new one. Ongoing ranges and month-precise events are
    too wide for this."""
    return any(event.precision == "day" and event.start == day
               and any(p.search(folded, original) for p in event.actor_patterns) for event in timeline.events)
