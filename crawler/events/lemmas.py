"""Words as the event diff compares them: folded lemmas, English and Spanish.

A sentence is read once into :class:`Words` (tokens with their offsets, the
folded surface form and its lemmas in English and Spanish, from simplemma's
bundled dictionaries), so "struck" matches ``strike*``, "embarcaciones"
matches ``embarcación`` and "revocó" matches ``revo*`` without listing every
inflection in the timeline.

Two small tables of knowledge about the world sit here too, because an actor
is named in many ways: demonyms and Spanish forms of countries and
institutions ("Colombian", "colombiano", "estadounidense", "Casa Blanca" for
"White House"), and a handful of *concept classes* — words news uses
interchangeably for one action or thing ("halt", "cut", "suspend", "cortar";
"envoy", "ambassador", "embajador"). A timeline term whose lemma is in a
class matches the class's other members: ``[recall*, ambassador*]`` also
reads "summoned their envoys". Classes are kept narrow on purpose: a member
must be a near-synonym in news about governments, never a word with an
everyday second sense.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

from crawler.events.dictionaries import lemmatizer
from crawler.text import fold

_TOKEN = re.compile(r"\w+")

# Words of one meaning for the purpose of naming an event (lemmas, folded).
CONCEPTS: list[set[str]] = [
    # taking away a permit or status
    {"revoke", "rescind", "strip", "cancel", "annul", "withdraw", "pull", "yank", "revocar", "cancelar", "anular",
     "quitar", "retirar", "tumbar", "withdrawal"},
    # …and the same act told from the side that loses it ("lost his visa", "se quedó sin visa", "perdió la visa")
    {"revoke", "lose", "loss", "perder", "perdida"},
    # stopping money or cooperation
    {"cut", "halt", "stop", "end", "suspend", "freeze", "slash", "terminate", "axe", "cortar", "suspender",
     "congelar", "frenar", "recortar", "detener", "eliminar", "fin", "suspension", "congelamiento", "recorte",
     "corte", "acabar"},
    # military force
    {"strike", "attack", "bomb", "bombing", "hit", "destroy", "atacar", "bombardear", "destruir", "ataque", "bombardeo",
     "bombazo", "voladura", "pulverizar", "sink", "hundir", "volar"},
    # small boats
    {"boat", "vessel", "speedboat", "lancha", "embarcacion", "narcolancha", "bote", "narco-boat", "semisubmarine",
     "semisumergible", "submersible", "semisubmersible", "go-fast", "gofast", "narcosubmarino", "narcosub"},
    # diplomats
    {"ambassador", "envoy", "diplomat", "embajador", "diplomatico", "enviado", "encargado", "affaire", "affaires",
     "embajadora", "diplomatica", "enviada", "encargada", "charge"},
    # calling a diplomat back ("brought their envoys home", "ordenó el regreso de su embajador")
    {"recall", "summon", "llamar", "convocar", "withdraw", "pull", "return", "regreso", "retorno", "llamado"},
    # money sent
    {"aid", "assistance", "funding", "payment", "ayuda", "asistencia", "pago", "subsidy", "subsidio",
     "financiacion", "financiamiento", "cooperacion", "fund", "fondo", "money", "dinero", "plata", "guita"},
    # giving money ("The US gave Colombia $590 million", "Washington le giró 450 millones")
    {"provide", "give", "send", "grant", "disburse", "transfer", "aportar", "girar", "donar", "desembolsar",
     "transferir", "otorgar", "entregar", "enviar"},
    # punitive measures
    {"sanction", "sancionar", "sancion", "blacklist", "designate", "designation"},
    # tariffs
    {"tariff", "arancel", "levy", "duty", "gravamen"},
    # permits to enter
    {"visa", "visado"},
    # expelling
    {"deport", "expel", "deportar", "expulsar"},
    {"deportee", "deportado", "migrant", "migrante"},
    {"plane", "aircraft", "avion", "aeronave", "jet"},
    {"flight", "vuelo"},
    # a country's certification (de-certifying is taking it away: see crawler.events.timeline)
    {"certification", "certificacion", "aval", "standing", "status", "estatus"},
    # a quarrel between governments
    {"standoff", "stand-off", "dispute", "row", "clash", "spat", "feud", "showdown", "disputa", "pulso", "choque", "crisis",
     "enfrentamiento", "rina", "pelea", "pleito", "fight", "quarrel", "tussle", "desencuentro", "roce"},
    # what strikes are made with
    {"missile", "misil", "rocket", "cohete"},
]
_CONCEPT_OF: dict[str, list[int]] = {}
for _index, _members in enumerate(CONCEPTS):
    for _member in _members:
        _CONCEPT_OF.setdefault(_member, []).append(_index)

# Countries and institutions: (folded names an actor may be written as, the other forms that name it).
# Acronyms keep their capitals ("US" is not "us").
_PLACE_FORMS: list[tuple[set[str], list[str]]] = [
    ({"colombia"}, ["Colombian", "Colombians", "colombiano", "colombiana", "colombianos", "colombianas", "Bogota",
                    "Casa de Nariño"]),
    ({"united states", "us", "u.s.", "u.s", "usa", "estados unidos", "ee.uu.", "ee.uu", "eeuu", "ee uu", "ee. uu."},
     ["United States", "US", "U.S.", "USA", "Estados Unidos", "EE.UU.", "EEUU", "EE UU", "EE. UU.", "estadounidense",
      "estadounidenses", "gringo", "gringos", "gringa", "gringas", "yanqui", "yanquis", "yankee", "yankees", "DEA", "FBI", "CIA", "American", "Americans",
      "americano", "americana", "americanos", "americanas",
      "Drug Enforcement Administration", "Unión Americana", "vecino del norte", "norteamericano", "norteamericana", "norteamericanos", "norteamericanas", "Washington"]),
    ({"white house"}, ["White House", "Casa Blanca"]),
    ({"state department"}, ["State Department", "Department of State", "Departamento de Estado"]),
    ({"treasury"}, ["Treasury", "Tesoro", "Departamento del Tesoro"]),
    ({"pentagon"}, ["Pentagon", "Pentagono", "Department of War", "Department of Defense", "Southern Command",
                    "SOUTHCOM", "Comando Sur"]),
    ({"unodc", "onudd"}, ["UNODC", "ONUDD", "UN Office on Drugs and Crime", "United Nations Office on Drugs and Crime",
                          "UN drug office", "UN drugs office", "UN drug agency", "UN drugs agency",
                          "UN anti-drug agency", "Oficina de las Naciones Unidas contra la Droga y el Delito",
                          "oficina antidrogas de la ONU", "oficina de la ONU contra la droga",
                          "agencia antidrogas de la ONU", "oficina antidrogas de Naciones Unidas"]),
    ({"venezuela"}, ["Venezuelan", "venezolano", "venezolana", "venezolanos", "Caracas"]),
    ({"ecuador"}, ["Ecuadorian", "ecuatoriano", "ecuatoriana", "Quito"]),
    ({"mexico"}, ["Mexican", "mexicano", "mexicana"]),
    # The head of state by title and country (a bare title: BARE_TITLE below).
    ({"petro"}, ["Colombian president", "Colombian leader", "Colombia's president", "Colombia's leader",
                 "Colombia's head of state", "Colombian head of state", "presidente colombiano", "presidente de Colombia",
                 "mandatario colombiano", "jefe de Estado colombiano", "presidente neogranadino"]),
    ({"colombian president", "colombian leader", "colombia's president", "presidente colombiano",
      "presidente de colombia"},
     ["Colombian president", "Colombian leader", "Colombia's president", "presidente colombiano",
      "presidente de Colombia", "mandatario colombiano", "jefe de Estado colombiano", "Colombia's head of state",
      "Colombian head of state", "presidente neogranadino", "mandatario neogranadino"]),
]
# Other countries than the shipped topic's (folded): "Ecuador received $95 million in US aid" is not
# Colombia's aid; "OFAC sanctioned three Venezuelan officials" is not the sanctions on Petro.
OTHER_COUNTRIES = re.compile(
    r"\b(?:ecuador\w*|ecuatorian\w*|peru\b|peruvian\w*|peruan\w*|bolivia\w*|venezuela\w*|venezolan\w*|mexic\w*|"
    r"brazil\w*|brasil\w*|panama\w*|hondura\w*|guatemal\w*|el salvador|salvador\w+|haiti\w*|argentin\w*|"
    r"chile\b|chilean\w*|nicaragu\w*|cuba\b|cuban\w*|paraguay\w*|uruguay\w*|costa rica\w*|israel\w*|ukrain\w*|"
    r"ucrania\w*|egypt\w*|egipto|jordan\b|jordania|afghan\w*|afgan\w*)")

# Capitalised words that name another country or an international body ("the Vatican", "la OEA"),
# beside the country names of every territory in English and Spanish (Babel's CLDR data).
_FOREIGN_BODIES = {"un", "onu", "oea", "oas", "eu", "ue", "nato", "otan", "vatican", "vaticano", "pope", "papa",
                   "celac", "mercosur", "brics", "g20", "imf", "fmi", "opec", "opep", "interpol", "europol"}
# Country names that are also common words or other places ("Georgia" the state, "Granada" the city).
_AMBIGUOUS_PLACES = {"chad", "jersey", "georgia", "jordan", "turkey", "guinea", "niger", "granada", "man", "guernsey",
                     "colombia", "world", "mundo", "america", "americas", "europe", "europa", "africa", "asia",
                     "oceania", "antarctica", "antartida"}


@lru_cache(maxsize=1)
def _country_names() -> tuple[frozenset[str], frozenset[tuple[str, ...]]]:
    """Folded names of every country (CLDR territories with a two-letter code), English and Spanish:
    one-word names, and longer ones as word tuples."""
    from babel import Locale

    one: set[str] = set()
    longer: set[tuple[str, ...]] = set()
    for locale in ("en", "es"):
        for code, name in Locale(locale).territories.items():
            if not code.isalpha() or len(code) != 2:
                continue
            words = tuple(_TOKEN.findall(fold(name)))
            if not words or words[0] in _AMBIGUOUS_PLACES:
                continue
            (one.add(words[0]) if len(words) == 1 else longer.add(words))
    return frozenset(one | _FOREIGN_BODIES), frozenset(longer)


def names_foreign(words: "Words", original: str) -> bool:
    """Whether the sentence names, with a capital, a country other than the topic's or an
    international body ("Petro met Pope Leo at the Vatican", "un acuerdo con China")."""
    one, longer = _country_names()
    tokens = words.tokens
    for i, token in enumerate(tokens):
        if not original[token.start:token.start + 1].isupper():
            continue
        if token.surface in one:
            return True
        for name in longer:
            if name[0] == token.surface and tuple(t.surface for t in tokens[i:i + len(name)]) == name:
                return True
    return bool(OTHER_COUNTRIES.search(fold(original)))


# An agency named by its parent organisation ("según la ONU" for the UNODC's survey): only where the
# sentence says what the agency does (see crawler.events.timeline._alias_phrases).
_PARENT_FORMS: dict[str, list[str]] = {
    "unodc": ["UN", "U.N.", "ONU", "Naciones Unidas", "United Nations"],
    "onudd": ["UN", "U.N.", "ONU", "Naciones Unidas", "United Nations"],
}


def parent_forms(name: str) -> list[str]:
    """The parent organisation's names of an agency actor, or []."""
    return _PARENT_FORMS.get(fold(name).strip(), [])


