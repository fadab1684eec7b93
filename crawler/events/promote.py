"""Growing the timeline: a candidate promoted into a timeline entry (its
terms derived from the reports), appended to the file text untouched; and
the counts a dashboard shows."""
from __future__ import annotations

import re

import yaml
from sqlalchemy import func, select

from crawler.events.candidates import VERB_PATTERN
from crawler.events.hits import STOPWORDS
from crawler.facts import format_date
from crawler.text import fold, words
from crawler.errors import ConfigError
from storage.models import Contradiction, Event, EventCandidate, EventMention, FactStatement

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
    verb = VERB_PATTERN.search(folded)
    if not verb:
        return []
    actor_words = {w for a in actors for w in words(a)}
    after = words(folded[verb.end():])[:6]
    nouns = [w for w in after if len(w) >= 5 and w not in STOPWORDS and w not in actor_words and not w.isdigit()]
    terms = [_stem(verb.group(0)) + "*"]
    if nouns:
        terms.append(max(nouns, key=len))
    return terms if len(terms) == 2 else []


def slugify(text: str) -> str:
    slug = "-".join(w for w in words(text) if w not in STOPWORDS)[:60].strip("-")
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
