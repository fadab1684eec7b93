"""The topic-rule language: syntax checks and parsing into a tree of rule nodes.

The bottom floor (beside the config models, which validate every rule at
load): imports only the normalizer (``crawler.text``) and luqum. The matcher
that runs a parsed rule over an article is ``crawler.classify``; the rule
language itself is described there and in docs/configuration.md.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from luqum import tree as lq
from luqum.exceptions import ParseError
from luqum.parser import parser as _luqum_parser

from crawler.errors import ConfigError
from crawler.text import fold

MIN_PREFIX = 3  # letters required before a trailing wildcard
_WORD = re.compile(r"\w+")
_OPERATORS = ("AND", "OR", "NOT", "NEAR")
_NEAR_FIELD = re.compile(r"near_(\d+)")
# Limits that keep a rule from exhausting the parser (recursion) or the matcher.
MAX_RULE_CHARS = 20_000
MAX_RULE_TOKENS = 2_000
MAX_RULE_DEPTH = 32  # nested parentheses
MAX_NEAR = 50  # NEAR operators in one rule
MAX_NEAR_DISTANCE = 1_000  # words


# --- parsed rules ----------------------------------------------------------------------


class Rule:
    """A parsed rule node. ``positive``: contributes hits (NOT does not);
    ``spannable``: has word positions, so NEAR can use it."""

    positive = True
    spannable = False


@dataclass
class TermRule(Rule):
    """A word, a prefix (``deport*``) or a phrase of them, as folded words."""

    label: str
    words: tuple[tuple[str, bool], ...]
    spannable = True


@dataclass
class OrRule(Rule):
    children: list[Rule]

    def __post_init__(self) -> None:
        self.positive = all(c.positive for c in self.children)
        self.spannable = all(c.spannable for c in self.children)


@dataclass
class AndRule(Rule):
    children: list[Rule]

    def __post_init__(self) -> None:
        self.positive = any(c.positive for c in self.children)


@dataclass
class NotRule(Rule):
    child: Rule
    label: str
    positive = False


@dataclass
class NearRule(Rule):
    left: Rule
    right: Rule
    distance: int
    left_label: str
    right_label: str
    spannable = True

    @property
    def label(self) -> str:
        return f"{self.left_label} NEAR/{self.distance} {self.right_label}"


# --- rule syntax errors --------------------------------------------------------------


class RuleError(ValueError):
    """What is wrong with one rule (the caller adds topic and theme)."""


def _check_and_rewrite(rule: str) -> str:
    """Catch the mistakes analysts make with a readable message, and rewrite
    ``NEAR/n`` into luqum's ``near_n:(left right)`` form."""
    rule = rule.translate(str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"'}))
    if not rule.strip():
        raise RuleError("the rule is empty")
    if len(rule) > MAX_RULE_CHARS:
        raise RuleError(f"the rule is longer than {MAX_RULE_CHARS} characters")
    if rule.count('"') % 2:
        raise RuleError("unbalanced quotes: a '\"' is never closed")
    tokens = re.findall(r'"[^"]*"(?:~\d+)?|\(|\)|[^\s()"]+', rule)
    tokens = [{"&&": "AND", "||": "OR"}.get(t, t) for t in tokens]
    if len(tokens) > MAX_RULE_TOKENS:
        raise RuleError(f"the rule has more than {MAX_RULE_TOKENS} terms and operators: split it into themes")
    nears = [t for t in tokens if t.startswith("NEAR/")]
    if len(nears) > MAX_NEAR:
        raise RuleError(f"more than {MAX_NEAR} NEAR operators in one rule")
    for near in nears:
        digits = near[len("NEAR/"):]
        if digits.isdigit() and (len(digits) > 6 or int(digits) > MAX_NEAR_DISTANCE):
            raise RuleError(f"{near[:20]}{'…' if len(near) > 20 else ''}: the distance must be at most "
                            f"{MAX_NEAR_DISTANCE} words")
    depth = 0
    for index, token in enumerate(tokens):
        previous = tokens[index - 1] if index else None
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if token == "(":
            depth += 1
            if depth > MAX_RULE_DEPTH:
                raise RuleError(f"parentheses nested more than {MAX_RULE_DEPTH} deep")
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
        if following == "NOT" or (following or "").startswith("-"):
            raise RuleError("NOT NOT: a double negation cancels out; remove both")
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


def _convert(node: lq.Item) -> Rule:
    if isinstance(node, lq.Word):
        return TermRule(node.value, _term_words(node.value))
    if isinstance(node, lq.Phrase):
        return TermRule(node.value, _term_words(node.value[1:-1]))
    if isinstance(node, lq.Proximity):
        words = node.term.value[1:-1].split()
        result: Rule = TermRule(words[0], _term_words(words[0]))
        label = words[0]
        for word in words[1:]:
            result = NearRule(result, TermRule(word, _term_words(word)), int(node.degree), label, word)
            label = result.label
        return result
    if isinstance(node, (lq.Group, lq.FieldGroup)):
        return _convert(node.expr)
    if isinstance(node, lq.Plus):
        return _convert(node.a)
    if isinstance(node, (lq.AndOperation, lq.UnknownOperation)):
        return AndRule([_convert(c) for c in node.children])
    if isinstance(node, lq.OrOperation):
        return OrRule([_convert(c) for c in node.children])
    if isinstance(node, (lq.Not, lq.Prohibit)):
        return NotRule(_convert(node.a), _render(node.a))
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
        return NearRule(left, right, int(near.group(1)), _render(left_item), _render(right_item))
    kind = type(node).__name__.lower()
    raise RuleError(f"{kind} syntax ({str(node).strip()!r}) is not supported")


def parse_rule(rule: str) -> Rule:
    """Parse one rule; raises RuleError saying what is wrong."""
    rewritten = _check_and_rewrite(rule)
    try:
        tree = _luqum_parser.parse(rewritten)
        node = _convert(tree)
    except ParseError as exc:
        raise RuleError(f"syntax error: {str(exc).removeprefix('Syntax error in input : ')}") from None
    except RecursionError:  # a shape the limits above did not foresee: still one readable line
        raise RuleError("the rule is nested too deeply to parse: split it into themes") from None
    if not node.positive:
        raise RuleError("NOT can only narrow a rule: every alternative needs a term that is not negated")
    return node




def parse_named(topic: str, theme: str, rule: str) -> Rule:
    """Parse a rule of a topic's theme (or its ``require`` gate); a bad rule
    raises ConfigError naming topic, theme and rule."""
    try:
        return parse_rule(rule)
    except RuleError as exc:
        where = "require rule" if theme == "require" else f"theme {theme!r}"
        shown = rule if len(rule) <= 200 else rule[:200] + "…"
        raise ConfigError(f"topic {topic!r}, {where}: rule {shown!r}: {exc}") from None


def validate_topics(topics) -> None:
    """Check every topic rule (of a config, or a list of topics) at load, so a
    typo fails at once with a message naming topic, theme and rule (raises
    ConfigError)."""
    for topic in getattr(topics, "topics", topics):
        if getattr(topic, "require", None):
            parse_named(topic.name, "require", topic.require)
        for theme in topic.themes:
            parse_named(topic.name, theme.name, theme.rule)
