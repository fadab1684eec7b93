"""The timeline file: known events, their dates and facts, as the event
diff reads them (schema, validation, loading). ``docs/events.md`` describes
the file; :mod:`crawler.events.diff` matches its events in text."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crawler.events.lemmas import (
    LemmaPhrase,
    concept_classes,
    FORM_GUARDS,
    Words,
    actor_forms,
    lemmas_of,
    OTHER_COUNTRIES,
    TITLED_ACTORS,
    parent_forms,
    timeline_lemmas,
    widen_forms,
)
from crawler.facts import format_date, month_interval, parse_fact_value, relative_tolerance
from crawler.text import fold
from crawler.errors import ConfigError, format_validation_error, location, parse_yaml_text, read_yaml_file

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
    topic_actors: list[str] = Field(default_factory=list, description="a candidate's sentence or article must name "
                                    "one of these, a topic word or a known event: what makes a story this timeline's")
    topic_words: list[str] = Field(default_factory=list, description="words that make a story this timeline's "
                                   "(trailing * for any ending), like topic_actors")
    evidence_tolerance_days: int = Field(1, ge=0, description="an event named only by its date, an actor and a "
                                                             "title word: how far the date may be off")


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


class _Hit:
    """Where a phrase matched on lemmas (the regex match's interface)."""

    __slots__ = ("_start", "_end")

    def __init__(self, start: int, end: int) -> None:
        self._start, self._end = start, end

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def span(self) -> tuple[int, int]:
        return self._start, self._end


@dataclass(frozen=True)
class Phrase:
    """A phrase to find in a sentence. Folded (case and accents ignored),
    except short acronyms ('US', 'OFAC'), which must keep their capitals so
    'US' is not the pronoun 'us'. When the literal form is absent, the phrase
    is matched on lemmas (:mod:`crawler.events.lemmas`): "struck" for
    ``strike*``, "embarcaciones" for ``embarcación``, a term's near-synonyms."""

    pattern: re.Pattern
    exact_case: bool
    needle: str  # a literal part every match contains: a cheap test before the regex
    lemma: LemmaPhrase | None = None
    text: str = ""
    # A parent organisation naming its agency ("the UN" for the UNODC) names the event only when the
    # sentence also says what the agency measures (a keyword of the event's facts) and names another of
    # the event's actors (or the year its facts measure): "the UN counted 253,000 hectares of coca in
    # Colombia", "… coca in 2023, the UN said", not "the UN General Assembly".
    requires: tuple = ()
    # The years an agency named as the event may be written with (its facts' and the event's own): a
    # sentence stating only other years tells another report of the agency.
    own_years: frozenset = frozenset()

    @classmethod
    def of(cls, phrase: str, widen: bool = True, lemmas: bool = True, reserved: tuple[str, ...] = ()) -> "Phrase":
        letters = re.sub(r"[^A-Za-z]", "", phrase)
        acronym = bool(letters) and letters.isupper() and len(letters) <= 5
        text = phrase if acronym else fold(phrase)
        needle = max(re.findall(r"\w+", text.replace("*", " ")) or [""], key=len)
        lemma = None if acronym or not lemmas else LemmaPhrase.of(phrase, widen, reserved)
        return cls(_phrase_pattern(phrase, folded=not acronym), acronym, needle, lemma, phrase)

    def allowed(self, folded: str, original: str, words: Words | None = None) -> bool:
        """Whether the sentence meets the phrase's ``requires`` (keywords, other actors)."""
        if self.own_years:
            stated = {int(y) for y in _A_YEAR.findall(folded)}
            if stated and stated.isdisjoint(self.own_years):
                return False  # "El censo de la ONUDD de 2022 …": the agency's report of another year
        if not self.requires:
            return True
        keywords, actors, years, own_years = (*self.requires, (), ())[:4]
        if own_years:
            stated = {int(y) for y in _A_YEAR.findall(folded)}
            if stated and stated.isdisjoint(own_years):
                return False  # "En 2022 la coca ocupaba 230.000 hectáreas, según la ONU": another year's figure
        # …or, instead of another actor, the year its facts measure ("253,000 hectares of coca in 2023, the UN said")
        return any(k.search(folded) for k in keywords) and (
            any(a.search(folded, original, words) for a in actors)
            or (any(y.search(folded) for y in years) and not OTHER_COUNTRIES.search(folded)))

    def finditer(self, folded: str, original: str, words: Words | None = None):
        text = original if self.exact_case else folded
        hits = list(self.pattern.finditer(text)) if self.needle in text else []
        if not hits and words is not None and self.lemma is not None:
            return [_Hit(o, o + 1) for o in self.lemma.find_all(words)]
        return hits

    def search(self, folded: str, original: str, words: Words | None = None):
        text = original if self.exact_case else folded
        found = self.pattern.search(text) if self.needle in text else None
        if found is None and words is not None and self.lemma is not None:
            offset = self.lemma.find(words)
            return None if offset is None else _Hit(offset, offset + 1)
        return found


@dataclass(frozen=True)
class Names:
    """An actor: its name and every form that names it (demonyms, Spanish
    forms), each a :class:`Phrase` (acronyms keep their case). Lookups are
    memoised on the sentence's :class:`Words`: every event asks for the same
    actors."""

    name: str
    forms: tuple[Phrase, ...]
    key: tuple[str, ...] = ()  # its forms: actors written differently but named alike share one lookup

    @classmethod
    def of(cls, name: str) -> "Names":
        forms = tuple(_guarded(Phrase.of(form, widen=False, lemmas=False)) for form in actor_forms(name))
        return cls(name, forms, tuple(sorted(f.text for f in forms)))

    def search(self, folded: str, original: str, words: Words | None = None):
        if words is not None:
            memo = words.memo
            key = self.key or self.name
            if key not in memo:
                memo[key] = self._search(folded, original)
            return memo[key]
        return self._search(folded, original)

    def _search(self, folded: str, original: str):
        for form in self.forms:
            found = form.search(folded, original)
            if found is not None:
                return found
        return None

    def finditer(self, folded: str, original: str, words: Words | None = None):
        return [m for form in self.forms for m in form.finditer(folded, original)]


def _guarded(phrase: Phrase) -> Phrase:
    """A form with the words that must not stand around it ("American", not "Latin American")."""
    guard = FORM_GUARDS.get(fold(phrase.text))
    if guard is None:
        return phrase
    before, after = guard
    return replace(phrase, pattern=re.compile(before + phrase.pattern.pattern + after))


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
    lemma_keywords: frozenset[str] = frozenset()  # the keywords' lemmas and concept classes: "gave" for "provided"
    context_names: tuple = ()  # the context words as actors: "colombia*" is also "Bogotá", "colombiano"

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
    actor_patterns: list[Names]
    facts: list[KnownFact]
    title_words: frozenset[str] = frozenset()  # lemmas naming it, for matching on evidence

    def interval(self, today: date | None = None) -> tuple[date, date]:
        return self.start, self.end or (today or date.today())

    @cached_property
    def titled(self) -> bool:
        """Whether a bare title ("the president", "el mandatario") may name one of its actors."""
        return any(fold(a) in TITLED_ACTORS for a in self.actors)

    @cached_property
    def titled_people(self) -> list[str]:
        """Its people a title may stand for (Petro), folded: the event's act against someone else is another."""
        return [fold(a) for a in self.actors if " " not in a and not a.isupper() and fold(a) in TITLED_ACTORS]

    def date_label(self) -> str:
        if self.precision == "range":
            return f"{self.start.isoformat()} – {self.end.isoformat() if self.end else 'ongoing'}"
        return format_date(self.start, self.precision)


@dataclass
class Timeline:
    events: list[KnownEvent] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)
    path: Path | None = None
    watch_actors: list[Names] = field(default_factory=list)
    watch_names: list[str] = field(default_factory=list)
    topic_actors: list[Names] = field(default_factory=list)
    topic_words: list[Phrase] = field(default_factory=list)

    def get(self, event_id: str) -> KnownEvent | None:
        return next((e for e in self.events if e.id == event_id), None)


