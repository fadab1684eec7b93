"""Secrets: no SMTP login without TLS (a config error at load, before any
connection), and webhook signatures that cannot be replayed (HMAC over
``timestamp.body``, the timestamp in a header, old timestamps rejected)."""
from __future__ import annotations

import hashlib
import hmac
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from sqlalchemy import select

from cli_helpers import run_newsmon
from crawler.config import parse_config
from newsmon.digests import run_digest
from newsmon.digests.channels import verify_signature
from storage.db import session_scope
from storage.models import Article, Source

SECRET = "a-webhook-secret"


def test_a_login_without_tls_is_a_config_error_naming_the_key(tmp_path):
    path = tmp_path / "newsmon.yaml"
    path.write_text(yaml.safe_dump({"digests": [{"name": "desk", "channels": [{
        "type": "email", "to": ["desk@example.org"], "smtp_host": "127.0.0.1", "smtp_port": 2525,
        "security": "none"}]}]}), encoding="utf-8")
    refused = run_newsmon("--config", str(path), "init", cwd=tmp_path, env={"NEWSMON_SMTP_USER": "robot",
                                                                             "NEWSMON_SMTP_PASSWORD": "pw"})
    assert refused.returncode == 2
    [line] = refused.stderr.strip().splitlines()
    assert "digests[0].channels[0]" in line and "security: 'none'" in line and "NEWSMON_SMTP_USER" in line
    assert "pw" not in line.replace("password", "")
    # without a login the same channel is fine (a relay on localhost that needs none)
    ok = run_newsmon("--config", str(path), "init", cwd=tmp_path, env={"NEWSMON_DATABASE_URL":
                                                                        f"sqlite:///{tmp_path / 'a.db'}"})
    assert ok.returncode == 0, ok.stderr


class Receiver:
    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver():
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()
    r.thread.join(timeout=5)


def test_webhook_signature_covers_a_timestamp_and_a_replay_is_rejected(sqlite_url, receiver, tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSMON_WEBHOOK_SECRET", SECRET)
    with session_scope(sqlite_url) as session:
        source = Source(name="outlet-a")
        session.add(source)
        session.flush()
        article = Article(source_id=source.id, canonical_url="https://a.example/1", url="https://a.example/1",
                          title="Aid talks resume", text="", text_hash=hashlib.sha256(b"1").hexdigest(),
                          relevant=True)
        session.add(article)
        session.flush()
        article.cluster_id = article.id
    config = parse_config({"sources": [{"name": "outlet-a", "feeds": ["http://127.0.0.1:1/feed"]}],
                           "digests": [{"name": "desk", "channels": [{"type": "webhook", "url": receiver.url}]}]},
                          "test", tmp_path / "newsmon.yaml")
    before = int(time.time())
    [result] = run_digest(config, sqlite_url, "desk")
    assert result.status == "delivered"
    [(headers, body)] = receiver.requests
    stamp = headers["x-newsmon-timestamp"]
    assert before - 1 <= int(stamp) <= int(time.time()) + 1
    expected = "sha256=" + hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["x-newsmon-signature"] == expected
    # the receiver's check (docs/security.md): fresh and intact passes ...
    assert verify_signature(body, SECRET, stamp, headers["x-newsmon-signature"])
    # ... the same request replayed ten minutes later does not, nor a changed body or time,
    assert not verify_signature(body, SECRET, stamp, headers["x-newsmon-signature"], now=int(stamp) + 600)
    assert not verify_signature(body + b" ", SECRET, stamp, headers["x-newsmon-signature"])
    assert not verify_signature(body, SECRET, str(int(stamp) + 1), headers["x-newsmon-signature"])
    # ... nor the old body-only signature (finding 5)
    old = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert not verify_signature(body, SECRET, stamp, old)
    assert not verify_signature(body, SECRET, None, headers["x-newsmon-signature"])
    with session_scope(sqlite_url) as session:
        assert session.scalar(select(Article.title)) == "Aid talks resume"
