"""``max_articles_per_run``: one run requests at most that many articles of a
source; the rest waits for the next run. Because a list whose links were not
all requested does not keep its validators, the next run parses it again
instead of being told "304, unchanged" and forgetting the rest. Real
`newsmon crawl` subprocesses against the local news site, into a SQLite archive.

Also here: the same crawl run on a terminal (a pseudo-terminal), where
`newsmon crawl` shows a live progress display, the budget warning and the summary."""
from __future__ import annotations

import fcntl
import os
import pty
import re
from select import select as wait_readable
import struct
import subprocess
import sys
import termios
import time

import pytest
from sqlalchemy import func, select

from cli_helpers import REPO
from conftest import crawl, write_config
from crawler.urls import canonicalize_url
from newsmon.localsite import LocalNewsSite
from storage.db import session_scope
from storage.models import Article, ArticleVersion, CrawlRun, Source

BUDGET = 2


@pytest.fixture
def site():
    with LocalNewsSite(slow_seconds=1) as running:
        yield running


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
    config = write_config(tmp_path, sqlite_url, [andean, observador])
    paths = {a["path"] for a in site.articles() if a["outlet"] == "andean-post"}
    everything = {canonicalize_url(site.base_url + p) for p in paths}
    feed = "/andean-post/feed.xml"

    first = crawl(config)
    after_first = archived_urls(sqlite_url, "andean-post")
    observador_filed = len(archived_urls(sqlite_url, "el-observador"))
    filed, feed_statuses = [after_first], []
    for _ in range(3):
        before = len(site.requests)
        crawl(config, "andean-post")
        filed.append(archived_urls(sqlite_url, "andean-post"))
        feed_statuses.append([r.status for r in site.requests[before:] if r.path == feed])
    article_downloads = sorted(r.path for r in site.requests if r.path in paths and r.status == 200)

    # two per run, each run the next ones, until all six are in; then nothing
    assert [len(f) for f in filed] == [2, 4, 6, 6]
    assert filed[0] < filed[1] < filed[2] == filed[3] == everything
    assert new_per_run(sqlite_url, "andean-post") == [2, 2, 2, 0]
    assert f"max_articles_per_run ({BUDGET}) reached" in first.stderr
    # Scrapy's start-up banner is below the crawl's LOG_LEVEL (WARNING): not shown
    assert " scrapy." not in first.stderr, first.stderr
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


# --- on a terminal ------------------------------------------------------------------------

ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-B])")


def run_on_terminal(*args: str, timeout: float = 120) -> tuple[int, str]:
    """`newsmon ARGS…` with stdout and stderr on a 120x40 pseudo-terminal, as
    a user at a shell runs it; returns (exit status, what the terminal got)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMON_") and k not in ("NO_COLOR", "COLUMNS")}
    env["TERM"] = "xterm-256color"
    process = subprocess.Popen([sys.executable, "-m", "newsmon.cli", *args], cwd=REPO, env=env,
                               stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = wait_readable([master], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        status = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return status, b"".join(chunks).decode("utf-8", "replace")


def test_crawl_on_a_terminal_shows_progress_the_budget_warning_and_the_summary(site, sqlite_url, tmp_path):
    andean = site.sources()[0]
    andean["max_articles_per_run"] = BUDGET
    config = write_config(tmp_path, sqlite_url, [andean])

    status, raw = run_on_terminal("--config", config, "crawl", "--set", "NEWSMON_RETRY_BACKOFF=0.1")
    screen = ANSI.sub("", raw).replace("\r\n", "\n")

    assert status == 0, screen[-3000:]
    assert "andean-post: starting" in screen  # the live progress line, drawn before the first count
    assert f"max_articles_per_run ({BUDGET}) reached" in screen
    assert "Traceback" not in screen
    # the display replaces the INFO log: only the warning is printed between its frames
    assert not re.search(r" (INFO|DEBUG) ", screen), screen
    assert "Crawl summary" in screen
    [row] = [line.split() for line in screen.splitlines() if line.strip().startswith("andean-post ")
             and "ok" in line.split()]
    # source, status, fetched, new, updated, unchanged, skipped as seen, not articles, errors
    assert row[:2] == ["andean-post", "ok"] and row[3] == str(BUDGET) and row[-1] == "0"
    assert len(archived_urls(sqlite_url, "andean-post")) == BUDGET