# Forms that name an actor only without these words around them (folded text): "American" is the
# United States, not in "Latin American", "Inter-American", "the Organization of American States".
_NOT_AMERICAS = (r"(?<!latin )(?<!latin-)(?<!south )(?<!central )(?<!north )(?<!inter-)(?<!pan-)(?<!pan )"
                 r"(?<!latino )(?<!indo-)(?<!afro-)(?<!native )",
                 r"(?!\s+(?:states|continent|countries|nations|region|peoples|cup|airlines|express)\b)"
                 r"(?!\s+(?:del\s+sur|latin))")
FORM_GUARDS: dict[str, tuple[str, str]] = {f: _NOT_AMERICAS for f in (
    "american", "americans", "americano", "americana", "americanos", "americanas")}
# The Treasury as a market ("Treasury bonds", "bonos del Tesoro colombiano") is not the US department.
FORM_GUARDS.update({"treasury": ("", r"(?!\s+(?:bonds?|notes?|bills?|yields?|securities|market)\b)"),
                    "tesoro": (r"(?<!bonos del )(?<!titulos del )(?<!letras del )",
                               r"(?!\s+(?:colombiano|nacional|publico)\b)")})
# A title with the country names the head of state in office, not a former one ("former Colombian president").
FORM_GUARDS.update({f: (r"(?<!former )(?<!ex-)(?<!ex )(?<!late )", "") for f in (
    "colombian president", "colombian leader", "colombia's president", "colombia's leader", "colombia's head of state",
    "colombian head of state")})
