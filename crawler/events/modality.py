"""Whether a sentence reports something as having happened.

"Washington revoked Petro's visa" reports the revocation; "Will Washington
revoke Petro's visa?", "If Washington revoked …", "Washington could revoke
…", "is considering revoking …", "threatened to revoke …", "did not revoke
…" and "denied reports that it had revoked …" do not. The event diff asks
this of the words that name an event (a mention is only a mention of the
event *having happened*, and only such mentions can be first reports), of a
candidate's action verb, and of a date held against an event.

The rules are general, not lists of sentences:

* **presupposed**: words after a determiner or a possessive ("the aid cut",
  "la descertificación", "Petro's visa revocation") name a thing the
  sentence takes as given, whatever its mood: "if talks on the aid cut
  advance" still says there was an aid cut. An event named that way has
  happened as far as the sentence says.
* **question**: the sentence ends in "?" or the words stand after "¿".
* **conditional**: "if", "unless", "whether", "si", "en caso de que" earlier
  in the same clause, or an unreal past ("would have", "habría",
  "hubiera").
* **not yet / speculation**: a modal, a plan, a threat, a wish or a study
  just before the words ("could", "will", "plans to", "threatened to",
  "is considering", "podría", "amenazó con", "estudia").
* **negation**: "not", "never", "no", "nunca", "sin" just before the words.
* **denial**: a denial verb ("deny", "reject", "dismiss", "negar",
  "desmentir", "rechazar" …) or a word of falsehood ("false", "fabricated",
  "bulo") followed by words of saying ("claim", "report", "that", "que",
  "versión" …) before the words: any such combination, not a fixed phrase.
"""
from __future__ import annotations

import re
from functools import lru_cache

from crawler.events.lemmas import Words, lemmas_of
from crawler.text import fold

_DETERMINERS = {"the", "this", "these", "those", "its", "his", "her", "their", "our", "last", "latest",
                "recent", "el", "la", "los", "las", "su", "sus", "este", "esta", "estos", "estas", "ese", "esa",
                "aquel", "aquella", "del", "al", "s"}  # "s": the possessive "Petro's"
# Tokens that end a noun phrase going backwards: a verb-ish word or a preposition after the determiner
# would mean the determiner belongs to something else ("the US will cut aid").
_MODALS = {"could", "would", "will", "might", "may", "shall", "should", "can", "cannot", "ll", "won", "wouldn",
           "couldn", "podria", "podrian", "podra", "podran", "puede", "pueden", "deberia", "deberian", "debe",
           "deben", "habria", "habrian", "hubiera", "hubieran", "seria", "serian", "estaria", "estarian", "ira",
           "iran"}
_PLANS = re.compile(
    r"\b(?:plan(?:s|ned|ning)?|intend(?:s|ed)?|aim(?:s|ed)?|want(?:s|ed)?|seek(?:s|ing)?|sought|hope(?:s|d)?|"
    r"threat(?:en|ens|ened|ening)|vow(?:s|ed)?|promis(?:e|es|ed)|pledg(?:e|es|ed)|propos(?:e|es|ed)|"
    r"expected|likely|set|poised|ready|about|prepar(?:e|es|ed|ing)|mov(?:e|es|ed)|push(?:es|ed)?|"
    r"urg(?:e|es|ed)|ask(?:s|ed)?|call(?:s|ed)?\s+on|decid(?:e|es|ed)|agree(?:s|d)?|"
    r"tr(?:y|ies|ied)|need(?:s|ed)?|going|due|able)"
    r"\s+(?:\w+\s+)?to\s+(?:\w+\s+)?$|"
    r"\b(?:consider(?:s|ed|ing)?|weigh(?:s|ed|ing)?|mull(?:s|ed|ing)?|studying|contemplat\w+|"
    r"call(?:s|ed|ing)?\s+for|demand(?:s|ed|ing)?|ask(?:s|ed|ing)?\s+for|talk\w*\s+of|risk(?:s|ed)?|"
    r"threat(?:en|ens|ened)\s+(?:with\s+)?|possible|possibility\s+of|prospect\s+of|"
    r"planea\w*|pretende\w*|busca\w*|quiere\w*|quisiera|amenaz\w+\s+con|estudia\w*|evalua\w*|consider\w*|"
    r"propon\w*|propus\w*|pid\w+|pide\w*|exig\w+|analiza\w*|posible|posibilidad\s+de|"
    r"(?:va|van|iba|iban|voy|vamos)\s+a|tiene\s+previsto|prev[eé]\w*)\s+(?:\w+\s+){0,2}$")
