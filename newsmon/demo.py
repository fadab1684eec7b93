"""``newsmon demo``: the whole pipeline on the bundled local news site, offline.

It serves :class:`~newsmon.localsite.LocalNewsSite` on a free port of
127.0.0.1, writes ``newsmon-demo.yaml`` for its outlets (plus the example
topics, events and digests when they are present), crawls it into
``newsmon-demo.db`` (or ``$NEWSMON_DATABASE_URL``), switches the site to its
second edition (one article is corrected) and crawls again, then prints what
the archive holds: one small printer function per section (:data:`SECTIONS`),
so a new section is one more function in that list.
"""
from __future__ import annotations

import argparse
import difflib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from newsmon.cli import add_command
from newsmon.cli_support import console

CONFIG_NAME = "newsmon-demo.yaml"
DB_NAME = "newsmon-demo.db"


def register(subparsers) -> None:
    p = add_command(subparsers, "demo", help="run the whole pipeline on a bundled local news site (offline)",
                    description="Serve a small local news site (three outlets, feeds, sitemaps, an edited "
                                "article, a syndicated one) on 127.0.0.1, crawl it twice into "
                                f"./{DB_NAME} (or $NEWSMON_DATABASE_URL) and show what was archived, "
                                f"deduplicated, classified and diffed. Writes ./{CONFIG_NAME} so you can "
                                "query the result afterwards. No internet needed.",
                    example="newsmon demo && newsmon --config newsmon-demo.yaml sql \"select title, source "
                            "from v_articles\"")
    p.set_defaults(func=cmd_demo)


@dataclass
class DemoRun:
    """What the printer sections may need besides the archive."""

    config_path: Path
    db_url: str
    first_requests: int
    second_requests: int


def example_sections() -> dict:
    """Topics, events and digests from the packaged example files."""
    import yaml

    from newsmon.resources import EXAMPLE_CONFIG_NAME, EXAMPLE_EVENTS_NAME, data_path

    extra: dict = {}
    example = data_path(EXAMPLE_CONFIG_NAME)
    if example.exists():
        data = yaml.safe_load(example.read_text(encoding="utf-8")) or {}
        for key in ("topics", "digests"):
            if data.get(key):
                extra[key] = data[key]
    events = data_path(EXAMPLE_EVENTS_NAME)
    if events.exists():
        extra["events"] = str(events)
    return extra