FORM_GUARDS.update({f: ("", r"(?!\s+(?:de\s+)?(?:entonces|anterior))") for f in (
    "presidente colombiano", "presidente de colombia", "mandatario colombiano", "jefe de estado colombiano")})

# A title without a name ("the president", "el mandatario", "el jefe de Estado") names the topic's head of
# state when the sentence names no other leader (see crawler.events.match): the actors it may stand for.
TITLED_ACTORS = {"petro"}
BARE_TITLE = re.compile(r"\b(?:the|el|al|del)\s+(?:(?:colombian|south\s+american|sudamericano|colombiano)\s+)?"
                        r"(?:president|leader|head\s+of\s+state|presidente|mandatario|jefe\s+de\s+estado|gobernante)"
                        r"(?:\s+(?:colombiano|sudamericano|neogranadino))?\b(?!\s+(?:of|de|del)\s+(?!colombia))")
OTHER_LEADER = re.compile(r"\b(?:trump|biden|obama|maduro|noboa|milei|lula|sheinbaum|bukele|boric|arevalo|mulino|"
                          r"magnate|white\s+house|casa\s+blanca|(?:u\.?s\.?|us|american|venezuelan|ecuadorian|mexican)"
                          r"\s+(?:president|leader)|president\s+of\s+the\s+united\s+states|"
                          r"(?:president|leader)'?s?\s+of\s+(?!colombia)\w+|"
                          r"(?:presidente|mandatario|jefe\s+de\s+estado)\s+(?:de\s+)?(?:estados\s+unidos|ee\.?\s?uu\.?|"
                          r"estadounidense|norteamericano|gringo|venezolano|ecuatoriano|mexicano|de\s+(?!colombia)\w+))")

