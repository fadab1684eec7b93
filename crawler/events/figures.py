"""Figures stated for a known fact: which figure in a sentence is the fact's,
and whether it disagrees with the timeline."""
from __future__ import annotations

import logging
import re

from crawler.events.hits import STOPWORDS, ArticleDiff, ContradictionHit, StatementHit
from crawler.events.match import _clause_of, _clauses, _denied, _match_event
from crawler.events.lemmas import OTHER_COUNTRIES, lemmas_of
from crawler.events.modality import irrealis
from crawler.events.numberwords import word_quantities
from crawler.events.timeline import KnownEvent, KnownFact, Timeline
from crawler.facts import (
    Quantity,
    bound_interval,
    find_quantities,
    intervals_agree,
    nearest_year,
    previous_value,
    year_positions,
)
from crawler.text import fold

log = logging.getLogger(__name__)


def _before_event(event: KnownEvent, folded: str, original: str) -> bool:
    """'… was 6.8 percent before the deportation standoff': the figure is
    about another time than the event."""
    match = _match_event(event, folded, original)
    return bool(match) and any(re.search(r"\b(?:before|prior to|until|antes de|hasta)\s+(?:the\s+|el\s+|la\s+)?$",
                                         folded[max(0, o - 20):o]) for o in match[1])


# Figures said to be possible, planned or threatened are not statements of fact.
_HYPOTHETICAL = re.compile(r"(?:^|\W)(?:could|would|will|might|may|plans?\s+to|threat\w*\s+to|propos\w*\s+to|rais\w*(?:\s+\w+)?\s+to|"
                           r"ris\w*\s+to|increas\w*(?:\s+\w+)?\s+to|hik\w*(?:\s+\w+)?\s+to|double\w*\s+to|"
                           r"podria\w*|subir\w*\s+a|elevar\w*\s+a|amenaz\w*\s+con(?:\s+\w+(?:ar|er|ir))?|threat\w*\s+(?:\w+\s+)?with|propus\w*|propon\w*)"
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
                         r"(?:the|this|last|that)\s+(?:same\s+)?year\b|(?:el|este)\s+(?:mismo\s+)?ano\b|same\s+year\b)")
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
_OTHER_COUNTRIES = OTHER_COUNTRIES


# "USAID's share of the 2024 assistance", "a portion of the aid": a part, unless the share is the
# fact's own place's ("Colombia's share of US aid" is Colombia's total).
_SHARE = re.compile(r"(?:(?P<owner>[\w.-]+)'s\s+|\b(?:a|the|its|their)\s+)(?:\w+\s+)?(?:share|portion|part|slice|fraction|chunk|"
                    r"proportion)\s+of\b|\b(?:parte|porcion|tajada)\s+de\b|"
                    # "about a third of last year's US assistance", "la mitad de la ayuda": a fraction of it
                    r"\b(?:a|one|two|an?)[\s-]+(?:half|third|quarter|fifth|tenth|thirds|quarters|fifths)\s+of\b|\bhalf\s+of\b|"
                    r"\b(?:la\s+mitad|un\s+tercio|dos\s+tercios|un\s+cuarto|una\s+cuarta\s+parte|una\s+quinta\s+parte)\s+de\b")
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
    if not before and not after and not _heads_a_colon(text, keywords, q):
        return "no keyword close to it"
    if _HYPOTHETICAL.search(folded[max(0, q.start - 40):q.start]) or _CONDITION_AFTER.search(folded[q.end:]) or any(
            irrealis(t) for t in re.findall(r"\w+", text[max(0, q.start - 30):q.start].lower())[-3:]):
        return "possible, planned or conditional"
    if _denied(folded, q.start):
        return "in a denied report"
    if previous_value(text, q) and not re.match(r"\s*(?:in|en|del?|for)?\s*(?:FY\s*)?(?:19|20)\d\d\b", text[q.end:]):
        return "the value it is compared with"
    if _PART_BEFORE.search(folded[max(0, q.start - 30):q.start]) or _a_part(fact, event, folded, q) or \
            _REGION.search(folded, max(0, q.start - 80), q.start):
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
    if _PER_UNIT.match(folded, q.end):
        return "a figure per person"
    measure = _OTHER_MEASURE.search(folded, max(0, q.start - 40), min(len(folded), q.end + 40))
    if measure and not any(p.search(measure.group(0)) for p in fact.keywords):
        return f"another measure ({measure.group(0)})"
    return None