def write_config(path: Path, site, db_url: str) -> Path:
    import yaml

    sources = site.sources()
    for source in sources:
        # Re-check young articles on every run, so the demo's second crawl catches the edit.
        source["update_check"] = {"max_age_hours": 48, "every_hours": 0.0001}
    config = {
        "database_url": db_url,
        "crawl": {"download_delay": 0, "autothrottle": False, "retry_times": 1, "download_timeout": 10},
        "sources": sources,
        **example_sections(),
    }
    header = ("# Written by `newsmon demo` for the bundled local news site (its port changes per run).\n"
              "# Query the archive: newsmon --config newsmon-demo.yaml sql \"select title, source from v_articles\"\n")
    path.write_text(header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def run_crawl_subprocess(config_path: Path) -> int:
    """One ``newsmon crawl`` in a child process (Scrapy's reactor runs once per
    process); its summary table goes to our stdout, its log only on failure."""
    cmd = [sys.executable, "-m", "newsmon.cli", "--config", str(config_path), "crawl"]
    sys.stdout.flush()
    result = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
    return result.returncode


def cmd_demo(args: argparse.Namespace) -> int:
    from crawler.config import ENV_DATABASE_URL, read_config
    from newsmon.localsite import LocalNewsSite
    from storage.db import migrate, session_scope

    out = console()
    cwd = Path.cwd()
    db_url = os.environ.get(ENV_DATABASE_URL)
    if not db_url:
        db_file = cwd / DB_NAME
        for leftover in (db_file, Path(f"{db_file}-wal"), Path(f"{db_file}-shm")):
            leftover.unlink(missing_ok=True)  # the site's URLs change per run: start a fresh demo archive
        db_url = f"sqlite:///{db_file}"
    migrate(db_url)
    with LocalNewsSite(slow_seconds=1) as site:
        config_path = write_config(cwd / CONFIG_NAME, site, db_url)
        out.print(f"Local news site at {site.base_url}/ ; config {config_path}; archive {db_url}\n")
        out.print("[bold]First crawl[/bold] (edition 1):")
        if run_crawl_subprocess(config_path) != 0:
            return 1
        first = len(site.requests)
        site.reset_log()
        site.edition = 2
        out.print("[bold]Second crawl[/bold] (edition 2: one article corrected):")
        if run_crawl_subprocess(config_path) != 0:
            return 1
        second = len(site.requests)
    run = DemoRun(config_path, db_url, first, second)
    config = read_config(config_path)
    with session_scope(db_url) as session:
        for section in SECTIONS:
            try:
                section(session, config, run, out)
            except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others
                out.print(f"  ({section.__name__} failed: {type(exc).__name__}: {exc})", markup=False)
    return 0


# --- printer sections: (session, config, run, console) -> None --------------------------------


def print_articles_per_source(session, config, run, out) -> None:
    from sqlalchemy import select

    from storage.models import Article, Source

    out.print("\n[bold]Articles filed per source[/bold]")
    rows = session.execute(select(Source.name, Article.title, Article.published_at).join(Article)
                           .order_by(Source.name, Article.published_at)).all()
    by_source: dict[str, list] = {}
    for name, title, published in rows:
        by_source.setdefault(name, []).append((title, published))
    for name, articles in by_source.items():
        out.print(f"  {name}: {len(articles)} articles")
        for title, published in articles:
            out.print(f"    {published:%Y-%m-%d} {title}" if published else f"    ---------- {title}")


def print_incremental(session, config, run, out) -> None:
    out.print("\n[bold]Incremental crawling[/bold]")
    out.print(f"  first crawl: {run.first_requests} requests; second crawl: {run.second_requests} requests "
              "(unchanged feeds and sitemaps answered 304, archived articles re-checked with their ETag "
              "and only the edited one downloaded again)")


def print_edits(session, config, run, out) -> None:
    from sqlalchemy import func, select

    from storage.models import Article, ArticleVersion

    out.print("\n[bold]Edits caught[/bold]")
    edited = session.execute(select(Article.id, Article.title).join(ArticleVersion)
                             .group_by(Article.id, Article.title).having(func.count(ArticleVersion.id) > 1)).all()
    if not edited:
        out.print("  none")
    for article_id, title in edited:
        versions = session.scalars(select(ArticleVersion).where(ArticleVersion.article_id == article_id)
                                   .order_by(ArticleVersion.version)).all()
        old, new = versions[-2], versions[-1]
        out.print(f"  #{article_id} {title}: version {old.version} → {new.version}")
        diff = difflib.unified_diff((old.text or "").split("\n\n"), (new.text or "").split("\n\n"), lineterm="", n=0)
        for line in list(diff)[2:8]:
            if line.startswith(("-", "+")):
                out.print(f"    {line[:160]}", markup=False)


def print_duplicates(session, config, run, out) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from storage.models import Article, DuplicateLink, Source

    out.print("\n[bold]Duplicates[/bold]")
    a, b = aliased(Article), aliased(Article)
    sa, sb = aliased(Source), aliased(Source)
    rows = session.execute(
        select(DuplicateLink.kind, DuplicateLink.similarity, a.title, sa.name, sb.name)
        .join(a, a.id == DuplicateLink.article_id).join(b, b.id == DuplicateLink.other_article_id)
        .join(sa, sa.id == a.source_id).join(sb, sb.id == b.source_id).order_by(DuplicateLink.id)).all()
    if not rows:
        out.print("  none found")
    for kind, similarity, title, source_a, source_b in rows:
        out.print(f"  {kind} ({similarity:.2f}): {title} — {source_a} / {source_b}")


def print_themes(session, config, run, out) -> None:
    from rich import box
    from rich.table import Table
    from sqlalchemy import select

    from storage.models import Article, ArticleTopic, ThemeMatch

    out.print("\n[bold]Topics and themes[/bold]")
    if not config.topics:
        out.print("  no topics configured")
        return
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("article", "topic", "score", "relevant", "themes"):
        table.add_column(column)
    rows = session.execute(select(Article.title, ArticleTopic.id, ArticleTopic.topic, ArticleTopic.score,
                                  ArticleTopic.relevant).join(ArticleTopic)
                           .order_by(ArticleTopic.score.desc())).all()
    for title, topic_id, topic, score, relevant in rows:
        themes = session.scalars(select(ThemeMatch.theme).where(ThemeMatch.article_topic_id == topic_id)).all()
        table.add_row((title or "")[:60], topic, f"{score:.1f}", "yes" if relevant else "no", ", ".join(themes))
    out.print(table)


def print_event_diff(session, config, run, out) -> None:
    from sqlalchemy import func, select

    from storage.models import Contradiction, EventCandidate, EventMention

    out.print("\n[bold]Event diff against the known timeline[/bold]")
    if not config.events:
        out.print("  no events timeline configured")
        return
    mentions = session.execute(select(EventMention.event_id, func.count()).group_by(EventMention.event_id)
                               .order_by(func.count().desc())).all()
    for event_id, count in mentions:
        out.print(f"  {event_id}: mentioned in {count} sentence(s)")
    for c in session.scalars(select(Contradiction).order_by(Contradiction.id)):
        other = {"timeline": "the timeline says", "internal": "and elsewhere in the same article",
                 "article": "another article says"}.get(c.kind, "known:")
        out.print(f"  contradiction on {c.event_id or ''} {c.fact}: article {c.article_id} says {c.stated_value}, "
                  f"{other} {c.known_value}")
    candidates = session.scalar(select(func.count()).select_from(EventCandidate))
    out.print(f"  {len(mentions)} known events mentioned; {candidates} candidate new events")


def print_digest(session, config, run, out) -> None:
    """A dry run of the first configured digest: what it would send now (nothing is recorded)."""
    from newsmon.digests import run_digest
    from newsmon.digests.render import render_text

    out.print("\n[bold]Digest preview[/bold]")
    if not config.digests:
        out.print("  no digests configured")
        return
    digest = config.digests[0]
    results = run_digest(config, run.db_url, digest.name, dry_run=True)
    if not results or results[0].status == "nothing-new":
        out.print(f"  {digest.name}: nothing to send")
        return
    out.print(f"  {digest.name} ({results[0].channel}), {results[0].articles} articles:")
    out.print(render_text(results[0].content), markup=False, highlight=False)


def print_how_to_query(session, config, run, out) -> None:
    import shutil
    import sys
    from pathlib import Path

    # The command as this user can type it: `newsmon` when it is on PATH,
    # else the venv's script beside this interpreter (after `make demo`).
    here = Path(sys.executable).parent / "newsmon"
    command = "newsmon" if shutil.which("newsmon") else (
        str(here.relative_to(Path.cwd())) if here.is_relative_to(Path.cwd()) else str(here))
    out.print("\n[bold]Query it[/bold]")
    out.print(f"  {command} --config {run.config_path.name} sql \"select title, source from v_articles\"",
              markup=False)
    out.print(f"  {command} --config {run.config_path.name} sql \"select * from v_contradictions\" --json",
              markup=False)
    out.print(f"  {command} --config {run.config_path.name} explain 1", markup=False)
    out.print(f"  {command} --config {run.config_path.name} search '\"visa\" AND Petro' --since 2025-09-01",
              markup=False)


SECTIONS = [
    print_articles_per_source,
    print_incremental,
    print_edits,
    print_duplicates,
    print_themes,
    print_event_diff,
    print_digest,
    print_how_to_query,
]
