"""The service (`newsmon run`) as a real subprocess: crawls the fixture site on
schedule, delivers digests, stops cleanly on SIGTERM, and survives SIGKILL in
the middle of a crawl and of a digest without losing or duplicating anything."""
from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

import scheduler
from crawler.config import load_config
from crawler.runlog import COUNT_NAMES
from conftest import add_article as conftest_add_article
from service_harness import STARTED_LOGS, child_pids, pid_alive, wait_for
from storage.db import migrate, session_scope
from storage.models import Article, ArticleVersion, CrawlRun, DigestDelivery, DigestItem, Source, utcnow

# Long-running service processes: two groups (service, service-b), each run one test after another on one xdist
# worker (`make test` uses -n 3 --dist loadgroup), the rest of the suite spread beside them.
pytestmark = pytest.mark.xdist_group("service")

SECRET = "service-test-secret"


# --- helpers -----------------------------------------------------------------------------------


def write_config(tmp_path: Path, data: dict) -> Path:
    data.setdefault("database_url", f"sqlite:///{tmp_path / 'archive.db'}")
    path = tmp_path / "newsmon.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def start_service(config_path: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, NEWSMON_WEBHOOK_SECRET=SECRET)
    env.pop("NEWSMON_DATABASE_URL", None)
    handle = open(log, "ab")
    if log not in STARTED_LOGS:
        STARTED_LOGS.append(log)
    return subprocess.Popen([sys.executable, "-m", "newsmon.cli", "--config", str(config_path),
                             "--log-format", "json", "run", "--stop-grace", "20"],
                            stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=config_path.parent)


def stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 60) -> tuple[int, float]:
    """Send ``sig``; return the exit status and how long the service took to exit."""
    t0 = time.monotonic()
    proc.send_signal(sig)
    code = proc.wait(timeout=timeout)
    return code, time.monotonic() - t0


def count(url: str, query) -> int:
    with session_scope(url) as session:
        return session.scalar(query)


def add_article(url: str, link: str, title: str) -> int:
    """A relevant article of source "outlet", its own cluster (as a digest picks it up)."""
    with session_scope(url) as session:
        article = conftest_add_article(session, source="outlet", url=link, title=title, text=f"{title}. Body.",
                                       version=False, relevant=True, first_seen=utcnow())
        article.cluster_id = article.id
        return article.id


