"""A run's bookkeeping survives anything that can happen to its process, on
SQLite and PostgreSQL, with real crawl processes against the loopback news
site: a SIGKILLed crawl reports exactly what it filed and no run stays
'running'; a page that could not be archived is fetched again and filed on
the next run although its feed answers 304 (and given up, visibly, after the
retry limit); two first crawls of a new source at once both succeed and
create its rows once."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from cli_helpers import REPO, run_newsmon
from conftest import crawl, write_config
from service_harness import wait_for
from crawler.urls import canonicalize_url
from newsmon.localsite import LocalNewsSite
from storage.db import session_scope
from storage.models import Article, CrawlRun, FeedState, Fetch, PendingPage, Source

# crawl_runs counter → the fetch-row outcome each unit of it stands for
COUNTED_OUTCOMES = {"new_articles": ["new"], "updated": ["updated"], "not_articles": ["not_article"],
                    "errors": ["error"]}


@pytest.fixture
def site():
    with LocalNewsSite(slow_seconds=1) as running:
        yield running


def start_crawl(config: str, *args: str) -> subprocess.Popen:
    """`newsmon crawl` as a background process (stopped by the test that starts it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_")}
    return subprocess.Popen([sys.executable, "-m", "newsmon.cli", "--config", config, "crawl",
                             "--set", "NEWSMON_RETRY_BACKOFF=0.1", *args],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def fetch_counts(session, run_id: int) -> dict[str, int]:
    return dict(session.execute(select(Fetch.outcome, func.count()).where(Fetch.crawl_run_id == run_id)
                                .group_by(Fetch.outcome)).all())


def assert_counts_match_the_fetch_log(session) -> list[CrawlRun]:
    """Every run's counters equal the rows it filed (its fetch log), whatever happened to it."""
    runs = list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))
    for run in runs:
        outcomes = fetch_counts(session, run.id)
        for counter, counted in COUNTED_OUTCOMES.items():
            assert getattr(run, counter) == sum(outcomes.get(o, 0) for o in counted), (run.id, counter, outcomes)
        articles_unchanged = session.scalar(select(func.count()).where(
            Fetch.crawl_run_id == run.id, Fetch.kind == "article", Fetch.outcome == "unchanged"))
        assert run.unchanged == articles_unchanged
        responses = session.scalar(select(func.count()).where(Fetch.crawl_run_id == run.id,
                                                              Fetch.status.is_not(None)))
        assert run.fetched == responses, (run.id, run.fetched, responses)
    return runs


def test_sigkilled_crawl_reports_what_it_filed_and_the_next_run_files_the_rest(site, db_url, tmp_path):
    sources = site.sources()
    expected = {canonicalize_url(a["url"]) for a in site.articles()
                if a["expected"] and a["outlet"] in {s["name"] for s in sources}}
    # A polite crawl (a second between requests) leaves time to kill it halfway.
    slow = write_config(tmp_path, db_url, sources, crawl={"download_delay": 1.0}, name="slow.yaml")
    fast = write_config(tmp_path, db_url, sources, name="fast.yaml")

    def filed() -> int:
        with session_scope(db_url) as session:
            return session.scalar(select(func.count()).select_from(Article))

    process = start_crawl(slow)
    try:
        wait_for(lambda: filed() >= 2 or process.poll() is not None, 240, "the first articles")
        assert process.poll() is None, "the crawl finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
    killed_pid = process.pid
    with session_scope(db_url) as session:
        runs = list(session.scalars(select(CrawlRun)))
        assert {r.pid for r in runs} == {killed_pid}
        killed_ids = {r.id for r in runs if r.status == "running"}  # a quick source may have finished
        assert killed_ids
        filed_before = session.scalar(select(func.count()).select_from(Article))
        assert 2 <= filed_before < len(expected)
        # what the killed runs say they filed is what they filed
        assert sum(r.new_articles for r in assert_counts_match_the_fetch_log(session)) == filed_before

    # `newsmon status` shows the dead process's runs as interrupted, not running.
    status = run_newsmon("--config", fast, "status", "--json")
    assert status.returncode == 0, status.stderr
    shown = {s["name"]: s["last_run"]["status"] for s in json.loads(status.stdout)["sources"]}
    assert "running" not in shown.values() and "interrupted" in shown.values(), shown

    crawl(fast)
    with session_scope(db_url) as session:
        runs = assert_counts_match_the_fetch_log(session)
        assert not [r for r in runs if r.status == "running"]
        assert {r.status for r in runs if r.id in killed_ids} == {"interrupted"}
        assert {r.status for r in runs if r.id not in killed_ids} == {"ok"}
        assert len(runs) == 2 * len(sources)
        assert all(str(killed_pid) in r.message for r in runs if r.id in killed_ids)
        articles = set(session.scalars(select(Article.canonical_url)))
        assert articles == expected
        assert sum(r.new_articles for r in runs) == len(expected)
        assert session.scalar(select(func.count()).select_from(PendingPage)) == 0


