"""The analyst's desk: ``newsmon search`` (full text, ranked, highlighted) and
``newsmon export`` (a view streamed as JSON Lines, CSV or Parquet in constant memory)."""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from datetime import date, datetime

from newsmon.cli import add_command
from newsmon.cli_support import UsageError, console, get_config, get_db_url, require_archive

EXPORT_BATCH = 1000  # rows fetched per round trip (a server-side cursor on PostgreSQL)
# Time columns a view's --since filters on, in order of preference.
SINCE_COLUMNS = ("published_at", "first_seen", "created_at", "started_at", "fetched_at", "date_start")


def since_arg(value: str) -> datetime:
    """--since: an ISO date or date-time (UTC)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {value!r} (expected e.g. 2025-11-01 or 2025-11-01T08:00)")
    if parsed.tzinfo is not None:
        from datetime import timezone

        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {value!r}")
    return int(value)


def register(subparsers) -> None:
    p = add_command(subparsers, "search", help="full-text search of the archive: ranked, with highlighted snippets",
                    description="Search titles, descriptions and texts. The syntax is the topic rules': words "
                                "(all required), \"exact phrases\", AND, OR, NOT, parentheses, prefix*. "
                                "English and Spanish words are matched by stem (revoked ~ revocation on "
                                "PostgreSQL, revoke ~ revoked on SQLite). Matches are shown as [[word]] "
                                "when the output is not a terminal, <mark>word</mark> in --json.",
                    example='newsmon search \'"visa" AND (Petro OR presidente) NOT sanctions\' --since 2025-09-01')
    p.add_argument("query", help="the search query")
    p.add_argument("--since", type=since_arg, metavar="DATE", help="published (or first seen) on or after DATE")
    p.add_argument("--source", metavar="NAME", help="only this source")
    p.add_argument("--theme", metavar="NAME", help="only articles matching this theme")
    p.add_argument("--limit", type=positive_int, default=20, metavar="N", help="how many results (default 20)")
    p.add_argument("--json", action="store_true", help="JSON (a list of objects) on stdout")
    p.set_defaults(func=cmd_search)

    p = add_command(subparsers, "export", help="stream a view as JSON Lines, CSV or Parquet (constant memory)",
                    description="Write every row of a view (default v_articles) to stdout or --output, "
                                "fetched in batches (a server-side cursor on PostgreSQL), so an archive of "
                                "any size exports in constant memory. pandas: pd.read_json(path, lines=True), "
                                "pd.read_csv(path) or pd.read_parquet(path). Parquet (--output only) needs "
                                "pyarrow: pip install 'newsmon[parquet]'.",
                    example="newsmon export --format jsonl --since 2025-11-01 --output articles.jsonl")
    p.add_argument("--format", choices=("jsonl", "csv", "parquet"), default="jsonl",
                   help="output format (default jsonl; parquet needs --output and pyarrow)")
    p.add_argument("--view", default="v_articles", metavar="VIEW", help="a v_* view (default v_articles)")
    p.add_argument("--since", type=since_arg, metavar="DATE",
                   help="rows on or after DATE (the view's publication or first-seen time)")
    p.add_argument("--output", "-o", metavar="PATH", help="write here instead of stdout")
    p.set_defaults(func=cmd_export)


# --- search ------------------------------------------------------------------------------


def _check_filters(args: argparse.Namespace, session) -> None:
    from sqlalchemy import select

    from storage.models import Source, ThemeMatch

    if args.source is not None:
        known = session.scalars(select(Source.name).order_by(Source.name)).all()
        if args.source not in known:
            raise UsageError(f"--source {args.source!r}: no such source in the archive "
                             f"(known: {', '.join(known) or 'none yet'})")
    if args.theme is not None:
        configured = {theme.name for topic in get_config(args).topics for theme in topic.themes}
        archived = set(session.scalars(select(ThemeMatch.theme).distinct()).all())
        if args.theme not in configured | archived:
            raise UsageError(f"--theme {args.theme!r}: no such theme "
                             f"(known: {', '.join(sorted(configured | archived)) or 'none'})")


def cmd_search(args: argparse.Namespace) -> int:
    from crawler.search import SearchError, search
    from storage.db import session_scope

    url = require_archive(args)
    with session_scope(url) as session:
        _check_filters(args, session)
        try:
            hits = search(session, args.query, since=args.since, source=args.source, theme=args.theme,
                          limit=args.limit)
        except SearchError as exc:
            raise UsageError(str(exc)) from None
    if args.json:
        json.dump([h.as_dict() for h in hits], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    out = console()
    for number, hit in enumerate(hits, 1):
        when = (hit.published_at or hit.first_seen)
        out.print(f"{number}. {_escape(hit.title or '(untitled)', out)}  "
                  f"({hit.source}, {when:%Y-%m-%d} · id {hit.id})" if when else
                  f"{number}. {_escape(hit.title or '(untitled)', out)}  ({hit.source} · id {hit.id})",
                  markup=out.is_terminal, highlight=False, emoji=False, soft_wrap=True)
        out.print(f"   {hit.url}", markup=False, highlight=False, soft_wrap=True)
        out.print(f"   {_marked(hit.snippet, out.is_terminal)}", markup=out.is_terminal, highlight=False,
                  emoji=False, soft_wrap=True)
    out.print(f"{len(hits)} result{'s' if len(hits) != 1 else ''}" + (" (more with --limit)"
                                                                      if len(hits) == args.limit else ""))
    return 0


def _escape(value: str, out) -> str:
    from rich.markup import escape

    return escape(value) if out.is_terminal else value


def _marked(snippet: str, rich: bool) -> str:
    from rich.markup import escape

    parts = re.split(r"(<mark>.*?</mark>)", snippet)
    shown = []
    for part in parts:
        if part.startswith("<mark>") and part.endswith("</mark>"):
            word = part[6:-7]
            shown.append(f"[bold reverse]{escape(word)}[/bold reverse]" if rich else f"[[{word}]]")
        else:
            shown.append(escape(part) if rich else part)
    return "".join(shown)


# --- export ------------------------------------------------------------------------------


def _value(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return f"<{len(value)} bytes>"
    if hasattr(value, "is_finite"):  # Decimal
        return float(value)
    return value


def _export_statement(engine, view: str, since: datetime | None):
    from sqlalchemy import DateTime, bindparam, inspect, text

    views = sorted(v for v in inspect(engine).get_view_names() if v.startswith("v_"))
    if view not in views:
        raise UsageError(f"--view {view!r}: not one of the archive's views ({', '.join(views)})")
    columns = [c["name"] for c in inspect(engine).get_columns(view)]
    sql = f"SELECT * FROM {view}"
    if since is not None:
        if "published_at" in columns and "first_seen" in columns:
            when = "COALESCE(published_at, first_seen)"
        else:
            when = next((c for c in SINCE_COLUMNS if c in columns), None)
            if when is None:
                raise UsageError(f"--since: the view {view} has no time column")
        sql += f" WHERE {when} >= :since"
    order = "id" if "id" in columns else ("article_id" if "article_id" in columns else None)
    if order:
        sql += f" ORDER BY {order}"
    statement = text(sql)
    if since is not None:
        statement = statement.bindparams(bindparam("since", since, type_=DateTime))
    return statement


def export_rows(url: str, view: str, since: datetime | None):
    """(columns, row iterator) of the view, streamed in batches; the
    connection closes when the iterator is exhausted or closed."""
    from storage.readonly import readonly_engine

    engine = readonly_engine(url)
    statement = _export_statement(engine, view, since)
    conn = engine.connect().execution_options(stream_results=True, yield_per=EXPORT_BATCH)
    result = conn.execute(statement)

    def rows():
        try:
            for row in result:
                yield row
        finally:
            result.close()
            conn.rollback()
            conn.close()
            engine.dispose()

    return list(result.keys()), rows()


def write_export(out, fmt: str, columns: list[str], rows) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else _value(v) for v in row])
            count += 1
    else:
        for row in rows:
            out.write(json.dumps(dict(zip(columns, (_value(v) for v in row))), ensure_ascii=False))
            out.write("\n")
            count += 1
    return count


def cmd_export(args: argparse.Namespace) -> int:
    from storage.db import check_schema

    url = get_db_url(args)
    if args.output:
        import os

        folder = os.path.dirname(os.path.abspath(args.output))
        if not os.path.isdir(folder):
            raise UsageError(f"--output {args.output}: no such directory {folder}")
        if os.path.isdir(args.output):
            raise UsageError(f"--output {args.output}: is a directory (give a file name)")
    if args.format == "parquet":
        from newsmon.exportparquet import require_pyarrow

        if not args.output:
            raise UsageError("--format parquet writes a file: add --output PATH (Parquet is not for a terminal)")
        require_pyarrow()
    check_schema(url)
    columns, rows = export_rows(url, args.view, args.since)
    if args.format == "parquet":
        from newsmon.exportparquet import declared_types, write_parquet

        try:
            count = write_parquet(args.output, declared_types(url, args.view), args.view, columns, rows,
                                  EXPORT_BATCH)
        finally:
            rows.close()
        print(f"exported {count} rows of {args.view} to {args.output}", file=sys.stderr)
        return 0
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            count = write_export(out, args.format, columns, rows)
        print(f"exported {count} rows of {args.view} to {args.output}", file=sys.stderr)
    else:
        write_export(sys.stdout, args.format, columns, rows)
    return 0
