"""Explainable topic classification: boolean keyword rules → scores, themes, hits.

Analysts write the rules in the boolean syntax they know from Meltwater,
Talkwalker and Lucene, and every decision can be traced back to the words in
the article that caused it (``newsmon explain``).

Rule language (parsed by luqum, a Lucene grammar):

* ``AND``, ``OR``, ``NOT`` (upper case), parentheses; ``AND`` binds tighter
  than ``OR``. ``-term`` is ``NOT term``; ``&&`` / ``||`` are ``AND`` / ``OR``.
* Adjacent terms without an operator are joined by **AND** (``coca cultivation``
  needs both words), as in Meltwater: analysts expect more words to narrow a
  search, and a silent OR would flood the archive. The implicit AND binds more
  loosely than OR (``a b OR c`` is ``a AND (b OR c)``); write parentheses when
  in doubt.
* ``"quoted phrases"`` match consecutive words whatever the punctuation or
  spacing between them (``"u.s."`` matches "U.S.", "U S" and "u.s"). A bare
  term that folds to several words (``us-colombia``, ``ee.uu.``) is a phrase.
* A trailing ``*`` matches word prefixes: ``deport*`` matches "deportation",
  "deportees", "deportación" (at least 3 letters before the star).
* ``a NEAR/n b``: both within n words of each other, in any order (at most n
  other words between them). Operands may be terms, phrases, OR-groups of
  them or other NEARs. luqum does not know NEAR, so before parsing it is
  rewritten to a reserved field ``near_n:(a b)``, which luqum keeps with its
  operands intact (a proximity phrase ``"a b"~n`` could not hold phrases or
  groups). The Lucene form ``"a b"~n`` is accepted too and means the same.
* Matching is case-, accent- and typography-insensitive (``crawler.text.fold``)
  and respects word boundaries: ``eln`` never matches "Elnora".

A topic may have a ``require`` rule (the gate): unless the article satisfies
it the topic scores 0, whatever its themes match.

Scoring (the arithmetic ``newsmon explain`` prints):

* A theme matches when its rule is satisfied; its *hits* are the places in the
  article where a term of the satisfied part of the rule occurs (overlapping
  matches, like "military strikes" and "strikes", are one place).
* ``theme score = weight × log2(1 + text hits + 3 × title hits)``: one hit in
  the text scores the weight, a title hit counts like three text hits, and
  repetition has diminishing returns.
* ``topic score = Σ theme scores`` when the gate (if any) holds, else 0. The
  article is relevant to the topic when the score is > 0 and ≥ the threshold.
"""
from __future__ import annotations

import difflib
import logging
import math
import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

from luqum import tree as lq
from luqum.exceptions import ParseError
from luqum.parser import parser as _luqum_parser
from sqlalchemy import select

from crawler.stages import Stage
from crawler.text import fold
from newsmon.config import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from newsmon.config import Config, Topic
    from storage.models import Article

log = logging.getLogger(__name__)

TITLE_WEIGHT = 3  # a hit in the title counts like this many hits in the text
MIN_PREFIX = 3  # letters required before a trailing wildcard
_WORD = re.compile(r"\w+")
_OPERATORS = ("AND", "OR", "NOT", "NEAR")
_NEAR_FIELD = re.compile(r"near_(\d+)")


# --- rule syntax errors --------------------------------------------------------------


class RuleError(ValueError):
    """What is wrong with one rule (the caller adds topic and theme)."""


