"""Mislabelled charsets over real HTTP: a crawl of a small server on loopback.

Servers label UTF-8 pages with whatever single-byte charset their template
once used (iso-8859-5, windows-1251, iso-8859-2, ...). Read with the label,
"España, Bogotá" becomes "EspaУБa, BogotУЁ" without any decoding error, so
the archive would keep mojibake. Pages really written in those charsets must
still be read with them.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from sqlalchemy import select

from cli_helpers import run_newsmon
from storage.db import session_scope
from storage.models import Article

PUBLISHED = datetime.now(timezone.utc) - timedelta(days=1)
SPANISH = ("La Cancillería de Colombia confirmó el martes en Bogotá que la reunión con la delegación de España "
           "se celebrará la próxima semana, después de que ambas partes acordaran una agenda común sobre "
           "comercio, migración y cooperación judicial. Según el comunicado, la ministra viajará acompañada "
           "por una comisión técnica que revisará los acuerdos firmados en años anteriores.")
RUSSIAN = ("Министерство иностранных дел Колумбии во вторник подтвердило в Боготе, что встреча с делегацией "
           "Испании состоится на следующей неделе, после того как стороны согласовали общую повестку по "
           "торговле, миграции и судебному сотрудничеству. Согласно сообщению, министр поедет вместе с "
           "технической комиссией, которая рассмотрит соглашения, подписанные в прошлые годы.")

# path -> (title, body text, charset declared in the header and the page, charset of the bytes sent)
PAGES = {
    "/utf8-as-iso-8859-5": ("España y Bogotá acuerdan reunión", SPANISH, "iso-8859-5", "utf-8"),
    "/utf8-as-windows-1251": ("Bogotá recibe a la delegación de España", SPANISH, "windows-1251", "utf-8"),
    "/utf8-as-iso-8859-2": ("Cancillería confirma la reunión en Bogotá", SPANISH, "iso-8859-2", "utf-8"),
    "/real-iso-8859-5": ("Встреча в Боготе с делегацией Испании", RUSSIAN, "iso-8859-5", "iso-8859-5"),
}


def page_bytes(title: str, text: str, declared: str, sent: str) -> bytes:
    paragraphs = "".join(f"<p>{sentence.strip()}.</p>" for sentence in text.split(". ") if sentence.strip())
    html = (f'<!DOCTYPE html><html><head><meta charset="{declared}"><title>{title}</title>'
            f'<meta property="og:type" content="article">'
            f'<meta property="article:published_time" content="{PUBLISHED.isoformat()}"></head>'
            f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>")
    return html.encode(sent)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        base = f"http://{self.headers['Host']}"
        if self.path == "/feed.xml":
            items = "".join(f"<item><title>{title}</title><link>{base}{path}</link>"
                            f"<pubDate>{format_datetime(PUBLISHED)}</pubDate></item>"
                            for path, (title, *_rest) in PAGES.items())
            body = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
                    f"<link>{base}/</link>{items}</channel></rss>").encode("utf-8")
            content_type = "application/rss+xml; charset=utf-8"
        elif self.path in PAGES:
            title, text, declared, sent = PAGES[self.path]
            body, content_type = page_bytes(title, text, declared, sent), f"text/html; charset={declared}"
        else:
            body, content_type = b"", "text/plain"
            self.send_response(404)
        if self.path == "/feed.xml" or self.path in PAGES:
            self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def test_utf8_pages_labelled_with_any_single_byte_charset_are_filed_without_mojibake(server, sqlite_url, tmp_path):
    config = tmp_path / "newsmon.yaml"
    config.write_text(yaml.safe_dump({
        "database_url": sqlite_url,
        "sources": [{"name": "labels", "feeds": [server + "/feed.xml"], "allowed_domains": ["127.0.0.1"],
                     "allow_private_addresses": True}],
        "crawl": {"download_delay": 0, "autothrottle": False, "retry_times": 0, "download_timeout": 10},
    }), encoding="utf-8")
    result = run_newsmon("--config", str(config), "crawl", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    with session_scope(sqlite_url) as session:
        stored = {a.url.removeprefix(server): (a.title, a.text) for a in session.scalars(select(Article))}
    assert set(stored) == set(PAGES), result.stderr[-3000:]
    for path, (title, text, _declared, _sent) in PAGES.items():
        stored_title, stored_text = stored[path]
        assert stored_title == title, path
        assert text.split(". ")[0] in stored_text, (path, stored_text[:200])
    assert "EspaУБa" not in " ".join(t for _title, t in stored.values())
