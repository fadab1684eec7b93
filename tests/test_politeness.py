"""The per-domain concurrency limit holds in a real crawl: with `concurrent_requests_per_domain: 1`
and no download delay, the site never sees two article requests at once (Scrapy 2.19 sent a slot's
whole queue at once when the delay was 0; crawler/settings.py works around it)."""
from __future__ import annotations

import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cli_helpers import run_newsmon

PAGES = 5


class SlowSite:
    """A feed of five articles, each served after 0.4 s; counts the requests in flight."""

    def __init__(self) -> None:
        self.in_flight = self.most = 0
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                port = self.server.server_address[1]
                if self.path == "/feed.xml":
                    items = "".join(f"<item><title>River story {i}</title><link>http://127.0.0.1:{port}/a/{i}.html"
                                    f"</link><pubDate>Mon, 01 Dec 2025 10:00:00 GMT</pubDate></item>"
                                    for i in range(PAGES))
                    body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://x/'
                            f'</link><description>d</description>{items}</channel></rss>').encode()
                    return self.reply("application/rss+xml", body)
                if self.path.startswith("/a/"):
                    with site.lock:
                        site.in_flight += 1
                        site.most = max(site.most, site.in_flight)
                    try:
                        time.sleep(0.4)
                        paragraphs = "".join(
                            f"<p>Paragraph {j} of {self.path}: the river rose over the town overnight and the "
                            f"council met at dawn to decide what to do about the bridge and the school.</p>"
                            for j in range(8))
                        body = (f"<html><head><title>River {self.path}</title><meta property='og:type' "
                                f"content='article'></head><body><article><h1>River {self.path}</h1>{paragraphs}"
                                f"</article></body></html>").encode()
                        return self.reply("text/html; charset=utf-8", body)
                    finally:
                        with site.lock:
                            site.in_flight -= 1
                self.send_response(404)
                self.end_headers()

            def reply(self, content_type: str, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def slow_site():
    site = SlowSite()
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.mark.parametrize("per_domain", [1, 3])
def test_the_per_domain_limit_holds_with_no_download_delay(tmp_path, slow_site, per_domain):
    config = tmp_path / "newsmon.yaml"
    config.write_text(f"""database_url: sqlite:///{tmp_path / 'archive.db'}
crawl:
  concurrent_requests_per_domain: {per_domain}
  download_delay: 0
  autothrottle: false
sources:
- name: river
  feeds: [{slow_site.url}/feed.xml]
  allow_private_addresses: true
  allowed_domains: [127.0.0.1]
  horizon_days: 3650
""")
    assert run_newsmon("--config", str(config), "init").returncode == 0
    result = run_newsmon("--config", str(config), "crawl")
    assert result.returncode == 0, result.stderr[-2000:]
    with sqlite3.connect(tmp_path / "archive.db") as db:
        assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == PAGES
    assert slow_site.most == per_domain  # never more at once, and the limit is used
