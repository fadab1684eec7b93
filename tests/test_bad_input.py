"""Bad input from the wild: every case ends with a logged reason in
``fetches``, the crawl goes on, and nothing half-written lands in the archive.

The cases run together (one source each, one crawl for all) to keep the file
fast: a crawl subprocess costs a few seconds.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from conftest import crawl as shared_crawl
from conftest import FAST, free_port
from conftest import write_config as shared_write_config
from newsmon.localsite import EXPECTED_DIR, LocalNewsSite
from storage.db import session_scope
from storage.models import Article, ArticleVersion, CrawlRun, FeedState, Fetch, Source

# Short timeouts and limits, so the bad endpoints are quick to give up on.
CRAWL = {"download_timeout": 1, "max_response_bytes": 500_000, "feed_failure_limit": 2, "feed_retry_hours": 6}


def write_config(tmp_path, db_url, sources) -> str:
    return shared_write_config(tmp_path, db_url, sources, crawl=CRAWL)


def crawl(config: str, *sources: str):
    return shared_crawl(config, *sources, check=False)


def fetches_of(session, source: str) -> list[Fetch]:
    return list(session.scalars(select(Fetch).join(Source, Source.id == Fetch.source_id)
                                .where(Source.name == source).order_by(Fetch.id)))


def last_run(session, source: str) -> CrawlRun:
    return session.scalar(select(CrawlRun).join(Source, Source.id == CrawlRun.source_id)
                          .where(Source.name == source).order_by(CrawlRun.id.desc()).limit(1))


def one(rows, **where):
    found = [r for r in rows if all(getattr(r, k) == v for k, v in where.items())]
    assert len(found) == 1, (where, [(r.kind, r.url, r.status, r.outcome, r.reason) for r in rows])
    return found[0]


@pytest.fixture
def site():
    # The slow pages answer 10 s after the request, ten times the crawl's timeout: on a loaded machine a
    # stalled reactor can see a reply due at 3 s before the 1 s timeout fires (it did, under two CPU hogs).
    # Closing the site wakes the sleeping handlers, so the long delay costs no time.
    with LocalNewsSite(slow_seconds=10, oversized_bytes=2_000_000) as running:
        yield running


def test_every_bad_case_is_logged_with_its_reason_and_the_crawl_goes_on(site, sqlite_url, tmp_path):
    # Plus a source whose sitemap lists only entries older than its horizon.
    stale = {"name": "stale-sitemap", "sitemaps": [f"{site.base_url}/capital-wire/sitemap-index.xml"],
             "horizon_days": 30, "allow_private_addresses": True}
    config = write_config(tmp_path, sqlite_url, [*site.bad_sources(), stale])
    result = crawl(config)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    base = site.base_url
    with session_scope(sqlite_url) as session:
        # Malformed XML: the feed is an error with feedparser's reason; the run failed.
        row = one(fetches_of(session, "bad-malformed"), kind="feed")
        assert row.outcome == "error" and "malformed feed" in row.reason and "not well-formed" in row.reason
        assert last_run(session, "bad-malformed").status == "failed"

        # Declares UTF-8, sends Latin-1: the repair is noted and the articles keep their accents.
        rows = fetches_of(session, "bad-latin1")
        feed = one(rows, kind="feed")
        assert feed.outcome == "parsed" and "declared as utf-8" in feed.reason
        titles = set(session.scalars(select(Article.title).join(Source).where(Source.name == "bad-latin1")))
        expected = {json.loads(p.read_text(encoding="utf-8"))["title"]
                    for p in (EXPECTED_DIR / "el-observador").glob("*.json")
                    if p.stem in ("de-los-aranceles-a-la-descertificacion", "nacional-remonta-clasico-paisa")}
        assert titles == expected and any("ó" in t for t in titles)

        # An empty feed is not an error.
        feed = one(fetches_of(session, "bad-empty"), kind="feed")
        assert (feed.outcome, feed.reason) == ("parsed", "0 entries (rss20)")
        assert last_run(session, "bad-empty").status == "ok" and last_run(session, "bad-empty").errors == 0

        # Entity-encoded titles are stored decoded.
        titles = set(session.scalars(select(Article.title).join(Source).where(Source.name == "bad-entities")))
        assert titles == {json.loads(p.read_text(encoding="utf-8"))["title"]
                          for p in (EXPECTED_DIR / "bad-entities").glob("*.json")}
        assert not any("&amp;" in t or "&#" in t or "&quot;" in t for t in titles)

        # 404 and 500 (the 500 retried once, with backoff).
        rows = fetches_of(session, "bad-broken-links")
        assert one(rows, url=f"{base}/bad/broken-links/missing-story").reason == "HTTP 404"
        assert one(rows, url=f"{base}/bad/broken-links/server-error").reason == "HTTP 500"
        tries = [r.time for r in site.requests if r.path == "/bad/broken-links/server-error"]
        assert len(tries) == 2 and tries[1] - tries[0] >= 0.1  # retried after the backoff delay

        # A 301 loop stops at the redirect limit; the listed URL carries the reason.
        row = one(fetches_of(session, "bad-redirect-loop"), kind="article")
        assert row.url == f"{base}/bad/redirect-loop/a" and "redirect" in row.reason
        hops = site.count("/bad/redirect-loop/") - site.count("/bad/redirect-loop/feed.xml")
        assert 6 <= hops <= 6 + FAST["retry_times"]  # 1 + REDIRECT_MAX_TIMES (5), a dropped connection retried

        # Timeouts: of an article page and of a feed.
        assert "timeout" in one(fetches_of(session, "bad-slow"), kind="article").reason
        assert "timeout" in one(fetches_of(session, "bad-slow-feed"), kind="feed").reason
        assert last_run(session, "bad-slow-feed").status == "failed"

        # Not HTML, too large, no text.
        assert one(fetches_of(session, "bad-pdf"), kind="article").reason == "not HTML (application/pdf)"
        assert one(fetches_of(session, "bad-png"), kind="article").reason == "not HTML (image/png)"
        row = one(fetches_of(session, "bad-oversized"), kind="article")
        assert row.outcome == "error" and "too large" in row.reason and "500000" in row.reason
        row = one(fetches_of(session, "bad-no-text"), kind="article")
        assert row.outcome == "not_article" and "too little text" in row.reason

        # A sitemap pointing at another domain: its URLs are counted once on the list's row, never requested.
        rows = fetches_of(session, "bad-offsite-sitemap")
        assert not [r for r in rows if r.kind == "article"]
        row = one(rows, kind="sitemap")
        assert row.outcome == "parsed" and "2 offsite links left out (first: other.example)" in row.reason

        # Entries older than the horizon are left out: child sitemaps not even requested.
        row = one(fetches_of(session, "stale-sitemap"), kind="sitemap")
        assert row.outcome == "parsed" and row.reason.startswith("0 child sitemaps; 2 older than the horizon")
        assert site.count("/capital-wire/sitemap-news.xml") == 0 and site.count("/capital-wire/news/") == 0

        # Nothing half-written: exactly the four good pages, each with its version.
        assert session.scalar(select(func.count()).select_from(Article)) == 4
        assert session.scalar(select(func.count()).select_from(ArticleVersion)) == 4
        # Every crawl run finished and says what it counted.
        runs = session.scalars(select(CrawlRun)).all()
        assert len(runs) == len(site.bad_sources()) + 1 and all(r.finished_at for r in runs)
        assert sum(r.errors for r in runs) == 7  # malformed, 404, 500, loop, slow, slow feed, oversized

    # Second crawl: unchanged feeds answer 304; the feeds that failed twice are now resting.
    site.reset_log()
    assert crawl(config).returncode == 0
    assert site.count("/bad/empty/feed.xml", status=304) == 1
    with session_scope(sqlite_url) as session:
        states = {s.url.removeprefix(base): s for s in session.scalars(select(FeedState))}
        for path in ("/bad/malformed/feed.xml", "/bad/slow-feed/feed.xml"):
            assert states[path].status == "failing" and states[path].consecutive_failures == 2
            assert states[path].next_check_at is not None
        assert states["/bad/empty/feed.xml"].status == "ok"
        assert session.scalar(select(func.count()).select_from(Article)) == 4

    # Third crawl: a resting feed is not requested at all, and the run says why.
    site.reset_log()
    assert crawl(config, "bad-malformed").returncode == 0
    assert site.count("/bad/malformed/") == 0
    with session_scope(sqlite_url) as session:
        row = fetches_of(session, "bad-malformed")[-1]
        assert row.outcome == "skipped" and "failing" in row.reason and "next try after" in row.reason


def test_crawl_with_nothing_reachable_exits_non_zero_with_one_line(sqlite_url, tmp_path):
    port = free_port()  # nothing listens there
    sources = [{"name": "gone", "feeds": [f"http://127.0.0.1:{port}/feed.xml"], "allow_private_addresses": True}]
    config = write_config(tmp_path, sqlite_url, sources)
    result = crawl(config)
    assert result.returncode == 1
    assert "nothing could be crawled" in result.stderr and "Traceback" not in result.stderr
    with session_scope(sqlite_url) as session:
        run = last_run(session, "gone")
        assert run.status == "failed" and "connection" in run.message.lower()
        row = one(fetches_of(session, "gone"), kind="feed")
        assert row.outcome == "error" and row.status is None