# Plural subjects that name both sides of a bilateral story.
BOTH_SIDES = re.compile(r"\b(?:both|the\s+two)\s+(?:governments|countries|nations|capitals|sides|ambassadors|envoys|"
                        r"heads\s+of\s+mission|foreign\s+ministries|presidents|leaders)\b|"
                        r"\b(?:ambos|los\s+dos)\s+(?:gobiernos|paises|capitales|embajadores|mandatarios|presidentes|"
                        r"jefes\s+de\s+mision|cancillerias)\b")


def actor_forms(name: str) -> list[str]:
    """The ways an actor name may be written: itself, plus the demonyms and
    Spanish forms of the country or institution it names."""
    key = fold(name).strip()
    forms = [name]
    for names, others in _PLACE_FORMS:
        if key in names:
            forms += [f for f in others if f not in forms and (f != fold(f) or fold(f) != key)]
    return list(dict.fromkeys(forms))


@lru_cache(maxsize=65536)
def lemmas_of(token: str) -> tuple[str, ...]:
    """Folded lemmas of a lowercased token (accents kept: simplemma needs
    them), English then Spanish, without repeats."""
    out = [fold(token)]
    lemmatize = lemmatizer().lemmatize
    for lang in ("en", "es"):
        lemma = fold(lemmatize(token, lang=lang))
        if lemma not in out:
            out.append(lemma)
    return tuple(out)


# Two-word verbs that mean a class's act: "took away my visa", "dejó sin visado" (left without) = revoked,
# "acabar con" (put an end to) = end.
_PHRASAL = {("take", "away"): ("revoke", "quitar"), ("dejar", "sin"): ("revoke", "quitar"),
            ("quedar", "sin"): ("lose", "perder"), ("acabar", "con"): ("end", "cortar"),
            ("lista", "negra"): ("blacklist",), ("black", "list"): ("blacklist",)}
