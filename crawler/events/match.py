"""Finding a known event in a sentence, and the clause structure the date
rules read: pure functions over one sentence."""
from __future__ import annotations

import re
from functools import lru_cache

from crawler.events.lemmas import BARE_TITLE, BOTH_SIDES, CONCEPTS, OTHER_LEADER, Words
from crawler.events.modality import denied
from crawler.events.timeline import KnownEvent
from crawler.facts import DateSpan

_CLAUSE_BREAK = re.compile(r"[,;:()\[\]]|\s[-–—]\s|—")
# Stricter clauses for holding a date against an event: a complement clause
# ("Petro said on 2 October that the revocation …") has its own time.
_STRICT_BREAK = re.compile(r"[,;:()\[\]]|\s[-–—]\s|—|\b(?:that|which|who|when|after|before|que|cuando|tras)\b",
                           re.I)
# "The Senate voted on Tuesday to summon the minister over the US sanctions": the words between a
# date and the event's say the event is what another, dated action is about. So do the verbs of
# reacting to something: "met on Wednesday to debate the sanctions", "voted to reject the decertification".
# ("in over 30 years", "about 40 days": amounts, not what something is about.)
_ABOUT_EVENT = re.compile(r"\b(?:(?:over|about)(?!\s+(?:a\s+)?\d)|regarding|concerning|because of|in response to|in protest (?:at|over|against)|"
                          r"(?:in|as)\s+(?:retaliation|reprisal)\s+(?:for|against)|(?:en|como)\s+represalias?\s+(?:por|a|contra)|"
                          r"(?:to\s+)?(?:seek|request|demand)(?:ing)?|para\s+(?:pedir|solicitar|exigir)|"
                          r"(?:condemn|denounc|protest|reject|criticiz|criticis|repudiat|challeng|oppos|contest)ing|"
                          r"to (?:debate|discuss|summon|protest|condemn|denounce|respond|answer|review|consider|"
                          r"challenge|question|examine|investigate|analy[sz]e|reject|oppose|repudiate|overturn|appeal|contest|reverse|block|fight|"
                          r"lift|remove|undo|rescind|take\s+\w+\s+off|drop)|"
                          r"por|sobre|en respuesta a|a causa de|para (?:debatir|discutir|analizar|rechazar|condenar|repudiar|impugnar|apelar|revertir|frenar))\b")
# A report the sentence denies or rejects ("Petro denied that …", "rejected claims that …",
# "negó que …") is not a statement of fact: neither its figures nor its dates nor its events.
_DENIAL = re.compile(
    r"\b(?:den(?:y|ies|ied|ying)|neg(?:o|aron|a|ando)|niega\w*|desminti\w*|desmient\w*)\b(?:\s+\w+){0,3}?\s+(?:that|que)\b|"
    r"\b(?:reject\w*|dismiss\w*|disput\w*|refut\w*|rechaz\w*|denied|denies|negaron|nego|desminti\w*)\s+"
    r"(?:the\s+|las\s+|los\s+)?(?:\w+\s+)?(?:claims?|reports?|allegations?|rumou?rs?|suggestions?|versiones|informes|"
    r"afirmaciones|acusaciones|rumores)\b|\b(?:falsely|wrongly|erroneously|falsamente|erroneamente)\b")


def _denied(folded: str, offset: int) -> bool:
    """Whether the words at ``offset`` stand in a report the sentence denies
    (the listed forms, or any denial the general rule reads)."""
    return bool(_DENIAL.search(folded[:offset])) or denied(folded, offset)



@lru_cache(maxsize=4096)
def _clauses(sentence: str, strict: bool = False) -> tuple[tuple[int, int], ...]:
    """The clause spans of a sentence (memoised: every rule asks for them)."""
    spans, start = [], 0
    for m in (_STRICT_BREAK if strict else _CLAUSE_BREAK).finditer(sentence):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(sentence)))
    return tuple(spans)


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



# "on 23 October, after the sanctions": the words name something before or after the dated act.
_RELATIVE_TO = {"after", "before", "since", "following", "over", "amid", "tras", "despues", "antes", "desde", "por",
                "until", "hasta", "ahead", "prior"}


def _verb_form(token) -> bool:
    """A past or participle form of a verb: "sanctioned", "revocó", "retirado"."""
    surface = token.surface
    if surface.endswith("ed"):
        return len(token.forms) > 1 and token.forms[1] != surface
    return surface.endswith(("ado", "ada", "ados", "adas", "ido", "ida", "o", "aron", "ieron")) and any(
        f.endswith(("ar", "er", "ir")) and f != surface for f in token.forms[1:])