REFUSAL = "the archive refuses new articles (a test fault)"


def refuse_articles(db_url: str, on: bool = True) -> None:
    """A database fault the archive step meets for every article (a trigger standing in for a full
    disk or a broken constraint), switched on or off."""
    from sqlalchemy import create_engine, text

    from storage.db import normalize_url

    engine = create_engine(normalize_url(db_url))
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text(f"CREATE TRIGGER refuse_articles BEFORE INSERT ON articles "
                              f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END" if on else
                              "DROP TRIGGER refuse_articles"))
        elif on:
            conn.execute(text(f"CREATE FUNCTION refuse_articles() RETURNS trigger AS $$ BEGIN "
                              f"RAISE EXCEPTION '{REFUSAL}'; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER refuse_articles BEFORE INSERT ON articles "
                              "FOR EACH ROW EXECUTE FUNCTION refuse_articles()"))
        else:
            conn.execute(text("DROP TRIGGER refuse_articles ON articles"))
            conn.execute(text("DROP FUNCTION refuse_articles()"))
    engine.dispose()


def test_page_that_failed_to_archive_is_filed_next_run_although_its_feed_answers_304(site, db_url, tmp_path):
    sources = [s for s in site.sources() if s["name"] == "el-observador"]
    listed = {canonicalize_url(a["url"]) for a in site.articles()
              if a["outlet"] == "el-observador" and a["expected"]}
    config = write_config(tmp_path, db_url, sources)
    refuse_articles(db_url)
    first = crawl(config, check=False)
    assert first.returncode == 1 and "every run failed" in first.stderr  # nothing could be filed
    assert first.stderr.count("could not archive") == len(listed)
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 0
        pending = list(session.scalars(select(PendingPage)))
        assert {p.canonical_url for p in pending} == listed
        assert all(p.status == "pending" and p.attempts == 1 and p.last_error for p in pending)
        (run,) = assert_counts_match_the_fetch_log(session)
        # Nothing could be filed: the run says so (and its source shows as failing).
        assert run.status == "failed" and run.errors == len(listed) and run.new_articles == 0

    refuse_articles(db_url, on=False)
    site.reset_log()
    crawl(config)
    assert site.count("/el-observador/atom.xml", status=304) == 1  # the feed says nothing changed …
    with session_scope(db_url) as session:
        # … and every page is filed all the same, once, and nothing is pending any more.
        assert set(session.scalars(select(Article.canonical_url))) == listed
        assert session.scalar(select(func.count()).select_from(PendingPage)) == 0
        runs = assert_counts_match_the_fetch_log(session)
        assert runs[-1].new_articles == len(listed) and runs[-1].errors == 0


