"""``max_articles_per_run``: one run requests at most that many articles of a
source; the rest waits for the next run. Because a list whose links were not
all requested does not keep its validators, the next run parses it again
instead of being told "304, unchanged" and forgetting the rest. Real
`newsmon crawl` subprocesses against the local news site, into a SQLite archive."""
from __future__ import annotations

import pytest
import yaml
from sqlalchemy import func, select

from cli_helpers import run_newsmon
from crawler.urls import canonicalize_url
from newsmon.localsite import LocalNewsSite
from storage.db import session_scope
from storage.models import Article, ArticleVersion, CrawlRun, Source

FAST = {"download_delay": 0, "autothrottle": False, "retry_times": 1, "download_timeout": 5}
BUDGET = 2


@pytest.fixture
def site():
    with LocalNewsSite(slow_seconds=1) as running:
        yield running


def crawl(config: str, *sources: str):
    result = run_newsmon("--config", config, "crawl", "--set", "NEWSMON_RETRY_BACKOFF=0.1", *sources, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def archived_urls(db_url: str, source: str) -> set[str]:
    with session_scope(db_url) as session:
        return set(session.scalars(select(Article.canonical_url).join(Source).where(Source.name == source)))


def new_per_run(db_url: str, source: str) -> list[int]:
    with session_scope(db_url) as session:
        return list(session.scalars(select(CrawlRun.new_articles).join(Source).where(Source.name == source)
                                    .order_by(CrawlRun.id)))


def test_a_budget_of_two_files_two_articles_per_run_until_all_are_filed_once(site, sqlite_url, tmp_path):
    sources = site.sources()
    andean, observador = sources[0], sources[1]
    andean["max_articles_per_run"] = BUDGET
    config = tmp_path / "newsmon.yaml"
    config.write_text(yaml.safe_dump({"database_url": sqlite_url, "sources": [andean, observador],
                                      "crawl": FAST}), encoding="utf-8")
    paths = {a["path"] for a in site.articles() if a["outlet"] == "andean-post"}
    everything = {canonicalize_url(site.base_url + p) for p in paths}
    feed = "/andean-post/feed.xml"

    first = crawl(str(config))
    after_first = archived_urls(sqlite_url, "andean-post")
    observador_filed = len(archived_urls(sqlite_url, "el-observador"))
    filed, feed_statuses = [after_first], []
    for _ in range(3):
        before = len(site.requests)
        crawl(str(config), "andean-post")
        filed.append(archived_urls(sqlite_url, "andean-post"))
        feed_statuses.append([r.status for r in site.requests[before:] if r.path == feed])
    article_downloads = sorted(r.path for r in site.requests if r.path in paths and r.status == 200)

    # two per run, each run the next ones, until all six are in; then nothing
    assert [len(f) for f in filed] == [2, 4, 6, 6]
    assert filed[0] < filed[1] < filed[2] == filed[3] == everything
    assert new_per_run(sqlite_url, "andean-post") == [2, 2, 2, 0]
    assert f"max_articles_per_run ({BUDGET}) reached" in first.stderr
    # the budget is the source's own: the other outlet filed all four of its articles at once
    assert observador_filed == 4 and new_per_run(sqlite_url, "el-observador") == [4]
    # an incomplete list is parsed again (200) rather than answered 304; once all is filed it is 304
    assert feed_statuses == [[200], [200], [304]]
    with session_scope(sqlite_url) as session:
        # none twice: one article and one version per page
        assert session.scalar(select(func.count()).select_from(ArticleVersion)
                              .join(Article).join(Source).where(Source.name == "andean-post")) == 6
    # and, counted on the server, each page was downloaded exactly once over the four runs
    assert article_downloads == sorted(paths)