def _describer(data: Any):
    """A location worded with the event's id: ``events[3] (visa-revocation).date``."""

    def describe(loc: tuple) -> str:
        where = location(loc)
        if len(loc) > 1 and loc[0] == "events" and isinstance(loc[1], int) and isinstance(data, dict):
            events = data.get("events") or []
            if loc[1] < len(events) and isinstance(events[loc[1]], dict) and events[loc[1]].get("id"):
                where = where.replace(f"events[{loc[1]}]", f"events[{loc[1]}] ({events[loc[1]]['id']})", 1)
        return where

    return describe


def _union_tag(part: object, loc: tuple) -> bool:
    """Union branch tags in a location: date.date → date, facts.f.FactSpec → facts.f."""
    return isinstance(part, str) and (part in ("FactSpec", "DateRange", "str") or part.startswith("function-")
                                      or bool(loc and part == loc[-1]))


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
        # A union (date | str | range, fact | "25 %") reports every branch: keep the informative ones.
        raise ConfigError(format_validation_error(exc, origin, drop=_union_tag, noise=_UNION_NOISE,
                                                  describe=_describer(data))) from None
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
                                   _keyword_patterns(fact.keywords), fact.year, fact.require_year,
                                   [_phrase_pattern(c) for c in fact.context], fact.require_event,
                                   _keyword_lemmas(fact.keywords),
                                   tuple(Names.of(c.rstrip("*")) for c in fact.context)))
        events.append(KnownEvent(
            spec.id, spec.title, start, end, precision, spec.actors, spec.aliases, spec.source,
            # An alias that is one of the event's actors ("UNODC") is named by the actor's other forms
            # too ("the UN Office on Drugs and Crime", "la ONUDD").
            _alias_phrases(spec),
            [[Phrase.of(t, reserved=_reserved(spec.terms, number)) for t in group]
             for number, group in enumerate(spec.terms) if group] + _undoing_groups(spec),
            [Names.of(a) for a in spec.actors],
            facts,
            _title_words(spec),
        ))
        names.extend(spec.actors)
    names = list(dict.fromkeys(names))
    return Timeline(events, parsed.settings, path, [Names.of(n) for n in names], names,
                    [Names.of(n) for n in parsed.settings.topic_actors],
                    [Phrase.of(w, widen=False) for w in parsed.settings.topic_words])