# Verbs whose particle may stand a few words later: "brought their envoys home" = recalled them.
_SPLIT_PHRASAL = {("bring", "home"): ("recall",), ("call", "home"): ("recall",), ("send", "home"): ("recall",),
                  # "pulled the plug on aid", "le cerró la llave / el grifo": ended the money
                  ("pull", "plug"): ("end", "cut"), ("cerrar", "llave"): ("cut", "cortar"),
                  ("cerrar", "grifo"): ("cut", "cortar"),
                  # "froze the US assets of Petro", "congeló los bienes de …": a financial sanction
                  ("freeze", "assets"): ("sanction",), ("congelar", "bienes"): ("sancionar",),
                  ("congelar", "activos"): ("sancionar",), ("congelar", "cuentas"): ("sancionar",)}
# "dejó de certificar", "stopped certifying": the verb undone (descertificar, decertify).
_STOP_DOING = {"dejar": "de", "stop": None, "cease": None}
_LINKS = {"over", "about", "on", "of", "por", "de", "del", "sobre", "con"}
_LINK_ARTICLES = {"the", "los", "las", "la", "el", "lo", "their", "sus", "su"}
_PHRASAL_HEADS = {head for head, _ in _PHRASAL} | set(_STOP_DOING) | {head for head, _ in _SPLIT_PHRASAL}
_ACCENTED = {"a": "á", "e": "é", "i": "í", "o": "ó"}


def _phrasal(tokens: list["Token"]) -> None:
    """Give the tokens of a two-word verb the forms of the act it means."""
    for i, token in enumerate(tokens[:-1]):
        nxt = tokens[i + 1]
        for form in token.forms[1:]:
            split = next((extra for (head, particle), extra in _SPLIT_PHRASAL.items() if head == form and any(
                t.surface == particle for t in tokens[i + 1:i + 7])), None)
            if split:
                token.forms = token.forms + split
                break
            extra = _PHRASAL.get((form, nxt.surface))
            if extra:
                token.forms = token.forms + extra
                break
            if form in _STOP_DOING:
                particle = _STOP_DOING[form]
                verb = tokens[i + 2] if particle and i + 2 < len(tokens) and nxt.surface == particle else \
                    nxt if particle is None and nxt.surface.endswith("ing") else None
                if verb is not None:
                    base = verb.forms[-1]
                    verb.forms = verb.forms + ("des" + base, "de" + base)
                    token.forms = token.forms + ("stop",)  # "dejaron de desembolsar fondos": stopped paying
                break


def timeline_lemmas(word: str) -> tuple[str, ...]:
    """Lemmas of a timeline word, which its author may have written without
    accents: "retiro" (a noun) is also "retiró" (retirar)."""
    forms = lemmas_of(word)
    if len(forms) == 1 and word[-1:] in _ACCENTED and len(word) > 3:
        forms = tuple(dict.fromkeys(forms + lemmas_of(word[:-1] + _ACCENTED[word[-1]])))
    return forms


class Token:
    """A word of a sentence: offsets, folded surface form, and its forms
    (the surface form and its lemmas, folded)."""

    __slots__ = ("start", "end", "surface", "forms")

    def __init__(self, start: int, end: int, surface: str, forms: tuple[str, ...]) -> None:
        self.start, self.end, self.surface, self.forms = start, end, surface, forms


