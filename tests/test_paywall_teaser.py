"""Paywall teasers over real HTTP: the free teaser is archived, flagged
``paywalled``, and kept out of dedup, topic matching on text, and the event diff.

Two outlets publish teasers of the same wire story (the same free paragraph);
a third publishes the full story whose first paragraph is that teaser. Without
the exclusion the teasers would be exact copies of each other and the topic
rule (a word only in the teaser's text) would match.
"""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from sqlalchemy import select

from cli_helpers import run_newsmon
from storage.db import session_scope
from storage.models import Article, ArticleSignature, ArticleTopic, DuplicateLink

PUBLISHED = datetime.now(timezone.utc) - timedelta(days=1)
TEASER = ("Colombian and American negotiators met in Cartagena on Monday to rebuild the counternarcotics "
          "partnership that collapsed in the spring, officials from both delegations said after the talks, "
          "which were held behind closed doors at a naval base on the edge of the old city and attended by the "
          "deputy ministers of defence and foreign affairs, the American ambassador and a delegation of "
          "prosecutors who handle extradition requests between the two countries.")
REST = [
    "The meeting lasted six hours and ended without a joint statement, although both sides described the tone "
    "as constructive and agreed to meet again before the end of the month in Washington.",
    "Negotiators discussed the resumption of joint task forces, the extradition backlog and a programme of "
    "crop substitution in Cauca and Nariño that lost its funding when the aid agency closed.",
]
PROMPT = ('<div class="paywall"><h2>This article is for subscribers only</h2>'
          '<p>Subscribe to read the full story.</p><p><a href="/subscribe">Subscribe now</a> '
          'Already a subscriber? <a href="/login">Sign in</a></p></div>')


def page(title: str, paragraphs: list[str], free: bool) -> bytes:
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
          "datePublished": PUBLISHED.isoformat(), "isAccessibleForFree": free}
    body = "".join(f"<p>{p}</p>" for p in paragraphs) + ("" if free else PROMPT)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<script type="application/ld+json">{json.dumps(ld)}</script></head>'
            f"<body><article><h1>{title}</h1>{body}</article></body></html>").encode("utf-8")


PAGES = {
    "/first/teaser": page("Talks resume in Cartagena", [TEASER], free=False),
    "/second/teaser": page("Cartagena talks restart", [TEASER], free=False),
    "/third/full": page("Negotiators meet in Cartagena", [TEASER, *REST], free=True),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        base = f"http://{self.headers['Host']}"
        if self.path == "/feed.xml":
            items = "".join(f"<item><title>t</title><link>{base}{path}</link>"
                            f"<pubDate>{format_datetime(PUBLISHED)}</pubDate></item>" for path in PAGES)
            body = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
                    f"<link>{base}/</link>{items}</channel></rss>").encode("utf-8")
            status, content_type = 200, "application/rss+xml; charset=utf-8"
        elif self.path in PAGES:
            status, body, content_type = 200, PAGES[self.path], "text/html; charset=utf-8"
        else:
            status, body, content_type = 404, b"", "text/plain"
        self.send_response(status)
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


def test_teasers_are_archived_flagged_and_left_out_of_dedup_and_text_matching(server, sqlite_url, tmp_path):
    config = tmp_path / "newsmon.yaml"
    config.write_text(yaml.safe_dump({
        "database_url": sqlite_url,
        "sources": [{"name": "outlets", "feeds": [server + "/feed.xml"], "allowed_domains": ["127.0.0.1"],
                     "allow_private_addresses": True}],
        "topics": [{"name": "drugs", "themes": [{"name": "counternarcotics", "rule": "counternarcotics"}]}],
        "crawl": {"download_delay": 0, "autothrottle": False, "retry_times": 0, "download_timeout": 10},
    }), encoding="utf-8")
    result = run_newsmon("--config", str(config), "crawl", timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    with session_scope(sqlite_url) as session:
        articles = {a.url.removeprefix(server): a for a in session.scalars(select(Article))}
        assert set(articles) == set(PAGES), result.stderr[-3000:]
        for path in ("/first/teaser", "/second/teaser"):
            teaser = articles[path]
            assert teaser.paywalled is True
            assert teaser.text == TEASER  # what the outlet gives away, without the subscription prompt
            assert teaser.origins["paywalled"] == "isAccessibleForFree=false"
            assert teaser.cluster_id is None
        full = articles["/third/full"]
        assert full.paywalled is False and full.text.startswith(TEASER)
        ids = {articles[p].id for p in ("/first/teaser", "/second/teaser")}
        links = list(session.scalars(select(DuplicateLink)))
        assert [(l.article_id, l.other_article_id) for l in links
                if {l.article_id, l.other_article_id} & ids] == []
        assert set(session.scalars(select(ArticleSignature.article_id))) == {full.id}
        topics = {t.article_id: t for t in session.scalars(select(ArticleTopic))}
        assert topics[full.id].relevant is True  # "counternarcotics" is in its text
        assert all(topics[i].relevant is False for i in ids)  # the same word, only in a teaser's text
