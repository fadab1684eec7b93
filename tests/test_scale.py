"""Scale-out (docs/scale.md) with real processes on loopback: Debian's
redis-server as Celery's broker (started here on a free port, no
persistence), PostgreSQL from conftest, ``newsmon worker`` processes standing
in for two hosts and one ``newsmon run`` enqueuing due work.

Skipped, with the reason shown, when redis-server is not installed — and
failed instead under ``NEWSMON_REQUIRE_REDIS=1`` (``make test`` sets it)."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from conftest import FAST, create_pg_database, free_port
from service_harness import (DedupWebhook, GrowingSite, archive_report, log_events, newsmon, overlapping_crawls,
                             pid_alive, service_env, start_daemon, status, stop_daemon, wait_for, write_config)

# Long-running service processes: two groups (service, service-b), each run one test after another on one xdist
# worker (`make test` uses -n 3 --dist loadgroup), the rest of the suite spread beside them.
pytestmark = [pytest.mark.timeout(600), pytest.mark.xdist_group("service-b")]


class RedisServer:
    """Debian's redis-server on 127.0.0.1 and a free port, without persistence
    (``--save '' --appendonly no``): stopping it loses every queued message."""

    def __init__(self, binary: str):
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="newsmon-redis-"))
        self.proc: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start()

    def start(self) -> None:
        log = open(self.dir / "redis.log", "ab")
        try:
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--daemonize", "no", "--dir", str(self.dir), "--protected-mode", "no"],
                stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        wait_for(self._pong, 60, "redis-server to answer PING")

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # by its PID
            self.proc.wait(30)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _redis_binary() -> str:
    found = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server")
                                             else None)
    if found is None:
        if os.environ.get("NEWSMON_REQUIRE_REDIS") == "1":
            pytest.fail("NEWSMON_REQUIRE_REDIS=1 but redis-server is not installed (apt-get install redis-server)")
        pytest.skip("redis-server not installed: apt-get install redis-server (Celery's broker for these tests)")
    return found


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer(_redis_binary())
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def own_redis():
    """A redis-server of this test's own, to stop and start under running processes."""
    server = RedisServer(_redis_binary())
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def pg_url(postgres_server):
    from storage.db import migrate

    url = create_pg_database(postgres_server)
    migrate(url)
    return url


class CopySite(GrowingSite):
    """GrowingSite where some stories repeat another source's story under a new headline."""

    copy_of: dict[int, int] = {}

    def _prose(self, n: int) -> list[str]:
        return super()._prose(self.copy_of.get(n, n))