# Words too common in titles to name an event on their own.
_TITLE_STOPWORDS = set("""the a an and or of to in on at by for with from as after its his her their over into
us u.s colombia colombian united states washington bogota petro trump announces announce drug war partner would
could long longer back away home state department speech military family alleged allege call called declare
declared turn turns turned answer answers record reach reached ending stop stopped against since about new york
plan plans with their para contra sobre desde tras entre""".split())


_A_YEAR = re.compile(r"(?<![\d$.,])((?:19|20)\d\d)(?![\d]|[,.]\d)")


def _event_years(value) -> set[int]:
    """The calendar years an event's date covers."""
    try:
        start, end, _precision = parse_event_date(value)
    except (ValueError, TypeError):  # (validated when the file is read)
        return set()
    end = end or start
    return set(range(start.year, (end.year if end else start.year) + 1))


def _alias_phrases(spec: "EventSpec") -> list[Phrase]:
    """The event's aliases. An alias that is one of the event's actors ("UNODC") is named by the actor's
    other forms too ("the UN Office on Drugs and Crime", "la ONUDD"), and by its parent organisation's
    ("the UN", "la ONU") in a sentence with a keyword of the event's facts and another of its actors."""
    actors = {fold(x) for x in spec.actors}
    out: list[Phrase] = []
    own_years = frozenset({fact.year for fact in spec.facts.values() if fact.year} | _event_years(spec.date))
    agency = {fold(f) for a in spec.aliases if fold(a) in actors for f in actor_forms(a)}
    for alias in spec.aliases:
        if fold(alias) not in actors:
            phrase = Phrase.of(alias)
            out.append(replace(phrase, own_years=own_years) if fold(alias) in agency else phrase)
            continue
        out += [replace(Phrase.of(form), own_years=own_years) for form in actor_forms(alias)]
        keywords = [k for fact in spec.facts.values() for k in _keyword_patterns(fact.keywords)]
        others = tuple(Names.of(a) for a in spec.actors if fold(a) != fold(alias))
        years = tuple(re.compile(rf"\b{fact.year}\b") for fact in spec.facts.values() if fact.year)
        if keywords and others:
            out += [replace(Phrase.of(form, lemmas=False), requires=(tuple(keywords), others, years, own_years))
                    for form in parent_forms(alias)]
    return out


