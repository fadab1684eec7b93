"""`newsmon crawl` against the local news site over real HTTP, into a real
archive (SQLite and PostgreSQL): every article filed once with its title,
date and clean text; the second crawl fetches only what changed; the edited
article becomes a second version; robots.txt is obeyed."""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cli_helpers import run_newsmon
from conftest import crawl, write_config
from crawler.urls import canonicalize_url
from newsmon.localsite import LocalNewsSite
from storage.db import session_scope
from storage.models import Article, ArticleVersion, CrawlRun, FeedState, Fetch, Source, utcnow

OUTLETS = ("andean-post", "el-observador", "capital-wire")
def article_paths(site) -> set[str]:
    return {a["path"] for a in site.articles()}


def count_article_requests(site, paths, status=None) -> int:
    return sum(1 for r in site.requests if r.path in paths and (status is None or r.status == status))


@pytest.fixture
def site():
    with LocalNewsSite(slow_seconds=1) as running:
        yield running


def test_crawl_files_each_article_once_then_fetches_only_what_changed(site, db_url, tmp_path, capsys):
    sources = site.sources()
    # The Andean Post re-checks young articles on every run, so the edit is caught.
    sources[0]["update_check"] = {"max_age_hours": 48, "every_hours": 0.0001}
    config = write_config(tmp_path, db_url, sources)
    manifest = {a["path"]: a for a in site.articles() if a["outlet"] in OUTLETS}
    expected = {path: json.loads(open(a["expected"], encoding="utf-8").read())
                for path, a in manifest.items() if a["expected"]}

    # --- first crawl: everything new ----------------------------------------------------
    first = crawl(config)
    first_requests = len(site.requests)
    for outlet in OUTLETS:
        assert outlet in first.stdout
    with session_scope(db_url) as session:
        rows = {a.canonical_url: a for a in session.scalars(select(Article))}
        for path, want in expected.items():
            url = canonicalize_url(site.base_url + path)
            article = rows.get(url)
            assert article is not None, f"{path} was not archived"
            assert article.title == want["title"]
            assert article.published_at is not None and article.published_at.date().isoformat() == want["published"]
            for paragraph in want["must_contain"]:
                assert paragraph in article.text, f"{path}: missing {paragraph[:60]!r}"
            for boilerplate in want["must_not_contain"]:
                assert boilerplate not in article.text, f"{path}: boilerplate {boilerplate!r} leaked"
        # filed once each: no other rows for these outlets than the expected articles
        assert len(rows) == len(expected)
        # the feed's tracking-parameter link is filed under the clean canonical URL
        assert not any("utm_" in url for url in rows)
        # the syndicated wire story is filed at both outlets' URLs
        syndicated = [p for p, a in manifest.items() if a["kind"] == "syndicated"]
        assert len(syndicated) == 2 and all(canonicalize_url(site.base_url + p) in rows for p in syndicated)
        versions = session.scalar(select(func.count()).select_from(ArticleVersion))
        assert versions == len(expected)
        runs = session.scalars(select(CrawlRun)).all()
        assert {r.status for r in runs} == {"ok"} and len(runs) == 3
        assert sum(r.new_articles for r in runs) == len(expected)
        robots = session.scalars(select(Fetch).where(Fetch.reason == "robots.txt")).all()
        assert [f.url.rsplit("/", 2)[-2] for f in robots] == ["private"]
    # the section page's links are followed only where allow/deny say so
    for path in ("/andean-post/tag/", "/andean-post/login", "/andean-post/about/"):
        assert site.count(path) == 0, f"{path} should not have been followed"
    # robots.txt disallows the private memo: never requested; the thin brief is not filed
    assert site.count("/capital-wire/private/") == 0
    assert site.count("/capital-wire/news/briefs-2025-11-14") == 1

    # --- second crawl, edition 2: only the changed lists are parsed, only the edit refetched ----
    site.reset_log()
    site.edition = 2
    crawl(config)
    second_requests = len(site.requests)
    quiet = {p for p, a in manifest.items() if a["outlet"] != "andean-post"}
    assert count_article_requests(site, quiet) == 0, "seen articles of other outlets were fetched again"
    assert site.count("/el-observador/atom.xml", status=304) == 1
    assert site.count("/capital-wire/sitemap-index.xml", status=304) == 1
    assert site.count("/capital-wire/sitemap-news.xml") == 0  # the index did not change: children not fetched
    andean = {p for p, a in manifest.items() if a["outlet"] == "andean-post"}
    edited = next(p for p, a in manifest.items() if a["kind"] == "edited")
    # young Andean Post articles were re-checked with validators: unchanged ones answered 304
    assert count_article_requests(site, andean - {edited}, status=304) == len(andean) - 1
    assert count_article_requests(site, {edited}, status=200) == 1
    with session_scope(db_url) as session:
        article = session.scalar(select(Article).where(Article.canonical_url == site.base_url + edited))
        versions = session.scalars(select(ArticleVersion).where(ArticleVersion.article_id == article.id)
                                   .order_by(ArticleVersion.version)).all()
        assert [v.version for v in versions] == [1, 2]
        for paragraph in expected[edited]["edition_2"]["must_contain"]:
            assert paragraph in article.text and paragraph in versions[1].text
            assert paragraph not in versions[0].text
        for gone in expected[edited]["edition_2"]["must_not_contain"]:
            assert gone not in article.text
        assert session.scalar(select(func.count()).select_from(ArticleVersion)) == len(expected) + 1
        runs = {name: run for name, run in session.execute(
            select(Source.name, CrawlRun).join(CrawlRun, CrawlRun.source_id == Source.id)
            .order_by(CrawlRun.id))}
        assert runs["andean-post"].updated == 1 and runs["andean-post"].unchanged == len(andean) - 1
        assert runs["capital-wire"].new_articles == 0 and runs["capital-wire"].errors == 0
        states = session.scalars(select(FeedState)).all()
        assert {s.status for s in states} == {"ok"} and all(s.etag for s in states)
    with capsys.disabled():
        print(f"\n[crawl requests] first crawl: {first_requests}, second crawl (edition 2, Andean Post "
              f"re-checking its young articles): {second_requests}")


