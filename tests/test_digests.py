"""Digests: content, channels received by real servers on 127.0.0.1, and
exactly-once bookkeeping across runs (SQLite and PostgreSQL)."""
from __future__ import annotations

import email
import hashlib
import hmac
import http.server
import json
import threading
from datetime import datetime, timedelta
from email import policy

import feedparser
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from crawler.config import ConfigError, parse_config
from newsmon.digests import run_digest
from newsmon.digests import channels as channels_module
from storage.db import session_scope
from storage.models import (
    Article,
    ArticleTopic,
    ArticleVersion,
    CandidateSource,
    Contradiction,
    CrawlRun,
    DigestDelivery,
    DigestItem,
    Event,
    EventCandidate,
    EventMention,
    Source,
    ThemeMatch,
    utcnow,
)

from conftest import free_port

SECRET = "s3cret-for-tests"


# --- archive rows, as the crawl and the analysis stages would write them -------------------


def add_article(url: str, *, source: str, title: str, text: str = "", topic: str | None = None,
                theme: str | None = None, score: float = 2.0, relevant: bool | None = True,
                cluster_of: int | None = None, seen_minutes_ago: float = 0) -> int:
    with session_scope(URL[0]) as session:
        src = session.scalar(select(Source).where(Source.name == source))
        if src is None:
            src = Source(name=source)
            session.add(src)
            session.flush()
        n = session.scalar(select(func.count(Article.id))) + 1
        article = Article(source_id=src.id, canonical_url=url, url=url, title=title, text=text,
                          text_hash=hashlib.sha256(f"{url}{n}".encode()).hexdigest(), relevant=relevant,
                          first_seen=utcnow() - timedelta(minutes=seen_minutes_ago))
        session.add(article)
        session.flush()
        article.cluster_id = cluster_of or article.id
        if topic:
            at = ArticleTopic(article_id=article.id, topic=topic, score=score, relevant=bool(relevant))
            session.add(at)
            session.flush()
            if theme:
                session.add(ThemeMatch(article_topic_id=at.id, theme=theme, weight=1.0, score=score))
        return article.id


URL: list[str] = [""]


@pytest.fixture
def archive(db_url):
    URL[0] = db_url
    return db_url


@pytest.fixture
def sqlite_archive(sqlite_url):
    URL[0] = sqlite_url
    return sqlite_url


def config_with(channels: list[dict], tmp_path, topics: list | None = None, **digest) -> object:
    data = {
        "sources": [{"name": "outlet-a", "feeds": ["http://127.0.0.1:1/feed"]},
                    {"name": "outlet-b", "feeds": ["http://127.0.0.1:1/feed"]}],
        # The themes the archive rows below name (digest filters must name configured ones).
        "topics": topics or [{"name": "rel", "themes": [{"name": t, "rule": t}
                                                        for t in ("trade", "sport", "migration")]}],
        "digests": [{"name": "morning", "channels": channels, **digest}],
    }
    return parse_config(data, "test", tmp_path / "newsmon.yaml")


# --- real receivers -----------------------------------------------------------------------


class SmtpInbox:
    """aiosmtpd handler keeping every message received."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_inbox():
    inbox = SmtpInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


class WebhookReceiver:
    """A local HTTP server answering with the statuses queued in ``replies`` (then 200)."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.replies: list[int] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.replies.pop(0) if receiver.replies else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook(monkeypatch):
    monkeypatch.setenv("NEWSMON_WEBHOOK_SECRET", SECRET)
    monkeypatch.setattr(channels_module, "WEBHOOK_BACKOFF", 0.05)
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def delivered_payloads(receiver: WebhookReceiver) -> list[dict]:
    return [json.loads(body) for _, body in receiver.requests]


def payload_titles(payload: dict) -> list[str]:
    return [e["title"] for s in payload["sections"] for g in s["groups"] for e in g["entries"]]


# --- channels -----------------------------------------------------------------------------