_NEGATIONS = {"not", "never", "no", "neither", "nor", "nunca", "jamas", "tampoco", "sin", "without", "t"}
_CONDITIONS = re.compile(r"\b(?:if|unless|whether|should|si|a\s+menos\s+que|en\s+caso\s+de\s+que|siempre\s+que|"
                         r"de\s+lo\s+contrario|otherwise|in\s+case)\b")
# Words that end the stretch a modal or a negation before the words can govern.
_BOUNDARIES = {"after", "before", "since", "because", "when", "while", "tras", "despues", "antes", "cuando", "porque",
               "who", "which", "whose", "que", "that", "as", "amid"}
# "said it would", "announced that Washington will": a decision announced, not a possibility.
_ANNOUNCING = re.compile(r"\b(?:said|says|announced|announces|announcement|decision|warned|declared|stated|confirmed|wrote|posted|"
                         r"dijo|anuncio|advirtio|aseguro|afirmo|declaro|confirmo)\b[^.;?]{0,80}?\b"
                         r"(?:would|will|ll)\s+(?:\w+\s+){0,2}$")
_SAID = re.compile(r"\b(?:said|says|announced|declared|wrote|posted|dijo|anuncio|declaro|escribio)\b")
_UNREAL = re.compile(r"\b(?:would\s+have|could\s+have|might\s+have|habria\w*|hubiera\w*|hubiese\w*)\b")
_CLAUSE_START = re.compile(r"[,;:()\[\]]|\s[-–—]\s|—|\bbut\b|\bpero\b|\band\b|\by\b")
_DENIAL_VERB = re.compile(r"\b(?:den(?:y|ies|ied|ying|ial)|reject\w*|dismiss\w*|disput\w*|refut\w*|debunk\w*|"
                          r"contradict\w*|neg(?:o|aron|ar|ando|ado|ada)|niega\w*|desminti\w*|desmient\w*|"
                          r"rechaz\w*|descart\w*|calific\w+\s+de\s+(?:falso|falsa|mentira|bulo))\b")
_FALSEHOOD = re.compile(r"\b(?:false(?:ly)?|fals[oa]s?|falsamente|fake|fabricat\w*|untrue|baseless|unfounded|"
                        r"wrong(?:ly)?|erroneous(?:ly)?|erroneamente|bulo\w*|infundad\w*|mentira\w*|inciert\w*|"
                        r"not\s+true|no\s+es\s+(?:cierto|verdad)|inventions?|invented|invent[oa]s?|inventad\w*|fictions?|ficcion\w*|"
                        r"hoax\w*|nonsense|lies|disinformation|desinformacion|montaje\w*|calumni\w*|absurd\w*|"
                        r"ridicul\w*|fantasy|fantasia\w*)\b")
_SAYING = re.compile(r"\b(?:claims?|reports?|reported|reporting|allegations?|alleged|rumou?rs?|suggestions?|"
                     r"stor(?:y|ies)|ideas?|notion|assertions?|accusations?|speculation|versions?|accounts?|"
                     r"news|that|afirmacion\w*|version\w*|informe\w*|informacion\w*|rumor\w*|acusacion\w*|"
                     r"noticia\w*|especulacion\w*|idea\w*|que|segun\s+la\s+cual)\b")
_SAYING_SOON = re.compile(r"\W*(?:\w+\W+){0,5}?(?:" + _SAYING.pattern[2:-2] + r")\b")
_QUESTION_END = re.compile(r"\?[\"'”’)\]]*\s*$")
# Spanish verb forms of what is not (yet) real: irregular conditionals and subjunctives
# (regular ones are read from the lemma: "descertificaría" = descertificar + -ía).
_IRREALIS = {"haria", "harian", "diria", "dirian", "tendria", "tendrian", "pondria", "pondrian", "saldria",
             "saldrian", "vendria", "vendrian", "querria", "querrian", "sabria", "sabrian", "fuera", "fueran",
             "fuese", "fuesen", "hiciera", "hicieran", "tuviera", "tuvieran", "pudiera", "pudieran", "hara", "haran",
             "habria", "habrian", "dira", "diran", "tendra", "tendran", "pondra", "pondran", "saldra", "saldran", "vendra", "vendran"}
