"""The Apprise channel: the digest's Markdown posted by Apprise itself
(``json://`` to a real HTTP server on 127.0.0.1), a closed port logged and
the delivery kept and sent again unchanged, each article in one delivery."""
from __future__ import annotations

import http.server
import json
import logging
import threading

import pytest
from sqlalchemy import select

from conftest import add_article, free_port
from crawler.config import ConfigError, parse_config
from newsmon.digests import channels as channels_module
from newsmon.digests import run_digest
from storage.db import session_scope
from storage.models import DigestDelivery, DigestItem


class JsonReceiver:
    """An HTTP server on 127.0.0.1:``port`` keeping every POSTed JSON body."""

    def __init__(self, port: int = 0) -> None:
        self.bodies: list[dict] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.paths.append(self.path)
                receiver.bodies.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def config_for(tmp_path, channel: dict):
    data = {"sources": [{"name": "wire", "feeds": ["http://127.0.0.1:1/feed"]}],
            "digests": [{"name": "morning", "channels": [channel]}]}
    return parse_config(data, "test", tmp_path / "newsmon.yaml")


def story(url: str, title: str, n: int) -> None:
    with session_scope(url) as session:
        add_article(session, source="wire", title=title, text=f"{title}: the full story, part {n}.",
                    url=f"https://wire.example/{n}", relevant=True)


@pytest.fixture
def receiver():
    server = JsonReceiver()
    yield server
    server.close()


def test_apprise_json_target_receives_the_digests_markdown(db_url, tmp_path, receiver):
    story(db_url, "Petro visa revoked", 1)
    story(db_url, "Tariffs on coffee", 2)
    config = config_for(tmp_path, {"type": "apprise", "urls": [f"json://127.0.0.1:{receiver.port}/digest"]})

    [result] = run_digest(config, db_url, "morning")

    assert result.status == "delivered" and result.articles == 2, result.detail
    assert f"json://127.0.0.1:{receiver.port}/digest" in result.detail
    [body] = receiver.bodies
    assert receiver.paths == ["/digest"]
    assert body["title"] == result.content.title
    assert "Petro visa revoked" in body["message"] and "Tariffs on coffee" in body["message"]
    assert "https://wire.example/1" in body["message"]
    assert f"Delivery {result.delivery_key}" in body["message"]  # receivers can drop repeats by it
    assert run_digest(config, db_url, "morning")[0].status == "nothing-new"


def test_a_closed_port_is_logged_kept_and_sent_unchanged_later(db_url, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(channels_module, "APPRISE_BACKOFF", 0.05)
    port = free_port()  # nothing listens there yet
    config = config_for(tmp_path, {"type": "apprise", "retries": 1, "urls": [f"json://127.0.0.1:{port}/hook"]})
    story(db_url, "Before the outage", 1)

    with caplog.at_level(logging.WARNING):
        [failed] = run_digest(config, db_url, "morning")
    assert failed.status == "failed" and f"127.0.0.1:{port}" in failed.detail
    assert "connection" in failed.detail.lower(), failed.detail  # Apprise's own reason, kept for the delivery row
    attempts = [r for r in caplog.records if "apprise" in r.getMessage() and "attempt" in r.getMessage()]
    assert [r.getMessage().split(" attempt ")[1][:1] for r in attempts] == ["1", "2"]
    assert any("will retry on the next run" in r.getMessage() for r in caplog.records)
    with session_scope(db_url) as session:
        [row] = session.scalars(select(DigestDelivery)).all()
        assert row.status != "delivered" and row.error and f"127.0.0.1:{port}" in row.error

    story(db_url, "During the outage", 2)
    server = JsonReceiver(port)
    try:
        retried, newer = run_digest(config, db_url, "morning")
        [after] = run_digest(config, db_url, "morning")
    finally:
        server.close()
    assert retried.status == "delivered" and retried.delivery_key == failed.delivery_key
    assert newer.status == "delivered" and newer.delivery_key != failed.delivery_key
    assert after.status == "nothing-new"
    first, second = server.bodies
    assert "Before the outage" in first["message"] and "During the outage" not in first["message"]
    assert "During the outage" in second["message"] and "Before the outage" not in second["message"]
    assert f"Delivery {failed.delivery_key}" in first["message"]
    with session_scope(db_url) as session:
        items = session.execute(select(DigestItem.article_id, DigestItem.delivery_id)).all()
        assert len(items) == len({article for article, _ in items}) == 2  # each article in one delivery
        assert {d.status for d in session.scalars(select(DigestDelivery))} == {"delivered"}


def test_apprise_urls_come_from_the_environment_and_bad_ones_are_config_errors(tmp_path, monkeypatch, receiver,
                                                                               sqlite_url):
    with pytest.raises(ConfigError, match=r"no URLs: give urls: \[\.\.\.\] or set \$NEWSMON_APPRISE_URLS"):
        config_for(tmp_path, {"type": "apprise"})
    with pytest.raises(ConfigError, match="URL 2 is not an Apprise URL") as caught:
        config_for(tmp_path, {"type": "apprise", "urls": ["ntfy://ntfy.sh/t", "tok3n-secret"]})
    assert "tok3n-secret" not in str(caught.value)  # a token pasted without its scheme is not echoed

    monkeypatch.setenv("NEWSMON_APPRISE_URLS", f"json://robot:hunter2-token@127.0.0.1:{receiver.port}/from-env")
    config = config_for(tmp_path, {"type": "apprise"})
    story(sqlite_url, "Sent to the environment's URL", 1)
    [result] = run_digest(config, sqlite_url, "morning")
    assert result.status == "delivered" and receiver.paths == ["/from-env"]
    assert f"127.0.0.1:{receiver.port}/from-env" in result.detail and "hunter2-token" not in result.detail
    assert "Sent to the environment's URL" in receiver.bodies[0]["message"]

    monkeypatch.setenv("NEWSMON_APPRISE_URLS", "nosuchservice://x/y")
    story(sqlite_url, "Never sent", 2)
    [bad] = run_digest(config, sqlite_url, "morning")
    assert bad.status == "failed" and "not a URL Apprise can send to" in bad.detail
