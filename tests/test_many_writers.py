"""One archive, many writers: several `newsmon crawl SOURCE` processes racing
on one archive behave as one crawl (SQLite and PostgreSQL).

A loopback wire site: every round, each outlet publishes the same wire story
(its own headline, standfirst and footer around the same body) and one story
of its own. The outlets are crawled by one process each, all started at
once, for several rounds."""
from __future__ import annotations

import subprocess
import sys
import threading
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from cli_helpers import REPO
from conftest import FIXTURES, SEEDS, write_config
from storage.db import session_scope
from storage.models import Article, CrawlRun, Fetch, Source

OUTLETS = ("north-herald", "south-gazette", "west-courier")
ROUNDS = 3
WIRE = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))][:ROUNDS]
OWN = [p.read_text(encoding="utf-8") for p in sorted((FIXTURES / "offtopic").glob("*.txt"))]
START = datetime(2025, 10, 20, 8, 0, tzinfo=timezone.utc)


class WireSite:
    """Outlets with a feed and article pages; ``rounds`` says how many rounds are published."""

    def __init__(self) -> None:
        self.rounds = 0
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                status, content_type, body = site.route(self.path)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stories(self, outlet: str) -> list[tuple[str, str, str, datetime]]:
        """(slug, title, body, published) of everything the outlet has published so far."""
        index = OUTLETS.index(outlet)
        found = []
        for r in range(self.rounds):
            published = START + timedelta(hours=r, minutes=index)
            wire_title = WIRE[r].split("\n", 1)[0]
            found.append((f"wire-{r}", f"{wire_title} | {outlet}", WIRE[r], published))
            own = OWN[(r * len(OUTLETS) + index) % len(OWN)]
            found.append((f"own-{r}", own.split("\n", 1)[0], own, published + timedelta(minutes=5)))
        return found

    def route(self, path: str) -> tuple[int, str, bytes]:
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0] in OUTLETS and parts[1] == "feed.xml":
            items = "".join(
                f"<item><title>{escape(title)}</title><link>{self.base_url}/{parts[0]}/{slug}.html</link>"
                f"<pubDate>{format_datetime(published)}</pubDate></item>"
                for slug, title, _body, published in self.stories(parts[0]))
            rss = f"<?xml version='1.0'?><rss version='2.0'><channel><title>{parts[0]}</title>{items}</channel></rss>"
            return 200, "application/rss+xml", rss.encode()
        if len(parts) == 2 and parts[0] in OUTLETS and parts[1].endswith(".html"):
            for slug, title, body, published in self.stories(parts[0]):
                if parts[1] == f"{slug}.html":
                    return 200, "text/html; charset=utf-8", self.page(parts[0], title, body, published)
        return 404, "text/plain", b"not found"

    @staticmethod
    def page(outlet: str, title: str, body: str, published: datetime) -> bytes:
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in body.split("\n")[1:] if p.strip())
        return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta property="og:title" content="{escape(title)}">
<meta property="article:published_time" content="{published.isoformat()}"></head>
<body><header><nav><a href="/">{outlet}</a></nav></header>
<article><h1>{escape(title)}</h1><p class="byline">By the {outlet} desk</p>{paragraphs}</article>
<footer><p>© 2025 {outlet}. All rights reserved.</p></footer></body></html>""".encode()

    def __enter__(self) -> "WireSite":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def crawl_all_at_once(config: str) -> None:
    processes = [subprocess.Popen([sys.executable, "-m", "newsmon.cli", "--config", config, "crawl",
                                   "--set", "NEWSMON_RETRY_BACKOFF=0.1", outlet],
                                  cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for outlet in OUTLETS]
    for process in processes:
        _out, err = process.communicate(timeout=600)  # a safety net on a loaded machine
        assert process.returncode == 0, err[-3000:]


@pytest.mark.timeout(1200)
def test_concurrent_crawls_file_each_url_once_and_link_every_copy(db_url, tmp_path):
    with WireSite() as site:
        sources = [{"name": outlet, "feeds": [f"{site.base_url}/{outlet}/feed.xml"],
                    "allow_private_addresses": True} for outlet in OUTLETS]
        config = write_config(tmp_path, db_url, sources)
        for _ in range(ROUNDS):
            site.rounds += 1
            crawl_all_at_once(config)

    with session_scope(db_url) as session:
        articles = session.execute(select(Article.canonical_url, Article.cluster_id, Source.name, Article.id)
                                   .join(Source, Source.id == Article.source_id)).all()
        urls = [a.canonical_url for a in articles]
        assert len(urls) == len(set(urls)) == ROUNDS * len(OUTLETS) * 2  # each URL filed once
        for r in range(ROUNDS):
            copies = [a for a in articles if f"/wire-{r}.html" in a.canonical_url]
            assert len(copies) == len(OUTLETS)
            clusters = {a.cluster_id for a in copies}
            assert len(clusters) == 1 and None not in clusters, f"round {r}: copies in clusters {clusters}"
            members = {a.id for a in articles if a.cluster_id in clusters}
            assert members == {a.id for a in copies}  # no outlet's own story joined the wire cluster
        # Every run's counts equal what it filed.
        runs = session.scalars(select(CrawlRun)).all()
        assert len(runs) == ROUNDS * len(OUTLETS) and {r.status for r in runs} == {"ok"}
        for run in runs:
            filed = session.scalar(select(func.count()).select_from(Fetch)
                                   .where(Fetch.crawl_run_id == run.id, Fetch.kind == "article",
                                          Fetch.outcome == "new"))
            assert run.new_articles == filed == 2