def _heads_a_colon(text: str, keywords: list[tuple[int, int]], q: Quantity) -> bool:
    """"Accounts of the tariff still differ: the fact sheet said 25%, …", "The 2023 coca figure depends on
    whom you ask: 253,000 hectares …": a keyword before a colon heads the figures the colon introduces."""
    colon = text.rfind(": ", 0, q.start)
    return colon >= 0 and q.start - colon <= 160 and any(k[1] <= colon and colon - k[1] <= 120 and ";" not in text[k[1]:colon] for k in keywords)


# "Solo en el departamento de Putumayo había …", "in Nariño province": one region's share of a country's figure.
_REGION = re.compile(r"\b(?:departamento|provincia|municipio|region|estado)\s+(?:de|del)\s+\w+|"
                     r"\b(?:department|province|municipality|region|state)\s+of\s+\w+|"
                     r"\b\w+\s+(?:department|province|municipality)\b")
# "$11 per Colombian", "por habitante": not the total.
_PER_UNIT = re.compile(r"\s*(?:a|an|per|por|each|cada)\s+(?:cada\s+|each\s+)?(?:capita|cápita|capita|person|head|resident|inhabitant|"
                       r"citizen|colombian|american|habitante|persona|ciudadano|colombiano)s?\b|"
                       # "$1.6 million a day", "1,6 millones de dólares diarios": a rate, not the year's total
                       r"\s*(?:(?:a|an|per|por|each|cada|al|a\s+la)\s+(?:day|week|month|dia|semana|mes)\b|"
                       r"(?:daily|weekly|monthly|diari[oa]s?|semanal(?:es)?|mensual(?:es)?)\b)")
# "hectares eradicated", "toneladas incautadas": another measure of the same crop or trade than the stock.
_OTHER_MEASURE = re.compile(r"\b(?:eradicat\w*|erradic\w*|destroy\w*|destrui\w*|destruy\w*|seiz\w*|incaut\w*|"
                            r"fumigat\w*|fumiga\w*|sprayed|substitut\w*|sustitu\w*|replanted|resembrad\w*)\b")


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
            and not key.endswith(("ly", "ed")) and not key.isdigit()  # adverbs and verbs: "threatened tariffs"
            and not _irregular_past(key))  # "grew coca on 300,000 hectares": a verb, not a modifier


def _irregular_past(word: str) -> bool:
    """An English verb form whose lemma is not its stem: grew (grow), sent (send), gave (give)."""
    forms = lemmas_of(word)
    return len(forms) > 1 and not word.startswith(forms[1]) and not forms[1].startswith(word)


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


_ANY_DIGIT = re.compile(r"\d")
_SPELLED_CUE = re.compile(r"(?i)million|billion|mill[oó]n")


