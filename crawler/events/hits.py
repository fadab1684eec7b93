"""What the event diff finds in one text, as plain data, and how two
statements or two claims are compared."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from crawler.text import words

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
    confidence: float  # the score: how surely the sentence names the event (see ``how``)
    in_lead: bool
    how: str = ""  # what named it: "alias 'decertif*'; dated '15 September'"
    flag: str | None = None  # "date-contradicted": named, at a date the timeline contradicts


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
    score: float = 1.0  # how surely this is a new dated action (see ``explanation``)
    explanation: str = ""  # "actor Petro; action 'expelled' (expel); date '2 December 2025'"


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



def date_value(day: date) -> float:
    """How a stated date is stored in ``fact_statements.value``: 20250926 for
    26 September 2025 (readable in SQL, sorts like the date); ``unit`` holds
    the precision (day, month)."""
    return float(day.year * 10000 + day.month * 100 + day.day)


def value_date(value: float) -> date:
    number = int(value)
    return date(number // 10000, number // 100 % 100, number % 100)


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

