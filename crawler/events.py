"""The event diff: what each article says about a timeline of known events.

For every relevant article it answers three questions, sentence by sentence:

1. **Which known events does it mention?** A sentence mentions an event when
   one of the event's aliases appears in it (or all terms of one of its
   ``terms`` groups plus one of its actors), and no date stated in the same
   clause disagrees with the event's date. → ``event_mentions``
2. **Which dated claims match no known event?** A sentence with a resolved
   date, an action verb and a watched actor that mentions no known event
   becomes a *candidate*; reports of the same claim by several outlets are
   one candidate with several sources. → ``event_candidates`` /
   ``candidate_sources``
3. **What does it contradict?** A date stated for a known event, or a figure
   stated for a known fact, that disagrees with the timeline (``timeline``),
   with another article (``article``) or with the article itself
   (``internal``). Figures are compared as intervals after unit conversion,
   so bounds ("exceeding"), approximations ("nearly") and rounding are not
   disagreements. → ``fact_statements`` / ``contradictions``

Precision comes first: a figure is attached to a fact only when the sentence
names one of the fact's keywords near it, in the fact's year, and a date is
held against an event only when it stands in the same clause as the words
that name the event. ``docs/events.md`` describes the timeline file and the
measured precision/recall.

The analysis of one text (:func:`diff_text`) is a pure function; the stage
only stores its result and compares it with other archived articles.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import delete, func, or_, select, update

from crawler.facts import (
    DateSpan,
    previous_value,
    Quantity,
    bound_interval,
    find_dates,
    find_quantities,
    format_date,
    intervals_agree,
    lead_paragraph,
    month_interval,
    parse_fact_value,
    relative_tolerance,
    nearest_year,
    split_sentences,
    stated_years,
    year_positions,
)
from crawler.stages import Stage
from crawler.text import fold, words
from newsmon.config import ConfigError, parse_yaml_text, read_yaml_file
from storage.models import (
    Article,
    CandidateSource,
    Contradiction,
    Event,
    EventCandidate,
    EventFact,
    EventMention,
    FactStatement,
    Source,
    utcnow,
)

log = logging.getLogger(__name__)

# --- the timeline file ------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DateRange(_Strict):
    from_: date | str = Field(alias="from")
    to: date | str | None = None


class FactSpec(_Strict):
    """A named figure of an event: ``{value: 590, unit: million USD, keywords:
    [aid], year: 2024}``. A figure in an article is attached to it only when a
    keyword stands near the figure, the unit is of the same kind, the year
    (if given) is the one stated, and one ``context`` word (if given) is in
    the sentence."""

    value: float | None = None
    unit: str
    source: str | None = None
    keywords: list[str] = Field(default_factory=list)
    year: int | None = None
    require_year: bool = Field(False, description="only attach figures from sentences that state the year")
    context: list[str] = Field(default_factory=list)
    require_event: bool = Field(False, description="only attach figures in paragraphs that mention the event")

    @model_validator(mode="after")
    def _unit_known(self) -> "FactSpec":
        if parse_fact_value(f"1 {self.unit}") is None:
            raise ValueError(f"unknown unit {self.unit!r} (use %, USD / million USD, ha, acres, tons)")
        if not self.keywords:
            raise ValueError("a fact needs keywords: the words that say a figure is about it")
        return self


class EventSpec(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    date: date | str | DateRange
    title: str = Field(min_length=1)
    actors: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    terms: list[list[str]] = Field(default_factory=list, description="groups of terms that, with an actor, name it")
    facts: dict[str, FactSpec | str] = Field(default_factory=dict)
    source: str | None = None

    @field_validator("date")
    @classmethod
    def _date_parses(cls, value):
        parse_event_date(value)
        return value

    @field_validator("facts")
    @classmethod
    def _short_facts(cls, facts: dict) -> dict:
        out = {}
        for name, spec in facts.items():
            if isinstance(spec, str):
                if parse_fact_value(spec) is None:
                    raise ValueError(f"{name}: cannot read {spec!r} as a value with a unit (e.g. '25 %')")
                value, _family, unit, _tol = parse_fact_value(spec)
                scale = parse_fact_value(f"1 {unit}")[0]
                keywords = [w for w in name.split("_") if len(w) >= 4 and not w.isdigit()]
                spec = FactSpec(value=value / scale, unit=unit, keywords=keywords or [name])
            out[name] = spec
        return out

    @model_validator(mode="after")
    def _nameable(self) -> "EventSpec":
        if not self.aliases and not self.terms:
            raise ValueError("an event needs aliases or terms, or no article can mention it")
        if self.terms and not self.actors:
            raise ValueError("terms only match together with an actor: list the actors")
        return self


class Settings(_Strict):
    candidate_window_days: int = Field(365, gt=0, description="older dated claims are background, not candidates")
    contradiction_window_days: int = Field(90, gt=0, description="a date further off is another event")
    actors: list[str] = Field(default_factory=list, description="who candidates must involve (plus event actors)")


class TimelineFile(_Strict):
    settings: Settings = Field(default_factory=Settings)
    events: list[EventSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> "TimelineFile":
        seen: set[str] = set()
        for index, event in enumerate(self.events):
            if event.id in seen:
                raise ValueError(f"events[{index}] ({event.id}): duplicate id")
            seen.add(event.id)
        return self


def parse_event_date(value) -> tuple[date, date | None, str]:
    """'2025-01-26' → day; '2025-09' → month; {from, to} → range (``to``
    missing = still going on)."""
    if isinstance(value, DateRange) or isinstance(value, dict):
        rng = value if isinstance(value, DateRange) else DateRange.model_validate(value)
        start = parse_event_date(rng.from_)[0]
        end = parse_event_date(rng.to)[1] if rng.to is not None else None
        if end is not None and end < start:
            raise ValueError("range ends before it starts")
        return start, end, "range"
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value, value, "day"
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = date.fromisoformat(text)
        return day, day, "day"
    if re.fullmatch(r"\d{4}-\d{2}", text):
        year, month = map(int, text.split("-"))
        if not 1 <= month <= 12:
            raise ValueError(f"no month {month} in {text!r}")
        return (*month_interval(year, month), "month")
    if re.fullmatch(r"\d{4}", text):
        year = int(text)
        return date(year, 1, 1), date(year, 12, 31), "year"
    raise ValueError(f"cannot read date {text!r} (use 2025-01-26, 2025-09, 2025 or {{from: …, to: …}})")


def _phrase_pattern(phrase: str, folded: bool = True) -> re.Pattern:
    """An alias or term as a folded regex: whole words, any spacing, and a
    trailing '*' for any ending ('revo*' = revoke, revoked, revocation)."""
    parts = []
    for word in (fold(phrase) if folded else phrase).split():
        wildcard = word.endswith("*")
        word = word.rstrip("*")
        parts.append(re.escape(word) + (r"\w*" if wildcard else ""))
    return re.compile(r"(?<!\w)" + r"[\s\-]+".join(parts) + r"(?!\w)")


@dataclass(frozen=True)
class Phrase:
    """A phrase to find in a sentence. Folded (case and accents ignored),
    except short acronyms ('US', 'OFAC'), which must keep their capitals so
    'US' is not the pronoun 'us'."""

    pattern: re.Pattern
    exact_case: bool
    needle: str  # a literal part every match contains: a cheap test before the regex

    @classmethod
    def of(cls, phrase: str) -> "Phrase":
        letters = re.sub(r"[^A-Za-z]", "", phrase)
        acronym = bool(letters) and letters.isupper() and len(letters) <= 5
        text = phrase if acronym else fold(phrase)
        needle = max(re.findall(r"\w+", text.replace("*", " ")) or [""], key=len)
        return cls(_phrase_pattern(phrase, folded=not acronym), acronym, needle)

    def finditer(self, folded: str, original: str):
        text = original if self.exact_case else folded
        return self.pattern.finditer(text) if self.needle in text else iter(())

    def search(self, folded: str, original: str):
        text = original if self.exact_case else folded
        return self.pattern.search(text) if self.needle in text else None


@dataclass
class KnownFact:
    name: str
    event_id: str
    value: float | None  # in the family's base unit
    family: str
    unit: str  # display unit, e.g. "million USD"
    scale: float  # base units per display unit
    rel_tol: float
    text: str | None
    source: str | None
    keywords: list[re.Pattern]
    year: int | None
    require_year: bool
    context: list[re.Pattern]
    require_event: bool

    def display(self, base_value: float) -> float:
        return base_value / self.scale

    def describe(self) -> str:
        return self.text or "(no value in the timeline)"


@dataclass
class KnownEvent:
    id: str
    title: str
    start: date
    end: date | None
    precision: str
    actors: list[str]
    aliases: list[str]
    source: str | None
    alias_patterns: list[Phrase]
    term_groups: list[list[Phrase]]
    actor_patterns: list[Phrase]
    facts: list[KnownFact]

    def interval(self, today: date | None = None) -> tuple[date, date]:
        return self.start, self.end or (today or date.today())

    def date_label(self) -> str:
        if self.precision == "range":
            return f"{self.start.isoformat()} – {self.end.isoformat() if self.end else 'ongoing'}"
        return format_date(self.start, self.precision)


@dataclass
class Timeline:
    events: list[KnownEvent] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)
    path: Path | None = None
    watch_actors: list[Phrase] = field(default_factory=list)
    watch_names: list[str] = field(default_factory=list)

    def get(self, event_id: str) -> KnownEvent | None:
        return next((e for e in self.events if e.id == event_id), None)


def _location(loc: tuple, data: Any) -> str:
    out = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
            if index == 1 and loc[0] == "events" and isinstance(data, dict):
                events = data.get("events") or []
                if part < len(events) and isinstance(events[part], dict) and events[part].get("id"):
                    out += f" ({events[part]['id']})"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


_UNION_NOISE = {"string_type", "date_type", "date_parsing", "date_from_datetime_parsing", "model_type",
                "dict_type"}


def parse_timeline(data: Any, origin: str, path: Path | None = None) -> Timeline:
    """Validate a parsed timeline (a list of events, or ``{settings, actors?,
    events}``); problems become one :class:`ConfigError` naming the file, the
    event and the field."""
    if data is None:
        data = {"events": []}
    if isinstance(data, list):
        data = {"events": data}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the timeline must be a list of events or a mapping with 'events'")
    try:
        parsed = TimelineFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        errors = exc.errors()
        # A union (date | str | range, fact | "25 %") reports every branch: keep the informative ones.
        informative = [e for e in errors if e["type"] not in _UNION_NOISE] or errors
        for error in informative:
            loc: tuple = ()
            for part in error["loc"]:  # drop union branch tags: date.date → date, facts.f.FactSpec → facts.f
                if isinstance(part, str) and (part in ("FactSpec", "DateRange", "str") or part.startswith("function-")
                                              or (loc and part == loc[-1])):
                    continue
                loc += (part,)
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key"
            where = _location(loc, data)
            problems.append(message if where == "(top level)" and message.startswith("events[")
                            else f"{where}: {message}")
        raise ConfigError(f"{origin}: " + "; ".join(dict.fromkeys(problems))) from None
    return build_timeline(parsed, path)


def build_timeline(parsed: TimelineFile, path: Path | None = None) -> Timeline:
    events = []
    names: list[str] = list(parsed.settings.actors)
    for spec in parsed.events:
        start, end, precision = parse_event_date(spec.date)
        facts = []
        for name, fact in spec.facts.items():
            one = parse_fact_value(f"1 {fact.unit}")
            family, scale = one[1], one[0]
            value = fact.value * scale if fact.value is not None else None
            text = f"{fact.value:g} {fact.unit}" if fact.value is not None else None
            rel_tol = relative_tolerance(f"{fact.value:g}", scaled=scale >= 1e3) if fact.value else 0.005
            facts.append(KnownFact(name, spec.id, value, family, fact.unit, scale, rel_tol, text, fact.source,
                                   [_phrase_pattern(k) for k in fact.keywords], fact.year, fact.require_year,
                                   [_phrase_pattern(c) for c in fact.context], fact.require_event))
        events.append(KnownEvent(
            spec.id, spec.title, start, end, precision, spec.actors, spec.aliases, spec.source,
            [Phrase.of(a) for a in spec.aliases],
            [[Phrase.of(t) for t in group] for group in spec.terms if group],
            [Phrase.of(a) for a in spec.actors],
            facts,
        ))
        names.extend(spec.actors)
    names = list(dict.fromkeys(names))
    return Timeline(events, parsed.settings, path, [Phrase.of(n) for n in names], names)


def read_timeline(path: Path) -> Timeline:
    """Read and validate a timeline file."""
    return parse_timeline(read_yaml_file(path, "events file"), str(path), path)


def parse_timeline_text(text: str, path: Path) -> Timeline:
    return parse_timeline(parse_yaml_text(text, path), str(path), path)


def load_timeline(config) -> Timeline:
    """The config's timeline (``events:``, relative to the config file), or an
    empty one when none is configured."""
    if not config.events:
        return Timeline()
    return read_timeline(config.resolve(config.events))


# --- analysing one text -------------------------------------------------------------

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
_VERB_PATTERN = re.compile(r"(?<!\w)(?:" + "|".join(
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
_STOPWORDS = set("""the a an and or of to in on at by for with from as that this these those its his her their
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
    return (raw[:1].islower() and len(key) >= 4 and key not in _TOTAL_MODIFIERS and key not in _STOPWORDS
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


def _content_words(text: str) -> set[str]:
    return {w[:6] for w in words(text) if len(w) >= 4 and w not in _STOPWORDS and not w.isdigit()}


def similarity(a: str, b: str) -> float:
    wa, wb = _content_words(a), _content_words(b)
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
    for verb in _VERB_PATTERN.finditer(folded):
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


# --- the stage: storing the diff -------------------------------------------------------


def sync_timeline(session, timeline: Timeline) -> dict[str, int]:
    """Upsert the timeline into ``events``/``event_facts``; events no longer in
    the file are deleted with their mentions (foreign keys cascade)."""
    ids = [e.id for e in timeline.events]
    existing = {e.id: e for e in session.scalars(select(Event))}
    added = updated = 0
    for known in timeline.events:
        row = existing.get(known.id)
        if row is None:
            row = Event(id=known.id)
            session.add(row)
            added += 1
        else:
            updated += 1
        row.date_start, row.date_end, row.date_precision = known.start, known.end, known.precision
        row.title, row.actors, row.aliases, row.source = known.title, known.actors, known.aliases, known.source
        row.loaded_at = utcnow()
    session.flush()
    for known in timeline.events:
        facts = {f.name: f for f in session.scalars(select(EventFact).where(EventFact.event_id == known.id))}
        names = {f.name for f in known.facts}
        for name, row in facts.items():
            if name not in names:
                session.delete(row)
        for fact in known.facts:
            row = facts.get(fact.name) or EventFact(event_id=known.id, name=fact.name)
            row.value = fact.value / fact.scale if fact.value is not None else None
            row.unit, row.text, row.source = fact.unit, fact.text, fact.source
            session.add(row)
    removed = [i for i in existing if i not in ids]
    if removed:
        session.execute(delete(Event).where(Event.id.in_(removed)))
    session.flush()
    return {"added": added, "updated": updated, "removed": len(removed)}


def independent_outlets(session, article_ids) -> int:
    """How many independent outlets reported something: copies (same dedup
    cluster) count once. The dedup stage's helper is used when present."""
    article_ids = list(set(article_ids))
    if not article_ids:
        return 0
    try:
        from crawler.dedup import independent_outlets as dedup_count
    except ImportError:
        dedup_count = None
    if dedup_count is not None:
        return dedup_count(session, article_ids)
    rows = session.execute(select(Article.id, Article.source_id, Article.cluster_id)
                           .where(Article.id.in_(article_ids))).all()
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for article_id, source_id, cluster_id in rows:
        # Two reports are one when they are copies or from the same outlet.
        parent[find(("a", article_id))] = find(("c", cluster_id or article_id))
        parent[find(("s", source_id))] = find(("c", cluster_id or article_id))
    return len({find(("a", article_id)) for article_id, _s, _c in rows})


def _article_dates(article: Article) -> tuple[date | None, date]:
    published = article.published_at.date() if article.published_at else None
    seen = article.first_seen.date() if article.first_seen else date.today()
    return published, published or seen


class EventDiffStage(Stage):
    """Diffs every relevant article against the known-events timeline."""

    name = "events"

    def __init__(self, config, timeline: Timeline | None = None) -> None:
        super().__init__(config)
        self.timeline = timeline

    def open(self, session) -> None:
        if self.timeline is None:
            self.timeline = load_timeline(self.config)
        counts = sync_timeline(session, self.timeline)
        log.info("events: timeline loaded (%d events; %d added, %d removed)",
                 len(self.timeline.events), counts["added"], counts["removed"])

    def _reading(self, session, article: Article) -> tuple[str | None, str | None]:
        """(language, date order) for the article: the source's ``date_order``
        from the config, else the language's default."""
        source_name = session.scalar(select(Source.name).where(Source.id == article.source_id))
        source = next((s for s in self.config.sources if s.name == source_name), None)
        language = article.language or (source.language if source else None)
        return language, source.date_order if source else None

    def process(self, session, article: Article) -> None:
        if self.timeline is None:
            self.open(session)
        # Most articles are analysed once, when first archived: nothing of theirs
        # to clear, and their first reports can be settled incrementally.
        fresh = not has_event_rows(session, article.id)
        touched = set() if fresh else clear_article(session, article.id)
        if article.relevant is False or not article.text or article.paywalled:
            log.debug("events: article %s skipped (%s)", article.id,
                      "not relevant" if article.relevant is False else "paywall teaser" if article.text else "no text")
            if not fresh:
                drop_stale_disputes(session, article.id)
                recompute_first_reports(session, touched)
            return
        published, reference = _article_dates(article)
        language, order = self._reading(session, article)
        diff = diff_text(article.text, self.timeline, published, language, order, reference)
        for m in diff.mentions:
            session.add(EventMention(article_id=article.id, event_id=m.event_id, sentence=m.sentence,
                                     start_offset=m.start, end_offset=m.end, confidence=m.confidence,
                                     in_lead=m.in_lead))
        statements = []
        for s in diff.statements:
            row = FactStatement(article_id=article.id, event_id=s.event_id, fact=s.fact, value=s.value, unit=s.unit,
                                bound=s.bound, value_text=s.value_text, sentence=s.sentence,
                                start_offset=s.start, end_offset=s.end)
            session.add(row)
            statements.append(s)
        for c in diff.contradictions:
            session.add(Contradiction(article_id=article.id, event_id=c.event_id, fact=c.fact, kind=c.kind,
                                      stated_value=c.stated_value, known_value=c.known_value, sentence=c.sentence,
                                      other_sentence=c.other_sentence, known_source=c.known_source))
        session.flush()
        if not fresh:
            drop_stale_disputes(session, article.id)
        self._article_contradictions(session, article, statements)
        for hit in diff.candidates:
            store_candidate(session, article, hit)
        mentioned = {m.event_id for m in diff.mentions}
        if fresh:
            mark_first_reports(session, article.id, mentioned)
        else:
            recompute_first_reports(session, touched | mentioned)
        for c in diff.contradictions:
            log.info("events: article %s contradicts %s (%s %s): states %s, %s %s", article.id, c.event_id, c.kind,
                     c.fact, c.stated_value, "timeline says" if c.kind == "timeline" else "also states",
                     c.known_value)
        log.debug("events: article %s: %d mentions, %d statements, %d candidates, %d contradictions", article.id,
                  len(diff.mentions), len(diff.statements), len(diff.candidates), len(diff.contradictions))

    def _article_contradictions(self, session, article: Article, statements: list[StatementHit]) -> None:
        """The same fact stated incompatibly by another archived article
        (copies of this one excepted). One row per value stated, against the
        earliest article that disagrees: enough to show the dispute, and the
        table grows with the articles, not with their pairs."""
        own_cluster = article.cluster_id or article.id
        done: set[tuple] = set()
        for s in statements:
            key = (s.event_id, s.fact, s.value_text)
            if key in done:
                continue
            query = (select(FactStatement, Article.cluster_id)
                     .join(Article, Article.id == FactStatement.article_id)
                     .where(FactStatement.fact == s.fact, FactStatement.article_id != article.id))
            query = query.where(FactStatement.event_id == s.event_id) if s.event_id else query
            query = query.order_by(func.coalesce(Article.published_at, Article.first_seen), FactStatement.id)
            disputed = set(session.execute(  # pairs the other article already records against this one
                select(Contradiction.article_id, Contradiction.known_value).where(
                    Contradiction.other_article_id == article.id, Contradiction.kind == "article",
                    Contradiction.fact == s.fact)).all())
            for other, cluster_id in session.execute(query):
                if (cluster_id or other.article_id) == own_cluster:
                    continue
                if statements_agree(s, _stored_statement(other)):
                    continue
                done.add(key)
                if (other.article_id, s.value_text) in disputed:
                    break
                session.add(Contradiction(
                    article_id=article.id, event_id=s.event_id, fact=s.fact, kind="article",
                    stated_value=s.value_text, known_value=other.value_text, sentence=s.sentence,
                    other_sentence=other.sentence, other_article_id=other.article_id))
                break


def _stored_statement(row: FactStatement) -> StatementHit:
    """A stored statement with its interval rebuilt (rounding from the text as written)."""
    if row.fact == "date":
        start = value_date(row.value)
        end = {"day": start, "month": month_interval(start.year, start.month)[1],
               "year": date(start.year, 12, 31)}.get(row.unit or "day", start)
        interval = (float(start.toordinal()), float(end.toordinal()))
    else:
        quantities = find_quantities(row.value_text)
        rel_tol = quantities[0].rel_tol if quantities else 0.005
        scale = (parse_fact_value(f"1 {row.unit}") or (1.0,))[0]
        interval = bound_interval((row.value or 0.0) * scale, row.bound, rel_tol)
    return StatementHit(row.event_id, row.fact, row.value, row.unit, row.bound, row.value_text, row.sentence,
                        row.start_offset, row.end_offset, interval)


def has_event_rows(session, article_id: int) -> bool:
    """Whether a previous run left rows for this article (mentions,
    statements, contradictions either way, candidate sources). One query: a
    brand-new article has none, and then clearing it — six statements — and
    checking others' disputes with it can be skipped."""
    checks = (
        select(EventMention.id).where(EventMention.article_id == article_id),
        select(FactStatement.id).where(FactStatement.article_id == article_id),
        select(Contradiction.id).where(or_(Contradiction.article_id == article_id,
                                           Contradiction.other_article_id == article_id)),
        select(CandidateSource.id).where(CandidateSource.article_id == article_id),
    )
    return bool(session.scalar(select(or_(*(check.exists() for check in checks)))))


def clear_article(session, article_id: int) -> set[str]:
    """Remove what a previous run derived from this article (idempotence);
    returns the events it had mentioned. Promoted candidates keep their
    sources: they are the record of where the event came from. Other
    articles' disputes with this one are checked once its new statements are
    in (:func:`drop_stale_disputes`)."""
    touched = set(session.scalars(select(EventMention.event_id).where(EventMention.article_id == article_id)))
    session.execute(delete(EventMention).where(EventMention.article_id == article_id))
    session.execute(delete(FactStatement).where(FactStatement.article_id == article_id))
    session.execute(delete(Contradiction).where(Contradiction.article_id == article_id))
    open_ids = select(EventCandidate.id).where(EventCandidate.status == "open")
    session.execute(delete(CandidateSource).where(CandidateSource.article_id == article_id,
                                                  CandidateSource.candidate_id.in_(open_ids)))
    orphans = select(EventCandidate.id).where(
        EventCandidate.status == "open",
        ~select(CandidateSource.id).where(CandidateSource.candidate_id == EventCandidate.id).exists())
    session.execute(delete(EventCandidate).where(EventCandidate.id.in_(orphans)))
    session.flush()
    return touched


def drop_stale_disputes(session, article_id: int) -> None:
    """Delete other articles' ``article`` contradictions that cite a value this
    article no longer states (its text changed, or it is now irrelevant)."""
    stated = set(session.execute(select(FactStatement.event_id, FactStatement.fact, FactStatement.value_text)
                                 .where(FactStatement.article_id == article_id)).all())
    for row in session.scalars(select(Contradiction).where(Contradiction.other_article_id == article_id,
                                                          Contradiction.kind == "article")):
        if (row.event_id, row.fact, row.known_value) not in stated:
            session.delete(row)
    session.flush()


def recompute_first_reports(session, event_ids) -> None:
    """first_report = no earlier-published archived article mentions the
    event (articles without a date are placed at their first sighting).
    Done in SQL so the cost stays flat as coverage of an event grows."""
    at = func.coalesce(Article.published_at, Article.first_seen)
    session.flush()
    for event_id in event_ids:
        earliest = session.scalar(select(func.min(at)).select_from(EventMention)
                                  .join(Article, Article.id == EventMention.article_id)
                                  .where(EventMention.event_id == event_id))
        if earliest is None:
            continue
        first_articles = select(Article.id).where(at == earliest)
        session.execute(update(EventMention)
                        .where(EventMention.event_id == event_id, EventMention.first_report.is_(True),
                               EventMention.article_id.not_in(first_articles))
                        .values(first_report=False).execution_options(synchronize_session=False))
        session.execute(update(EventMention)
                        .where(EventMention.event_id == event_id, EventMention.first_report.is_not(True),
                               EventMention.article_id.in_(first_articles))
                        .values(first_report=True).execution_options(synchronize_session=False))
    for obj in list(session.identity_map.values()):  # loaded mentions must re-read the flag
        if isinstance(obj, EventMention):
            session.expire(obj, ["first_report"])


def mark_first_reports(session, article_id: int, event_ids) -> None:
    """first_report for the mentions of a newly analysed article, given that
    every other mention's flag is already right: the article is a first
    report of an event unless another mentioning article is earlier, and
    when it is strictly the earliest, the previous first reports no longer
    are. Same result as :func:`recompute_first_reports`, with one grouped
    query for all the events instead of three statements per event."""
    if not event_ids:
        return
    at = func.coalesce(Article.published_at, Article.first_seen)
    own = session.scalar(select(at).where(Article.id == article_id))  # autoflush writes the new mentions
    if own is None:
        return
    earliest_other = func.min(at)
    rows = session.execute(
        select(EventMention.event_id, earliest_other < own, earliest_other > own)
        .join(Article, Article.id == EventMention.article_id)
        .where(EventMention.event_id.in_(event_ids), EventMention.article_id != article_id)
        .group_by(EventMention.event_id)).all()
    beaten = {event_id for event_id, other_earlier, _ in rows if other_earlier}
    dethroned = [event_id for event_id, _, own_earlier in rows if own_earlier]
    firsts = sorted(set(event_ids) - beaten)
    if firsts:
        session.execute(update(EventMention)
                        .where(EventMention.article_id == article_id, EventMention.event_id.in_(firsts))
                        .values(first_report=True).execution_options(synchronize_session=False))
    if dethroned:
        session.execute(update(EventMention)
                        .where(EventMention.event_id.in_(dethroned), EventMention.first_report.is_(True),
                               EventMention.article_id != article_id)
                        .values(first_report=False).execution_options(synchronize_session=False))
    if firsts or dethroned:
        for obj in list(session.identity_map.values()):  # loaded mentions must re-read the flag
            if isinstance(obj, EventMention):
                session.expire(obj, ["first_report"])


def store_candidate(session, article: Article, hit: CandidateHit) -> EventCandidate:
    """Attach a dated claim to the open candidate it repeats (dates within a
    week and similar wording), or open a new candidate."""
    slack = timedelta(days=7)
    end = month_interval(hit.date_start.year, hit.date_start.month)[1] if hit.precision == "month" else hit.date_start
    best, best_score = None, 0.0
    nearby = session.scalars(select(EventCandidate).where(
        EventCandidate.status == "open",
        EventCandidate.date_start >= hit.date_start - timedelta(days=40),
        EventCandidate.date_start <= end + slack))
    for candidate in nearby:
        c_end = (month_interval(candidate.date_start.year, candidate.date_start.month)[1]
                 if candidate.date_precision == "month" else candidate.date_start)
        if not (candidate.date_start - slack <= end and hit.date_start - slack <= c_end):
            continue
        sentences = session.scalars(select(CandidateSource.sentence)
                                    .where(CandidateSource.candidate_id == candidate.id)).all()
        score = max((similarity(hit.sentence, s) for s in sentences), default=0.0)
        if score > best_score:
            best, best_score = candidate, score
    if best is None or best_score < 0.2:
        best = EventCandidate(date_start=hit.date_start, date_precision=hit.precision, title=hit.title,
                              actors=hit.actors)
        session.add(best)
        session.flush()
    else:
        best.actors = list(dict.fromkeys([*(best.actors or []), *hit.actors]))
        best.last_seen = utcnow()
    exists = session.scalar(select(CandidateSource.id).where(
        CandidateSource.candidate_id == best.id, CandidateSource.article_id == article.id,
        CandidateSource.start_offset == hit.start))
    if exists is None:
        session.add(CandidateSource(candidate_id=best.id, article_id=article.id, sentence=hit.sentence,
                                    start_offset=hit.start, end_offset=hit.end))
    session.flush()
    return best


# --- promotion, summaries ------------------------------------------------------------


def _stem(word: str) -> str:
    word = fold(word)
    for suffix in ("ing", "ed", "es", "s", "aron", "o"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def derive_terms(sentence: str, actors: list[str]) -> list[str]:
    """The words that name a promoted candidate: its action verb (any ending)
    and the first substantial word after it that is not an actor
    ("has recalled its top diplomat" → recall*, diplomat)."""
    folded = fold(sentence)
    verb = _VERB_PATTERN.search(folded)
    if not verb:
        return []
    actor_words = {w for a in actors for w in words(a)}
    after = words(folded[verb.end():])[:6]
    nouns = [w for w in after if len(w) >= 5 and w not in _STOPWORDS and w not in actor_words and not w.isdigit()]
    terms = [_stem(verb.group(0)) + "*"]
    if nouns:
        terms.append(max(nouns, key=len))
    return terms if len(terms) == 2 else []


def slugify(text: str) -> str:
    slug = "-".join(w for w in words(text) if w not in _STOPWORDS)[:60].strip("-")
    return slug or "event"


def promoted_event_entry(candidate: EventCandidate, sentences: list[str], title: str | None,
                         event_id: str | None) -> dict:
    """The timeline entry for a candidate: its date at the precision known,
    actors, and term groups taken from its reports."""
    actors = list(candidate.actors or [])
    groups = []
    for sentence in sentences:
        terms = derive_terms(sentence, actors)
        if terms and terms not in groups:
            groups.append(terms)
    title = title or candidate.title
    entry = {
        "id": event_id or f"{format_date(candidate.date_start, candidate.date_precision or 'day')}-"
                          f"{slugify(' '.join(g[-1] for g in groups) or title)}",
        "date": format_date(candidate.date_start, candidate.date_precision or "day"),
        "title": title,
        "actors": actors,
        "source": f"promoted from candidate {candidate.id}",
    }
    if groups:
        entry["terms"] = groups
    else:
        entry["aliases"] = [title]
    return entry


def append_event(text: str, entry: dict) -> str:
    """The timeline file's text with one more event at the end of its events
    list, the rest left byte for byte (comments included)."""
    block = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, default_flow_style=None, width=1000)
    data = yaml.safe_load(text) if text.strip() else None
    if isinstance(data, dict):
        if list(data)[-1] != "events":
            raise ConfigError("cannot append: 'events' must be the last key of the timeline file")
        indent = ""
        for line in text.splitlines():
            stripped = line.lstrip()
            if stripped.startswith("- id:"):
                indent = line[: len(line) - len(stripped)]
                break
        if not data.get("events"):
            text = re.sub(r"(?m)^events:\s*\[\]\s*$", "events:", text)
        block = "".join(indent + line + "\n" for line in block.splitlines())
    elif data is None:
        block = "events:\n" + "".join("  " + line + "\n" for line in block.splitlines())
    if text and not text.endswith("\n"):
        text += "\n"
    return text + block


def event_summary(session) -> dict:
    """Counts for a dashboard or the demo: known events, mentions, candidates,
    contradictions by kind."""
    by_kind = dict(session.execute(select(Contradiction.kind, func.count()).group_by(Contradiction.kind)).all())
    return {
        "events": session.scalar(select(func.count()).select_from(Event)) or 0,
        "mentions": session.scalar(select(func.count()).select_from(EventMention)) or 0,
        "mentioned_events": session.scalar(select(func.count(func.distinct(EventMention.event_id)))) or 0,
        "candidates": session.scalar(select(func.count()).select_from(EventCandidate)
                                     .where(EventCandidate.status == "open")) or 0,
        "fact_statements": session.scalar(select(func.count()).select_from(FactStatement)) or 0,
        "contradictions": sum(by_kind.values()),
        "contradictions_by_kind": {k: by_kind.get(k, 0) for k in ("timeline", "article", "internal")},
    }