def test_email_digest_arrives_with_plain_and_html_parts_and_escaped_title(sqlite_archive, smtp_inbox, tmp_path):
    inbox, port = smtp_inbox
    add_article("https://a.example/1", source="outlet-a", title="Talks <script>alert(1)</script> resume",
                text="Delegations met in Bogotá on Monday. They agreed on a new round. Observers were cautious. "
                     "A fourth sentence that the snippet leaves out.", topic="relations", theme="diplomacy")
    config = config_with([{"type": "email", "to": ["desk@example.org"], "smtp_host": "127.0.0.1",
                           "smtp_port": port, "security": "none"}], tmp_path)

    [result] = run_digest(config, sqlite_archive, "morning")

    assert result.status == "delivered"
    [message] = inbox.messages
    assert message["To"] == "desk@example.org"
    assert result.delivery_key in message["Message-ID"]
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Talks <script>alert(1)</script> resume" in plain
    assert "Delegations met in Bogotá on Monday. They agreed on a new round. Observers were cautious." in plain
    assert "fourth sentence" not in plain
    assert "<script>" not in html
    assert "Talks &lt;script&gt;alert(1)&lt;/script&gt; resume" in html
    assert ">diplomacy</h2>" in html


def test_email_to_a_closed_smtp_port_stays_pending_and_is_sent_next_run(sqlite_archive, smtp_inbox, tmp_path):
    inbox, port = smtp_inbox
    add_article("https://a.example/1", source="outlet-a", title="First story")
    down = config_with([{"type": "email", "to": ["d@example.org"], "smtp_host": "127.0.0.1",
                         "smtp_port": free_port(), "security": "none"}], tmp_path)
    up = config_with([{"type": "email", "to": ["d@example.org"], "smtp_host": "127.0.0.1",
                       "smtp_port": port, "security": "none"}], tmp_path)

    [failed] = run_digest(down, sqlite_archive, "morning")
    [sent] = run_digest(up, sqlite_archive, "morning")

    assert failed.status == "failed" and "SMTP" in failed.detail
    assert sent.status == "delivered" and sent.delivery_key == failed.delivery_key
    assert len(inbox.messages) == 1 and "First story" in inbox.messages[0].get_body(("plain",)).get_content()


def test_webhook_retries_a_500_with_the_same_delivery_id_and_a_valid_signature(sqlite_archive, webhook, tmp_path):
    add_article("https://a.example/1", source="outlet-a", title="Ceasefire talks")
    webhook.replies = [500]
    config = config_with([{"type": "webhook", "url": webhook.url, "retries": 2}], tmp_path)

    [result] = run_digest(config, sqlite_archive, "morning")

    assert result.status == "delivered"
    assert len(webhook.requests) == 2
    ids = {headers["x-newsmon-delivery"] for headers, _ in webhook.requests}
    assert ids == {result.delivery_key}
    for headers, body in webhook.requests:  # signed over "<timestamp>.<body>" (docs/security.md)
        signed = headers["x-newsmon-timestamp"].encode() + b"." + body
        expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-newsmon-signature"], expected)
    assert payload_titles(json.loads(webhook.requests[-1][1])) == ["Ceasefire talks"]