# "Consultado en agosto, Trump descartó revocarle la visa", "ruled out suspending aid": not done.
_RULED_OUT = re.compile(r"\b(?:ruled?\s+out|rules\s+out|declin(?:e|es|ed)\s+to|descart\w+|desisti\w+\s+de|"
                        r"se\s+abstuv\w+\s+de)\s+(?:\w+\s+)?$")
# "any cut", "cualquier recorte", "ningún ataque": no particular act.
_NONSPECIFIC = {"any", "cualquier", "ningun", "ninguna", "ninguno"}
# An announced decision, whatever the verb's tense: "dijo que acabaría con…", "the announcement that aid would end".
_ANNOUNCED_BEFORE = re.compile(r"\b(?:said|says|announced|announces|announcement|declared|stated|confirmed|wrote|posted|"
                               r"decided|decision|ordered|order|dijo|anuncio|anunciaron|aseguro|afirmo|declaro|"
                               r"confirmo|decidio|decision|ordeno|orden)\b[^.;?]{0,80}?$")


# "cuatro días antes de que el Tesoro sancionara a Petro": Spanish grammar asks for the subjunctive
# after "antes de que / después de que"; in a past narrative the act is real.
_TEMPORAL_SUBJUNCTIVE = re.compile(r"\b(?:antes|despues|luego)\s+de\s+que\s+(?:\w+\s+){0,4}$")


@lru_cache(maxsize=32768)
def irrealis(raw: str) -> bool:
    """A Spanish conditional, future or past subjunctive form (lowercase, as
    written): "descertificaría", "acabarían", "enviará", "llegara", "sería"."""
    if len(raw) < 4:
        return False
    token = fold(raw)
    if token in _IRREALIS or raw in ("sería", "serían", "será", "serán", "habrá", "habrán"):
        return True
    for ending in ("ía", "ían", "á", "án"):
        stem = token[:-len(fold(ending))]
        if raw.endswith(ending) and stem.endswith(("ar", "er", "ir")):
            forms = lemmas_of(raw)[1:]
            return stem in forms or any(f != token and f.endswith(("ar", "er", "ir")) for f in forms)
    for ending, verb in (("aran", "ar"), ("ara", "ar"), ("ieran", "er"), ("iera", "er"), ("iesen", "er"),
                         ("iese", "er"), ("asen", "ar"), ("ase", "ar")):
        if token.endswith(ending):
            stem = token[:-len(ending)]
            forms = lemmas_of(raw)[1:]
            return any(f in (stem + verb, stem + "ir") for f in forms)
    return False


def _announced(folded: str, offset: int) -> bool:
    return bool(_ANNOUNCED_BEFORE.search(folded, max(0, offset - 90), offset))


_WORD = re.compile(r"\w+")
_WOULD = re.compile(r"\b(?:would|could|might)\b")
_DE_INFINITIVE = re.compile(r"^\W*de\s+\w+(?:ar|er|ir)(?:se|le|les|la|las|lo|los)?\b")
_IF_FIRST = re.compile(r"^\W*(?:if|si|unless|a\s+menos\s+que|en\s+caso\s+de\s+que)\b")


def _clause_start(folded: str, offset: int) -> int:
    """Where the clause holding ``offset`` begins (after the last comma,
    semicolon, dash or coordinating conjunction before it)."""
    last = 0
    for m in _CLAUSE_START.finditer(folded, 0, offset):
        last = m.end()
    return last