def _check_and_rewrite(rule: str) -> str:
    """Catch the mistakes analysts make with a readable message, and rewrite
    ``NEAR/n`` into luqum's ``near_n:(left right)`` form."""
    rule = rule.translate(str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"'}))
    if not rule.strip():
        raise RuleError("the rule is empty")
    if rule.count('"') % 2:
        raise RuleError("unbalanced quotes: a '\"' is never closed")
    tokens = re.findall(r'"[^"]*"(?:~\d+)?|\(|\)|[^\s()"]+', rule)
    tokens = [{"&&": "AND", "||": "OR"}.get(t, t) for t in tokens]
    depth = 0
    for index, token in enumerate(tokens):
        previous = tokens[index - 1] if index else None
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token == "(":
            depth += 1
            if following == ")":
                raise RuleError("empty group '()'")
        elif token == ")":
            depth -= 1
            if depth < 0:
                raise RuleError("unbalanced parentheses: a ')' has no matching '('")
        elif token.startswith('"'):
            if not _WORD.search(fold(token.split('"')[1])):
                raise RuleError(f"empty term {token}")
        else:
            _check_word(token, previous, following)
    if depth > 0:
        raise RuleError("unbalanced parentheses: a '(' is never closed")
    return " ".join(_rewrite_near(tokens))


def _is_binary(token: str | None) -> bool:
    return token in ("AND", "OR") or bool(token and re.fullmatch(r"NEAR/\d+", token))


def _starts_operand(token: str | None) -> bool:
    return token is not None and token not in ("AND", "OR", ")") and not _is_binary(token)


def _ends_operand(token: str | None) -> bool:
    return token is not None and token not in ("AND", "OR", "NOT", "(") and not _is_binary(token)


def _check_word(token: str, previous: str | None, following: str | None) -> None:
    if _is_binary(token):
        if not _ends_operand(previous) or not _starts_operand(following):
            side = "before" if not _ends_operand(previous) else "after"
            raise RuleError(f"dangling operator {token}: nothing to combine {side} it")
        return
    if token == "NOT":
        if not _starts_operand(following):
            raise RuleError("dangling operator NOT: nothing to negate after it")
        return
    if token == "NEAR" or token.startswith("NEAR/"):
        raise RuleError(f"{token!r}: NEAR needs a distance in words, e.g. NEAR/10")
    if token.lower() in ("and", "or", "not", "near") or re.fullmatch(r"near/\d+", token.lower()):
        raise RuleError(f"operator {token!r} must be written in upper case ({token.upper()}); "
                        f"to search for the word, quote it: \"{token}\"")
    if token.isalpha() and token.isupper() and 2 <= len(token) <= 4:
        close = difflib.get_close_matches(token, _OPERATORS, n=1, cutoff=0.6)
        if close:
            raise RuleError(f"unknown operator {token!r} (did you mean {close[0]}?); "
                            f"to search for the word, quote it: \"{token}\"")
    if ":" in token:
        raise RuleError(f"{token!r}: fields ('name:') are not supported; quote the phrase to search for it")


def _rewrite_near(tokens: list[str]) -> list[str]:
    """``a NEAR/5 (b OR c)`` → ``near_5:(a (b OR c))``, left to right, so a
    chain ``a NEAR/5 b NEAR/5 c`` nests."""
    tokens = list(tokens)
    while True:
        index = next((i for i, t in enumerate(tokens) if re.fullmatch(r"NEAR/\d+", t)), None)
        if index is None:
            return tokens
        distance = int(tokens[index].split("/")[1])
        start = index - 1
        if tokens[start] == ")":
            depth = 0
            while True:
                depth += {")": 1, "(": -1}.get(tokens[start], 0)
                if depth == 0:
                    break
                start -= 1
        end = index + 1
        if tokens[end] == "NOT":
            raise RuleError("NEAR cannot take a negated operand (NOT)")
        if tokens[end] == "(":
            depth = 0
            while True:
                depth += {"(": 1, ")": -1}.get(tokens[end], 0)
                if depth == 0:
                    break
                end += 1
        left, right = " ".join(tokens[start:index]), " ".join(tokens[index + 1:end + 1])
        tokens[start:end + 1] = [f"near_{distance}:({left} {right})"]


# --- the folded, indexed article -------------------------------------------------------


_ASCII_RUN_OR_CHAR = re.compile(r"[\x00-\x7f]+|[^\x00-\x7f]", re.DOTALL)


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    return fold(char)


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """``fold(text)`` plus, for every folded character, the index of the
    original character it came from: folding can change the length ("ß" →
    "ss", "ﬁ" → "fi", "é" as e + combining accent → "e"), and hits must point
    into the original text. Folding character by character gives the same
    string as folding the whole text, because fold only drops combining marks
    after decomposing.

    Every ASCII character folds to exactly one character (its lower case), so
    ASCII runs — most of a news text, even in Spanish — are folded whole
    with identity offsets; only the other characters go one by one (the
    per-character loop cost ~3 ms per article text)."""
    if text.isascii():
        return text.lower(), list(range(len(text)))
    pieces: list[str] = []
    origin: list[int] = []
    for run in _ASCII_RUN_OR_CHAR.finditer(text):
        start, chunk = run.start(), run.group()
        if chunk.isascii():
            pieces.append(chunk.lower())
            origin.extend(range(start, run.end()))
            continue
        folded = _fold_char(chunk)
        if folded:
            pieces.append(folded)
            origin.extend([start] * len(folded))
    return "".join(pieces), origin


class FieldIndex:
    """One field (title or text): its words in order with original offsets,
    and a word → positions index for fast term lookup."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        if text.isascii():  # folding keeps every offset and there are no combining accents
            folded = text.lower()
            self.words = _WORD.findall(folded)
            self.spans = [match.span() for match in _WORD.finditer(folded)]
        else:
            self._index_folded(text)
        self.index: dict[str, list[int]] = {}
        for position, word in enumerate(self.words):
            self.index.setdefault(word, []).append(position)
        self.vocabulary = sorted(self.index)

    def _index_folded(self, text: str) -> None:
        """Words and original spans of a text whose folding can move offsets."""
        folded, origin = fold_with_offsets(text)
        self.words = []
        self.spans = []
        for match in _WORD.finditer(folded):
            start = origin[match.start()]
            end = origin[match.end() - 1] + 1
            while end < len(text) and unicodedata.combining(text[end]):
                end += 1  # keep a decomposed accent with its letter
            self.words.append(match.group())
            self.spans.append((start, end))

    def positions(self, word: str, prefix: bool) -> list[int]:
        if not prefix:
            return self.index.get(word, [])
        found: list[int] = []
        i = bisect_left(self.vocabulary, word)
        while i < len(self.vocabulary) and self.vocabulary[i].startswith(word):
            found.extend(self.index[self.vocabulary[i]])
            i += 1
        return sorted(found)

    def word_matches(self, position: int, word: str, prefix: bool) -> bool:
        actual = self.words[position]
        return actual.startswith(word) if prefix else actual == word


class Document:
    """An article's title and text, folded and indexed once for all rules."""

    def __init__(self, title: str | None, text: str | None) -> None:
        self.fields = (FieldIndex("title", title or ""), FieldIndex("text", text or ""))


# --- matches -------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """A rule term found in the article: offsets into the original field."""

    term: str
    matched: str
    field: str
    start: int
    end: int


@dataclass(frozen=True)
class Occurrence:
    """Where a term (or a NEAR pair) occurs, in word positions of one field."""

    field: str
    first: int
    last: int
    hits: tuple[Hit, ...]


@dataclass
class Match:
    """A satisfied (sub-)rule: the satisfied part rendered as text and its hits."""

    clause: str
    hits: list[Hit]
    kind: str = "atom"  # atom | and | or | not: for parenthesizing


def _wrap(match: Match, inside: str) -> str:
    needs = (inside == "and" and match.kind == "or") or (inside == "not" and match.kind in ("and", "or"))
    return f"({match.clause})" if needs else match.clause


# --- rule nodes ----------------------------------------------------------------------


class Node:
    positive = True  # contributes hits; NOT does not
    spannable = False  # has word positions, so NEAR can use it

    def match(self, doc: Document) -> Match | None:
        raise NotImplementedError

    def occurrences(self, doc: Document) -> list[Occurrence]:
        raise NotImplementedError


class Term(Node):
    """A word, a prefix (``deport*``) or a phrase of them."""

    spannable = True

    def __init__(self, label: str, words: tuple[tuple[str, bool], ...]) -> None:
        self.label = label
        self.words = words

    def occurrences(self, doc: Document) -> list[Occurrence]:
        found = []
        first_word, first_prefix = self.words[0]
        for index in doc.fields:
            for position in index.positions(first_word, first_prefix):
                last = position + len(self.words) - 1
                if last >= len(index.words):
                    continue
                if all(index.word_matches(position + k, w, p) for k, (w, p) in enumerate(self.words[1:], 1)):
                    start, end = index.spans[position][0], index.spans[last][1]
                    hit = Hit(self.label, index.text[start:end], index.name, start, end)
                    found.append(Occurrence(index.name, position, last, (hit,)))
        return found

    def match(self, doc: Document) -> Match | None:
        found = self.occurrences(doc)
        return Match(self.label, [h for o in found for h in o.hits]) if found else None


class Or(Node):
    def __init__(self, children: list[Node]) -> None:
        self.children = children
        self.positive = all(c.positive for c in children)
        self.spannable = all(c.spannable for c in children)

    def occurrences(self, doc: Document) -> list[Occurrence]:
        return [o for c in self.children for o in c.occurrences(doc)]

    def match(self, doc: Document) -> Match | None:
        satisfied = [m for m in (c.match(doc) for c in self.children) if m]
        if not satisfied:
            return None
        if len(satisfied) == 1:
            return satisfied[0]
        return Match(" OR ".join(m.clause for m in satisfied), [h for m in satisfied for h in m.hits], "or")


class And(Node):
    def __init__(self, children: list[Node]) -> None:
        self.children = children
        self.positive = any(c.positive for c in children)

    def match(self, doc: Document) -> Match | None:
        matches = []
        for child in self.children:
            found = child.match(doc)
            if found is None:
                return None
            matches.append(found)
        return Match(" AND ".join(_wrap(m, "and") for m in matches), [h for m in matches for h in m.hits], "and")


class Not(Node):
    positive = False

    def __init__(self, child: Node, label: str) -> None:
        self.child = child
        self.label = label

    def match(self, doc: Document) -> Match | None:
        if self.child.match(doc) is not None:
            return None
        return Match(f"NOT {self.label}", [], "not")


class Near(Node):
    spannable = True

    def __init__(self, left: Node, right: Node, distance: int, left_label: str, right_label: str) -> None:
        self.left, self.right, self.distance = left, right, distance
        self.left_label, self.right_label = left_label, right_label
        self.label = f"{left_label} NEAR/{distance} {right_label}"

    def pairs(self, doc: Document) -> list[tuple[Occurrence, Occurrence]]:
        """Left and right occurrences in one field with at most ``distance`` words between."""
        rights: dict[str, list[Occurrence]] = {}
        for b in sorted(self.right.occurrences(doc), key=lambda o: o.first):
            rights.setdefault(b.field, []).append(b)
        firsts = {name: [b.first for b in occurrences] for name, occurrences in rights.items()}
        longest = {name: max(b.last - b.first for b in occurrences) for name, occurrences in rights.items()}
        found = []
        for a in self.left.occurrences(doc):
            if a.field not in rights:
                continue
            # Only right occurrences starting inside the window can be close: no quadratic scan.
            low = bisect_left(firsts[a.field], a.first - self.distance - 1 - longest[a.field])
            high = bisect_right(firsts[a.field], a.last + self.distance + 1)
            for b in rights[a.field][low:high]:
                if (a.first, a.last) == (b.first, b.last):
                    continue
                gap = max(b.first - a.last, a.first - b.last, 1) - 1  # words strictly between
                if gap <= self.distance:
                    found.append((a, b))
        return found

    def occurrences(self, doc: Document) -> list[Occurrence]:
        return [Occurrence(a.field, min(a.first, b.first), max(a.last, b.last), a.hits + b.hits)
                for a, b in self.pairs(doc)]

    def match(self, doc: Document) -> Match | None:
        pairs = self.pairs(doc)
        if not pairs:
            return None
        hits = list(dict.fromkeys(h for a, b in pairs for h in a.hits + b.hits))
        left = _operand_clause(self.left, self.left_label, {h.term for a, _ in pairs for h in a.hits})
        right = _operand_clause(self.right, self.right_label, {h.term for _, b in pairs for h in b.hits})
        return Match(f"{left} NEAR/{self.distance} {right}", hits)


def _operand_clause(node: Node, label: str, used: set[str]) -> str:
    """A NEAR operand cut down to the alternatives that took part in a match."""
    if isinstance(node, Or) and all(isinstance(c, Term) for c in node.children):
        kept = [c.label for c in node.children if c.label in used]
        return kept[0] if len(kept) == 1 else f"({' OR '.join(kept)})"
    return label


# --- compiling luqum trees -----------------------------------------------------------


def _term_words(text: str) -> tuple[tuple[str, bool], ...]:
    """A term or phrase as folded words, each with whether it is a prefix."""
    folded = fold(text)
    if "?" in folded or re.search(r"\*\w|(?<!\w)\*", folded):
        raise RuleError(f"{text!r}: only a trailing * wildcard is supported (e.g. deport*)")
    words = []
    for match in re.finditer(r"(\w+)(\*)?", folded):
        prefix = bool(match.group(2))
        if prefix and len(match.group(1)) < MIN_PREFIX:
            raise RuleError(f"{text!r}: a wildcard needs at least {MIN_PREFIX} letters before the *")
        words.append((match.group(1), prefix))
    if not words:
        raise RuleError(f"empty term {text!r}")
    return tuple(words)


def _render(node: lq.Item) -> str:
    """A luqum subtree as the analyst wrote it (NEAR restored)."""
    if isinstance(node, lq.SearchField) and _NEAR_FIELD.fullmatch(node.name):
        left, right = node.expr.expr.children
        return f"{_render(left)} NEAR/{_NEAR_FIELD.fullmatch(node.name).group(1)} {_render(right)}"
    if isinstance(node, (lq.Group, lq.FieldGroup)):
        return f"({_render(node.expr)})"
    if isinstance(node, lq.BaseOperation):
        op = {"AndOperation": " AND ", "OrOperation": " OR "}.get(type(node).__name__, " ")
        return op.join(_render(c) for c in node.children)
    if isinstance(node, (lq.Not, lq.Prohibit)):
        return f"NOT {_render(node.a)}"
    return str(node).strip()


def _convert(node: lq.Item) -> Node:
    if isinstance(node, lq.Word):
        return Term(node.value, _term_words(node.value))
    if isinstance(node, lq.Phrase):
        return Term(node.value, _term_words(node.value[1:-1]))
    if isinstance(node, lq.Proximity):
        words = node.term.value[1:-1].split()
        result: Node = Term(words[0], _term_words(words[0]))
        label = words[0]
        for word in words[1:]:
            result = Near(result, Term(word, _term_words(word)), int(node.degree), label, word)
            label = result.label
        return result
    if isinstance(node, (lq.Group, lq.FieldGroup)):
        return _convert(node.expr)
    if isinstance(node, lq.Plus):
        return _convert(node.a)
    if isinstance(node, (lq.AndOperation, lq.UnknownOperation)):
        return And([_convert(c) for c in node.children])
    if isinstance(node, lq.OrOperation):
        return Or([_convert(c) for c in node.children])
    if isinstance(node, (lq.Not, lq.Prohibit)):
        return Not(_convert(node.a), _render(node.a))
    if isinstance(node, lq.SearchField):
        near = _NEAR_FIELD.fullmatch(node.name)
        if not near:
            raise RuleError(f"fields ({node.name}:) are not supported")
        left_item, right_item = node.expr.expr.children
        left, right = _convert(left_item), _convert(right_item)
        for operand, item in ((left, left_item), (right, right_item)):
            if not operand.spannable:
                raise RuleError(f"NEAR operand {_render(item)!r} must be a term, a phrase, "
                                "or an OR-group of them")
        return Near(left, right, int(near.group(1)), _render(left_item), _render(right_item))
    kind = type(node).__name__.lower()
    raise RuleError(f"{kind} syntax ({str(node).strip()!r}) is not supported")


def compile_rule(rule: str) -> Node:
    """Parse one rule; raises RuleError saying what is wrong."""
    rewritten = _check_and_rewrite(rule)
    try:
        tree = _luqum_parser.parse(rewritten)
    except ParseError as exc:
        raise RuleError(f"syntax error: {str(exc).removeprefix('Syntax error in input : ')}") from None
    node = _convert(tree)
    if not node.positive:
        raise RuleError("NOT can only narrow a rule: every alternative needs a term that is not negated")
    return node


# --- compiled topics and results -------------------------------------------------------


@dataclass(frozen=True)
class CompiledTheme:
    name: str
    rule: str
    weight: float
    node: Node


@dataclass(frozen=True)
class CompiledTopic:
    name: str
    threshold: float
    keep_irrelevant_text: bool
    require: str | None
    require_node: Node | None
    themes: tuple[CompiledTheme, ...]


@dataclass
class ThemeResult:
    name: str
    weight: float
    score: float
    clause: str
    hits: list[Hit]
    title_hits: int  # distinct places in the title
    text_hits: int  # distinct places in the text

    def arithmetic(self) -> str:
        """How the score was computed, for ``newsmon explain``."""
        return score_arithmetic(self.weight, self.title_hits, self.text_hits, self.score)


@dataclass
class TopicResult:
    name: str
    score: float
    threshold: float
    relevant: bool
    themes: list[ThemeResult]
    gate: Match | None = None  # the satisfied part of ``require``
    gate_ok: bool = True


def theme_score(weight: float, title_hits: int, text_hits: int) -> float:
    """weight × log2(1 + text hits + TITLE_WEIGHT × title hits), rounded for storage."""
    return round(weight * math.log2(1 + text_hits + TITLE_WEIGHT * title_hits), 4)


def score_arithmetic(weight: float, title_hits: int, text_hits: int, score: float) -> str:
    """The theme score formula with the article's numbers filled in."""
    return (f"{weight:g} × log2(1 + {text_hits} text + {TITLE_WEIGHT}×{title_hits} title hits)"
            f" = {score:.2f}")


def count_places(hits: Iterable) -> tuple[int, int]:
    """(title places, text places): overlapping hits ("military strikes" and
    "strikes") are one place, so a passage is not counted once per term that
    matches it. Works on Hit and on stored TermHit rows."""
    spans: dict[str, list[tuple[int, int]]] = {"title": [], "text": []}
    for h in hits:
        start, end = (h.start, h.end) if hasattr(h, "start") else (h.start_offset, h.end_offset)
        spans.setdefault(h.field, []).append((start, end))
    counts = {}
    for name, intervals in spans.items():
        places, reach = 0, -1
        for start, end in sorted(intervals):
            if start >= reach:
                places += 1
            reach = max(reach, end)
        counts[name] = places
    return counts["title"], counts["text"]


@dataclass(frozen=True)
class CompiledTopics:
    """Every configured topic, parsed once per process."""

    topics: tuple[CompiledTopic, ...] = field(default_factory=tuple)

    def classify(self, title: str | None, text: str | None) -> list[TopicResult]:
        """Score one article against every topic."""
        doc = Document(title, text)
        return [_classify_topic(topic, doc) for topic in self.topics]


def _classify_topic(topic: CompiledTopic, doc: Document) -> TopicResult:
    themes = []
    for theme in topic.themes:
        found = theme.node.match(doc)
        if found is None or not found.hits:
            continue
        hits = sorted(dict.fromkeys(found.hits), key=lambda h: (h.field != "title", h.start, h.end))
        title_hits, text_hits = count_places(hits)
        themes.append(ThemeResult(theme.name, theme.weight, theme_score(theme.weight, title_hits, text_hits),
                                  found.clause, hits, title_hits, text_hits))
    gate = topic.require_node.match(doc) if topic.require_node else None
    gate_ok = topic.require_node is None or gate is not None
    score = round(sum(t.score for t in themes), 4) if gate_ok else 0.0
    return TopicResult(topic.name, score, topic.threshold, score > 0 and score >= topic.threshold,
                       themes, gate, gate_ok)


def _topics_key(topics: Iterable["Topic"]) -> tuple:
    return tuple(
        (t.name, float(t.threshold), bool(t.keep_irrelevant_text), getattr(t, "require", None),
         tuple((th.name, th.rule, float(th.weight)) for th in t.themes))
        for t in topics
    )


def compile_topics(topics: Iterable["Topic"]) -> CompiledTopics:
    """Parse every topic's rules (cached: the same topics compile once per
    process). A bad rule raises ConfigError naming topic, theme and rule."""
    return _compile_key(_topics_key(topics))


@lru_cache(maxsize=32)
def _compile_key(key: tuple) -> CompiledTopics:
    compiled = []
    for name, threshold, keep, require, themes in key:
        require_node = _compile_named(name, "require", require) if require else None
        compiled_themes = tuple(CompiledTheme(theme, rule, weight, _compile_named(name, theme, rule))
                                for theme, rule, weight in themes)
        compiled.append(CompiledTopic(name, threshold, keep, require, require_node, compiled_themes))
    return CompiledTopics(tuple(compiled))


def _compile_named(topic: str, theme: str, rule: str) -> Node:
    try:
        return compile_rule(rule)
    except RuleError as exc:
        where = "require rule" if theme == "require" else f"theme {theme!r}"
        raise ConfigError(f"topic {topic!r}, {where}: rule {rule!r}: {exc}") from None


def validate_topics(config: "Config | Iterable[Topic]") -> None:
    """Check every topic rule at config load, so a typo fails at once with
    a message naming topic, theme and rule (raises ConfigError)."""
    topics = getattr(config, "topics", config)
    compile_topics(topics)


# --- the pipeline stage ----------------------------------------------------------------


class ClassifyStage(Stage):
    """Writes article_topics / theme_matches / term_hits and article.relevant."""

    name = "classify"

    def __init__(self, config: "Config") -> None:
        super().__init__(config)
        self.topics = compile_topics(config.topics)
        self.blank_irrelevant = any(not t.keep_irrelevant_text for t in config.topics)

    def process(self, session: "Session", article: "Article") -> None:
        from storage.models import ArticleTopic, TermHit, ThemeMatch

        # Replace what a previous run wrote (ORM delete cascades to themes and hits),
        # flushed first so the (article, topic) unique key is free again.
        for previous in session.scalars(select(ArticleTopic).where(ArticleTopic.article_id == article.id)):
            session.delete(previous)
        session.flush()
        if not self.topics.topics:
            article.relevant = None
            return
        # A paywall teaser is classified by its title, as when teasers were stored without text.
        results = self.topics.classify(article.title, "" if article.paywalled else article.text)
        for result in results:
            row = ArticleTopic(article_id=article.id, topic=result.name, score=result.score,
                               relevant=result.relevant)
            for theme in result.themes:
                match = ThemeMatch(theme=theme.name, weight=theme.weight, score=theme.score, clause=theme.clause)
                match.hits = [TermHit(term=h.term, matched=h.matched, field=h.field, start_offset=h.start,
                                      end_offset=h.end) for h in theme.hits]
                row.themes.append(match)
            session.add(row)
            log.debug("article %s: topic %s scored %.2f (%s)", article.id, result.name, result.score,
                      "relevant" if result.relevant else "not relevant")
        article.relevant = any(r.relevant for r in results)
        if not article.relevant and self.blank_irrelevant:
            article.text = ""  # blanked: the raw HTML stays in article_versions