class Procs:
    """Workers and services a test started: stopped (by PID) at the end, even when it fails."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.all: list[subprocess.Popen] = []

    def worker(self, config: Path, name: str, *args: str) -> tuple[subprocess.Popen, Path]:
        log = self.tmp / f"{name}.log"
        handle = open(log, "ab")
        try:
            proc = subprocess.Popen([sys.executable, "-P", "-m", "newsmon.cli", "--config", str(config),
                                     "--log-format", "json", "worker", "--concurrency", "1", *args],
                                    stdout=handle, stderr=subprocess.STDOUT, env=service_env(), cwd=config.parent)
        finally:
            handle.close()
        self.all.append(proc)
        return proc, log

    def service(self, config: Path) -> tuple[subprocess.Popen, Path]:
        log = self.tmp / "service.log"
        proc = start_daemon(config, log)
        self.all.append(proc)
        return proc, log

    def close(self) -> None:
        for proc in self.all:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.all:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)


@pytest.fixture
def procs(tmp_path):
    p = Procs(tmp_path)
    try:
        yield p
    finally:
        p.close()


def scale_config(tmp_path: Path, db_url: str, broker: str, sources: list[dict], **service) -> Path:
    return write_config(tmp_path / "newsmon.yaml", {
        "database_url": db_url, "sources": sources,
        "crawl": {**FAST, "analysis_workers": 0, **service.pop("crawl", {})},
        "service": {"broker_url": broker, "queue_prefix": f"t{os.getpid()}-{tmp_path.name}"[-60:], **service}})


def messages(log: Path) -> list[str]:
    return [e.get("msg", "") for e in log_events(log)] if log.exists() else []


def live_workers(url: str) -> list[dict]:
    """What ``newsmon status`` lists as workers, read in this process (quicker to poll)."""
    from newsmon.scale.status import workers
    from storage.db import session_scope

    with session_scope(url) as session:
        return workers(session)


def archived(url: str) -> set[str]:
    from storage.db import session_scope
    from storage.models import Article

    with session_scope(url) as session:
        return set(session.scalars(select(Article.canonical_url)))


def assert_filed_once(url: str, site: GrowingSite) -> None:
    report = archive_report(url)
    assert report["urls"] == site.urls()
    assert report["articles"] == report["distinct_urls"] == len(site.urls())
    assert report["versions"] == report["articles"]
    assert all(v == 0 for v in report["orphans"].values()), report["orphans"]
    assert overlapping_crawls(url) == []


def runs_per_source(url: str) -> dict[str, int]:
    from sqlalchemy import func

    from storage.db import session_scope
    from storage.models import CrawlRun, Source

    with session_scope(url) as session:
        return dict(session.execute(select(Source.name, func.count(CrawlRun.id)).join(CrawlRun)
                                    .where(CrawlRun.status != "running").group_by(Source.name)).all())


def test_two_workers_poll_every_source_once_per_interval(redis_server, pg_url, tmp_path, procs):
    site = CopySite(("alpha", "beta", "gamma"))
    CopySite.copy_of = {5: 0}  # gamma's story 5 is alpha's story 0 under another headline
    interval = 30.0
    try:
        site.publish(6)
        config = scale_config(tmp_path, pg_url, redis_server.url, site.source_configs(interval))
        (_, log_a), (_, log_b) = procs.worker(config, "worker-a"), procs.worker(config, "worker-b")
        # both workers beat in the archive; status lists them and the (empty) queues
        seen = wait_for(lambda: len((s := status(config))["workers"]) == 2 and s, 120, "two worker heartbeats")
        assert {w["queues"][0].rsplit(".", 1)[1] for w in seen["workers"]} <= {"analysis", "digest", "poll"}
        assert set(seen["queues"]["waiting"]) == {f"{config_prefix(config)}.{k}" for k in ("poll", "analysis",
                                                                                              "digest")}
        text_status = newsmon(config, "status")
        assert text_status.returncode == 0 and "Workers: 2" in text_status.stdout, text_status.stdout
        started = time.monotonic()
        service, service_log = procs.service(config)
        wait_for(lambda: archived(pg_url) >= site.urls(), 300, "every story of round 1 archived")
        site.publish(3)
        wait_for(lambda: archived(pg_url) >= site.urls(), 300, "every story of round 2 archived")
        assert stop_daemon(service) == 0
        elapsed = time.monotonic() - started
        wait_for(lambda: not any(w["running"] for w in live_workers(pg_url)), 300,
                 "the workers to finish the polls they had")
    finally:
        site.close()
    assert_filed_once(pg_url, site)
    # the scheduler enqueues each source once per interval: no more polls than due times
    runs = runs_per_source(pg_url)
    assert set(runs) == {"alpha", "beta", "gamma"}
    assert all(2 <= n <= elapsed / interval + 2 for n in runs.values()), (runs, elapsed)
    # both "hosts" polled
    for log in (log_a, log_b):
        assert any(re.match(r"poll \w+: finished with exit status 0", m) for m in messages(log)), messages(log)[-20:]
    enqueued = [m for m in messages(service_log) if m.startswith("poll ") and "enqueued" in m]
    assert {m.split()[1].rstrip(":") for m in enqueued} == {"alpha", "beta", "gamma"}
    # the copy on gamma is linked to alpha's story
    from storage.db import session_scope
    from storage.models import Article

    with session_scope(pg_url) as session:
        clusters = dict(session.execute(select(Article.canonical_url, Article.cluster_id)).all())
        ids = dict(session.execute(select(Article.canonical_url, Article.id)).all())
    original, copy = f"{site.base}/alpha/a/0.html", f"{site.base}/gamma/a/5.html"
    # One cluster: its head is whichever copy was filed first (two workers file them concurrently).
    assert clusters[copy] is not None and clusters[copy] == clusters[original] in (ids[original], ids[copy])
    assert len({clusters[u] or ids[u] for u in clusters}) == len(clusters) - 1  # nothing else linked


def config_prefix(config: Path) -> str:
    import yaml

    return yaml.safe_load(config.read_text())["service"]["queue_prefix"]


def test_a_worker_killed_mid_poll_its_task_runs_again_elsewhere(redis_server, pg_url, tmp_path, procs):
    site = GrowingSite(("alpha",))
    site.page_delay = 4.0  # one page at a time (below): the crawl takes a while
    try:
        site.publish(8)
        config = scale_config(tmp_path, pg_url, redis_server.url, site.source_configs(600),
                              visibility_timeout_seconds=20, crawl={"concurrent_requests_per_domain": 1})
        worker_a, log_a = procs.worker(config, "worker-a")
        wait_for(lambda: live_workers(pg_url), 120, "worker A's heartbeat")
        service, service_log = procs.service(config)
        running = wait_for(lambda: archived(pg_url) and live_workers(pg_url)[0]["running"], 300,
                           "worker A to poll alpha and file its first story")
        crawl_pid = running[0]["pid"]
        assert running[0]["what"] == "poll alpha"
        os.kill(worker_a.pid, signal.SIGKILL)
        worker_a.wait(30)
        wait_for(lambda: not pid_alive(crawl_pid), 60, "the crawl process of the killed worker to die with it")
        before = archived(pg_url)
        assert before < site.urls()  # it was killed mid-task
        _, log_b = procs.worker(config, "worker-b")
        wait_for(lambda: archived(pg_url) >= site.urls(), 400, "worker B to run the task again and file the rest")
        wait_for(lambda: any("poll alpha: finished" in m for m in messages(log_b)), 120, "worker B to finish")
        assert stop_daemon(service) == 0
    finally:
        site.close()
    assert_filed_once(pg_url, site)
    # one task, enqueued once, received by A, finished by B
    enqueued = [m for m in messages(service_log) if m.startswith("poll alpha: enqueued")]
    assert len(enqueued) == 1, enqueued
    task_id = re.search(r"task ([0-9a-f-]+)", enqueued[0]).group(1)
    assert any(task_id in m for m in messages(log_a))
    assert any(task_id in m and "succeeded" in m for m in messages(log_b)), messages(log_b)[-10:]
    assert archive_report(pg_url)["running_runs"] == 0


def test_broker_stopped_and_started_loses_nothing(own_redis, sqlite_url, tmp_path, procs):
    site = GrowingSite(("alpha", "beta"))
    try:
        site.publish(4)
        config = scale_config(tmp_path, sqlite_url, own_redis.url, site.source_configs(10))
        procs.worker(config, "worker", "--child-start", "cold")  # the other start (the rest: warm)
        wait_for(lambda: live_workers(sqlite_url), 120, "the worker's heartbeat")
        service, service_log = procs.service(config)
        wait_for(lambda: archived(sqlite_url) >= site.urls(), 300, "round 1 archived")
        own_redis.stop()
        site.publish(4)  # published while the broker is down

        def enqueue_errors():
            members = status(config)["service"]["members"]
            return [e for m in members for e in m["errors"] if e["what"].startswith("enqueue poll")]

        wait_for(lambda: len(enqueue_errors()) >= 3, 240, "due polls refused by the broker that is down")
        down = [m for m in messages(service_log) if "unreachable" in m]
        assert len(down) == 1 and "nothing is lost" in down[0], down  # one clear line, not one per due time
        assert "broker unreachable" in newsmon(config, "status").stdout
        own_redis.start()
        wait_for(lambda: archived(sqlite_url) >= site.urls(), 400, "the stories published meanwhile archived")
        assert any("reachable again" in m for m in messages(service_log))
        assert stop_daemon(service) == 0
    finally:
        site.close()
    assert_filed_once(sqlite_url, site)


def test_digest_enqueued_sent_by_a_worker_killed_mid_send_and_run_twice_each_article_once(redis_server, pg_url,
                                                                                         tmp_path, procs):
    """The leader enqueues the digest, a worker sends it; SIGKILL of that worker
    while the receiver holds its POST, another worker takes over; the task run
    twice more by hand: every article in exactly one delivery, each delivery
    id always with the same body (a receiver dropping repeated ids sees every
    article once)."""
    from newsmon.scale import TASK_DIGEST
    from newsmon.scale.app import celery_app
    from crawler.config import read_config
    from storage.db import session_scope
    from storage.models import DigestDelivery, DigestItem

    site = GrowingSite(("alpha",))
    hook = DedupWebhook(hold_seconds=3.0)  # a window to kill the sender in
    try:
        site.publish(4)
        config = scale_config(tmp_path, pg_url, redis_server.url, site.source_configs(3600))
        config = write_config(config, {**__import__("yaml").safe_load(config.read_text()), "digests": [
            {"name": "desk", "schedule": "every 2s", "channels": [{"type": "webhook", "url": hook.url, "retries": 0}]}]})
        assert newsmon(config, "crawl", timeout=300).returncode == 0
        worker_a, log_a = procs.worker(config, "worker-a", "--queues", "digest")
        wait_for(lambda: live_workers(pg_url), 120, "worker A's heartbeat")
        service, service_log = procs.service(config)
        assert hook.arrived.wait(180), "no digest arrived"
        os.kill(worker_a.pid, signal.SIGKILL)  # while the receiver holds its POST
        worker_a.wait(30)
        first_key = hook.posts[0][0]
        _, log_b = procs.worker(config, "worker-b", "--queues", "digest")
        site.publish(3)  # newer articles, filed while B starts and resends: in new deliveries only
        assert newsmon(config, "crawl", timeout=300).returncode == 0
        wait_for(lambda: set(hook.times_delivered()) >= site.titles(), 300, "every article delivered by worker B")
        wait_for(lambda: not any(w["running"] for w in live_workers(pg_url)), 120, "worker B to finish its send")
        assert stop_daemon(service) == 0
        app = celery_app(read_config(config))
        again = [app.send_task(TASK_DIGEST, args=[config.read_text(), str(config), "desk"]) for _ in range(2)]
        results = [r.get(timeout=180) for r in again]
    finally:
        site.close()
        hook.close()
    assert [[r["status"] for r in result] for result in results] == [["nothing-new"]] * 2, results
    assert hook.times_delivered() == {title: 1 for title in site.titles()}
    assert all(len(bodies) == 1 for bodies in hook.bodies_per_id().values())  # a resend is the same delivery
    assert [key for key, _ in hook.posts].count(first_key) >= 2  # A's send, then B's resend under its id
    with session_scope(pg_url) as session:
        items = session.execute(select(DigestItem.article_id, DigestItem.delivery_id)).all()
        statuses = set(session.scalars(select(DigestDelivery.status)))
    assert len(items) == len({article for article, _ in items}) == len(site.titles())
    assert statuses == {"delivered"}
    assert any(re.search(r"digest desk: enqueued", m) for m in messages(service_log))
    assert any("send_digest" in m and "succeeded" in m for m in messages(log_b))


def _dump(url: str) -> dict:
    """The rows re-extraction writes, without times and surrogate ids of new rows."""
    from storage.db import session_scope

    queries = {
        "articles": "SELECT id, title, author, published_at, language, text, text_hash, tags, cluster_id "
                    "FROM articles ORDER BY id",
        "versions": "SELECT article_id, version, title, text_hash, extractor FROM article_versions "
                    "ORDER BY article_id, version",
        "topics": "SELECT * FROM article_topics ORDER BY 1, 2",
    }
    out = {}
    with session_scope(url) as session:
        for name, query in queries.items():
            out[name] = [tuple(str(v) for v in row) for row in session.execute(text(query)).all()]
    return out


def test_reextract_distributed_gives_the_rows_of_a_single_process_reextract(redis_server, postgres_server,
                                                                          tmp_path, procs):
    from sqlalchemy import create_engine

    from storage.db import migrate, session_scope
    from storage.models import Article

    site = GrowingSite(("alpha", "beta"))
    try:
        site.publish(14)
        single = create_pg_database(postgres_server)
        migrate(single)
        config = scale_config(tmp_path, single, redis_server.url, site.source_configs(600), reextract_chunk=3)
        done = newsmon(config, "crawl", timeout=400)
        assert done.returncode == 0, done.stderr[-2000:]
    finally:
        site.close()
    with session_scope(single) as session:  # as an older extractor might have left them
        for n, article in enumerate(session.scalars(select(Article).order_by(Article.id))):
            if n % 3 == 0:
                article.text, article.text_hash = article.text[:120], f"stale-{n}"
            elif n % 3 == 1:
                article.title = "Headline | Site"
    from storage.db import get_engine

    get_engine(single).dispose()  # no session of ours on the template
    distributed = create_pg_database(postgres_server)
    engine = create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:  # the same archive twice
        conn.execute(text(f'DROP DATABASE "{distributed.rsplit("/", 1)[1]}"'))
        conn.execute(text(f'CREATE DATABASE "{distributed.rsplit("/", 1)[1]}" TEMPLATE "{single.rsplit("/", 1)[1]}"'))
    engine.dispose()
    assert _dump(single) == _dump(distributed)
    procs.worker(config, "worker-a", "--queues", "analysis")
    procs.worker(config, "worker-b", "--queues", "analysis")
    wait_for(lambda: len(live_workers(single)) == 2, 120, "two worker heartbeats")
    one = newsmon(config, "reextract", timeout=400)
    assert one.returncode == 0, one.stderr[-2000:]
    env_config = write_config(tmp_path / "distributed.yaml", {**__import__("yaml").safe_load(config.read_text()),
                                                              "database_url": distributed})
    many = newsmon(env_config, "reextract", "--distributed", timeout=400)
    assert many.returncode == 0, many.stderr[-2000:]
    assert many.stdout == one.stdout
    assert re.search(r"Re-extracted 14 articles: 5 with a new text \(new version\), 5 with changed metadata",
                     one.stdout), one.stdout
    assert _dump(single) == _dump(distributed)
    chunks = [e for e in log_events(tmp_path / "worker-a.log") + log_events(tmp_path / "worker-b.log")
              if "reextract_chunk" in e.get("msg", "") and "succeeded" in e.get("msg", "")]
    assert len(chunks) == 5  # 14 articles in chunks of 3
    bad = newsmon(write_config(tmp_path / "nobroker.yaml", {"database_url": distributed}), "reextract",
                  "--distributed")
    assert bad.returncode == 2 and "needs a broker" in bad.stderr and bad.stderr.count("\n") == 1


def test_worker_without_a_broker_is_one_line_and_exit_2(sqlite_url, tmp_path):
    config = write_config(tmp_path / "newsmon.yaml", {"database_url": sqlite_url})
    done = newsmon(config, "worker")
    assert done.returncode == 2 and "no broker configured" in done.stderr and done.stderr.count("\n") == 1
    done = newsmon(config, "worker", "--queues", "poll,everything")
    assert done.returncode == 2 and "--queues" in done.stderr
    bad = write_config(tmp_path / "bad.yaml", {"database_url": sqlite_url, "service": {"broker_url": "amqp://x"}})
    done = newsmon(bad, "worker")
    assert done.returncode == 2 and "service.broker_url" in done.stderr and "Redis URL" in done.stderr