class HoldingWebhook:
    """A webhook receiver that can hold requests unanswered (to kill the sender mid-send)
    and drops repeats by their X-Newsmon-Delivery id, as a real receiver would."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.hold = threading.Event()  # set: requests wait until `release` is set
        self.release = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                if receiver.hold.is_set():
                    receiver.release.wait(60)
                try:
                    self.send_response(200)
                    self.end_headers()
                except OSError:
                    pass  # the sender died while we held the request

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def deliveries(self) -> dict[str, list[str]]:
        """Distinct deliveries received: id → article titles."""
        out = {}
        for headers, body in self.requests:
            payload = json.loads(body)
            out[headers["x-newsmon-delivery"]] = sorted(
                e["title"] for s in payload["sections"] for g in s["groups"] for e in g["entries"])
        return out

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    receiver = HoldingWebhook()
    yield receiver
    receiver.close()


@pytest.fixture
def reaper():
    """Services started by a test, killed if the test fails half-way."""
    procs: list[subprocess.Popen] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- schedules ---------------------------------------------------------------------------------


def test_schedules_survive_a_restart_and_follow_config_changes(sqlite_url, tmp_path):
    base = {"database_url": sqlite_url,
            "sources": [{"name": "wire", "feeds": ["http://127.0.0.1:9/feed"], "check_interval_minutes": 60}],
            "digests": [{"name": "morning", "schedule": "daily at 07:00", "timezone": "America/Bogota",
                         "channels": [{"type": "markdown", "path": "m.md"}]}]}

    def next_runs(data: dict) -> dict:
        config = load_config(write_config(tmp_path, data))
        sched = scheduler.build_scheduler(sqlite_url)
        sched.start(paused=True)
        try:
            scheduler.sync_jobs(sched, scheduler.job_specs(config, str(config.path)))
            return {job.id: job.next_run_time for job in sched.get_jobs()}
        finally:
            sched.shutdown(wait=False)

    first = next_runs(base)
    again = next_runs(base)
    base["sources"][0]["check_interval_minutes"] = 30
    base["digests"] = []
    changed = next_runs(base)

    assert set(first) == {"source:wire", "digest:morning", "maintenance"}
    assert again == first
    assert first["digest:morning"].hour == 7 and str(first["digest:morning"].tzinfo) == "America/Bogota"
    assert set(changed) == {"source:wire", "maintenance"}
    assert changed["source:wire"] != first["source:wire"]


def test_a_failing_source_is_postponed_and_reported_while_others_keep_their_schedule(sqlite_url, tmp_path):
    config_path = write_config(tmp_path, {
        "database_url": sqlite_url, "crawl": {"feed_failure_limit": 2},
        "sources": [{"name": name, "feeds": ["http://127.0.0.1:9/feed"], "check_interval_minutes": 10}
                    for name in ("broken", "healthy")]})
    config = load_config(config_path)
    with session_scope(sqlite_url) as session:
        for name, statuses in (("broken", ["ok", "failed", "failed", "failed"]), ("healthy", ["failed", "ok"])):
            source = Source(name=name)
            session.add(source)
            session.flush()
            for minutes, status in zip(range(40, 0, -10), statuses):
                session.add(CrawlRun(source_id=source.id, status=status, message=f"{status} run",
                                     started_at=utcnow() - timedelta(minutes=minutes)))
    sched = scheduler.build_scheduler(sqlite_url)
    sched.start(paused=True)
    try:
        scheduler.sync_jobs(sched, scheduler.job_specs(config, str(config_path)))
        service = scheduler.Service(config_path=str(config_path), scheduler=sched)
        before = {job.id: job.next_run_time for job in sched.get_jobs()}
        for name in ("broken", "healthy"):
            scheduler._apply_backoff(config, name, 600, service)
        after = {job.id: job.next_run_time for job in sched.get_jobs()}
    finally:
        sched.shutdown(wait=False)
    from newsmon.servicecmd import collect_status

    status = {s["name"]: s for s in collect_status(config, sqlite_url)["sources"]}

    postponed = after["source:broken"] - datetime.now(timezone.utc)
    assert timedelta(minutes=39) < postponed <= timedelta(minutes=40)  # 3 failures, limit 2: 4 intervals
    assert after["source:healthy"] == before["source:healthy"]
    assert status["broken"]["consecutive_failures"] == 3 and status["broken"]["failing_since"] is not None
    assert abs(status["broken"]["next_run"] - after["source:broken"].replace(tzinfo=None)) < timedelta(seconds=0.01)
    assert status["healthy"]["consecutive_failures"] == 0 and status["healthy"]["failing_since"] is None


def test_backoff_doubles_after_the_failure_limit_up_to_the_cap():
    delays = [scheduler.backoff_delay(600, failures, 3, 3600) for failures in range(1, 7)]
    assert delays == [None, None, 1200, 2400, 3600, 3600]


# --- digests under the service -------------------------------------------------------------------


def test_sigkill_mid_digest_then_restart_delivers_it_once_with_the_same_id(tmp_path, webhook, reaper):
    config_path = write_config(tmp_path, {"digests": [{
        "name": "desk", "schedule": "every 2s",
        "channels": [{"type": "webhook", "url": webhook.url, "retries": 0}]}]})
    url = load_config(config_path).effective_database_url()
    migrate(url)
    for n in range(3):
        add_article(url, f"https://outlet.example/{n}", f"Story {n}")
    log = tmp_path / "service.log"
    webhook.hold.set()

    service = start_service(config_path, log)
    reaper.append(service)
    wait_for(lambda: webhook.requests, 30, "the digest to reach the webhook")
    service.send_signal(signal.SIGKILL)
    service.wait(10)
    with session_scope(url) as session:
        [pending] = session.scalars(select(DigestDelivery)).all()
        assert pending.status == "pending"
    add_article(url, "https://outlet.example/3", "Story 3")
    webhook.hold.clear()
    webhook.release.set()
    restarted = start_service(config_path, log)
    reaper.append(restarted)
    wait_for(lambda: count(url, select(func.count()).where(DigestDelivery.status == "delivered")) >= 1, 30,
             "the interrupted delivery to be completed")
    add_article(url, "https://outlet.example/4", "Story 4")
    wait_for(lambda: count(url, select(func.count(DigestItem.id)).join(DigestDelivery).where(
        DigestDelivery.status == "delivered")) == 5, 30, "the newer articles' deliveries")
    code, took = stop(restarted)

    received = webhook.deliveries()
    # The interrupted delivery is resent unchanged (same id, same body); newer stories get new ids.
    assert received[pending.delivery_key] == ["Story 0", "Story 1", "Story 2"]
    assert sorted(t for titles in received.values() for t in titles) == [f"Story {n}" for n in range(5)]
    bodies = {}
    for headers, body in webhook.requests:
        bodies.setdefault(headers["x-newsmon-delivery"], set()).add(body)
    assert all(len(b) == 1 for b in bodies.values())
    with session_scope(url) as session:
        deliveries = session.scalars(select(DigestDelivery).order_by(DigestDelivery.id)).all()
        assert {d.status for d in deliveries} == {"delivered"} and len(deliveries) >= 2
        assert deliveries[0].delivery_key == pending.delivery_key
        assert session.scalar(select(func.count(DigestItem.id))) == 5
    assert code == 0 and took < 30
    lines = log.read_text().splitlines()
    assert lines and all(json.loads(line)["msg"] for line in lines)


def test_second_signal_exits_at_once_while_a_delivery_hangs(tmp_path, webhook, reaper):
    config_path = write_config(tmp_path, {"digests": [{
        "name": "desk", "schedule": "every 2s", "channels": [{"type": "webhook", "url": webhook.url}]}]})
    url = load_config(config_path).effective_database_url()
    migrate(url)
    add_article(url, "https://outlet.example/0", "Story 0")
    webhook.hold.set()
    service = start_service(config_path, tmp_path / "service.log")
    reaper.append(service)
    wait_for(lambda: webhook.requests, 30, "the digest to reach the webhook")

    service.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    code, took = stop(service, signal.SIGTERM, timeout=10)

    assert code != 0 and took < 3
    assert count(url, select(func.count()).where(DigestDelivery.status == "pending")) == 1


# --- the service against the fixture site ---------------------------------------------------------


@pytest.fixture
def site():
    from newsmon.localsite import LocalNewsSite

    with LocalNewsSite() as running:
        yield running


def site_config(site, tmp_path: Path, *, names=None, interval_seconds: float = 2.0, crawl=None,
                digests=None) -> Path:
    sources = [s for s in site.sources() if names is None or s["name"] in names]
    for source in sources:
        source["check_interval_minutes"] = interval_seconds / 60
    return write_config(tmp_path, {
        "sources": sources,
        "crawl": {"download_delay": 0, "autothrottle": False, **(crawl or {})},
        "digests": digests or [],
    })


def archived_urls(url: str) -> set[str]:
    with session_scope(url) as session:
        return set(session.scalars(select(Article.canonical_url)))


def finished_runs(url: str, status: str | None = None) -> int:
    query = select(func.count(CrawlRun.id)).where(CrawlRun.status != "running")
    if status:
        query = query.where(CrawlRun.status == status)
    return count(url, query)


def newsmon(config_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("NEWSMON_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "newsmon.cli", "--config", str(config_path), *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_run_crawls_the_fixture_site_on_schedule_delivers_a_digest_and_stops_on_sigterm(
        site, tmp_path, webhook, reaper):
    config_path = site_config(site, tmp_path, names={"el-observador"}, digests=[{
        "name": "desk", "schedule": "every 3s", "channels": [{"type": "webhook", "url": webhook.url}]}])
    url = load_config(config_path).effective_database_url()
    migrate(url)

    service = start_service(config_path, tmp_path / "service.log")
    reaper.append(service)
    wait_for(lambda: finished_runs(url, "ok") >= 2, 150, "two scheduled crawl cycles")
    expected = count(url, select(func.count(Article.id)).where(Article.relevant.is_not(False)))
    wait_for(lambda: count(url, select(func.count(DigestItem.id)).join(DigestDelivery).where(
        DigestDelivery.status == "delivered")) >= expected, 60, "the digest to cover every archived article")
    status = json.loads(newsmon(config_path, "status", "--json").stdout)
    code, took = stop(service)

    assert expected > 0
    assert code == 0 and took < 30
    titles = [t for titles in webhook.deliveries().values() for t in titles]
    assert len(titles) == len(set(titles))
    with session_scope(url) as session:
        items = list(session.scalars(select(DigestItem.article_id)))
        assert len(items) == len(set(items)) == expected
    assert [s["name"] for s in status["sources"]] == ["el-observador"]
    for source in status["sources"]:
        assert source["last_run"] is not None and source["next_run"] is not None
        assert source["consecutive_failures"] == 0
    [digest] = status["digests"]
    assert digest["last_delivery"] is not None and digest["next_run"] is not None
    events = [json.loads(line) for line in (tmp_path / "service.log").read_text().splitlines()]
    assert {"newsmon.service", "newsmon.crawl", "newsmon.digests"} <= {e["logger"] for e in events}
    # The crawl children's structured fields reach the service's log: each run's counts, each new article.
    ends = {e["run_id"]: e for e in events if e.get("event") == "run_end"}
    new_urls = {e["url"] for e in events if e.get("event") == "page" and e.get("outcome") == "new"}
    with session_scope(url) as session:
        runs = {r.id: r for r in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(ends)))}
        archived = set(session.scalars(select(Article.url)))
    assert len(runs) == len(ends) >= 2
    for run_id, end in ends.items():
        assert end["source"] == "el-observador" and end["status"] == runs[run_id].status
        assert end["counts"] == {name: getattr(runs[run_id], name) for name in COUNT_NAMES}
    assert new_urls == archived


def test_sigkill_mid_crawl_then_restart_archives_every_article_exactly_once(site, tmp_path, reaper):
    from crawler.urls import canonicalize_url

    expected = {canonicalize_url(a["url"]) for a in site.articles() if a["outlet"] == "andean-post"}
    slow_dir = tmp_path / "service"
    slow_dir.mkdir()
    config_path = site_config(site, slow_dir, names={"andean-post"}, interval_seconds=3,
                              crawl={"download_delay": 1.0, "concurrent_requests_per_domain": 1,
                                     "concurrent_requests": 1})
    url = load_config(config_path).effective_database_url()
    migrate(url)
    log = slow_dir / "service.log"

    service = start_service(config_path, log)
    reaper.append(service)
    wait_for(lambda: 1 <= len(archived_urls(url)) and child_pids(service.pid), 90,
             "the first articles of a crawl still running")
    crawl_pids = child_pids(service.pid)
    service.send_signal(signal.SIGKILL)
    service.wait(10)
    wait_for(lambda: not any(pid_alive(pid) for pid in crawl_pids), 40, "the orphaned crawl to stop")
    at_kill = archived_urls(url)
    restarted = start_service(config_path, log)
    reaper.append(restarted)
    wait_for(lambda: archived_urls(url) >= expected, 120, "the interrupted crawl's pages to be archived")
    code, _ = stop(restarted)

    assert len(expected) >= 3 and 1 <= len(at_kill) < len(expected)
    assert archived_urls(url) == expected
    with session_scope(url) as session:
        assert session.scalar(select(func.count(ArticleVersion.id))) == len(expected)
        assert session.scalar(select(func.count(CrawlRun.id)).where(CrawlRun.status == "running")) == 0
    assert code == 0