# "decertif*", "descertific*", "desclasific*": a verb that undoes a noun ("de-certify" = take the
# certification away). Read also as the taking away of the rest: "stripped Colombia of its
# certification", "le retiró la certificación".
_UNDOING = re.compile(r"(?:des|de|dis)([a-z]{5,})\*")


def _undoing_groups(spec: "EventSpec") -> list[list[Phrase]]:
    """For each one-word alias that undoes something, a term group: the thing undone + taking away."""
    groups = []
    for alias in spec.aliases:
        m = _UNDOING.fullmatch(fold(alias).strip())
        if m:
            groups.append([Phrase.of(m.group(1) + "*"), Phrase.of("revoke")])
    return groups


def _inflections(word: str) -> str:
    """A folded noun and its plurals as one regex: duty|duties, gravamen|gravamenes."""
    forms = [word, word + "s", word + "es"] + ([word[:-1] + "ies"] if word.endswith("y") else [])
    return "|".join(re.escape(f) for f in forms)


def _keyword_patterns(keywords: list[str]) -> list[re.Pattern]:
    """A fact's keywords, each also read as the other members of its concept
    class ("tariff" is also "duty", "levy", "gravamen"; "aid" also
    "cooperación"): the fact is written in the words news uses for it, not
    only its author's."""
    patterns = [_phrase_pattern(k) for k in keywords]
    own = {fold(k.rstrip("*")) for k in keywords}
    extra: set[str] = set()
    for keyword in keywords:
        if " " not in keyword.strip():
            forms = set(timeline_lemmas(keyword.rstrip("*").lower()))
            extra |= widen_forms(forms) - forms
    extra = {m for m in extra if not any(m.startswith(o) for o in own)}
    if extra:
        patterns.append(re.compile(r"(?<!\w)(?:" + "|".join(_inflections(m) for m in sorted(extra)) + r")(?!\w)"))
    return patterns


def _keyword_lemmas(keywords: list[str]) -> frozenset[str]:
    """The lemmas of a fact's one-word keywords and of their concept classes, matched on a sentence's
    lemmas: "provided" is also "gave", "sent", "aportó", "giró"."""
    forms: set[str] = set()
    for keyword in keywords:
        if " " not in keyword.strip():
            forms |= set(timeline_lemmas(keyword.rstrip("*").lower()))
    return frozenset(widen_forms(forms))


def _reserved(terms: list[list[str]], own: int) -> tuple[str, ...]:
    """The folded words of the other term groups (lemmas, or 'prefix*'). A group that only restates this
    one in other members of the same concept classes ([payments, suspen*] beside [aid, cut*]) reserves
    nothing: the two pairings mean the same, so keeping them apart would only lose inflections."""
    out: list[str] = []
    mine = [concept_classes(w) for t in terms[own] for w in t.split()]
    for number, group in enumerate(terms):
        if number == own:
            continue
        theirs = [concept_classes(w) for t in group for w in t.split()]
        if all(c and any(c & m for m in mine) for c in theirs) and len(theirs) == len(mine):
            continue  # a parallel pairing
        for term in group:
            for word in term.split():
                out.append(fold(word) if word.endswith("*") else lemmas_of(word.lower())[-1])
                if not word.endswith("*"):
                    out.extend(lemmas_of(word.lower()))
    return tuple(dict.fromkeys(out))


def _title_words(spec: "EventSpec") -> frozenset[str]:
    """The lemmas of the title's and the terms' content words, actors and
    common words left out: what an article must say, beside the event's date
    and an actor, to be read as naming it without an alias."""
    actor_words = {w for a in spec.actors for w in fold(a).split()}
    out: set[str] = set()
    words = re.findall(r"[^\W\d]{4,}", spec.title) + [w.rstrip("*") for g in spec.terms for t in g for w in t.split()]
    for word in words:
        key = fold(word)
        if key in _TITLE_STOPWORDS or key in actor_words or len(key) < 4:
            continue
        out.update(f for f in lemmas_of(word.lower()) if len(f) >= 4)
    return frozenset(widen_forms(out))


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