def test_atom_feed_has_one_entry_per_story_stable_across_digests(sqlite_archive, tmp_path, monkeypatch):
    monkeypatch.setattr(channels_module, "ATOM_KEEP_ENTRIES", 3)
    config = config_with([{"type": "atom", "path": "out/digest.xml"}], tmp_path, timezone="America/Bogota")
    first = add_article("https://a.example/one?utm_source=newsletter&id=7", source="outlet-a", title="Story one",
                        text="The first story. It has two sentences.", seen_minutes_ago=30)
    add_article("https://b.example/copy?fbclid=xyz", source="outlet-b", title="Story one (copy)", cluster_of=first,
                seen_minutes_ago=20)
    add_article("https://a.example/two", source="outlet-a", title="Story two", seen_minutes_ago=10)
    run_digest(config, sqlite_archive, "morning")
    for title in ("Story three", "Story four"):
        add_article(f"https://a.example/{title}", source="outlet-a", title=title)
        run_digest(config, sqlite_archive, "morning")

    path = tmp_path / "out" / "digest.xml"
    parsed = feedparser.parse(str(path))

    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "newsmon digest morning"
    # One entry per story (the copy folded in), newest first, the oldest dropped at the limit of 3.
    assert [e.title for e in parsed.entries] == ["Story four", "Story three", "Story two"]
    assert [e.id for e in parsed.entries][2].startswith("urn:newsmon:article:")
    assert (path.stat().st_mode & 0o777) == 0o666 & ~_umask()

    # Rendered alone, the first story's entry has a canonical link and the copy as 'also reported by'.
    monkeypatch.setattr(channels_module, "ATOM_KEEP_ENTRIES", 10)
    single = tmp_path / "single.xml"
    from newsmon.digests.content import build_content

    with session_scope(sqlite_archive) as session:
        ids = list(session.scalars(select(Article.id).order_by(Article.id)))
        content = build_content(session, config, config.digests[0], ids, "k1", "atom:0")
    channels_module.write_atom(single, content)
    entries = {e.title: e for e in feedparser.parse(str(single)).entries}
    assert set(entries) == {"Story one", "Story two", "Story three", "Story four"}
    one = entries["Story one"]
    assert one.id == f"urn:newsmon:article:{first}"
    assert one.link == "https://a.example/one?id=7"
    assert "also reported by" in one.content[0].value.lower() and "https://b.example/copy" in one.content[0].value
    assert "fbclid" not in one.content[0].value and "utm_" not in single.read_text()
    assert " America/Bogota" in one.content[0].value

    # A new version of the story updates its entry in place: same id, newer <updated>.
    before = one.updated_parsed
    with session_scope(sqlite_archive) as session:
        article = session.get(Article, first)
        for number, text in ((1, "The first story. It has two sentences."),
                             (2, "The first story. It now has a corrected second sentence.")):
            session.add(ArticleVersion(article_id=first, version=number, raw_html=b"", text=text, title=article.title,
                                       text_hash=str(number), fetched_at=utcnow() + timedelta(minutes=number)))
    with session_scope(sqlite_archive) as session:
        content = build_content(session, config, config.digests[0], [], "k2", None)
    assert [e.title for e in content.edits] == ["Story one"]
    assert content.edits[0].removed == ["It has two sentences."]
    assert content.edits[0].added == ["It now has a corrected second sentence."]
    channels_module.write_atom(single, content)
    entries = {e.title: e for e in feedparser.parse(str(single)).entries}
    assert len(entries) == 4 and entries["Story one"].id == f"urn:newsmon:article:{first}"
    assert entries["Story one"].updated_parsed > before
    assert "corrected second sentence" in entries["Story one"].content[0].value


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_markdown_and_html_files_show_a_script_title_as_text(sqlite_archive, tmp_path):
    add_article("https://a.example/x", source="outlet-a", title="Leak <script>steal()</script> [click](evil)")
    config = config_with([{"type": "markdown", "path": "digest.md"}, {"type": "html", "path": "digest.html"}],
                         tmp_path)

    results = run_digest(config, sqlite_archive, "morning")

    assert [r.status for r in results] == ["delivered", "delivered"]
    markdown = (tmp_path / "digest.md").read_text()
    html = (tmp_path / "digest.html").read_text()
    assert "<script>" not in markdown and r"\<script\>steal()\</script\> \[click\](evil)" in markdown
    assert "<script>" not in html and "Leak &lt;script&gt;steal()&lt;/script&gt;" in html


# --- content ------------------------------------------------------------------------------


def test_copies_collapse_under_the_first_seen_article_grouped_by_theme(sqlite_archive, webhook, tmp_path):
    head = add_article("https://a.example/orig", source="outlet-a", title="Original report", topic="rel",
                       theme="trade", seen_minutes_ago=30)
    add_article("https://b.example/copy", source="outlet-b", title="Syndicated copy", topic="rel", theme="trade",
                cluster_of=head, seen_minutes_ago=10)
    add_article("https://b.example/other", source="outlet-b", title="Migration story", topic="rel",
                theme="migration", score=5.0, seen_minutes_ago=5)
    config = config_with([{"type": "webhook", "url": webhook.url}], tmp_path)

    run_digest(config, sqlite_archive, "morning")

    [payload] = delivered_payloads(webhook)
    sections = {s["theme"]: [e for g in s["groups"] for e in g["entries"]] for s in payload["sections"]}
    assert set(sections) == {"trade", "migration"}
    [story] = sections["trade"]
    assert story["title"] == "Original report" and story["source"] == "outlet-a"
    assert story["also_reported"] == [["outlet-b", "https://b.example/copy"]]