def test_second_crawl_skips_seen_urls_and_rechecks_only_due_ones(site, sqlite_url, tmp_path, capsys):
    """Unchanged lists answer 304 and nothing else is fetched; a list that
    changed names seen URLs again: they are counted as skipped, not fetched,
    except an article that is young and was last checked long ago. A run
    killed earlier (left 'running') is marked 'interrupted' by the next one."""
    config = write_config(tmp_path, sqlite_url, site.sources())
    crawl(config)
    first_requests = len(site.requests)
    with session_scope(sqlite_url) as session:
        killed = CrawlRun(source_id=session.scalar(select(Source.id).where(Source.name == "capital-wire")),
                          status="running")  # as a SIGKILLed crawl leaves its row
        session.add(killed)

    site.reset_log()
    result = crawl(config, "andean-post", "el-observador", "capital-wire")
    assert count_article_requests(site, article_paths(site)) == 0
    lists = [r for r in site.requests if r.path != "/robots.txt"]
    assert lists and all(r.status == 304 for r in lists), [(r.path, r.status) for r in lists]
    assert "skipped as seen" in result.stdout
    with capsys.disabled():
        print(f"\n[crawl requests] first crawl: {first_requests}, second crawl of the unchanged site: "
              f"{len(site.requests)} (robots.txt + lists, all 304)")
    with session_scope(sqlite_url) as session:
        statuses = [r.status for r in session.scalars(
            select(CrawlRun).join(Source, Source.id == CrawlRun.source_id)
            .where(Source.name == "capital-wire").order_by(CrawlRun.id))]
        assert statuses == ["ok", "interrupted", "ok"]
        # Make El Observador's feed look changed and one of its articles due for a check.
        observador = session.scalar(select(Source.id).where(Source.name == "el-observador"))
        session.execute(FeedState.__table__.update().where(FeedState.source_id == observador)
                        .values(etag=None, last_modified=None, body_hash=None))
        first = session.scalars(select(Article).where(Article.source_id == observador).order_by(Article.id)).first()
        first.last_checked_at = utcnow() - timedelta(hours=7)
        due = first.canonical_url
        # Capital Wire's index loses its validators but keeps its body hash (a server without ETags).
        wire = session.scalar(select(Source.id).where(Source.name == "capital-wire"))
        session.execute(FeedState.__table__.update().where(FeedState.source_id == wire)
                        .values(etag=None, last_modified=None))

    site.reset_log()
    crawl(config, "el-observador", "capital-wire")
    fetched = {site.base_url + r.path for r in site.requests if r.path in article_paths(site)}
    assert fetched == {due}
    assert site.count("/capital-wire/sitemap-index.xml", status=200) == 1
    assert site.count("/capital-wire/sitemap-news.xml") == 0  # same body as last time: not parsed
    with session_scope(sqlite_url) as session:
        run = session.scalar(select(CrawlRun).where(CrawlRun.source_id == observador)
                             .order_by(CrawlRun.id.desc()).limit(1))
        assert (run.skipped_seen, run.unchanged, run.fetched, run.new_articles) == (3, 1, 2, 0)
        index = session.scalars(select(Fetch).where(Fetch.source_id == wire, Fetch.kind == "sitemap")
                                .order_by(Fetch.id.desc())).first()
        assert (index.status, index.outcome) == (200, "unchanged")


