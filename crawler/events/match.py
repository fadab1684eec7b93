"""Finding a known event in a sentence, and the clause structure the date
rules read: pure functions over one sentence."""
from __future__ import annotations

import re

from crawler.events.timeline import KnownEvent
from crawler.facts import DateSpan

_CLAUSE_BREAK = re.compile(r"[,;:()\[\]]|\s[-–—]\s|—")
# Stricter clauses for holding a date against an event: a complement clause
# ("Petro said on 2 October that the revocation …") has its own time.
_STRICT_BREAK = re.compile(r"[,;:()\[\]]|\s[-–—]\s|—|\b(?:that|which|who|when|after|before|que|cuando|tras)\b",
                           re.I)
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