def _named_subject_verb(words: Words, original: str, index: int, det: int) -> bool:
    """"Si el Tesoro sanciona a Petro", "if the Treasury sanctions Petro": the determiner belongs to a name
    (a capitalised word between it and the word) and the word is that subject's verb, not a noun it modifies."""
    if not any(original[t.start].isupper() for t in words.tokens[det + 1:index]):
        return False
    token = words.tokens[index]
    if original[token.start].isupper():
        return False
    if index + 1 >= len(words.tokens):
        return False
    after = words.tokens[index + 1]
    if after.surface not in ("a", "al") and not original[after.start].isupper():
        return False  # a verb here takes a named object: "sanciona a Petro", "sanctions Petro"
    surface = token.surface
    spanish = any(f.endswith(("ar", "er", "ir")) and f != surface for f in token.forms[1:])
    english = surface.endswith(("s", "ed")) and len(token.forms) > 1 and token.forms[1] != surface
    return spanish or english


def presupposed(words: Words, offset: int, original: str | None = None) -> bool:
    """A determiner or possessive within the three tokens before ``offset``,
    with no modal between: "the aid cut", "Washington's decertification",
    "la revocación de la visa" (not a subject's: "si el Tesoro sanciona a Petro")."""
    index = words.index_at(offset)
    for back in range(1, 4):
        i = index - back
        if i < 0:
            return False
        surface = words.tokens[i].surface
        if surface in _MODALS or surface in _NEGATIONS:
            return False
        if surface in _DETERMINERS:
            return original is None or not _named_subject_verb(words, original, index, i)
    return False


def not_happened(folded: str, original: str, words: Words, offset: int) -> str | None:
    """Why the words at ``offset`` do not report something as having
    happened (question, conditional, not yet, negated, denied), or None."""
    if presupposed(words, offset):
        return None
    return modality_reason(folded, original, offset)


def modality_reason(folded: str, original: str, offset: int) -> str | None:
    """The mood of the words at ``offset``, ignoring presupposition."""
    opened = original.rfind("¿", 0, offset)
    if _QUESTION_END.search(original) or (opened >= 0 and "?" not in original[opened:offset]):
        return "a question"  # (after "¿…?" closes, the answer is not: "—¿Cuándo? —El 3 de julio, cuando …")
    clause_at = _clause_start(folded, offset)
    before = folded[clause_at:offset]
    if _CONDITIONS.search(before) or _UNREAL.search(folded[:offset]):
        return "a condition or a hypothesis"
    word = _WORD.match(original, offset)
    word = word.group(0).lower() if word else ""
    if _DE_INFINITIVE.match(folded) and offset <= _DE_INFINITIVE.match(folded).end():
        return "a condition or a hypothesis"  # "De descertificar a Colombia, …": if it decertified
    if _IF_FIRST.match(folded) and (_WOULD.search(folded, 0, offset) or any(
            irrealis(t) for t in _WORD.findall(original[:offset + len(word)].lower()))):
        return "a hypothesis"  # "If X happened, it would be …" / "Si el Tesoro llegara a …, sería …"
    if irrealis(word) and not _announced(folded, offset) and not _TEMPORAL_SUBJUNCTIVE.search(folded, 0, offset):
        return "a verb in the conditional or future"  # "Washington descertificaría a Colombia": a verb, no noun to presuppose
    if _RULED_OUT.search(folded, max(0, offset - 40), offset):
        return "negated"
    near: list[str] = []
    raw_tokens = _WORD.findall(original[clause_at:offset].lower())
    folded_tokens = _WORD.findall(before)
    for token in reversed(folded_tokens):
        if token in _BOUNDARIES:
            break
        near.insert(0, token)
        if len(near) == 4:
            break
    raw_near = dict(enumerate(raw_tokens[len(raw_tokens) - len(near):])) if len(raw_tokens) == len(folded_tokens) \
        else {}
    for position, token in enumerate(near):
        if token in _NONSPECIFIC and position >= len(near) - 2:
            return "not a particular one"
        if irrealis(raw_near.get(position, token)) and not _announced(folded, offset - len(before) + before.rfind(token)) \
                and not _TEMPORAL_SUBJUNCTIVE.search(folded, 0, offset):
            return "possible, not done"
        if token in _MODALS:
            if token == "may" and _month_may(original, clause_at, before):
                continue
            if token in ("would", "will", "ll") and _ANNOUNCING.search(folded[max(0, offset - 80):offset]):
                continue  # "said it would revoke the visa": the announcement of a decision
            if token == "will" and _SAID.search(folded):
                continue  # "“… will no longer be made to Colombia,” Trump said": declared
            return "possible, not done"
        if token == "sin" and position and near[position - 1].startswith(("dej", "qued")):
            continue  # "dejó sin visado", "se quedó sin visa": left without (deprived of), not a negation
        if token in _NEGATIONS and not (position + 1 < len(near) and near[position + 1] in
                                        ("longer", "more", "only", "solo", "sólo")):
            return "negated"
    if _PLANS.search(folded[max(0, offset - 60):offset]):
        return "planned, threatened or considered"
    if _SPARED.search(folded, max(clause_at, offset - 50), offset):
        return "spared"
    if denied(folded, offset):
        return "denied"
    return None