def reextract(config: str, *args: str):
    return run_newsmon("--config", config, "reextract", *args, timeout=180)


def test_reextract_restores_text_from_the_stored_html_without_refetching(site, sqlite_url, tmp_path):
    sources = [s for s in site.sources() if s["name"] == "capital-wire"]
    config = write_config(tmp_path, sqlite_url, sources)
    crawl(config)
    path = "/capital-wire/news/us-colombia-relations"
    want = json.loads(open(next(a["expected"] for a in site.articles() if a["path"] == path),
                           encoding="utf-8").read())
    with session_scope(sqlite_url) as session:
        total = session.scalar(select(func.count()).select_from(Article))
        # As an older, worse extractor might have left it: wrong title, half the text.
        article = session.scalar(select(Article).where(Article.canonical_url == site.base_url + path))
        article.title, article.text = "US-Colombia Relations | Capital Wire", article.text[:200]
        article.text_hash = "stale"
        article_id = article.id
    site.reset_log()
    result = reextract(config)
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(site.requests) == 0  # nothing refetched
    assert f"Re-extracted {total} articles: 1 with a new text" in result.stdout
    assert f"#{article_id} {want['title']}: text (version 2), title" in result.stdout
    with session_scope(sqlite_url) as session:
        article = session.get(Article, article_id)
        assert article.title == want["title"]
        assert all(p in article.text for p in want["must_contain"])
        versions = session.scalars(select(ArticleVersion.version).where(ArticleVersion.article_id == article_id)
                                   .order_by(ArticleVersion.version)).all()
        assert versions == [1, 2]
    # --since: only articles whose newest version was fetched since then (in-process: same function)
    from crawler.config import read_config
    from newsmon.crawlcmd import reextract as reextract_archive

    assert reextract_archive(read_config(tmp_path / "newsmon.yaml"), sqlite_url, date(2999, 1, 1)).examined == 0
    bad = reextract(config, "--since", "last tuesday")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr

    # --explain: how each page was judged; a page that became an index page says why, with its evidence.
    from crawler.decode import compress_html

    index_html = (Path(__file__).parent / "fixtures" / "html" / "index_page.html").read_bytes()
    with session_scope(sqlite_url) as session:
        other = session.scalar(select(Article).where(Article.id != article_id).order_by(Article.id).limit(1))
        newest = session.scalar(select(ArticleVersion).where(ArticleVersion.article_id == other.id)
                                .order_by(ArticleVersion.version.desc()).limit(1))
        newest.raw_html = compress_html(index_html)
        other_id = other.id
    explained = reextract(config, "--explain")
    assert explained.returncode == 0, explained.stderr[-2000:]
    lines = {line.split()[0]: line for line in explained.stdout.splitlines() if line.strip().startswith("#")
             and (" kept (" in line or " refused: " in line)}
    assert f"#{other_id}" in lines and f"#{article_id}" in lines
    assert f"#{other_id} refused: index page (og:type website; 18 headline links" in lines[f"#{other_id}"]
    assert lines[f"#{article_id}"].strip().startswith(f"#{article_id} kept (")
    assert "title from " in lines[f"#{article_id}"] and "language from text" in lines[f"#{article_id}"]


def test_unknown_source_is_one_line_and_exit_2(site, sqlite_url, tmp_path):
    config = write_config(tmp_path, sqlite_url, site.sources())
    result = run_newsmon("--config", config, "crawl", "no-such-outlet")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "no-such-outlet" in result.stderr
    assert "Traceback" not in result.stderr