def test_a_copy_of_a_story_sent_earlier_comes_back_as_a_follow_up_not_a_new_story(sqlite_archive, webhook,
                                                                                  tmp_path):
    head = add_article("https://a.example/orig", source="outlet-a", title="Extradition report")
    config = config_with([{"type": "webhook", "url": webhook.url}], tmp_path)
    run_digest(config, sqlite_archive, "morning")
    add_article("https://b.example/copy", source="outlet-b", title="Extradition report (wire copy)",
                cluster_of=head)

    run_digest(config, sqlite_archive, "morning")

    first, second = delivered_payloads(webhook)
    assert payload_titles(first) == ["Extradition report"]
    assert payload_titles(second) == []
    [followup] = second["followups"]
    assert followup["title"] == "Extradition report"
    assert followup["also_reported"] == [["outlet-b", "https://b.example/copy"]]


def test_filter_keeps_only_the_digests_themes_and_sources(sqlite_archive, webhook, tmp_path):
    add_article("https://a.example/1", source="outlet-a", title="Trade in A", topic="rel", theme="trade")
    add_article("https://b.example/2", source="outlet-b", title="Trade in B", topic="rel", theme="trade")
    add_article("https://a.example/3", source="outlet-a", title="Sport in A", topic="rel", theme="sport")
    add_article("https://a.example/4", source="outlet-a", title="Irrelevant in A", relevant=False)
    config = config_with([{"type": "webhook", "url": webhook.url}], tmp_path,
                         filter={"themes": ["trade"], "sources": ["outlet-a"]},
                         topics=[{"name": "rel", "themes": [{"name": "trade", "rule": "trade"},
                                                            {"name": "sport", "rule": "sport"}]}])

    run_digest(config, sqlite_archive, "morning")

    assert payload_titles(delivered_payloads(webhook)[0]) == ["Trade in A"]


def test_events_candidates_contradictions_and_failing_sources_are_reported(sqlite_archive, webhook, tmp_path):
    aid = add_article("https://a.example/1", source="outlet-a", title="Summit coverage", topic="rel", theme="trade")
    with session_scope(sqlite_archive) as session:
        session.add(Event(id="summit-2026", title="Bogotá summit"))
        session.flush()
        session.add(EventMention(article_id=aid, event_id="summit-2026", sentence="The summit…", start_offset=0,
                                 end_offset=10, confidence=0.9))
        candidate = EventCandidate(title="Tariff pause announced")
        session.add(candidate)
        session.flush()
        session.add(CandidateSource(candidate_id=candidate.id, article_id=aid, sentence="A pause…",
                                    start_offset=0, end_offset=8))
        session.add(Contradiction(article_id=aid, event_id="summit-2026", fact="deaths", kind="timeline",
                                  stated_value="12", known_value="9", sentence="Twelve died."))
        source_b = session.scalar(select(Source.id).where(Source.name == "outlet-a"))
        session.add(Source(name="outlet-b"))
        session.flush()
        b_id = session.scalar(select(Source.id).where(Source.name == "outlet-b"))
        for minutes in (30, 20, 10):
            session.add(CrawlRun(source_id=b_id, status="failed", message="feed returned HTTP 503",
                                 started_at=utcnow() - timedelta(minutes=minutes)))
        session.add(CrawlRun(source_id=source_b, status="ok"))
    config = config_with([{"type": "webhook", "url": webhook.url}], tmp_path)

    run_digest(config, sqlite_archive, "morning")

    [payload] = delivered_payloads(webhook)
    [group] = payload["sections"][0]["groups"]
    assert group["title"] == "Bogotá summit"
    assert [c["title"] for c in payload["candidates"]] == ["Tariff pause announced"]
    assert [(c["fact"], c["stated_value"], c["known_value"]) for c in payload["contradictions"]] == [("deaths", "12", "9")]
    [failing] = payload["failing_sources"]
    assert failing["name"] == "outlet-b" and failing["failed_runs"] == 3
    assert failing["last_error"] == "feed returned HTTP 503"


# --- exactly once ---------------------------------------------------------------------------


