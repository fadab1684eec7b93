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
from conftest import SEEDS, StaticSite, rss, write_config
from storage.db import session_scope
from storage.models import Article, CrawlRun, Fetch

# Deeply nested blocks: seconds of extraction work, so a worker is caught in the middle of it.
SLOW = ("<html><body>" + "<div><p>word " * 6000 + "</p></div>" * 6000 + "</body></html>").encode()


def story_page() -> bytes:
    text = sorted(SEEDS.glob("002_*.txt"))[0].read_text(encoding="utf-8")
    title, _, body = text.partition("\n")
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n") if p.strip())
    return (f"<html lang='en'><head><title>{title}</title></head><body><article><h1>{title}</h1>{paragraphs}"
            f"</article></body></html>").encode()


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.timeout(600)
def test_a_worker_killed_mid_page_is_replaced_and_the_page_logged_failed(sqlite_url, tmp_path):
    with StaticSite() as site:
        site.routes["/feed.xml"] = (200, "application/rss+xml",
                                    rss(site.base_url, [("Slow page", "/slow.html"), ("A story", "/story.html")]))
        site.routes["/slow.html"] = (200, "text/html; charset=utf-8", SLOW)
        site.routes["/story.html"] = (200, "text/html; charset=utf-8", story_page())
        config = write_config(tmp_path, sqlite_url,
                              [{"name": "outlet", "feeds": [f"{site.base_url}/feed.xml"],
                                "allow_private_addresses": True}],
                              crawl={"analysis_workers": 1, "extraction_timeout": 300, "obey_robots_txt": False})
        crawl = subprocess.Popen([sys.executable, "-m", "newsmon.cli", "--config", config, "crawl"], cwd=REPO,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 300
            while "/slow.html" not in site.requests and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "/slow.html" in site.requests, "the crawl never fetched the slow page"
            time.sleep(1.0)  # the single worker is now inside the slow page's extraction
            killed = children(crawl.pid)
            assert killed, "the crawl process has no worker process"
            for pid in killed:
                os.kill(pid, signal.SIGKILL)
            _out, err = crawl.communicate(timeout=300)
        finally:
            if crawl.poll() is None:
                crawl.kill()
    assert crawl.returncode == 0, err[-3000:]
    with session_scope(sqlite_url) as session:
        failed = session.scalars(select(Fetch).where(Fetch.url.like("%/slow.html"), Fetch.kind == "article")).all()
        assert [f.outcome for f in failed] == ["error"] and "worker died" in failed[0].reason
        # The replacement worker analysed the other page: it was filed.
        assert session.scalars(select(Article.url)).all() == [f"{site.base_url}/story.html"]
        run = session.scalars(select(CrawlRun)).one()
        assert run.errors == 1 and run.new_articles == 1