class Words:
    """The tokens of one sentence, each with its folded lemmas, and an index
    from every form to the tokens that have it."""

    __slots__ = ("tokens", "index", "formset", "_sorted_forms", "memo", "_matched")

    def __init__(self, text: str) -> None:
        self.tokens = [Token(m.start(), m.end(), forms[0], forms) for m in _TOKEN.finditer(text)
                       for forms in (lemmas_of(m.group(0).lower()),)]
        if _PHRASAL_HEADS.intersection(f for t in self.tokens for f in t.forms[1:]):
            _phrasal(self.tokens)
        self.index: dict[str, list[int]] = {}
        for position, token in enumerate(self.tokens):
            for form in token.forms:
                self.index.setdefault(form, []).append(position)
        self.formset = frozenset(self.index)
        self._sorted_forms: list[str] | None = None  # sorted when a prefix is first looked up
        self.memo: dict = {}  # per-sentence lookups (actors) shared by every event
        self._matched: set[int] | None = None

    @property
    def sorted_forms(self) -> list[str]:
        if self._sorted_forms is None:
            self._sorted_forms = sorted(self.index)
        return self._sorted_forms

    def matched(self) -> set[int]:
        """The ids of the word patterns some token of the sentence matches."""
        if self._matched is None:
            ids: set[int] = set()
            for form in self.index:
                known = _FORM_IDS.get(form)
                if known is None:
                    found_ids: set[int] = set(_BY_FORM.get(form, ()))
                    for end in range(3, len(form) + 1):
                        found = _BY_PREFIX.get(form[:end])
                        if found:
                            found_ids.update(found)
                    if len(_FORM_IDS) > 200_000:
                        _FORM_IDS.clear()  # bounded: a long crawl sees every word of the language
                    known = _FORM_IDS[form] = frozenset(found_ids)
                ids.update(known)
            self._matched = ids
        return self._matched

    def all_forms(self) -> set[str]:
        return set(self.index)

    def index_at(self, offset: int) -> int:
        """The index of the token at or after ``offset``."""
        for index, token in enumerate(self.tokens):
            if token.end > offset:
                return index
        return len(self.tokens)


# Every word pattern made, by the forms and prefixes it matches: a sentence looks its forms up
# once (Words.matched) and a phrase with a word no token matches is rejected without a scan.
_BY_FORM: dict[str, set[int]] = {}
_BY_PREFIX: dict[str, set[int]] = {}
_FORM_IDS: dict[str, frozenset[int]] = {}  # a form's pattern ids, cleared when a pattern is made
_COUNT = [0]


@dataclass(frozen=True)
class WordPattern:
    """One word of a phrase: exact forms, or a prefix (``revo*``), widened
    to its concept class when its lemma belongs to one."""

    forms: frozenset[str]
    prefix: str | None
    id: int = -1

    @classmethod
    def make(cls, forms: frozenset[str], prefix: str | None) -> "WordPattern":
        _COUNT[0] += 1
        number = _COUNT[0]
        _FORM_IDS.clear()
        for form in forms:
            _BY_FORM.setdefault(form, set()).add(number)
        if prefix:
            _BY_PREFIX.setdefault(prefix, set()).add(number)
        return cls(forms, prefix, number)

    def matches(self, token: Token) -> bool:
        if self.prefix is not None and any(f.startswith(self.prefix) for f in token.forms):
            return True
        return any(f in self.forms for f in token.forms)

    def positions(self, words: Words) -> set[int]:
        """The indexes of the tokens this word matches."""
        out: set[int] = set()
        index = words.index
        if not self.forms.isdisjoint(words.formset):
            for form in self.forms & words.formset:
                out.update(index[form])
        if self.prefix is not None:
            forms = words.sorted_forms
            at = bisect_left(forms, self.prefix)
            while at < len(forms) and forms[at].startswith(self.prefix):
                out.update(index[forms[at]])
                at += 1
        return out


def concept_classes(word: str) -> set[int]:
    """The concept classes of a timeline term word (``suspen*`` is in the class of every member it begins)."""
    folded = fold(word.rstrip("*"))
    classes = {c for f in timeline_lemmas(word.rstrip("*").lower()) for c in _CONCEPT_OF.get(f, ())}
    if word.endswith("*") and len(folded) >= 4:
        classes |= {c for member, cs in _CONCEPT_OF.items() if member.startswith(folded) for c in cs}
    return classes


def widen_forms(forms: set[str]) -> set[str]:
    """The forms and every member of the concept classes they belong to."""
    out = set(forms)
    for form in forms:
        for c in _CONCEPT_OF.get(form, ()):
            out |= CONCEPTS[c]
    return out