def test_second_run_sends_only_newer_articles_and_nothing_when_nothing_is_new(archive, webhook, tmp_path):
    add_article("https://a.example/1", source="outlet-a", title="Old one")
    config = config_with([{"type": "webhook", "url": webhook.url}], tmp_path)

    first = run_digest(config, archive, "morning")
    add_article("https://a.example/2", source="outlet-a", title="New one")
    second = run_digest(config, archive, "morning")
    third = run_digest(config, archive, "morning")

    assert [r.status for r in first + second + third] == ["delivered", "delivered", "nothing-new"]
    assert [payload_titles(p) for p in delivered_payloads(webhook)] == [["Old one"], ["New one"]]
    with session_scope(archive) as session:
        assert session.scalar(select(func.count(DigestItem.id))) == 2
        assert set(session.scalars(select(DigestDelivery.status))) == {"delivered"}


def test_failed_webhook_is_resent_unchanged_and_newer_articles_get_a_new_delivery(archive, webhook, tmp_path):
    add_article("https://a.example/1", source="outlet-a", title="Before outage")
    config = config_with([{"type": "webhook", "url": webhook.url, "retries": 1}], tmp_path)
    webhook.replies = [500, 500]

    [failed] = run_digest(config, archive, "morning")
    add_article("https://a.example/2", source="outlet-a", title="During outage")
    retried, newer = run_digest(config, archive, "morning")
    [after] = run_digest(config, archive, "morning")

    assert failed.status == "failed" and "HTTP 500" in failed.detail
    assert retried.status == "delivered" and retried.delivery_key == failed.delivery_key
    assert newer.status == "delivered" and newer.delivery_key != failed.delivery_key
    assert after.status == "nothing-new"
    bodies = {}
    for headers, body in webhook.requests:
        bodies.setdefault(headers["x-newsmon-delivery"], set()).add(body)
    assert {len(b) for b in bodies.values()} == {1}  # every send of one id: the same bytes
    assert payload_titles(json.loads(next(iter(bodies[failed.delivery_key])))) == ["Before outage"]
    assert payload_titles(json.loads(next(iter(bodies[newer.delivery_key])))) == ["During outage"]
    with session_scope(archive) as session:
        deliveries = session.scalars(select(DigestDelivery).order_by(DigestDelivery.id)).all()
        assert [(d.status, d.attempts) for d in deliveries] == [("delivered", 2), ("delivered", 1)]


def test_send_empty_sends_a_digest_without_articles(sqlite_archive, webhook, tmp_path):
    quiet = config_with([{"type": "webhook", "url": webhook.url}], tmp_path)
    chatty = config_with([{"type": "webhook", "url": webhook.url}], tmp_path, send_empty=True)

    assert run_digest(quiet, sqlite_archive, "morning")[0].status == "nothing-new"
    assert run_digest(chatty, sqlite_archive, "morning")[0].status == "delivered"
    assert [payload_titles(p) for p in delivered_payloads(webhook)] == [[]]


def test_dry_run_shows_the_articles_and_records_nothing(sqlite_archive, webhook, tmp_path):
    add_article("https://a.example/1", source="outlet-a", title="Preview me")
    config = config_with([{"type": "webhook", "url": webhook.url}], tmp_path)

    [preview] = run_digest(config, sqlite_archive, "morning", dry_run=True)
    [real] = run_digest(config, sqlite_archive, "morning")

    assert preview.status == "dry-run" and [e.title for e in preview.content.entries] == ["Preview me"]
    assert real.status == "delivered" and len(webhook.requests) == 1


def test_bad_schedule_is_a_config_error_naming_the_digest(tmp_path):
    with pytest.raises(ConfigError, match="digest 'morning'.*'every day at 7'"):
        config_with([{"type": "markdown", "path": "x.md"}], tmp_path, schedule="every day at 7")
    with pytest.raises(ConfigError, match="digest 'morning'.*Mars/Olympus"):
        config_with([{"type": "markdown", "path": "x.md"}], tmp_path, timezone="Mars/Olympus")