def _quick(event: KnownEvent) -> tuple[tuple[str, ...], frozenset[int]]:
    """The literal needles and the lemma word ids of every alias and term of
    the event (cached on it): a sentence with none of them cannot name it by
    words."""
    cached = getattr(event, "_quick_cache", None)
    if cached is None:
        phrases = list(event.alias_patterns) + [p for group in event.term_groups for p in group]
        needles = tuple(dict.fromkeys(p.needle for p in phrases if p.needle))
        ids = frozenset(w.id for p in phrases if p.lemma is not None for w in p.lemma.words)
        cached = (needles, ids)
        event._quick_cache = cached
    return cached


# Verbs of calling a diplomat in: one's own envoy called in is a recall ("summoned their envoys",
# "llamó a consultas a su embajador"); another's is a protest or a phone call ("summoned the US chargé
# d'affaires over the strikes", "llamó al embajador de Japón para agradecer").
_CALL_IN = {"summon", "llamar", "convocar", "citar"}
_OWN = {"its", "their", "his", "her", "own", "su", "sus", "nuestro", "nuestros"}
_CONSULTATIONS = re.compile(r"\b(?:a\s+consultas|for\s+consultations|home)\b")
# A verb of calling names a recall on its own evidence only with a diplomat after it: "recalled in a speech
# how …" is remembering, "llamó a revisión 200.000 camionetas" a product recall.
_CALLING = {"recall", "summon", "llamar", "convocar", "citar"}
_DIPLOMAT_WORDS = frozenset(next(c for c in CONCEPTS if "ambassador" in c))
_MISSION = re.compile(r"\b(?:missions?|mision\w*|consult\w+|home|casa|embassy|embajada)\b")


def _a_noun(words: Words, index: int) -> bool:
    """"the July 3rd recalls": a determiner in the three tokens before the word makes it a noun."""
    return any(t.surface in ("the", "el", "la", "los", "las", "its", "their", "su", "sus")
               for t in words.tokens[max(0, index - 3):index])
# "The ambassador recalled how …": remembered.
_REMEMBERED = re.compile(r"recall\w*\s+(?:how|that|when|what|why|where|being|seeing|having|the\s+(?:day|time|moment|years?))\b")


# A word of returning followed by "to / a" and a place (not "home", "casa", "consultas"): coming back to the post
# ("returned to Washington", "envió de regreso a Bogotá a su encargado"; not the noun "el regreso a Bogotá de su
# embajador", which may be the recall).
_BACK_TO_POST = re.compile(r"(?:return\w*|regres\w*|retorn\w*|volvi\w*)\s+(?:to|a|al)\s+(?!casa\b|home\b|consultas\b|"
                           r"(?:su|sus|their|its|his|her)\s+pa[ií]s\b)[A-Za-z]")
_NOUN_BEFORE = re.compile(r"\b(?:the|el|del|al|su|sus|their|its|his|her)\s+$")
# "went on strike", "a dockworkers' strike", "la huelga": a labour strike, not a military one.
_LABOUR_BEFORE = re.compile(r"(?:\bon|\bgeneral|\blabou?r|\bunion|\bworkers'?|\bdockworkers'?|\btruckers'?|\bteachers'?|"
                            r"\bminers'?|\bnational|\bhunger|\bwildcat)\s+$")


def _other_sense(folded: str, words: Words | None, offsets: list[int]) -> bool:
    """Whether the words found name the act in another sense: remembering, calling in another
    country's diplomat, or a labour strike."""
    if words is None:
        return False
    for offset in offsets:
        if _REMEMBERED.match(folded, offset):
            return True
        if _BACK_TO_POST.match(folded, offset) and not _NOUN_BEFORE.search(folded, max(0, offset - 8), offset):
            return True  # "envió de regreso a Bogotá a su encargado", "returned to Washington": back to the post
        if folded.startswith("strike", offset) and _LABOUR_BEFORE.search(folded, max(0, offset - 14), offset):
            return True
        at = words.index_at(offset)
        if at < len(words.tokens) and not _CALL_IN.isdisjoint(words.tokens[at].forms) and \
                not _CONSULTATIONS.search(folded) and \
                not any(t.surface in _OWN for t in words.tokens[at + 1:at + 4]):
            return True
    return False


# A passive with no agent, or a Spanish impersonal "se": the act is told without its actor.
_AGENTLESS = re.compile(r"\b(?:was|were|been|fue|fueron|sido)\s+(?:\w+\s+)?(?:\w{3,}ed|\w{3,}(?:ad|id)[oa]s?|struck|hit|"
                        r"sunk|shot|destruid[oa]s?|hundid[oa]s?)\b|\bse\s+(?:le\s+|les\s+)?\w{3,}(?:o|aron)\b")