def word_pattern(word: str, widen: bool = True, reserved: tuple[str, ...] = ()) -> WordPattern:
    """A phrase word. Widened to its concept class, except the members the
    author already pairs differently elsewhere (``reserved``: other term
    groups' words, '*' for a prefix): ``[sanction*, treasury]`` beside
    ``[blacklist*, petro]`` keeps "sanctions … Petro" out of the second."""
    wildcard = word.endswith("*")
    word = word.rstrip("*")
    folded = fold(word)
    forms = set(timeline_lemmas(word.lower()))
    prefix = folded if wildcard and len(folded) >= 3 else None
    if widen:
        classes = {c for f in forms for c in _CONCEPT_OF.get(f, [])}
        if prefix:
            classes |= {c for member, cs in _CONCEPT_OF.items() if member.startswith(prefix)
                        and len(prefix) >= 4 for c in cs}
        own = set(forms)
        for c in classes:
            forms |= {m for m in CONCEPTS[c] if m in own or not any(
                m.startswith(r[:-1]) if r.endswith("*") else m == r for r in reserved)}
    return WordPattern.make(frozenset(forms), prefix)


@dataclass(frozen=True)
class LemmaPhrase:
    """A phrase matched on lemmas: consecutive tokens, each matching its word."""

    words: tuple[WordPattern, ...]
    ids: frozenset[int] = frozenset()  # its words' ids: a sentence that matches them all may hold it
    stem: str | None = None  # a compound's modifier ("deportation standoff"), for "standoff over deportees"

    @classmethod
    def of(cls, phrase: str, widen: bool = True, reserved: tuple[str, ...] = ()) -> "LemmaPhrase | None":
        parts = [p for p in re.split(r"[\s\-]+", phrase.strip()) if p and re.search(r"\w", p)]
        parts = [re.sub(r"[^\w*]", "", p) for p in parts]
        parts = [p for p in parts if p.strip("*")]
        if not parts:
            return None
        patterns = tuple(word_pattern(p, widen, reserved) for p in parts)
        first = fold(parts[0].rstrip("*"))
        stem = first[:max(6, len(first) - 5)] if len(parts) == 2 and len(first) >= 8 else None
        return cls(patterns, frozenset(w.id for w in patterns), stem)

    def _inverted(self, words: Words) -> list[int]:
        """A two-word compound written the other way round, with a preposition:
        "deportation standoff" = "the row over deportees", "el choque por los
        deportados" (the modifier by its stem, the head by its lemmas and class)."""
        if self.words[1].id not in words.matched():
            return []
        tokens = words.tokens
        out = []
        for i in sorted(self.words[1].positions(words)):
            j = i + 1
            if j >= len(tokens) or tokens[j].surface not in _LINKS:
                continue
            j += 1
            if j < len(tokens) and tokens[j].surface in _LINK_ARTICLES:
                j += 1
            if j < len(tokens) and tokens[j].surface.startswith(self.stem):
                out.append(tokens[i].start)
        return out

    def find_all(self, words: Words) -> list[int]:
        """Offsets of the matches."""
        if not self.ids <= words.matched():
            return self._inverted(words) if self.stem else []
        first = self.words[0].positions(words)
        if not first:
            return []
        rest = [w.positions(words) for w in self.words[1:]]
        if any(not r for r in rest):
            return []
        tokens = words.tokens
        out = []
        # A phrase of three words or more may take one more word inside it, once: "vuelos militares con
        # deportados" is "vuelos con deportados", "an end to all US aid" is "an end to US aid".
        spare = 1 if len(self.words) >= 3 else 0
        for i in sorted(first):
            at, gaps = i, spare
            for r in rest:
                if at + 1 in r:
                    at += 1
                elif at + 2 in r and tokens[at + 1].surface in ("a", "al"):
                    at += 2  # the Spanish personal "a": "sancionó a Petro" is "sanctioned Petro"
                elif gaps and at + 2 in r:
                    at, gaps = at + 2, gaps - 1
                else:
                    break
            else:
                out.append(tokens[i].start)
        return out

    def find(self, words: Words) -> int | None:
        """Offset of the first match, or None."""
        hits = self.find_all(words)
        return hits[0] if hits else None