def _fact_statements(diff: ArticleDiff, timeline: Timeline, sentence, folded: str, paragraph_events: set[str],
                     language: str | None = None, published=None, words=None,
                     refuted: tuple[int, int] | None = None) -> None:
    """The sentence's statements of known facts (figures), and their contradictions with the timeline;
    none from ``refuted``, the span of a claim the text rates false."""
    quantities: list[Quantity] | None = None
    written = stated = None
    if not _ANY_DIGIT.search(sentence.text) and not _SPELLED_CUE.search(sentence.text):
        return  # every figure has digits, or a spelled scale ("seven hundred million dollars")
    for event in timeline.events:
        for fact in event.facts:
            if fact.require_event and (event.id not in paragraph_events or _before_event(event, folded, sentence.text)):
                continue
            keywords = [m.span() for p in fact.keywords for m in p.finditer(folded)]
            if words is not None and not fact.lemma_keywords.isdisjoint(words.formset):
                keywords += [(t.start, t.end) for t in words.tokens if not fact.lemma_keywords.isdisjoint(t.forms)
                             and (t.start, t.end) not in keywords]
            if not keywords:
                continue
            if fact.context and not any(p.search(folded) for p in fact.context) and not any(
                    n.search(folded, sentence.text, words) for n in fact.context_names) and not (
                    any(st.fact == fact.name for st in diff.statements) and not _OTHER_COUNTRIES.search(folded)):
                continue  # (an article that stated the fact for its place goes on about that place)
            # A relative year ("last year") counts when it is the fact's year; otherwise it is as
            # often the survey's publication as the year measured, and says nothing either way.
            if written is None:
                written = year_positions(sentence.text)
                stated = year_positions(sentence.text, published)
            positions = {at: y for at, y in stated.items() if at in written or y == fact.year}
            years = set(positions.values())
            if fact.year is not None and (fact.year not in years if years else
                                          fact.require_year or _PRESENT.search(folded)):
                continue  # another year's figure, or today's ("Colombia now has …") for a past year's fact
            if quantities is None:
                quantities = find_quantities(sentence.text)
                quantities += [w for w in word_quantities(sentence.text)
                               if not any(q.start < w.end and w.start < q.end for q in quantities)]
                if refuted:
                    quantities = [q for q in quantities if not refuted[0] <= q.start < refuted[1]]
            near = []
            for q in (q for q in quantities if q.family == fact.family):
                reason = _not_the_fact(fact, event, sentence.text, folded, q, keywords, language)
                if reason:
                    log.debug("events: %s: %r not read as %s (%s)", event.id, q.text, fact.name, reason)
                else:
                    near.append(q)
            if fact.year is not None and years:
                near = [q for q in near if _year_of(positions, sentence.text, q) == fact.year]
            chosen = near[:1]
            if len({round(q.value, 6) for q in near}) > 1:
                # "The UN counted 253,000 hectares of coca in 2023; a government slide said 210,000 …": each
                # side of a semicolon states its own figure; otherwise which one is the fact is unclear.
                # So does each side of a contrast ("the fact sheet said 25%, while a broadcaster reported 50%",
                # "mientras que …") and each item of a list of figures ("253,000 ha according to UNODC, 240,000
                # ha according to …").
                bounds = [m.start() for m in RIVAL_BOUNDARY.finditer(sentence.text)]
                parts = {}
                for q in near:
                    parts.setdefault(sum(b < q.start for b in bounds), set()).add(round(q.value, 6))
                if len(parts) < 2 or any(len(values) > 1 for values in parts.values()):
                    log.debug("events: %s: several figures near %r, none attached: %s", fact.name,
                              fact.name, sentence.text[:120])
                    continue
                chosen = [next(q for q in near if sum(b < q.start for b in bounds) == part) for part in parts]
            for q in chosen:
                diff.statements.append(StatementHit(
                    event.id, fact.name, fact.display(q.value), fact.unit, q.bound, q.text, sentence.text,
                    sentence.start, sentence.end, q.interval()))
                if fact.value is not None:
                    known = bound_interval(fact.value, "exact", fact.rel_tol)
                    if not intervals_agree(q.interval(), known):
                        diff.contradictions.append(ContradictionHit(
                            "timeline", event.id, fact.name, _stated_label(q, fact), fact.describe(), sentence.text,
                            known_source=fact.source))


# Where one side of competing figures ends: a semicolon, a contrast word, a comma before the next figure.
RIVAL_BOUNDARY = re.compile(r";|,?\s+(?:while|whereas|but|mientras(?:\s+que)?|pero|en\s+tanto(?:\s+que)?)\b|"
                             r",\s+(?=(?:US\s*)?[$€£]?\s?\d)", re.I)


def _year_of(positions: dict[int, int], text: str, q: Quantity) -> int | None:
    """The year of a figure: the nearest one written in its own clause, else the nearest in the
    sentence ("Según el informe de 2024, Colombia tenía 270.000 hectáreas el año anterior")."""
    clauses = _clauses(text)
    mine = _clause_of(clauses, q.start)
    own = {at: y for at, y in positions.items() if _clause_of(clauses, at) == mine}
    return nearest_year(own or positions, q.start, q.end)


def _stated_label(q: Quantity, fact: KnownFact) -> str:
    bound = {"min": "at least ", "max": "at most ", "about": "about ", "exact": "", "range": ""}[q.bound]
    converted = fact.display(q.value)
    return f"{q.text} ({bound}{converted:,.6g} {fact.unit})"