# Sparing someone the act: "waived the aid cuts", "la eximió de los recortes", "exempted Colombia from".
_SPARED = re.compile(r"\b(?:waiv(?:e|es|ed|ing)|exempt(?:s|ed|ing)?|spar(?:e|es|ed|ing)|exim\w*|exoner\w*|"
                     r"dispens(?:o|aron|ar|a)\b|libr(?:o|aron)\s+de)\b")


def _month_may(original: str, clause_at: int, before_folded: str) -> bool:
    """'in May', 'May 5': the month, not the modal."""
    for m in re.finditer(r"\bMay\b", original[clause_at:clause_at + len(before_folded)]):
        if m.start() > 0 or re.match(r"May\s+\d", original[clause_at + m.start():]):
            return True
    return False


def denied(folded: str, offset: int) -> bool:
    """Whether the words at ``offset`` stand in a report the sentence denies:
    a denial verb or a word of falsehood, then (within a few words) a word of
    saying, before them ("rejected as 'fabricated' a claim that …", "negó
    que …", "it is not true that …", "falsely reported …")."""
    before = folded[:offset]
    for cue in (_DENIAL_VERB, _FALSEHOOD):
        for m in cue.finditer(before):
            tail = before[m.end():]
            if _SAYING_SOON.match(tail):
                return True
            if cue is _FALSEHOOD and re.match(r"\w*ly\b", before[m.start():]) and len(tail) < 40:
                return True  # "falsely reported", "wrongly claimed"
    return False


# Fact checks: a claim the article itself rates false ("Claim: … Rating: False.", "A viral post says …
# That is wrong:", "'…': falso.", "Falso que …"). Its dates and figures are the false claim's, not
# statements; the event it names is still named (the check is about it).
_VERDICT_WORD = (r"(?:false|falso|falsa|fake|wrong|incorrect\w*|misleading|enganos[oa]|untrue|not\s+true|"
                 r"no\s+es\s+(?:cierto|verdad)|bulo|mostly\s+false|pants\s+on\s+fire)")
_CLAIM_LABEL = re.compile(r"^\W*(?:viral\s+)?(?:claim|the\s+claim|afirmacion|lo\s+que\s+se\s+dice|bulo|rumor|"
                          r"what\s+was\s+claimed|dicho)\s*:")
_VERDICT_LABEL = re.compile(r"\b(?:rating|verdict|veredicto|calificacion|our\s+ruling|conclusion|fact\s+check)\s*:\s*"
                            + _VERDICT_WORD + r"\b")
_VERDICT_OPENS = re.compile(r"^\W*(?:(?:that|this|it)\s+(?:is|was|'s)\s+(?:\w+\s+)?" + _VERDICT_WORD + r"|"
                            + _VERDICT_WORD + r"\s*[.:!]|(?:es|eso\s+es)\s+" + _VERDICT_WORD + r")\b")
_VERDICT_FIRST = re.compile(r"^\W*" + _VERDICT_WORD + r"\s*(?::|\bque\b|\bthat\b)")
_QUOTED_VERDICT = re.compile(r"^\W*['\"“‘«](?P<claim>[^'\"”’»]{10,})['\"”’»]\s*[:,—–-]\s*" + _VERDICT_WORD + r"\b")
# The unreliable source of a claim: "a viral video claims", "un mensaje en redes asegura".
_CLAIM_SOURCE = re.compile(r"\b(?:posts?|videos?|messages?|chain|tweets?|memes?|claims?|rumou?rs?|users?|"
                           r"publicacion\w*|mensaje\w*|cadena\w*|trino\w*|rumor\w*|usuarios?)\b(?:\s+\S+){0,6}?\s+"
                           r"(?:claims?|says?|said|asserts?|alleges?|states?|asegura\w*|afirma\w*|dice\w*|sostiene\w*|"
                           r"que)\b")


