"""Candidates: dated claims of a new action by a watched actor."""
from __future__ import annotations

import re
from datetime import date, timedelta

from crawler.events.hits import CandidateHit
from crawler.events.match import _DENIAL, _clause_of, _clauses, _denied
from crawler.events.timeline import Timeline
from crawler.facts import DateSpan

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

