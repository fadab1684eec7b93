"""``newsmon crawl [SOURCE…]`` and ``newsmon reextract [--since DATE]``."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from newsmon.cli import add_command
from newsmon.cli_support import UsageError, console, get_config, require_archive

if TYPE_CHECKING:
    from rich.table import Table

log = logging.getLogger("newsmon.crawl")

SUMMARY_COLUMNS = (("fetched", "fetched"), ("new", "new_articles"), ("updated", "updated"),
                   ("unchanged", "unchanged"), ("skipped as seen", "skipped_seen"),
                   ("not articles", "not_articles"), ("errors", "errors"))


def register(subparsers) -> None:
    p = add_command(subparsers, "crawl", help="crawl sources now and archive what is new",
                    description="Fetch each source's feeds, sitemaps and section pages, then the articles "
                                "they list that the archive does not hold yet (or that are due for an update "
                                "check), extract and analyse them, and print a per-source summary. All "
                                "enabled sources by default. Exit status 0 when the crawl ran, even if some "
                                "pages failed (see 'newsmon sql \"select * from fetches\"').",
                    example="newsmon crawl el-tiempo bbc-mundo")
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="source names from the config (default: all enabled)")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                   help="override a Scrapy setting for this run (e.g. --set DOWNLOAD_DELAY=0)")
    p.add_argument("--stop-grace", type=float, default=30.0, metavar="SECONDS",
                   help="after SIGTERM/Ctrl-C, how long in-flight pages may take before the crawl is ended "
                        "anyway (default 30)")
    p.set_defaults(func=cmd_crawl)

    p = add_command(subparsers, "reextract", help="re-run extraction and analysis over archived pages",
                    description="Re-extract every archived article from the raw HTML of its newest version "
                                "(no refetching): a changed text becomes a new version, changed metadata "
                                "updates the article, and the analysis stages run again. Prints what changed.",
                    example="newsmon reextract --since 2025-11-01")
    p.add_argument("--since", metavar="DATE", help="only articles whose newest version was fetched on or after DATE "
                                                   "(YYYY-MM-DD)")
    p.add_argument("--explain", action="store_true",
                   help="print, for every article, how it was judged: the refusal with its evidence, or where the "
                        "title came from, which boxes and dateline were taken out, the paywall sign, the retry")
    p.add_argument("--ids", metavar="FIRST:LAST", help="only articles whose id is in this range (inclusive)")
    p.add_argument("--distributed", action="store_true",
                   help="spread the archive over the 'newsmon worker' processes in chunks of service.reextract_chunk "
                        "articles (needs a broker) and wait for them; prints the same summary")
    p.add_argument("--json", action="store_true", help="the summary as JSON on stdout")
    p.set_defaults(func=cmd_reextract)


# --- crawl -------------------------------------------------------------------------------------


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--set {pair!r}: expected NAME=VALUE")
        overrides[name.strip()] = value.strip()
    return overrides


def summary_table(summaries) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, title="Crawl summary", title_justify="left")
    table.add_column("source", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for label, _ in SUMMARY_COLUMNS:
        table.add_column(label, justify="right")
    for s in summaries:
        table.add_row(s.source, s.status, *(str(getattr(s.counts, attr)) for _, attr in SUMMARY_COLUMNS))
    return table


def hide_scrapy_below(level) -> None:
    """Drop Scrapy's records under its LOG_LEVEL at our log handlers. Scrapy's
    logging setup (inside ``run_crawl``) resets its loggers to DEBUG just
    before it prints its start-up banner, so neither LOG_LEVEL nor the CLI's
    quieting of ``scrapy.utils.log`` reaches those first lines."""
    threshold = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
    if not isinstance(threshold, int):
        return  # an unknown level name: Scrapy itself will complain about it

    def keep(record: logging.LogRecord) -> bool:
        return record.levelno >= threshold or not (record.name == "scrapy" or record.name.startswith("scrapy."))

    for handler in logging.getLogger().handlers:
        handler.addFilter(keep)


def cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.runner import run_crawl
    from crawler.config import ConfigError

    config = get_config(args)
    if not 0 < args.stop_grace <= 3600:
        raise UsageError(f"--stop-grace {args.stop_grace:g}: expected seconds between 0 and 3600")
    for name in args.sources:
        config.source(name)  # unknown name → ConfigError, one line, exit 2
    names = list(dict.fromkeys(args.sources)) or [s.name for s in config.sources if s.enabled]
    if not names:
        where = config.path or "the defaults (no config file found)"
        raise ConfigError(f"{where}: no enabled sources to crawl")
    overrides = {"LOG_LEVEL": "DEBUG" if args.verbose else "WARNING", **parse_overrides(args.settings)}
    db_url = require_archive(args)
    if config.events:  # a broken timeline fails the crawl now, not every article one by one
        from crawler.events.timeline import load_timeline

        load_timeline(config)
    tty = sys.stdout.isatty()
    if not args.verbose:
        for noisy in ("twisted", "py.warnings", "protego"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        if tty:  # the progress display says it; keep warnings only
            for chatty in ("newsmon.crawl", "crawler"):
                logging.getLogger(chatty).setLevel(logging.WARNING)
    hide_scrapy_below(overrides["LOG_LEVEL"])
    if tty:
        summaries = _crawl_with_progress(config, names, db_url, overrides, args.stop_grace)
    else:
        summaries = run_crawl(config, names, db_url=db_url, overrides=overrides, stop_grace=args.stop_grace)
    console().print(summary_table(summaries))
    if all(s.status == "failed" for s in summaries):
        failed = "; ".join(f"{s.source}: {s.message}" for s in summaries if s.message)
        did_something = any(s.counts.fetched for s in summaries)
        what = "every run failed" if did_something else "nothing could be crawled"
        print(f"newsmon: {what}{': ' + failed if failed else ''}", file=sys.stderr)
        return 1
    return 0


def _crawl_with_progress(config, names, db_url, overrides, stop_grace):
    """One bar per source on a terminal: article pages done of those requested
    so far (the total grows as lists are read), pages fetched, what was
    archived, and an ETA from the pace so far."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from crawler.runner import run_crawl

    columns = (TextColumn("{task.description}: {task.fields[stats]}"), BarColumn(bar_width=24),
               MofNCompleteColumn(), TextColumn("articles · ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console(), transient=True) as progress:
        tasks = {name: progress.add_task(name, total=None, stats="starting") for name in names}

        def tick(runlogs):
            for runlog in runlogs:
                c = runlog.counts
                progress.update(tasks[runlog.source_name], completed=runlog.articles_done,
                                total=max(runlog.articles_planned, runlog.articles_done) or None,
                                stats=f"{c.fetched} pages, {c.new_articles} new, {c.updated} updated, "
                                      f"{c.skipped_seen} seen, {c.errors} errors")

        return run_crawl(config, names, db_url=db_url, overrides=overrides, stop_grace=stop_grace, on_tick=tick)


# --- reextract ---------------------------------------------------------------------------------


@dataclass
class Change:
    article_id: int
    title: str | None
    what: list[str] = field(default_factory=list)  # changed fields; "text (version N)" for a new version


@dataclass
class ReextractResult:
    examined: int = 0
    text_changed: list[Change] = field(default_factory=list)
    metadata_changed: list[Change] = field(default_factory=list)
    unchanged: int = 0
    not_articles: list[tuple[int, str]] = field(default_factory=list)  # (id, reason): kept as they were
    errors: list[tuple[int, str]] = field(default_factory=list)
    explained: list[tuple[int, str]] = field(default_factory=list)  # (id, how the page was judged)


METADATA_FIELDS = ("title", "author", "published_at", "language", "site_name", "description", "tags", "paywalled")


def article_query(since: date | None = None, id_range: tuple[int, int] | None = None):
    """Ids of the archived articles to re-extract, in id order."""
    from sqlalchemy import func, select

    from storage.models import Article, ArticleVersion

    newest = (select(ArticleVersion.article_id, func.max(ArticleVersion.version).label("version"))
              .group_by(ArticleVersion.article_id).subquery())
    query = (select(Article.id).join(newest, newest.c.article_id == Article.id)
             .join(ArticleVersion, (ArticleVersion.article_id == Article.id)
                   & (ArticleVersion.version == newest.c.version)).order_by(Article.id))
    if since is not None:
        query = query.where(ArticleVersion.fetched_at >= datetime.combine(since, datetime.min.time()))
    if id_range is not None:
        query = query.where(Article.id.between(*id_range))
    return query


def reextract(config, db_url: str, since: date | None = None, stage_names=None,
              id_range: tuple[int, int] | None = None, on_progress=None) -> ReextractResult:
    """Re-extract each archived article from its newest version's raw HTML,
    one transaction per article (article fields, new version, stage rows).
    ``on_progress(done, total)`` is called after each article."""
    from sqlalchemy import select

    from crawler.decode import decompress_html
    from crawler.extract import extract_for_source
    from crawler.extracted import Hints, NotArticle
    from crawler.stages import StageRunner
    from crawler.text import text_hash
    from storage.db import session_scope
    from storage.models import Article, ArticleVersion, Source

    stages = StageRunner(config, stage_names)
    with session_scope(db_url) as session:  # its own transaction, before the first article
        stages.open(session)
    sources = {s.name: s for s in config.sources}
    with session_scope(db_url) as session:
        ids = list(session.scalars(article_query(since, id_range)))
    result = ReextractResult()
    for article_id in ids:
        if on_progress is not None and result.examined:
            on_progress(result.examined, len(ids))
        result.examined += 1
        article = None
        try:
            with session_scope(db_url) as session:
                article = session.get(Article, article_id)
                version = session.scalar(select(ArticleVersion).where(ArticleVersion.article_id == article_id)
                                         .order_by(ArticleVersion.version.desc()).limit(1))
                source_name = session.scalar(select(Source.name).where(Source.id == article.source_id))
                try:
                    ex = extract_for_source(
                        decompress_html(version.raw_html), article.url, sources.get(source_name),
                        hints=Hints(title=article.title, author=article.author, published=article.published_at),
                        fetched_at=version.fetched_at, timeout=config.crawl.extraction_timeout,
                        encoding=version.encoding)
                except NotArticle as exc:
                    result.not_articles.append((article_id, exc.reason))
                    result.explained.append((article_id, f"refused: {exc.reason}"))
                    article = None
                    continue
                result.explained.append((article_id, explain_extraction(ex)))
                values = {"title": ex.title, "author": ex.author, "published_at": ex.published_at,
                          "language": ex.language, "site_name": ex.site_name, "description": ex.description,
                          "tags": ex.tags or None, "paywalled": ex.paywalled}
                change = Change(article_id, ex.title or article.title,
                                [name for name, value in values.items() if getattr(article, name) != value])
                for name, value in values.items():
                    setattr(article, name, value)
                article.origins = ex.origins or None
                new_hash = text_hash(ex.text)
                if new_hash != article.text_hash:
                    number = version.version + 1
                    session.add(ArticleVersion(
                        article_id=article_id, version=number, fetched_at=version.fetched_at,
                        http_status=version.http_status, etag=version.etag, last_modified=version.last_modified,
                        raw_html=version.raw_html, encoding=version.encoding, title=ex.title, text=ex.text,
                        text_hash=new_hash, extractor=ex.extractor))
                    article.text, article.text_hash = ex.text, new_hash
                    change.what.insert(0, f"text (version {number})")
                    result.text_changed.append(change)
                elif change.what:
                    result.metadata_changed.append(change)
                else:
                    result.unchanged += 1
                stages.process(session, article)
            stages.committed(article)
        except Exception as exc:  # noqa: BLE001 - report and go on with the next article
            if article is not None:
                stages.rolled_back(article)
            log.error("article %d: re-extraction failed: %s", article_id, exc, exc_info=log.isEnabledFor(10))
            result.errors.append((article_id, f"{type(exc).__name__}: {exc}"))
    return result


EXPLAINED_ORIGINS = (("title", "title from"), ("text", "text"), ("standfirst", "standfirst from"),
                     ("pruned", "removed"), ("dateline", "dateline"),
                     ("paywalled", "paywalled"), ("published_at", "date from"),
                     ("published_at_rejected", "dates rejected"), ("language", "language from"))


def explain_extraction(ex) -> str:
    """One line: how an extracted page was judged, from its recorded origins."""
    origins = ex.origins or {}
    parts = [f"{label} {origins[key]}" for key, label in EXPLAINED_ORIGINS if origins.get(key)]
    return f"kept ({len(ex.text)} chars): " + "; ".join(parts)


def cmd_reextract(args: argparse.Namespace) -> int:
    config = get_config(args)
    since = None
    if args.since:
        try:
            since = date.fromisoformat(args.since)
        except ValueError:
            raise UsageError(f"--since {args.since!r}: expected a date as YYYY-MM-DD") from None
    id_range = None
    if args.ids:
        first, sep, last = args.ids.partition(":")
        if not (sep and first.strip().isdigit() and last.strip().isdigit()):
            raise UsageError(f"--ids {args.ids!r}: expected FIRST:LAST (article ids, e.g. 1:500)")
        id_range = (int(first), int(last))
    db_url = require_archive(args)
    if config.events:  # an unreadable timeline is one line and exit 2, before any article is touched
        from crawler.events.timeline import load_timeline

        load_timeline(config)
    if args.distributed or args.json:
        result = (reextract_distributed(config, db_url, since, id_range) if args.distributed
                  else reextract(config, db_url, since, id_range=id_range))
        if args.json:
            print(json.dumps(result_to_dict(result)))
            return 0 if not result.errors or result.examined > len(result.errors) else 1
    out = console()
    if args.distributed:
        pass  # the workers did it (result above)
    elif out.is_terminal:  # a bar with an ETA on a terminal; nothing in logs, pipes or under the service
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("re-extracting"), BarColumn(), MofNCompleteColumn(), TextColumn("ETA"),
                      TimeRemainingColumn(), console=out, transient=True) as progress:
            task = progress.add_task("reextract", total=None)
            result = reextract(config, db_url, since, id_range=id_range,
                               on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    else:
        result = reextract(config, db_url, since, id_range=id_range)
    if args.explain:
        for article_id, line in result.explained:
            out.print(f"  #{article_id} {line}", markup=False, highlight=False)
    out.print(f"Re-extracted {result.examined} articles: {len(result.text_changed)} with a new text (new version), "
              f"{len(result.metadata_changed)} with changed metadata, {result.unchanged} unchanged, "
              f"{len(result.not_articles)} no longer extractable (kept as they were), {len(result.errors)} failed.")
    for change in result.text_changed + result.metadata_changed:
        out.print(f"  #{change.article_id} {change.title or '(no title)'}: {', '.join(change.what)}")
    for article_id, reason in result.not_articles:
        out.print(f"  #{article_id} not extracted now: {reason}")
    for article_id, reason in result.errors:
        out.print(f"  #{article_id} failed: {reason}")
    return 1 if result.errors and not (result.text_changed or result.metadata_changed or result.unchanged) else 0


# --- reextract --distributed -----------------------------------------------------------------------


def result_to_dict(result: ReextractResult) -> dict:
    from dataclasses import asdict

    return asdict(result)


def result_from_dict(data: dict) -> ReextractResult:
    return ReextractResult(
        examined=data["examined"], unchanged=data["unchanged"],
        text_changed=[Change(**c) for c in data["text_changed"]],
        metadata_changed=[Change(**c) for c in data["metadata_changed"]],
        not_articles=[tuple(x) for x in data["not_articles"]], errors=[tuple(x) for x in data["errors"]])


def chunks(ids: list[int], size: int) -> list[tuple[int, int]]:
    """Consecutive id ranges of ``size`` archived articles each."""
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def reextract_distributed(config, db_url: str, since: date | None = None,
                          id_range: tuple[int, int] | None = None) -> ReextractResult:
    """Enqueue one ``newsmon.reextract_chunk`` task per chunk of article ids,
    wait for all of them and merge their summaries in id order (the summary a
    single-process ``reextract`` prints). A chunk whose worker died is
    delivered again (docs/scale.md) and finds the articles it did unchanged."""
    from crawler.config import ConfigError
    from newsmon.scale import TASK_REEXTRACT
    from newsmon.scale.app import celery_app
    from storage.db import session_scope

    if not config.effective_broker_url():
        where = config.path or "the defaults (no config file found)"
        raise ConfigError(f"{where}: --distributed needs a broker: set service.broker_url or $NEWSMON_BROKER_URL")
    with session_scope(db_url) as session:
        ids = list(session.scalars(article_query(since, id_range)))
    text = config.path.read_text(encoding="utf-8") if config.path else ""
    app = celery_app(config)
    ranges = chunks(ids, config.service.reextract_chunk)
    pending = {}
    for first, last in ranges:
        task = app.send_task(TASK_REEXTRACT, args=[text, str(config.path) if config.path else None, first, last,
                                                   since.isoformat() if since else None])
        pending[task.id] = (first, last, task)
    log.info("reextract: %d articles in %d chunks enqueued; waiting for the workers", len(ids), len(ranges))
    parts: list[ReextractResult] = []
    last_report = time.monotonic()
    while pending:
        for task_id, (first, last, task) in list(pending.items()):
            if not task.ready():
                continue
            del pending[task_id]
            if task.successful():
                parts.append(result_from_dict(task.result))
            else:
                parts.append(ReextractResult(errors=[(first, f"articles {first}..{last}: {task.result}")]))
        if pending:
            if time.monotonic() - last_report > 30:
                log.info("reextract: %d of %d chunks done", len(ranges) - len(pending), len(ranges))
                last_report = time.monotonic()
            time.sleep(0.5)
    merged = ReextractResult()
    for part in parts:
        merged.examined += part.examined
        merged.unchanged += part.unchanged
        merged.text_changed += part.text_changed
        merged.metadata_changed += part.metadata_changed
        merged.not_articles += part.not_articles
        merged.errors += part.errors
    for name in ("text_changed", "metadata_changed"):
        getattr(merged, name).sort(key=lambda c: c.article_id)
    merged.not_articles.sort()
    merged.errors.sort()
    return merged