# A verdict standing alone before the claim ("Veredicto: falso. Circula en TikTok que …"), and a
# correction of the text's own earlier claim ("Fe de erratas: …se dijo que…", "An earlier version of this
# story said …").
_VERDICT_ALONE = re.compile(r"^\W*(?:(?:rating|verdict|veredicto|calificacion|our\s+ruling)\s*:\s*)?" + _VERDICT_WORD
                            + r"\W*$")
_CORRECTED = re.compile(r"\b(?:an?\s+(?:earlier|previous)\s+version\s+of\s+this\s+\w+\s+(?:said|stated|reported|"
                        r"misstated)(?:\s+that)?|se\s+(?:dijo|informo|publico|afirmo)\s+(?:erroneamente\s+)?que|"
                        r"(?:incorrectly|wrongly|mistakenly|erroneously)\s+(?:reported|said|stated)(?:\s+that)?)\b")
# "Fe de erratas: en la nota de ayer escribimos que …", "Correction: on Monday we reported that …": a
# correction notice quoting the paper's own earlier claim (a saying verb in the first person plural).
_CORRECTION_LABEL = re.compile(r"^\W*(?:fe\s+de\s+erratas|correcci[oó]n|aclaraci[oó]n|correction|clarification|erratum)\b")
_WE_SAID = re.compile(r"\b(?:escribimos|dijimos|publicamos|informamos|afirmamos|reportamos|titulamos|senalamos|"
                      r"we\s+(?:wrote|said|reported|stated|published|misstated))(?:\s+\w+){0,2}?\s+(?:que|that)\b")
_CIRCULATES = re.compile(r"\b(?:circula\w*|se\s+difund\w+|se\s+viraliz\w+|circulating|going\s+around)\b"
                         r"(?:\s+\S+){0,4}?\s+(?:que|that)\b")


def false_claims(folded: list[str]) -> list[tuple[int, int] | None]:
    """For each sentence (folded), the span of it that is a claim the text rates false, or None."""
    out: list[tuple[int, int] | None] = []
    for i, text in enumerate(folded):
        following = folded[i + 1] if i + 1 < len(folded) else ""
        span = None
        corrected = _CORRECTED.search(text) or (_WE_SAID.search(text) if _CORRECTION_LABEL.match(text) else None)
        if corrected:
            end = re.compile(r"[;]").search(text, corrected.end())
            span = (corrected.end(), end.start() if end else len(text))
        if span is None and i and _VERDICT_ALONE.match(folded[i - 1]) and (i < 2 or out[i - 2] is None):
            # (a verdict after a claim — "Claim: … Rating: False. He did so on …" — rates the claim before it)
            source = _CLAIM_SOURCE.search(text) or _CIRCULATES.search(text)
            if source:
                end = re.compile(r"[;:]").search(text, source.end())
                span = (source.end(), end.start() if end else len(text))
        label = _CLAIM_LABEL.match(text)
        if label:
            verdict = _VERDICT_LABEL.search(text, label.end())
            if verdict or _VERDICT_LABEL.match(following.lstrip()) or _VERDICT_OPENS.match(following):
                span = (label.end(), verdict.start() if verdict else len(text))
        if span is None:
            quoted = _QUOTED_VERDICT.match(text)
            if quoted:
                span = (quoted.start("claim"), quoted.end("claim"))
        if span is None:
            first = _VERDICT_FIRST.match(text)
            if first:
                end = re.compile(r"[;:]").search(text, first.end())
                span = (first.end(), end.start() if end else len(text))
        if span is None and _VERDICT_OPENS.match(following):
            source = _CLAIM_SOURCE.search(text)
            if source:
                span = (source.end(), len(text))
        out.append(span)
    return out
