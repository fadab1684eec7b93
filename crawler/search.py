"""Full-text search over the archive, one query syntax on both databases.

The query language is the topic rules' (``crawler.classify``: ``AND``, ``OR``,
``NOT``, parentheses, ``"phrases"``, trailing ``*`` prefixes, adjacent words
joined by AND), parsed by the same parser and translated to

* SQLite: an FTS5 ``MATCH`` expression over ``articles_fts`` (porter stemming,
  accents folded), ranked by ``bm25`` (title 10, description 4, text 1),
  snippets by ``snippet()``;
* PostgreSQL: a ``tsquery`` per text-search configuration (``english``, or
  ``spanish`` for articles in Spanish) matched against the generated
  ``articles.search_vector``, ranked by ``ts_rank`` (title weight A,
  description B, text C), snippets by ``ts_headline``.

``NEAR/n`` has no PostgreSQL counterpart (``<n>`` is an exact distance) and is
refused. Snippets mark the matched words with ``<mark>…</mark>``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, Float, Integer, String, bindparam, text
from sqlalchemy.orm import Session

from crawler.classify import And, Near, Node, Not, Or, RuleError, Term, compile_rule

MARK_START, MARK_END = "<mark>", "</mark>"
_RAW_WORD = re.compile(r"(\w+)(\*)?")
_TYPOGRAPHY = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


class SearchError(RuleError):
    """A query that cannot be searched, worded for the user."""


@dataclass(frozen=True)
class SearchHit:
    id: int
    source: str
    title: str | None
    url: str
    published_at: datetime | None
    first_seen: datetime | None
    language: str | None
    rank: float
    snippet: str

    def as_dict(self) -> dict:
        return {"id": self.id, "source": self.source, "title": self.title, "url": self.url,
                "published_at": self.published_at.isoformat() if self.published_at else None,
                "first_seen": self.first_seen.isoformat() if self.first_seen else None,
                "language": self.language, "rank": round(self.rank, 6), "snippet": self.snippet}


def compile_query(query: str) -> Node:
    """The query as a rule tree; SearchError says what is wrong."""
    try:
        node = compile_rule(query)
    except RuleError as exc:
        raise SearchError(f"search query {query!r}: {exc}") from None
    _refuse_near(node)
    return node


def _refuse_near(node: Node) -> None:
    if isinstance(node, Near):
        raise SearchError("NEAR/n is not supported in search: use a \"phrase\" or AND")
    for child in getattr(node, "children", ()):
        _refuse_near(child)
    if isinstance(node, Not):
        _refuse_near(node.child)


# --- translation ---------------------------------------------------------------------


def to_fts5(node: Node) -> str:
    """An FTS5 MATCH expression. FTS5's NOT is binary, so an AND's negated
    children are subtracted from the conjunction of the others."""
    if isinstance(node, Term):
        # Folded words, each quoted (no FTS5 syntax leaks in); '+' joins a phrase.
        return " + ".join(f'"{word}"' + (" *" if prefix else "") for word, prefix in node.words)
    if isinstance(node, Or):
        return "(" + " OR ".join(to_fts5(c) for c in node.children) + ")"
    if isinstance(node, And):
        positive = [to_fts5(c) for c in node.children if not isinstance(c, Not)]
        negative = [to_fts5(c.child) for c in node.children if isinstance(c, Not)]
        if not positive:
            raise SearchError("NOT can only narrow a search: add a term that is not negated")
        expression = "(" + " AND ".join(positive) + ")"
        return "(" + " NOT ".join([expression, *negative]) + ")" if negative else expression
    if isinstance(node, Not):
        raise SearchError("NOT can only narrow a search: add a term that is not negated")
    raise SearchError(f"{type(node).__name__} is not supported in search")


def _raw_words(term: Term) -> list[tuple[str, bool]]:
    """The term's words as written (PostgreSQL stems them per language and
    would not match 'deportacion' to 'deportación'); fall back to the folded words."""
    found = [(m.group(1).lower(), bool(m.group(2)))
             for m in _RAW_WORD.finditer(term.label.translate(_TYPOGRAPHY))]
    return found if len(found) == len(term.words) else [(w, p) for w, p in term.words]


def to_tsquery(node: Node) -> str:
    """A to_tsquery() string: words are \\w+ only, so none of its operators leak in."""
    if isinstance(node, Term):
        parts = [word + (":*" if prefix else "") for word, prefix in _raw_words(node)]
        return parts[0] if len(parts) == 1 else "(" + " <-> ".join(parts) + ")"
    if isinstance(node, Or):
        return "(" + " | ".join(to_tsquery(c) for c in node.children) + ")"
    if isinstance(node, And):
        return "(" + " & ".join(to_tsquery(c) for c in node.children) + ")"
    if isinstance(node, Not):
        return "!" + to_tsquery(node.child)
    raise SearchError(f"{type(node).__name__} is not supported in search")


# --- running a search ------------------------------------------------------------------

_PG_CONFIG = "CASE WHEN a.language LIKE 'es%' THEN 'spanish'::regconfig ELSE 'english'::regconfig END"
_PG_QUERY = "CASE WHEN a.language LIKE 'es%' THEN to_tsquery('spanish', :qs) ELSE to_tsquery('english', :qe) END"
_HEADLINE = "StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \""


def _filters(since: datetime | None, source: str | None, theme: str | None) -> tuple[str, dict]:
    clauses, params = [], {}
    if since is not None:
        clauses.append("COALESCE(a.published_at, a.first_seen) >= :since")
        params["since"] = since
    if source is not None:
        clauses.append("s.name = :source")
        params["source"] = source
    if theme is not None:
        clauses.append("EXISTS (SELECT 1 FROM article_topics t JOIN theme_matches m ON m.article_topic_id = t.id "
                       "WHERE t.article_id = a.id AND m.theme = :theme)")
        params["theme"] = theme
    return "".join(f" AND {c}" for c in clauses), params


def _typed(sql: str):
    statement = text(sql).columns(id=Integer, source=String, title=String, url=String, published_at=DateTime,
                                  first_seen=DateTime, language=String, rank=Float, snippet=String)
    return statement.bindparams(bindparam("since", type_=DateTime)) if ":since" in sql else statement


def search(session: Session, query: str, *, since: datetime | None = None, source: str | None = None,
           theme: str | None = None, limit: int = 20) -> list[SearchHit]:
    """The best ``limit`` articles for the query, best first."""
    node = compile_query(query)
    where, params = _filters(since, source, theme)
    params["limit"] = limit
    if session.get_bind().dialect.name == "sqlite":
        params["q"] = to_fts5(node)
        # Ranked ids first; snippets for the shown rows only.
        sql = ("SELECT a.id, s.name AS source, a.title, a.url, a.published_at, a.first_seen, a.language, "
               "-f.rank AS rank, NULL AS snippet "
               "FROM articles_fts f JOIN articles a ON a.id = f.rowid JOIN sources s ON s.id = a.source_id "
               f"WHERE articles_fts MATCH :q{where} ORDER BY f.rank, a.id LIMIT :limit")
    else:
        params["qe"] = params["qs"] = to_tsquery(node)
        sql = ("WITH hits AS (SELECT a.id, s.name AS source, a.title, a.url, a.published_at, a.first_seen, "
               f"a.language, {_PG_QUERY} AS query, ts_rank(a.search_vector, {_PG_QUERY}, 1) AS rank "
               "FROM articles a JOIN sources s ON s.id = a.source_id "
               "WHERE (a.search_vector @@ to_tsquery('english', :qe) OR a.search_vector @@ to_tsquery('spanish', :qs)) "
               f"AND a.search_vector @@ {_PG_QUERY}{where} ORDER BY rank DESC, a.id LIMIT :limit) "
               "SELECT h.id, h.source, h.title, h.url, h.published_at, h.first_seen, h.language, h.rank, "
               f"ts_headline({_PG_CONFIG}, COALESCE(a.text, a.description, a.title, ''), h.query, '{_HEADLINE}') "
               "AS snippet FROM hits h JOIN articles a ON a.id = h.id ORDER BY h.rank DESC, h.id")
    try:
        rows = session.execute(_typed(sql), params).all()
    except Exception as exc:  # FTS5 refuses some expressions (e.g. a lone stop-char phrase)
        if "fts5" in str(exc).lower():
            raise SearchError(f"search query {query!r}: {str(getattr(exc, 'orig', exc)).strip()}") from None
        raise
    snippets = {r.id: r.snippet for r in rows}
    if rows and "q" in params:  # SQLite: snippets for the shown rows only
        ids = ",".join(str(int(r.id)) for r in rows)
        snippets = dict(session.execute(text(
            "SELECT rowid, snippet(articles_fts, -1, '<mark>', '</mark>', '…', 24) FROM articles_fts "
            f"WHERE articles_fts MATCH :q AND rowid IN ({ids})"), {"q": params["q"]}).all())
    return [SearchHit(r.id, r.source, r.title, r.url, r.published_at, r.first_seen, r.language, float(r.rank or 0),
                      " ".join((snippets.get(r.id) or "").split())) for r in rows]