_AGENT_NAMED = re.compile(r"\b(?:\w{3,}ed|\w{3,}(?:ad|id)[oa]s?|struck|hit|sunk|shot)\s+(?:\w+\s+){0,3}?(?:by|por)\s+")
_DEFINITE_BEFORE = re.compile(r"\b(?:the|this|that|these|those|la|las|los|esa|esas|esos|esta|estas|estos|dicha|dichas)\s+$")


# "The first bombing, …", "el primer bombardeo": a determiner and an ordinal or "same / latest" before the word.
_DEFINITE_ORDINAL = re.compile(r"\b(?:the|this|that|el|la|los|las|ese|esa|este|esta)\s+(?:first|second|third|last|latest|"
                               r"same|initial|primer[oa]?|segund[oa]|tercer[oa]?|ultim[oa]|mism[oa]|inicial)\s+$")


_DEFINITE_OPENING = re.compile(r"^\W*(?:the|los|las|el|la)\s+(?:[\w-]+\s+){0,3}$")


def _definite_terms(event: KnownEvent, folded: str, original: str) -> bool:
    """Every term of a group as written, the first one opening the sentence after a definite article
    ("The strikes … a boat", "Los ataques … contra lanchas"): the sentence speaks of the known act."""
    for group in event.term_groups:
        found = _group_starts(group, folded, original)
        if found and _DEFINITE_OPENING.match(folded[:min(found)]):
            return True
    return False


def _group_starts(group, folded: str, original: str) -> list[int] | None:
    """Where each term of a group first matches (the folded sentence, or as written for a term that
    keeps its case), or None when one does not."""
    found = []
    for p in group:
        text = original if p.exact_case else folded
        m = p.pattern.search(text) if p.needle in text else None
        if m is None:
            return None
        found.append(m.start())
    return found


def _agentless(folded: str, words: Words | None) -> bool:
    """An agentless passive or impersonal "se" in the sentence (memoised on its words)."""
    memo = words.memo if words is not None else {}
    if "agentless" not in memo:
        memo["agentless"] = bool(_AGENTLESS.search(folded)) and not _AGENT_NAMED.search(folded)
    return memo["agentless"]


def _bare_title(folded: str, words: Words | None) -> bool:
    """A title without a name and no other leader in the sentence (memoised on its words)."""
    memo = words.memo if words is not None else {}
    if "bare title" not in memo:
        memo["bare title"] = bool(BARE_TITLE.search(folded)) and not OTHER_LEADER.search(folded)
    return memo["bare title"]


