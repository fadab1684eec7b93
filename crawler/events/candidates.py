"""Candidates: dated claims of a new action by a watched actor.

A sentence proposes a candidate when it reports an *action* — a verb in a
past or news-present form, read on lemmas (:mod:`crawler.events.lemmas`) —
by a watched actor, as having happened (:mod:`crawler.events.modality`),
dated by its own clause. The action lexicon is open and scored: verbs of
government action news reports ("revoke", "expel", "vote", "file",
"return", "cortar", "demandar" …) score 1; any other verb in a past form
scores 0.5 and needs an exact day; verbs of saying, thinking and being
("said", "warned", "believed", "was") are never actions. A sentence that
names a known event may propose a follow-up about it ("Colombia filed suit
against the decertification on 3 November"), as long as the action is not
the event's own words and its date is not the event's.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from crawler.events.hits import CandidateHit
from crawler.events.lemmas import BOTH_SIDES, CONCEPTS, OTHER_COUNTRIES, Token, Words, names_foreign
from crawler.events.match import _ABOUT_EVENT, _DENIAL, _clause_of, _clauses, _opens_sentence
from crawler.events.modality import modality_reason
from crawler.events.timeline import Timeline
from crawler.facts import DateSpan, find_quantities
from crawler.text import fold

# The verb forms a promoted candidate's terms are taken from (crawler.events.promote).
_PROMOTE_VERBS = [
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
    re.escape(v.rstrip("*")) + (r"\w*" if v.endswith("*") else "") for v in _PROMOTE_VERBS) + r")(?!\w)")



# Verbs of action in news about governments, English and Spanish lemmas (folded): score 1.
_ACTIONS = set("""
announce impose revoke recall sign declare decertify sanction suspend expel arrest kill attack strike bomb launch
approve ban deport refuse reject order cancel freeze seize meet visit designate withdraw slash raise block deploy
telephone phone reopen summon extradite capture resign elect agree threaten retaliate halt terminate close lift
file sue vote return restore strip cut end stop break sever expand renew extend veto pass indict charge convict
release free detain raid intercept sink destroy fire dismiss appoint nominate award grant pause resume open shut
travel fly host receive invite ratify unveil issue introduce buy sell send hold sink shoot downgrade
upgrade certify recognise recognize condemn protest boycott fine confiscate offer accept deliver repatriate
lodge submit summon censure
anunciar imponer revocar retirar llamar firmar declarar descertificar sancionar suspender expulsar detener
capturar atacar bombardear lanzar aprobar prohibir deportar rechazar ordenar cancelar congelar reunir visitar
renunciar amenazar cerrar desplegar convocar reabrir demandar votar devolver regresar restablecer restaurar
cortar romper extraditar liberar designar nombrar viajar recibir anular quitar frenar interceptar hundir
destruir reanudar abrir presentar comprar vender enviar condenar multar ofrecer aceptar entregar repatriar
llegar imponer telefonear volver
exclude excluir acordar pedir solicitar request notify notificar
abandon abandonar quit reduce reducir downsize
hire contratar
double triple increase duplicar triplicar aumentar elevar
""".split())
# Verbs whose "that"-clause is what they decide or order ("ordenó que …", "agreed that …"): still acts.
_DECIDING = {"announce", "anunciar", "order", "ordenar", "decide", "decidir", "agree", "acordar", "approve",
             "aprobar", "declare", "declarar", "establish", "establecer", "rule", "dictaminar", "resolve", "resolver",
             "determine", "determinar", "certify", "certificar", "decertify", "descertificar", "notify", "notificar"}
# Verbs of saying, thinking, being or wanting: never the action of a claim.
_NOT_ACTIONS = set("""
say tell add note write argue explain ask describe criticize criticise praise accuse warn urge insist claim
state report confirm reply respond comment tweet post speak talk reiterate repeat stress emphasize emphasise
acknowledge admit suggest indicate show reveal estimate calculate predict expect hope believe think fear worry
want plan remember be have do seem appear become remain continue include involve base concern relate use need
allow get go come see know find feel look keep let put follow cite quote mean face cause lead allege suspect
call deny dispute refute label date learn hear brand blame mark tie link compare calculate rise fall grow drop
decir afirmar senalar explicar agregar anadir asegurar indicar informar comentar criticar acusar advertir
insistir reiterar destacar subrayar confirmar negar responder sostener calificar considerar estimar creer
pensar temer querer recordar publicar escribir ser estar haber tener hacer ir dar ver poder deber seguir
quedar parecer pasar desmentir conocer saber enterar
score beat win lose draw tie rally climb slip jump gain trade batter collide
rescue capsize sink perform sing play celebrate premiere rain flood
rescatar naufragar zozobrar ganar empatar vencer jugar cantar celebrar estrenar llover inundar
""".split())
# Irregular English pasts of action verbs (simplemma gives their lemma; the form says it is a past).
IRREGULAR_PAST = set("""struck froze met withdrew broke cut shut hit sank sent flew held upheld shot bought sold
paid took gave began left won lost drew fought overtook forbade rode stole swore threw tore""".split())
# Participle forms used as adjectives before their noun: not an action.
_ADJECTIVAL = {"alleged", "suspected", "so", "armed", "united", "based", "related", "concerned", "expected",
               "proposed", "planned", "detained", "accused", "reported", "estimated", "increased", "limited",
               "affected", "wanted", "unnamed", "detailed"}
_DETERMINERS = {"the", "a", "an", "this", "that", "these", "those", "its", "his", "her", "their", "our", "of", "on",
                "in", "for", "with", "el", "la", "los", "las", "un", "una", "su", "sus", "de", "del", "al"}
_AUXILIARIES_PAST = {"had"}  # "had been met in full": background to the news, not the news
_PERFECT = {"has", "have", "ha", "han", "hemos"}
_PASSIVE = {"was", "were", "fue", "fueron", "been"}
_DIPLOMATS = frozenset(next(c for c in CONCEPTS if "ambassador" in c))
_CALLING_IN = {"summon", "convocar", "citar", "llamar", "recall"}
# The endings a verb form _verb_of reads can have (a cheap test before it).
_VERB_ENDINGS = ("ed", "s", "o", "aron", "ieron", "yeron", "ado", "ido")
_PASSIVE_ENDINGS = ("ada", "ida")  # "fue convocada": only after "fue / fueron"


def _maybe_verb(tokens: list[Token], index: int) -> bool:
    """A cheap test before _verb_of: an ending a verb form it reads can have."""
    surface = tokens[index].surface
    return surface.endswith(_VERB_ENDINGS) or surface in IRREGULAR_PAST or (
        surface.endswith(_PASSIVE_ENDINGS) and index > 0 and tokens[index - 1].surface in ("fue", "fueron"))
_MARKET_SENSE = {"end", "close", "open", "finish", "cerrar", "abrir"}
_MARKET_AFTER = {"higher", "lower", "up", "down", "flat", "unchanged", "mixed", "at", "al", "en", "con"}
# "Trump has threatened to cut aid": a threat's time is not the article's news day.
_NOT_DATED_BY_NEWS = {"threaten", "amenazar", "warn", "advertir", "agree", "acordar"}
_INFINITIVE = re.compile(r"\b(?:to|podria\w*|va|van|vaya\w*)\s+(?:\w+\s+)?$")
_OF_EVENT = {"of", "de", "against", "contra", "on", "sobre"}
# Verbs that, in a short last clause, only say who reported the news: "…, anunció la Casa Blanca."
_ATTRIBUTION = {"announce", "anunciar", "confirm", "report", "informar"}


# "negó el miércoles haber …": the article is the weekday's and an infinitive follows: a denial.
_WEEKDAYS = {"lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo"}
_SAYING_NOUNS = {"claim", "report", "allegation", "rumor", "rumour", "story", "version", "informe", "version",
                 "acusacion", "rumor", "noticia", "afirmacion", "que", "that", "it", "lo"}
# Sport: "La selección Colombia venció 3-0 a Estados Unidos" is not an act of governments ("voted 48-51", a tally, is).
_SPORT = re.compile(r"(?<!vote\s)(?<!voted\s)(?<!votes\s)(?<!votaron\s)(?<!votacion\s)(?<!vote\sof\s)(?<!margin\sof\s)"
                    r"(?<![\d\-/.])\b\d{1,2}\s*[-–]\s*\d{1,2}\b(?![-/.]\d|\s*(?:de|of)\b|\s*(?:votes?|votos)\b)|\b(?:seleccion|national\s+team|squad|amistoso|"
                    r"friendly\s+(?:match|game)|goles?|goals?\b|eliminatorias?|world\s+cup|copa\s+(?:america|mundial|del\s+mundo)|"
                    r"mundial\s+de\s+futbol|futbol|soccer|football|torneo|tournament|estadio|stadium|"
                    # …and other dated news that is not an act of governments: sport, cinema, music, cuisine
                    r"tennis|tenis|tenista|cuartos\s+de\s+final|quarter-?finals?|semi-?finals?|semifinal(?:es)?|"
                    r"medall?as?|medals?|olympic\w*|olimpic\w*|cycling|ciclismo|cinemas?|box\s+office|taquilla|"
                    r"peliculas?|films?\s+festival|festival\s+de\s+cine|premiere|estreno|concierto|concert|album|"
                    r"michelin|chef|gira\s+musical|world\s+tour)\b")
# "a lo largo de las últimas tres décadas", "for years", "over the past decade": a habit, not the day's news.
_DURATION = re.compile(r"\b(?:a\s+lo\s+largo\s+de|durante|en|over|for|in)\s+(?:the\s+|las\s+|los\s+)?"
                       r"(?:past\s+|last\s+|ultim[oa]s\s+|pasad[oa]s\s+)?(?:\w+\s+)?(?:decades?|decadas?|years|anos|"
                       r"months|meses)\b|\bfor\s+years\b|\bdesde\s+hace\s+\w+\b")


class _Verb:
    __slots__ = ("token", "lemma", "weight", "present", "diplomat")

    def __init__(self, token: Token, lemma: str, weight: float, present: bool, diplomat: bool = False) -> None:
        self.token, self.lemma, self.weight, self.present = token, lemma, weight, present
        self.diplomat = diplomat  # a diplomat stands just after it (the object of a summons)


def _verb_of(words: Words, index: int, original: str) -> _Verb | None:
    """The token at ``index`` read as a verb reporting an action, or None."""
    tokens = words.tokens
    token = tokens[index]
    surface = token.surface
    if len(surface) < 3 or surface in _ADJECTIVAL:
        return None
    raw = original[token.start:token.end].lower()
    lemmas = token.forms[1:] or token.forms
    prev = tokens[index - 1].surface if index else ""
    nxt = tokens[index + 1].surface if index + 1 < len(tokens) else ""
    present = False
    lemma = None
    # English: "revoked", "struck", headline "revokes" (a subject before it, an object after it)
    en = fold(token.forms[1]) if len(token.forms) > 1 else surface
    if surface.endswith("ed") and en != surface:
        lemma = en[:-1] if en.endswith("ll") and en[:-1] in _ACTIONS else en  # "cancelled" → cancell → cancel
    elif surface in IRREGULAR_PAST:
        lemma = en if en != surface else surface
    elif (surface.endswith("s") and en != surface and en in _ACTIONS and prev not in _DETERMINERS
          and nxt not in ("on", "against", "of", "for", "to", "in", "over", "from", "and", "by", "were", "are")
          and index > 0 and original[tokens[index - 1].start:tokens[index - 1].start + 1].isupper()):
        lemma, present = en, True
    # Spanish: "revocó", "suspendieron", "impuso"
    if lemma is None:
        es = next((f for f in lemmas if f.endswith(("ar", "er", "ir")) and f != surface), None)
        if es and (raw.endswith(("ó", "ió")) or surface.endswith(("aron", "ieron", "yeron"))
                   or (es in _ACTIONS and surface.endswith(("uso", "uvo", "ujo", "izo")))):
            lemma = es
        elif es and prev in _PERFECT and surface.endswith(("ado", "ido")):
            lemma, present = es, True
        elif es and prev in ("fue", "fueron") and surface.endswith(("ado", "ada", "ados", "adas", "ido", "ida", "idos",
                                                                    "idas")) and es in _ACTIONS:
            lemma = es  # "fue convocado el 20 de octubre": a past passive of a lexicon verb
    if lemma in ("deny", "negar") and nxt in ("el", "la", "los", "las", "entry", "access", "a", "an", "the") and not any(
            any(f in _SAYING_NOUNS for f in t.forms) for t in tokens[index + 1:index + 4]) and not (
            index + 3 < len(tokens) and tokens[index + 2].surface in _WEEKDAYS
            and tokens[index + 3].surface.endswith(("ar", "er", "ir"))):  # "negó el miércoles haber …"
        lemma = "refuse"  # "negó el ingreso", "denied entry": a refusal, not a denial of a report
    if lemma in ("decline", "declinar") and nxt in ("to", "a"):
        lemma = "refuse"  # "declined to lift the sanctions": a refusal, an act of its own
    if lemma is None or lemma in _NOT_ACTIONS:
        return None
    if lemma in _MARKET_SENSE and nxt in _MARKET_AFTER:
        return None  # "stocks ended higher", "the peso closed at …": a market's day, not an act
    if prev in _DETERMINERS or prev in _AUXILIARIES_PAST or prev == "being" or (
            prev == "been" and index > 1 and tokens[index - 2].surface in _AUXILIARIES_PAST):
        return None  # "the revoked visa", "had been met", "being designated"
    if prev in _PERFECT:
        present = True
    diplomat_after = any(any(f in _DIPLOMATS for f in t.forms) for t in tokens[index + 1:index + 9])
    if lemma in ("recall", "llamar") and not diplomat_after:
        return None  # "recalled" = remembered, unless a diplomat is recalled
    # "citó al encargado de negocios": summoned (citar is otherwise "quoted", a verb of saying)
    weight = 1.0 if lemma in _ACTIONS or (lemma == "citar" and diplomat_after) else 0.5
    if nxt in ("that", "que") and lemma not in _DECIDING:
        return None  # "Petro insinuó que …", "denunció que …", "Trump hinted that …": a saying, not an act
    return _Verb(token, lemma, weight, present, diplomat_after)


def _action_verb(sentence: str, folded: str, words: Words, skip: set[int]) -> _Verb | None:
    """The best action verb reporting something done: not in a denied report
    ("denied reports that Washington had decertified …"), not possible,
    planned or conditional ("could meet", "will visit"), not a trailing
    attribution ("Trump visitará Colombia en marzo, anunció la Casa Blanca":
    the visit is the news, and it has not happened), not one of the words
    that name a known event (``skip``)."""
    clauses = _clauses(sentence)
    best: _Verb | None = None
    for index, token in enumerate(words.tokens):
        if token.start in skip or not _maybe_verb(words.tokens, index):
            continue
        verb = _verb_of(words, index, sentence)
        if verb is None:
            continue
        if index and words.tokens[index - 1].start in skip or (index > 1 and words.tokens[index - 2].start in skip
                                                                and words.tokens[index - 1].surface in _OF_EVENT):
            continue  # "the decertification announced on 15 September": the event, described
        if _DENIAL.match(folded, token.start):
            continue  # "Petro rejected reports that …": the denial; its dates are the denied report's
        if modality_reason(folded, sentence, token.start) or _INFINITIVE.search(
                folded, max(0, token.start - 30), token.start):
            continue
        at = _clause_of(clauses, token.start)
        last_start, last_end = clauses[-1]
        if (verb.lemma in _ATTRIBUTION and len(clauses) > 1 and at == len(clauses) - 1
                and len(sentence[last_start:last_end].split()) <= 6):
            continue
        if best is None or verb.weight > best.weight:
            best = verb
    return best


# "has extradited hundreds of suspects under Petro", "ha deportado a miles … desde 2022": repeated acts over a
# period, not the day's news.
_HABIT = re.compile(r"\b(?:hundreds|thousands|dozens|scores|cientos|centenares|miles|decenas|docenas)\s+(?:of|de)\b|"
                    r"\b(?:under|bajo)\s+(?:el\s+)?(?:gobierno|mandato)\b")
_UNDER_NAME = re.compile(r"\b(?:under|bajo)\s+(?:[A-Z]\w+)")  # "under Petro", "bajo Petro" (as written)
# "$450 million a year", "al año", "per year", "cada año": a rate is a habit, not a lede's news.
_RATE = re.compile(r"\b(?:a|per|each|every|al|por|cada)\s+(?:year|ano)\b|\b(?:annually|yearly|anualmente|anuales?)\b")


# A follow-up names the known event as what it is about or after: "over the sanctions", "after the
# visa revocation", "contra la descertificación".
_ABOUT_WORDS = {"after", "before", "since", "following", "over", "against", "about", "regarding", "concerning",
                "amid", "tras", "sobre", "contra", "por", "ante", "despues", "antes", "desde", "pese", "until",
                "retaliation", "reprisal", "represalia", "represalias", "response", "respuesta", "mientras", "while"}


def about_start(words: Words, offset: int) -> int | None:
    """Where the about-word before the words at ``offset`` stands ("… on November 11 until the strikes
    stop": the offset of "until"), or None."""
    index = words.index_at(offset)
    return next((t.start for t in words.tokens[max(0, index - 6):index] if t.surface in _ABOUT_WORDS), None)


def _about(words: Words, offset: int, folded: str = "") -> bool:
    index = words.index_at(offset)
    return any(t.surface in _ABOUT_WORDS for t in words.tokens[max(0, index - 6):index]) or bool(
        _ABOUT_EVENT.search(folded, max(0, offset - 70), offset))


def _short_title(sentence: str, limit: int = 110) -> str:
    if len(sentence) <= limit:
        return sentence
    return sentence[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


_DATE_WEIGHT = {"day": 1.0, "month": 0.9}
MIN_SCORE = 0.5


def _candidate(sentence, folded: str, words: Words, dates: list[DateSpan], timeline: Timeline,
               published: date | None, today: date, is_lede: bool,
               named: dict[str, list[int]] | None = None, claimed: set[int] | None = None,
               topic: float = 1.0) -> CandidateHit | None:
    """The sentence's candidate, if it reports a new dated action. ``named``:
    the known events it names (offsets of their words); ``claimed``: offsets
    of the dates those events take; ``topic``: 1 when the sentence names a
    topic actor (or none are set), 0.9 when only its article does, 0.4 when
    neither does."""
    if _SPORT.search(folded):
        return None
    actors = [n.name for n in timeline.watch_actors if n.search(folded, sentence.text, words)]
    if not actors and BOTH_SIDES.search(folded):
        actors = ["both governments"]  # "Ambos gobiernos acordaron …" names both sides
    if not actors:
        return None
    named = named or {}
    verb_probe = None
    if named and ";" in sentence.text:
        # "Trump anunció en octubre el fin de la ayuda; al mes siguiente, el Pentágono suspendió …": each
        # side of a semicolon is a sentence of its own; a known event in the other one is no follow-up.
        verb_probe = _action_verb(sentence.text, folded, words, {o for offs in named.values() for o in offs})
        if verb_probe is not None:
            part = sentence.text.count(";", 0, verb_probe.token.start)
            named = {e: offs for e, offs in named.items()
                     if any(sentence.text.count(";", 0, o) == part for o in offs)}
    claimed = claimed or set()
    skip = {o for offsets in named.values() for o in offsets}
    named_events = [e for e in timeline.events if e.id in named]
    verb = verb_probe or _action_verb(sentence.text, folded, words, skip)
    if verb is None:
        return None
    if not named and _another_countrys_dealings(timeline, folded, sentence.text, words):
        return None  # "Ecuador y Estados Unidos firmaron un acuerdo antidrogas": another country's story
    if not named and _domestic(timeline, actors, folded, sentence.text, words):
        return None  # "Petro posesionó a la nueva ministra": the topic country's own politics, no other side
    if named and (verb.weight < 1.0 or any(o < verb.token.start and _clause_of(_clauses(sentence.text), o)
                                           == _clause_of(_clauses(sentence.text), verb.token.start)
                                           for o in skip)):
        return None  # a follow-up needs a listed action, not the known event's own course ("the row escalated")
    if named and not any(_about(words, o, folded) for o in skip) and not any(
            getattr(another_act(sentence.text, words, offs, e.title_words), "token", None) is verb.token
            for e in named_events for offs in (named[e.id],)):
        return None  # "Petro, whose visa was revoked, visited Paris": the event describes him; no follow-up
    if any(set(verb.token.forms) & e.title_words and not _summons_for_another(verb, e) for e in named_events) \
            and not _coming_back(words, verb):
        return None  # the known event told again ("Washington decertified Colombia")
    window = timedelta(days=timeline.settings.candidate_window_days)
    # The dates of the verb's clause date the action when there are any: "expelled a diplomat
    # in 1998, a precedent Petro cited on Monday" is background, not Monday's news.
    clauses = _clauses(sentence.text)
    at = _clause_of(clauses, verb.token.start)
    own = [d for d in dates if _clause_of(clauses, d.offset) == at]
    if any(_clause_of(clauses, d.offset) == at for d in own if d.offset in claimed) or any(
            modality_reason(folded, sentence.text, d.offset) for d in own
            if not 0 <= d.offset - verb.token.end <= 4):  # "pidió el 17 de noviembre …": the request's own day
        return None  # its clause's date is the known event's, or a planned one's ("will take effect on …")
    own = [d for d in own if d.offset not in claimed]
    # Another clause's date dates the verb only when it opens the sentence or stands alone.
    others = [d for d in dates if d.offset not in claimed and (_opens_sentence(d, sentence.text, clauses) or len(
        sentence.text[slice(*clauses[_clause_of(clauses, d.offset)])].split()) <= len(d.text.split()) + 2)]
    usable = [d for d in own or others if d.precision in ("day", "month")
              and today - window <= d.end and d.start <= today + timedelta(days=31)]
    if usable:
        chosen = min(usable, key=lambda d: abs(d.offset - verb.token.start))
        start, precision = chosen.start, chosen.precision
        dated = f"date {chosen.text!r} ({chosen.label()})"
    elif own and not usable:
        return None
    elif (is_lede and published is not None and not dates and verb.present and not named
          and verb.lemma not in _NOT_DATED_BY_NEWS and not _DURATION.search(folded) and not _RATE.search(folded)
          and not _HABIT.search(folded) and not _UNDER_NAME.search(sentence.text)):
        # A present-tense lede reports the article's own news: undated, it happened around publication.
        start, precision = date(published.year, published.month, 1), "month"
        dated = f"undated present-tense lede: the publication month ({start:%Y-%m})"
    else:
        return None
    score = verb.weight * _DATE_WEIGHT[precision] * topic
    if score < MIN_SCORE or (verb.weight < 1.0 and precision != "day"):
        return None
    end = start if precision == "day" else date(start.year, start.month, 28)
    for event in named_events:  # a follow-up must be another action, at another time
        if event.precision == "range":
            continue  # an ongoing campaign: actions about it happen while it lasts
        e_start, e_end = event.interval(today)
        if start <= e_end and e_start <= end:
            return None  # (the next day is another act's: "recalled its envoy on Monday over Sunday's aid cut")
    if _facet_of_known_event(timeline, start, precision, folded, sentence.text, words):
        return None
    if verb.lemma in _PUBLISHING and _REPORT.search(folded) and not _states_a_measure(timeline, sentence.text):
        return None  # "UNODC's World Drug Report, published on 26 June, said …": a report told, not an act
    if _known_act_again(timeline, verb, start, end, words, folded, sentence.text):
        return None  # "…; both capitals withdrew their heads of mission in July 2025": the known recall, retold
    surface = sentence.text[verb.token.start:verb.token.end]
    explanation = (f"actor {', '.join(actors)}; action {surface!r} ({verb.lemma}, "
                   f"{'in the action lexicon' if verb.weight >= 1 else 'a past-tense verb outside the lexicon'}); "
                   f"{dated}" + (f"; follows up {', '.join(named)}" if named else "")
                   + ("" if topic == 1.0 else "; its article names the topic" if topic > 0.5 else "")
                   + f"; score {score:.2f}")
    return CandidateHit(start, precision, _short_title(sentence.text), actors, surface, sentence.text,
                        sentence.start, sentence.end, round(score, 2), explanation)


# "returned to Bogotá", "volvió a Washington": coming back (the end of a recall), not sending an envoy home.
_RETURN = {"return", "volver", "regresar"}


def _summons_for_another(verb: _Verb, event) -> bool:
    """"convocó al encargado de negocios" after the visa revocation: a verb of calling in with a diplomat
    after it is a summons, even when an event without diplomats shares the verb's class (visa "pulled")."""
    return verb.lemma in _CALLING_IN and verb.diplomat and _DIPLOMATS.isdisjoint(event.title_words)


def _coming_back(words: Words, verb: _Verb) -> bool:
    index = words.index_at(verb.token.start)
    nxt = words.tokens[index + 1].surface if index + 1 < len(words.tokens) else ""
    return verb.lemma in _RETURN and nxt in ("to", "a", "al")


# "off Venezuela", "frente a las costas de Ecuador", "in Mexico City": where, not who.
_WHERE_BEFORE = re.compile(r"\b(?:off|near|in|into|from|to|frente\s+a|cerca\s+de|en|desde|hacia|aguas\s+de|costas\s+de)\s+"
                           r"(?:the\s+|las\s+|la\s+|los\s+|el\s+)?(?:\w+\s+)?$")


def _another_countrys_dealings(timeline: Timeline, folded: str, original: str, words: Words) -> bool:
    """A sentence naming another country as a party ("Ecuador y Estados Unidos firmaron …", "Washington
    sanctioned two Venezuelan ministers") and none of the topic's actors (Petro, Colombia, Bogotá): the
    watched actor's dealings with another country are that country's story, not this timeline's."""
    if not timeline.topic_actors or any(n.search(folded, original, words) for n in timeline.topic_actors):
        return False
    return any(not _WHERE_BEFORE.search(folded, max(0, m.start() - 30), m.start())
               for m in OTHER_COUNTRIES.finditer(folded))


def topic_word_in(timeline: Timeline, folded: str, original: str, words: Words) -> bool:
    """Whether the sentence has one of the timeline's topic words, not as the first part of a capitalised
    compound name ("Coca-Cola FEMSA" is no coca; "narco-boats" is narco*)."""
    for p in timeline.topic_words:
        first = p.search(folded, original, words)
        if first is None:
            continue
        end = first.end()
        if not (original[end:end + 1] == "-" and original[end + 1:end + 2].isupper()):
            return True
        for hit in p.finditer(folded, original, words):  # (rare: a brand first; any plain use later?)
            end = hit.end()
            if not (original[end:end + 1] == "-" and original[end + 1:end + 2].isupper()):
                return True
    return False


def _domestic(timeline: Timeline, actors: list[str], folded: str, original: str, words: Words) -> bool:
    """Whether every watched actor the sentence names is on the topic's side (``topic_actors`` and
    their forms: Petro, Colombia, "the Colombian government") and it names no topic word: the
    country's own politics ("El alcalde de Bogotá anunció la licitación del metro"), not the story
    between the two sides."""
    if not timeline.topic_actors or "both governments" in actors:
        return False
    side = getattr(timeline, "_topic_side", None)
    if side is None:
        side = {n.name for n in timeline.watch_actors if any(t.search(fold(n.name), n.name) for t in timeline.topic_actors)}
        timeline._topic_side = side
    if any(a not in side for a in actors):
        return False
    return not topic_word_in(timeline, folded, original, words) and \
        not names_foreign(words, original)


# Publishing a report: news only when it states a measure the timeline follows ("the new survey, released on
# 14 October, found 262,000 hectares"), not any report an agency or a minister presents (filing a complaint,
# "presentó una queja", is an act: no report noun).
_REPORT = re.compile(r"\b(?:reports?|informes?|stud(?:y|ies)|estudios?|videos?|analys[ie]s|analisis|balances?|"
                     r"bulletins?|boletin\w*)\b")
_PUBLISHING = {"publish", "release", "present", "issue", "unveil", "publicar", "presentar", "difundir", "divulgar"}


def _states_a_measure(timeline: Timeline, text: str) -> bool:
    families = getattr(timeline, "_fact_families", None)
    if families is None:
        families = timeline._fact_families = {f.family for e in timeline.events for f in e.facts}
    return any(q.family in families for q in find_quantities(text))


def _known_act_again(timeline: Timeline, verb: _Verb, start: date, end: date, words: Words, folded: str,
                     original: str) -> bool:
    """A claim dated at a known (non-ongoing) event's time that tells it in its words — two of the event's
    title or term words and one of its actors in the sentence ("Trump orders 25% duties and visa curbs",
    undated, in the month of the stand-off; "both capitals withdrew their envoys in July 2025") — is that
    event, retold."""
    for event in timeline.events:
        if event.precision == "range" or not event.title_words:
            continue
        e_start, e_end = event.interval(start)
        if not (start - timedelta(days=1) <= e_end and e_start <= end + timedelta(days=1)):
            continue
        shared = {t.start for t in words.tokens if not event.title_words.isdisjoint(t.forms)}
        if len(shared) >= 2 and any(p.search(folded, original, words) for p in event.actor_patterns):
            return True
    return False


def _facet_of_known_event(timeline: Timeline, day: date, precision: str, folded: str, original: str,
                          words: Words) -> bool:
    """A claim dated the very day of a known (single-day) event and naming one
    of its actors is most often that event told in other words ("Trump
    imposed a 25% tariff on Colombian goods on January 26" was the deportation
    stand-off), not a new one. Ongoing ranges and month-precise events are
    too wide for this."""
    for event in timeline.events:
        if event.precision != "day":
            continue
        if precision == "day" and event.start != day:
            continue
        if precision != "day":
            continue  # by its month, a claim is the known event only when it names it (match.py)
        if any(p.search(folded, original, words) for p in event.actor_patterns):
            return True
    return False


# --- Another act's object: a date belongs to the clause's own verb (issue 13, sixth pass) -------------
#
# "On 30 September the Senate approved a motion against the decertification",
# "Petro's lawyers filed a petition with OFAC on 5 November", "El 2 de octubre
# la Cancillería envió una nota de protesta a la embajada por la revocatoria":
# the clause's verb is an act of its own (a lexicon verb that is none of the
# event's words) whose object — the noun phrase right after it, up to a
# preposition — is not the event. The event stands further on, as what that
# act is about, to or with; the clause's date is the act's, not the event's.
# The event is named, undated, and the act may be a follow-up candidate.
#
# "Trump announced an end to US aid on 21 October", "imposed sanctions on Petro
# on 22 October", "ordered two deportation planes turned back on 25 January":
# the verb's object holds the event's words, so the date is the event's.

# Words that end a verb's object going forward: prepositions, relatives, conjunctions.
_OBJECT_ENDS = {"to", "with", "for", "on", "in", "at", "from", "by", "of", "against", "over", "after", "before",
                "about", "that", "which", "who", "and", "as", "into", "under", "until", "asking", "seeking",
                "de", "del", "a", "al", "con", "por", "para", "en", "contra", "sobre", "que", "y", "ante", "hasta",
                "tras", "desde", "mientras", "while", "amid", "since", "following", "pidiendo", "solicitando"}
# Words an object may open with: articles, numbers, a Spanish personal "a" is a preposition above.
_OBJECT_OPENS = {"the", "a", "an", "its", "his", "her", "their", "this", "these", "el", "la", "los", "las", "un",
                 "una", "unos", "unas", "su", "sus", "this", "that"}
# Verbs whose object is a saying or whose clause is the event's own course: never "another act".
# (Releasing a video or a report of the event is telling it: "released video on 16 September of a strike".)
_NOT_ANOTHER_ACT = {"announce", "anunciar", "declare", "declarar", "confirm", "order", "ordenar", "impose", "imponer",
                    "release", "publish", "publicar", "difundir", "issue", "unveil", "presentar"}
# Before an event's words that come after the date: they are a complement ("with OFAC", "ante el Tesoro").
_COMPLEMENT = {"with", "to", "at", "before", "con", "ante", "a", "al"}


def _object_span(words: Words, original: str, index: int, end: int) -> tuple[int, int]:
    """Token indexes [from, to) of the object after the verb at ``index`` (up to ``end``, a clause end)."""
    tokens = words.tokens
    first = index + 1
    while first < len(tokens) and tokens[first].start < end and tokens[first].surface in _OBJECT_OPENS:
        if tokens[first].surface == "a" and first + 1 < len(tokens) and (
                tokens[first + 1].surface in _OBJECT_OPENS or original[tokens[first + 1].start].isupper()):
            break  # a Spanish "a": "a la embajada", "a Petro"
        first += 1
    last = first
    while last < len(tokens) and tokens[last].start < end and tokens[last].surface not in _OBJECT_ENDS:
        last += 1
    return first, last


def another_act(original: str, words: Words, offsets: list[int], event_words: frozenset[str]):
    """The action verb (a candidates ``_Verb``) of the clause holding the event's first word, before it,
    that is none of the event's words and whose object is not the event, or None."""
    if not offsets:
        return None
    memo = words.memo.setdefault("another act", {})
    key = (tuple(offsets), event_words)
    if key in memo:
        return memo[key]
    clauses = _clauses(original)
    first = min(offsets)
    start, end = clauses[_clause_of(clauses, first)]
    found = None
    for index, token in enumerate(words.tokens):
        if token.start < start:
            continue
        if token.start >= first:
            break
        if not _maybe_verb(words.tokens, index):
            continue
        if token.start in offsets or not event_words.isdisjoint(token.forms):
            continue
        verb = _verb_of(words, index, original)
        if verb is None or verb.weight < 1.0 or verb.lemma in _NOT_ANOTHER_ACT:
            continue
        lo, hi = _object_span(words, original, index, end)
        if hi <= lo:
            continue  # no object of its own ("announced that …")
        span = words.tokens[lo:hi]
        if any(t.start in offsets or not event_words.isdisjoint(t.forms) for t in span):
            found = None  # the verb's object is the event: "imposed sanctions on Petro"
            break
        found = verb
    memo[key] = found
    return found


def dates_another_act(span, original: str, words: Words, offsets: list[int], event_words: frozenset[str]) -> bool:
    """Whether the date ``span`` dates another act of the event's clause (see the module), not the event."""
    verb = another_act(original, words, offsets, event_words)
    if verb is None:
        return False
    clauses = _clauses(original)
    if _clause_of(clauses, span.offset) != _clause_of(clauses, verb.token.start) and not (
            span.offset < verb.token.start):
        return False
    first = min(offsets)
    if span.offset < first:
        return True
    index = words.index_at(first)
    return index > 0 and words.tokens[index - 1].surface in _COMPLEMENT
