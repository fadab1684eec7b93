"""``newsmon explain ARTICLE_ID``: why an article is (or is not) relevant.

Reads what the classify stage stored (scores, themes, the rule clause that
matched, every term hit with its offsets) and shows it with the matched words
in context, so an analyst can check a decision without reading the code. The
snippets are cut from the stored title and text at the stored offsets; only
the topic's gate (``require``) is re-run, because it is not stored.
"""
from __future__ import annotations

import argparse
import re
from collections import Counter

from newsmon.cli_support import console, fail, get_config, require_archive

CONTEXT = 60  # characters of context either side of a hit
SNIPPETS = 5  # places shown per theme unless --all


def register(subparsers) -> None:
    from newsmon.cli import add_command

    p = add_command(subparsers, "explain", help="show why an article is relevant: scores, themes, matched terms",
                    description="Show an article's title and, per topic, the score arithmetic, and per theme "
                                "the rule clause that matched and the matched terms highlighted in context "
                                "(as [[term]] when the output is not a terminal).",
                    example="newsmon explain 42")
    p.add_argument("article_id", type=int, metavar="ARTICLE_ID", help="the article's id (v_articles.id)")
    p.add_argument("--all", action="store_true", help=f"show every matched place, not the first {SNIPPETS}")
    p.set_defaults(func=cmd_explain)


def cmd_explain(args: argparse.Namespace) -> int:
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from storage.db import session_scope
    from storage.models import Article, ArticleTopic, ThemeMatch

    url = require_archive(args)
    with session_scope(url) as session:
        article = session.get(Article, args.article_id)
        if article is None:
            return fail(f"no article with id {args.article_id} in the archive (see: newsmon sql "
                        "\"select id, title from v_articles\")")
        rows = session.scalars(
            select(ArticleTopic).where(ArticleTopic.article_id == article.id).order_by(ArticleTopic.topic)
            .options(selectinload(ArticleTopic.themes).selectinload(ThemeMatch.hits))
        ).all()
        lines = explain_lines(article, rows, get_config(args), show_all=args.all,
                              rich=console().is_terminal)
    out = console()
    for line in lines:
        out.print(line, markup=out.is_terminal, highlight=False, emoji=False, soft_wrap=True)
    return 0


def explain_lines(article, topic_rows, config, *, show_all: bool = False, rich: bool = False) -> list[str]:
    """The report as lines: rich markup when ``rich``, plain text with the
    matched words in ``[[double brackets]]`` otherwise."""
    from rich.markup import escape

    from crawler.classify import compile_topics, count_places, score_arithmetic

    text = _escape if rich else (lambda s: s)
    bold = (lambda s: f"[bold]{escape(s)}[/bold]") if rich else (lambda s: s)
    lines = [bold(f"Article {article.id}: {article.title or '(no title)'}")]
    lines.append(text(f"  url: {article.url}" + (f"   published: {article.published_at:%Y-%m-%d}"
                                                  if article.published_at else "")))
    relevant = {True: "yes", False: "no", None: "not classified"}[article.relevant]
    lines.append(text(f"  relevant: {relevant}"))
    if not topic_rows:
        lines.append(text("  no topic scores stored: no topics were configured when it was classified"))
        return lines
    configured = {t.name: t for t in config.topics}
    compiled = {t.name: t for t in compile_topics(config.topics).topics}
    for row in topic_rows:
        topic = configured.get(row.topic)
        lines.append("")
        verdict = "relevant" if row.relevant else "not relevant"
        if topic is not None:
            sign = "≥" if row.score >= topic.threshold else "<"
            lines.append(bold(f"Topic {row.topic}: score {row.score:.2f} {sign} threshold {topic.threshold:g}"
                              f" → {verdict}"))
        else:
            lines.append(bold(f"Topic {row.topic}: score {row.score:.2f} → {verdict} "
                              "(topic no longer in the config)"))
        themes = sorted(row.themes, key=lambda t: -t.score)
        gate = compiled[row.topic] if row.topic in compiled else None
        if gate is not None and gate.require_node is not None:
            from crawler.classify import Document

            found = gate.require_node.match(Document(article.title, article.text or ""))
            if found is not None:
                lines.append(text(f"  required clause satisfied: {found.clause}"))
            elif row.score == 0 and themes:
                lines.append(text(f"  required clause NOT satisfied, so the themes below do not count: "
                                  f"{' '.join(gate.require.split())}"))
        if themes:
            total = " + ".join(f"{t.score:.2f} {t.theme}" for t in themes)
            lines.append(text(f"  score = {total}" if row.score else f"  themes matched: {total}"))
        else:
            lines.append(text("  no theme matched"))
        for theme in themes:
            title_hits, text_hits = count_places(theme.hits)
            lines.append(bold(f"  Theme {theme.theme}: ")
                         + text(score_arithmetic(theme.weight, title_hits, text_hits, theme.score)))
            if theme.clause:
                lines.append(text(f"    matched: {theme.clause}"))
            counts = Counter(h.matched for h in theme.hits)
            lines.append(text("    terms: " + ", ".join(f"{term} ×{n}" for term, n in counts.most_common())))
            hits = sorted(theme.hits, key=lambda h: (h.field != "title", h.start_offset))
            shown = hits if show_all else hits[:SNIPPETS]
            for hit in shown:
                lines.append(f"    {hit.field}: " + _snippet(article, hit, rich))
            if len(hits) > len(shown):
                lines.append(text(f"    … {len(hits) - len(shown)} more (--all shows every one)"))
    return lines


def _escape(value: str) -> str:
    from rich.markup import escape

    return escape(value)


def _snippet(article, hit, rich: bool) -> str:
    """The hit in its sentence, cut from the stored field at the stored offsets."""
    from rich.markup import escape

    source = article.title if hit.field == "title" else article.text
    if not source or source[hit.start_offset:hit.end_offset] != hit.matched:
        shown = escape(hit.matched) if rich else hit.matched
        mark = f"[bold reverse]{shown}[/bold reverse]" if rich else f"[[{shown}]]"
        return f"{mark} (at {hit.start_offset}–{hit.end_offset}; the stored text no longer holds it)"
    start, end = max(0, hit.start_offset - CONTEXT), min(len(source), hit.end_offset + CONTEXT)
    before = re.sub(r"\s+", " ", source[start:hit.start_offset])
    after = re.sub(r"\s+", " ", source[hit.end_offset:end])
    before = ("…" if start > 0 else "") + before
    after = after + ("…" if end < len(source) else "")
    if rich:
        return f"{escape(before)}[bold reverse]{escape(hit.matched)}[/bold reverse]{escape(after)}"
    return f"{before}[[{hit.matched}]]{after}"