def _match_event(event: KnownEvent, folded: str, original: str, words: Words | None = None,
                 dates: list[DateSpan] | None = None, tolerance_days: int = 1, continued: bool = False,
                 ) -> tuple[float, list[int], str] | None:
    """(score, offsets of the words that named it, how) or None.

    In order: an alias as written (0.85) or as lemmas (0.8); every term of a
    group with an actor, as written (0.7) or as lemmas (0.65); the event's
    own evidence — its exact date (± ``tolerance_days``), one of its actors
    and a word of its title or terms, all in the sentence (0.55; its month
    instead of its day: 0.5)."""
    needles, ids = _quick(event)
    matched = words.matched() if words is not None else frozenset()
    if ids.isdisjoint(matched) and not (dates and event.precision == "day" and words is not None and any(
            d.precision in ("day", "month") and d.overlaps(event.start, event.start,
                                                           tolerance_days if d.precision == "day" else 0)
            for d in dates)) and not any(n in folded or n in original for n in needles):
        return None  # no word of the event in the sentence, and no date to match its evidence on
    hits, names = [], []
    for p in event.alias_patterns:
        text = original if p.exact_case else folded
        if p.needle in text and p.allowed(folded, original, words):
            found = [m.start() for m in p.pattern.finditer(text)]
            if found:
                hits += found
                names.append(p.text)
    if hits:
        return 0.85, sorted(set(hits)), "alias " + ", ".join(f"'{n}'" for n in names)
    if words is not None:
        for p in event.alias_patterns:
            if p.lemma is not None and (p.lemma.ids <= matched or p.lemma.stem) and not p.requires and (
                    not p.own_years or p.allowed(folded, original, words)):
                found = p.lemma.find_all(words)
                if found:
                    hits += found
                    names.append(p.text)
        if hits:
            return 0.8, sorted(set(hits)), "alias " + ", ".join(f"'{n}'" for n in names) + " (as lemmas)"
    on_day = [d for d in dates or () if d.precision in ("day", "month") and event.precision == "day"
              and d.overlaps(event.start, event.start, tolerance_days if d.precision == "day" else 0)
              ] if words is not None else []
    on_day.sort(key=lambda d: d.precision != "day")  # an exact day first
    if not event.term_groups and not on_day:
        return None
    actor = next((a for a in event.actor_patterns if a.search(folded, original, words)), None)
    if actor is None and BOTH_SIDES.search(folded):
        actor = "both sides"
    if actor is None and event.titled and _bare_title(folded, words):
        actor = "a bare title"  # "the president refused the deportation flights": no other leader named
    if actor is None and _agentless(folded, words):
        actor = "an agentless passive"  # "La primera lancha fue destruida el 2 de septiembre", "Se atacó una lancha"
    if actor is None and continued:
        actor = "the sentence before"
    if actor is None and event.term_groups and words is not None and folded[:8].lstrip(" \"'“‘([-•").startswith(
            ("the", "los", "las", "el", "la")) and _definite_terms(event, folded, original):
        actor = "a definite article"  # "The strikes began on September 2 with a boat …": the known campaign  # "… revoked Petro's visa on 26 September. The revocation, …": the same story
    if actor is None:
        return None
    actor_name = actor if isinstance(actor, str) else actor.name
    for group in event.term_groups:
        found = _group_starts(group, folded, original)
        if found is not None:
            if not _other_sense(folded, words, found):
                return 0.7, found, f"terms {' + '.join(repr(p.text) for p in group)} with {actor_name}"
    if words is not None:
        clauses, best = None, None
        for group in event.term_groups:
            every = []
            for p in group:
                text = original if p.exact_case else folded
                m = p.pattern.search(text) if p.needle in text else None
                if m is not None:
                    every.append([m.start()] + [x.start() for x in p.pattern.finditer(text, m.end())])
                    continue
                if p.lemma is None or not p.lemma.ids <= matched:
                    break
                offsets = p.lemma.find_all(words)
                if not offsets:
                    break
                every.append(offsets)
            else:
                # Read on lemmas, the terms must stand together: one clause ("nothing to stop it, despite
                # payments" does not stop payments) — any one clause holding an occurrence of every term.
                clauses = clauses or _clauses(original)
                found = [offs[0] for offs in every]
                if len({_clause_of(clauses, o) for o in found}) == 1 and not _other_sense(folded, words, found):
                    return (0.65, found,
                            f"terms {' + '.join(repr(p.text) for p in group)} (as lemmas) with {actor_name}")
                if best is None:  # (their first occurrences apart: a later clause may hold them all)
                    shared = set.intersection(*({_clause_of(clauses, o) for o in offs} for offs in every))
                    if shared:
                        found = [next(o for o in offs if _clause_of(clauses, o) == min(shared)) for offs in every]
                        if not _other_sense(folded, words, found):
                            best = (min(shared), found, group)
        if best is not None:
            return (0.65, best[1],
                    f"terms {' + '.join(repr(p.text) for p in best[2])} (as lemmas) with {actor_name}")
    if continued and words is not None:
        # "Petro's visa was revoked on September 26. The revocation, announced on Sept. 28, …": a word of the
        # event's terms after a determiner, right after a sentence that named the event, names it again.
        for group in event.term_groups:
            for p in group:
                m = p.search(folded, original, words)
                if m is not None and (_DEFINITE_BEFORE.search(folded, max(0, m.start() - 8), m.start()) or
                                      _DEFINITE_ORDINAL.search(folded, max(0, m.start() - 20), m.start())) and \
                        not _other_sense(folded, words, [m.start()]):
                    return 0.6, [m.start()], f"'{p.text}' after a determiner, after a sentence naming it"
    if on_day and event.title_words:
        exact = on_day[0].precision == "day"
        for index, token in enumerate(words.tokens):
            if not exact and not _verb_form(token):
                continue  # by its month, only the act itself names it ("was sanctioned in October")
            if not event.title_words.isdisjoint(token.forms) and not any(
                    t.surface in _RELATIVE_TO for t in words.tokens[max(0, index - 3):index]) and not (
                    not _CALLING.isdisjoint(token.forms) and _DIPLOMAT_WORDS.isdisjoint(words.formset)
                    and not _MISSION.search(folded) and not _a_noun(words, index)) and \
                    not _other_sense(folded, words, [token.start]):
                return (0.55 if exact else 0.5, [token.start],
                        f"its {'date' if exact else 'month'} {on_day[0].text!r}"
                        f"{f' (±{tolerance_days} d)' if exact else ''}, {actor_name} and '{token.surface}'")
    return None