def test_digest_command_previews_without_recording_then_sends(sqlite_archive, tmp_path, capsys):
    from newsmon.cli import main

    add_article("https://a.example/1", source="outlet-a", title="Command line story")
    path = tmp_path / "newsmon.yaml"
    path.write_text(json.dumps({"database_url": sqlite_archive, "digests": [
        {"name": "morning", "channels": [{"type": "markdown", "path": "out.md"}]}]}))

    preview_status = main(["--config", str(path), "digest", "morning", "--dry-run"])
    preview = capsys.readouterr().out
    recorded_after_preview = (tmp_path / "out.md").exists()
    send_status = main(["--config", str(path), "digest", "morning", "--send"])
    sent = capsys.readouterr().out
    again_status = main(["--config", str(path), "digest", "morning", "--send"])
    again = capsys.readouterr().out

    assert preview_status == 0 and "would send 1 articles" in preview and "Command line story" in preview
    assert not recorded_after_preview
    assert send_status == 0 and "sent 1 articles" in sent
    assert "Command line story" in (tmp_path / "out.md").read_text()
    assert again_status == 0 and "nothing new" in again


def test_two_senders_at_once_never_put_one_article_in_two_deliveries(archive, webhook, tmp_path):
    config = config_with([{"type": "webhook", "url": webhook.url}], tmp_path)
    for round_ in range(4):
        for n in range(5):
            add_article(f"https://a.example/{round_}/{n}", source="outlet-a", title=f"Story {round_}.{n}")
        barrier = threading.Barrier(2)

        def send():
            barrier.wait()
            run_digest(config, archive, "morning")

        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

    with session_scope(archive) as session:
        items = list(session.scalars(select(DigestItem.article_id)))
    assert len(items) == len(set(items)) == 20
    by_id: dict[str, set[str]] = {}
    for headers, body in webhook.requests:
        by_id.setdefault(headers["x-newsmon-delivery"], set()).update(payload_titles(json.loads(body)))
    titles = [t for ts in by_id.values() for t in ts]
    assert len(titles) == len(set(titles)) == 20


def test_digest_text_words_contradictions_like_report_in_the_digests_timezone(sqlite_archive, tmp_path):
    from newsmon.digests.render import render_html, render_markdown, render_text

    aid = add_article("https://a.example/visa?utm_campaign=x", source="outlet-a", title="Visa story")
    other = add_article("https://b.example/visa", source="outlet-b", title="Other visa story")
    with session_scope(sqlite_archive) as session:
        session.get(Article, aid).published_at = datetime(2025, 9, 26, 20, 30)  # 15:30 in Bogotá
        session.add(Event(id="visa", title="US revokes Petro's visa"))
        session.flush()
        session.add_all([
            Contradiction(article_id=aid, event_id="visa", fact="date", kind="internal", stated_value="26 September 2025",
                          known_value="17 Octobr 2025", sentence="It said 26 September 2025.",
                          other_sentence="It said 17 Octobr 2025."),
            Contradiction(article_id=aid, event_id="visa", fact="date", kind="timeline", stated_value="2025-10-17",
                          known_value="2025-09-26", sentence="On 17 October…", known_source="State Department"),
            Contradiction(article_id=aid, event_id="visa", fact="date", kind="article", stated_value="2025-10-17",
                          known_value="2025-09-26", sentence="On 17 October…", other_article_id=other,
                          other_sentence="On 26 September…"),
        ])
    config = config_with([{"type": "markdown", "path": "x.md"}], tmp_path, timezone="America/Bogota")

    [preview] = run_digest(config, sqlite_archive, "morning", dry_run=True)
    text, html, markdown = (render(preview.content) for render in (render_text, render_html, render_markdown))

    assert "outlet-a states both 26 September 2025 and 17 Octobr 2025 in one article" in text
    assert "known: 17 Octobr 2025" not in text and "known:" not in markdown
    assert "outlet-a states 2025-10-17, the timeline says 2025-09-26 (State Department)" in text
    assert "outlet-a states 2025-10-17, outlet-b says 2025-09-26" in text
    assert "It said 17 Octobr 2025." in text and "On 26 September…" in html
    assert "2025-09-26 15:30" in text and "America/Bogota" in preview.content.title
    assert "https://a.example/visa" in text and "utm_campaign" not in text + html + markdown
    assert "Delivery" not in text and "Delivery" not in html  # a preview has no delivery yet
    assert 'style="' in html and "<h2 style=" in html and "<style" not in html  # inline styles for mail clients
