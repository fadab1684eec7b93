"""Core commands: init, sources, stats, sql."""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from newsmon.cli import add_command
from newsmon.cli_support import console, fail, get_config, get_db_url, require_archive



def register(subparsers) -> None:
    p = add_command(subparsers, "init", help="create or upgrade the archive (idempotent)",
                    description="Create the archive, or upgrade it to this version's schema (Alembic). "
                                "With --config PATH naming a file that does not exist yet, first write the "
                                "example configuration (US–Colombia relations, real outlets) there.",
                    example="newsmon init --config newsmon.yaml")
    p.add_argument("--config", default=argparse.SUPPRESS, metavar="PATH",
                   help="config file; written from newsmon.example.yaml if it does not exist")
    p.set_defaults(func=cmd_init)

    p = add_command(subparsers, "sources", help="list configured sources with their last crawl",
                    example="newsmon sources  (or: newsmon sources import feeds.opml)")
    p.set_defaults(func=cmd_sources)
    from newsmon.trycmd import register_sources_import

    register_sources_import(p)

    p = add_command(subparsers, "stats", help="articles archived per source and day",
                    example="newsmon stats --days 14")
    p.add_argument("--days", type=int, default=14, help="how many days back (by first seen), default 14")
    p.set_defaults(func=cmd_stats)

    p = add_command(subparsers, "sql", help="run a read-only SQL query on the archive",
                    description="Run one SQL query on the archive, read-only: one statement per call, "
                                "queries only (SELECT, WITH, VALUES, EXPLAIN; TABLE/SHOW on PostgreSQL, PRAGMA "
                                "on SQLite); anything that would write, attach a file or change a setting fails "
                                "and changes nothing. On PostgreSQL connect as a read-only role (GRANT SELECT; "
                                "docs/security.md): a superuser or a role that may write is refused. Query the "
                                "v_* views: they stay stable across versions.",
                    example='newsmon sql "select source, title, published_at from v_articles order by published_at desc limit 10"')
    p.add_argument("query", help="the SQL statement")
    p.add_argument("--allow-superuser", action="store_true",
                   help="PostgreSQL: run even as a superuser or a role that may write (still in a read-only "
                        "transaction)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV on stdout")
    fmt.add_argument("--json", action="store_true", help="JSON (a list of objects) on stdout")
    p.set_defaults(func=cmd_sql)


def cmd_init(args: argparse.Namespace) -> int:
    from storage.db import migrate

    named = getattr(args, "config", None)
    if named and not Path(named).exists():
        Path(named).parent.mkdir(parents=True, exist_ok=True)
        from newsmon.resources import EXAMPLE_CONFIG_NAME, EXAMPLE_EVENTS_NAME, data_path

        shutil.copyfile(data_path(EXAMPLE_CONFIG_NAME), named)
        console().print(f"wrote example config to {named}")
        events = Path(named).parent / EXAMPLE_EVENTS_NAME  # the example config's 'events:' file
        if not events.exists():
            shutil.copyfile(data_path(EXAMPLE_EVENTS_NAME), events)
            console().print(f"wrote the example known-events timeline to {events}")
    url = get_db_url(args)
    revision = migrate(url)
    console().print(f"archive ready at {_display_url(url)} (schema {revision})")
    return 0


def _display_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _last_runs(session) -> dict[str, object]:
    from sqlalchemy import func, select

    from storage.models import CrawlRun, Source

    latest = (select(CrawlRun.source_id, func.max(CrawlRun.id).label("id")).group_by(CrawlRun.source_id)).subquery()
    rows = session.execute(
        select(Source.name, CrawlRun).join(latest, latest.c.source_id == Source.id).join(CrawlRun, CrawlRun.id == latest.c.id)
    ).all()
    return {name: run for name, run in rows}


def cmd_sources(args: argparse.Namespace) -> int:
    from rich.table import Table
    from sqlalchemy import func, select

    from storage.db import session_scope
    from storage.models import Article, FeedState, Source

    from crawler.runlog import reap_stale_runs_quietly

    config = get_config(args)
    url = require_archive(args)
    reap_stale_runs_quietly(url)  # a 'running' run whose process is gone shows as interrupted
    table = Table("source", "entry points", "articles", "last run", "status", "new", "errors", "failing feeds")
    with session_scope(url) as session:
        runs = _last_runs(session)
        counts = dict(session.execute(select(Source.name, func.count(Article.id))
                                      .join(Article, Article.source_id == Source.id).group_by(Source.name)).all())
        failing = dict(session.execute(select(Source.name, func.count(FeedState.id))
                                       .join(FeedState, FeedState.source_id == Source.id)
                                       .where(FeedState.status == "failing").group_by(Source.name)).all())
    if not config.sources:
        console().print("no sources configured (add them to the config's 'sources:' list)")
    for source in config.sources:
        run = runs.get(source.name)
        entry = f"{len(source.feeds)} feeds, {len(source.sitemaps)} sitemaps, {len(source.sections)} sections"
        table.add_row(
            source.name + ("" if source.enabled else " (disabled)"), entry, str(counts.get(source.name, 0)),
            run.started_at.strftime("%Y-%m-%d %H:%M") if run else "never",
            run.status if run else "-", str(run.new_articles) if run else "-", str(run.errors) if run else "-",
            str(failing.get(source.name, 0)),
        )
    if config.sources:
        console().print(table)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from rich.table import Table
    from sqlalchemy import text

    from storage.db import session_scope

    from crawler.runlog import reap_stale_runs_quietly

    url = require_archive(args)
    reap_stale_runs_quietly(url)
    with session_scope(url) as session:
        rows = session.execute(text(
            "SELECT source, first_seen FROM v_articles"
        )).all()
    per: dict[tuple[str, str], int] = {}
    cutoff = (datetime.utcnow().date().toordinal() - args.days + 1)
    for source, first_seen in rows:
        day = first_seen if isinstance(first_seen, datetime) else datetime.fromisoformat(str(first_seen))
        if day.date().toordinal() >= cutoff:
            key = (source, day.date().isoformat())
            per[key] = per.get(key, 0) + 1
    table = Table("source", "day (first seen)", "articles")
    for (source, day), count in sorted(per.items(), key=lambda kv: (kv[0][1], kv[0][0]), reverse=True):
        table.add_row(source, day, str(count))
    console().print(table if per else f"no articles archived in the last {args.days} days")
    console().print(f"total in archive: {len(rows)} articles")
    return 0


def _jsonable(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (bytes, memoryview)):
        return f"<{len(value)} bytes>"
    return value


def cmd_sql(args: argparse.Namespace) -> int:
    from rich.table import Table

    from newsmon.cli_support import UsageError
    from storage.readonly import QueryFailed, QueryRejected, run_query

    try:
        result = run_query(get_db_url(args), args.query, allow_superuser=args.allow_superuser)
    except QueryRejected as exc:
        raise UsageError(str(exc)) from None
    except QueryFailed as exc:
        return fail(str(exc), 1)
    if result is None:
        return fail("the statement returned no rows (the archive is read-only through 'newsmon sql')", 1)
    columns, raw = result
    rows = [tuple(_jsonable(v) for v in row) for row in raw]
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    elif args.json:
        json.dump([dict(zip(columns, row)) for row in rows], sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        table = Table(*columns)
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        console().print(table)
        console().print(f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
    return 0
