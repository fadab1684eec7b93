"""Extraction and text analysis in worker processes: a worker that dies is
replaced, its page logged as failed, and the crawl goes on."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from cli_helpers import REPO
from conftest import SEEDS, StaticSite, crawl, rss, write_config
from storage.db import session_scope
from storage.models import Article, CrawlRun, Fetch

def slow_page(blocks: int = 6000) -> bytes:
    """A real article nested thousands of blocks deep: seconds of extraction work (and still an
    article), so a worker is caught in the middle of it."""
    text = sorted(SEEDS.glob("002_*.txt"))[0].read_text(encoding="utf-8")
    paragraphs = [p for p in text.split("\n")[1:] if p.strip()]
    body = "".join(f"<div><p>{paragraphs[i % len(paragraphs)]}</p>" for i in range(blocks)) + "</div>" * blocks
    return (f"<html lang='en'><head><title>Slow story</title><meta property='og:type' content='article'>"
            f"</head><body><article><h1>Slow story</h1>{body}</article></body></html>").encode()


def story_page() -> bytes:
    text = sorted(SEEDS.glob("002_*.txt"))[0].read_text(encoding="utf-8")
    title, _, body = text.partition("\n")
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n") if p.strip())
    return (f"<html lang='en'><head><title>{title}</title></head><body><article><h1>{title}</h1>{paragraphs}"
            f"</article></body></html>").encode()


def _busy(pid: int) -> bool:
    """Whether a process is running on a CPU now (state R): a worker inside a page."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "R"
    except (OSError, IndexError):
        return False


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.timeout(900)
def test_a_worker_killed_mid_page_is_replaced_its_page_logged_failed_and_filed_next_run(sqlite_url, tmp_path):
    with StaticSite() as site:
        site.routes["/feed.xml"] = (200, "application/rss+xml",
                                    rss(site.base_url, [("Slow page", "/slow.html"), ("A story", "/story.html")]))
        site.routes["/slow.html"] = (200, "text/html; charset=utf-8", slow_page())
        site.routes["/story.html"] = (200, "text/html; charset=utf-8", story_page())
        config = write_config(tmp_path, sqlite_url,
                              [{"name": "outlet", "feeds": [f"{site.base_url}/feed.xml"],
                                "allow_private_addresses": True}],
                              crawl={"analysis_workers": 1, "extraction_timeout": 300, "obey_robots_txt": False})
        process = subprocess.Popen([sys.executable, "-m", "newsmon.cli", "--config", config, "crawl"], cwd=REPO,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 300
            while "/slow.html" not in site.requests and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "/slow.html" in site.requests, "the crawl never fetched the slow page"
            # Kill the worker whenever one is busy, until the crawl ends: whichever page it was on fails.
            killed = 0
            while process.poll() is None and time.monotonic() < deadline:
                for pid in children(process.pid):
                    if _busy(pid):
                        os.kill(pid, signal.SIGKILL)
                        killed += 1
                time.sleep(0.2)
            _out, err = process.communicate(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.returncode in (0, 1), err[-3000:]  # 1: every page failed (the run says so)
        assert killed, "no worker process was ever caught working"
        with session_scope(sqlite_url) as session:
            rows = session.scalars(select(Fetch).where(Fetch.kind == "article")).all()
            failed = [r for r in rows if r.outcome == "error"]
            filed = [r for r in rows if r.outcome == "new"]
            assert failed and len(failed) + len(filed) == len(rows) == 2
            assert all("worker died" in r.reason for r in failed), [(r.url, r.reason) for r in failed]
            assert sorted(session.scalars(select(Article.url))) == sorted(r.url for r in filed)
            run = session.scalars(select(CrawlRun)).one()
            assert run.errors == len(failed) and run.new_articles == len(filed)

        crawl(config)  # the feed is unchanged, but the failed page is pending: fetched and filed now
    with session_scope(sqlite_url) as session:
        assert sorted(session.scalars(select(Article.url))) == sorted(
            f"{site.base_url}{path}" for path in ("/slow.html", "/story.html"))