def test_a_page_that_keeps_failing_is_given_up_after_the_retry_limit(site, sqlite_url, tmp_path):
    sources = [s for s in site.sources() if s["name"] == "el-observador"]
    listed = {canonicalize_url(a["url"]) for a in site.articles()
              if a["outlet"] == "el-observador" and a["expected"]}
    config = write_config(tmp_path, sqlite_url, sources, crawl={"pending_retry_limit": 2})
    refuse_articles(sqlite_url)
    crawl(config, check=False)
    site.reset_log()
    second = crawl(config, check=False)
    assert "giving up on" in second.stderr
    assert sum(1 for r in site.requests if canonicalize_url(site.base_url + r.path) in listed) == len(listed)
    with session_scope(sqlite_url) as session:
        pending = list(session.scalars(select(PendingPage)))
        assert {p.canonical_url for p in pending} == listed
        assert all(p.status == "abandoned" and p.attempts == 2 and p.last_error for p in pending)
        reasons = list(session.scalars(select(Fetch.reason).where(Fetch.outcome == "error")
                                       .order_by(Fetch.id.desc()).limit(len(listed))))
        assert all("given up" in r for r in reasons)
    site.reset_log()
    crawl(config)
    assert not [r for r in site.requests if canonicalize_url(site.base_url + r.path) in listed]  # abandoned


def test_two_first_crawls_of_a_new_source_at_once_both_succeed_and_create_its_rows_once(site, db_url, tmp_path):
    sources = [s for s in site.sources() if s["name"] == "andean-post"]
    listed = {canonicalize_url(a["url"]) for a in site.articles()
              if a["outlet"] == "andean-post" and a["expected"]}
    config = write_config(tmp_path, db_url, sources)
    processes = [start_crawl(config, "andean-post") for _ in range(2)]
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=300)
            results.append((process.returncode, err))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    for code, err in results:
        assert code == 0, err[-3000:]
        assert "UNIQUE constraint" not in err and "duplicate key" not in err, err[-3000:]
    with session_scope(db_url) as session:
        assert list(session.scalars(select(Source.name))) == ["andean-post"]
        entry_points = [sources[0]["feeds"][0], sources[0]["sections"][0]["url"]]
        assert sorted(session.scalars(select(FeedState.url))) == sorted(entry_points)
        assert set(session.scalars(select(Article.canonical_url))) == listed
        runs = assert_counts_match_the_fetch_log(session)
        assert [r.status for r in runs] == ["ok", "ok"]
        assert sum(r.new_articles for r in runs) == len(listed)
        assert session.scalar(select(func.count()).select_from(PendingPage)) == 0


def test_a_run_whose_end_cannot_be_recorded_is_never_left_running(site, sqlite_url, tmp_path):
    """Faults raised by the database itself (triggers standing in for a full
    disk): when the feed states cannot be saved the run is recorded 'failed'
    with the reason; when even the run's end cannot be written, the run left
    'running' shows as 'interrupted' once its process is gone."""
    from sqlalchemy import text

    from storage.db import get_engine

    sources = [s for s in site.sources() if s["name"] == "el-observador"]
    config = write_config(tmp_path, sqlite_url, sources)
    with get_engine(sqlite_url).begin() as conn:
        conn.execute(text("CREATE TRIGGER no_feed_states BEFORE INSERT ON feed_states "
                          "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"))
    first = crawl(config, check=False)
    assert first.returncode == 1 and "every run failed" in first.stderr
    assert "could not save the feed states: IntegrityError: database or disk is full" in first.stderr
    with session_scope(sqlite_url) as session:
        (run,) = assert_counts_match_the_fetch_log(session)
        assert run.status == "failed" and "database or disk is full" in run.message
        assert run.new_articles == session.scalar(select(func.count()).select_from(Article)) > 0

    with get_engine(sqlite_url).begin() as conn:
        conn.execute(text("DROP TRIGGER no_feed_states"))
        conn.execute(text("CREATE TRIGGER no_run_end BEFORE UPDATE OF finished_at ON crawl_runs "
                          "WHEN NEW.finished_at IS NOT NULL AND NEW.status <> 'interrupted' "
                          "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"))
    second = crawl(config, check=False)
    assert second.returncode == 1 and "could not record the end of the run" in second.stderr
    status = run_newsmon("--config", config, "status", "--json")
    assert status.returncode == 0, status.stderr
    (shown,) = json.loads(status.stdout)["sources"]
    assert shown["last_run"]["status"] == "interrupted"
    with session_scope(sqlite_url) as session:
        runs = assert_counts_match_the_fetch_log(session)
        assert [r.status for r in runs] == ["failed", "interrupted"]
