"""Real-process helpers for the service tests and bench/kill_soak.py: a news
site whose articles keep appearing (and that can fail on purpose), a webhook
receiver that drops repeated delivery ids, daemons started and killed for
real, and the checks a user would make on the archive afterwards."""
from __future__ import annotations

import http.server
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
WORDS = ("river harbor council senate budget tariff mayor strike market quarry valley bridge railway ferry "
         "drought harvest vaccine clinic teacher museum festival lawsuit verdict pension embassy visa border "
         "coffee copper lithium nickel refinery pipeline turbine reservoir glacier volcano monsoon hurricane "
         "orchard vineyard cattle fishery lagoon canyon plateau summit archive ledger auditor minister envoy "
         "treaty accord cabinet deputy governor province district village citizen farmer miner nurse pilot "
         "sailor driver engineer chemist author painter singer dancer athlete coach referee stadium trophy "
         "airport harbour tunnel highway junction station terminal warehouse factory foundry laboratory").split()


# Logs of the daemons this test process started, newest last: a timed-out wait shows their tails.
STARTED_LOGS: list[Path] = []


def log_tails(since: float = 0.0, lines: int = 25) -> str:
    """The last lines of the started daemons' logs written to after ``since`` (a time.time())."""
    out = []
    for log in STARTED_LOGS[-3:]:
        try:
            if log.stat().st_mtime < since:
                continue  # an earlier test's daemon
            tail = log.read_text(errors="replace").splitlines()[-lines:]
        except OSError as exc:
            tail = [f"(unreadable: {exc})"]
        out.append(f"--- last {len(tail)} lines of {log}:\n" + "\n".join(tail))
    return "\n".join(out)


def wait_for(condition, timeout: float, what: str, interval: float = 0.3):
    started = time.time()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{log_tails(started)}".rstrip())


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # a client killed mid-request: expected here
        pass


# --- a site whose articles keep appearing ------------------------------------------------------


class GrowingSite:
    """Feeds ``/<source>/feed.xml`` listing every article published so far,
    article pages ``/<source>/a/<n>.html`` with distinct prose. ``fault_rate``
    of the requests (0..1) get a 503 or a connection reset instead."""

    def __init__(self, sources=("alpha", "beta"), seed: int = 7):
        self.sources = list(sources)
        self.articles: list[tuple[str, int, str]] = []  # (source, n, title)
        self.fault_rate = 0.0
        self.faults = 0
        self.page_delay = 0.0  # seconds each article page takes (to catch a crawl in the middle)
        self.served: dict[str, int] = {}  # article path -> 200 responses
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                site._handle(self)

            def log_message(self, *args):
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def publish(self, count: int = 1) -> None:
        with self._lock:
            for _ in range(count):
                n = len(self.articles)
                source = self.sources[n % len(self.sources)]
                words = [WORDS[(n * 7 + i) % len(WORDS)] for i in range(3)]
                self.articles.append((source, n, f"Soak story {n}: {' '.join(words)}"))

    def urls(self) -> set[str]:
        with self._lock:
            return {f"{self.base}/{source}/a/{n}.html" for source, n, _ in self.articles}

    def titles(self) -> set[str]:
        with self._lock:
            return {title for _, _, title in self.articles}

    def source_configs(self, interval_seconds: float = 1.0) -> list[dict]:
        return [{"name": source, "language": "en", "feeds": [f"{self.base}/{source}/feed.xml"],
                 "allowed_domains": ["127.0.0.1"], "horizon_days": 3650, "allow_private_addresses": True,
                 "check_interval_minutes": interval_seconds / 60} for source in self.sources]

    def _prose(self, n: int) -> list[str]:
        rng = random.Random(n * 7919 + 13)
        return [" ".join(rng.choice(WORDS) for _ in range(40)).capitalize() + "." for _ in range(5)]

    def _handle(self, request) -> None:
        with self._lock:
            fault = self.fault_rate and self._random.random() < self.fault_rate
            reset = self._random.random() < 0.5
            if fault:
                self.faults += 1
            articles = list(self.articles)
        if fault:
            if reset:  # RST instead of an answer
                request.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                request.close_connection = True
                return
            return self._reply(request, 503, "text/plain", b"overloaded, try later")
        parts = request.path.strip("/").split("/")
        if len(parts) == 2 and parts[1] == "feed.xml" and parts[0] in self.sources:
            return self._reply(request, 200, "application/rss+xml", self._feed(parts[0], articles))
        if len(parts) == 3 and parts[1] == "a" and parts[2].endswith(".html"):
            number = parts[2][:-5]
            found = [a for a in articles if a[0] == parts[0] and str(a[1]) == number]
            if found:
                if self.page_delay:
                    time.sleep(self.page_delay)
                with self._lock:
                    self.served[request.path] = self.served.get(request.path, 0) + 1
                return self._reply(request, 200, "text/html; charset=utf-8", self._page(*found[0]))
        return self._reply(request, 404, "text/plain", b"not found")

    def _reply(self, request, status: int, content_type: str, body: bytes) -> None:
        try:
            request.send_response(status)
            request.send_header("Content-Type", content_type)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except OSError:
            pass

    def _when(self, n: int) -> datetime:
        return datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=n)

    def _feed(self, source: str, articles) -> bytes:
        items = "".join(
            f"<item><title>{title}</title><link>{self.base}/{s}/a/{n}.html</link>"
            f"<pubDate>{format_datetime(self._when(n))}</pubDate></item>"
            for s, n, title in articles if s == source)
        return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{source}</title>'
                f"<link>{self.base}/{source}/</link><description>soak</description>{items}</channel></rss>").encode()

    def _page(self, source: str, n: int, title: str) -> bytes:
        paragraphs = "".join(f"<p>{p}</p>" for p in self._prose(n))
        return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
                f'<meta property="article:published_time" content="{self._when(n).isoformat()}">'
                f'<link rel="canonical" href="{self.base}/{source}/a/{n}.html"></head><body>'
                f"<article><h1>{title}</h1><p class=byline>By Soak Desk</p>{paragraphs}</article>"
                f"</body></html>").encode()


# --- a webhook receiver that drops repeated delivery ids ----------------------------------------


class DedupWebhook:
    """Every POST is recorded; ``accepted`` keeps the first of each delivery id,
    as a receiver following docs/deploy.md would."""

    def __init__(self, hold_seconds: float = 0.0):
        self.posts: list[tuple[str, bytes]] = []
        self.accepted: dict[str, list[str]] = {}
        self.hold_seconds = hold_seconds  # answer each POST this late (a window to kill the sender in)
        self.arrived = threading.Event()  # set on every POST
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                key = self.headers["X-Newsmon-Delivery"]
                with receiver._lock:
                    receiver.posts.append((key, body))
                    if key not in receiver.accepted:
                        payload = json.loads(body)
                        receiver.accepted[key] = sorted(
                            e["title"] for s in payload["sections"] for g in s["groups"] for e in g["entries"])
                receiver.arrived.set()
                if receiver.hold_seconds:
                    time.sleep(receiver.hold_seconds)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def times_delivered(self) -> dict[str, int]:
        """Article title -> in how many accepted (distinct-id) deliveries it came."""
        out: dict[str, int] = {}
        with self._lock:
            for titles in self.accepted.values():
                for title in titles:
                    out[title] = out.get(title, 0) + 1
        return out

    def bodies_per_id(self) -> dict[str, set[bytes]]:
        out: dict[str, set[bytes]] = {}
        with self._lock:
            for key, body in self.posts:
                out.setdefault(key, set()).add(body)
        return out


# --- daemons --------------------------------------------------------------------------------------


def write_config(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def service_env() -> dict:
    env = dict(os.environ)
    env.pop("NEWSMON_DATABASE_URL", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def start_daemon(config_path: Path, log: Path, cwd: Path | None = None) -> subprocess.Popen:
    """``newsmon run`` as its console script would start it (-P: the working directory is not on sys.path)."""
    handle = open(log, "ab")
    if log not in STARTED_LOGS:
        STARTED_LOGS.append(log)
    try:
        return subprocess.Popen([sys.executable, "-P", "-m", "newsmon.cli", "--config", str(config_path),
                                 "--log-format", "json", "run", "--stop-grace", "10"],
                                stdout=handle, stderr=subprocess.STDOUT, env=service_env(),
                                cwd=cwd or config_path.parent)
    finally:
        handle.close()


def newsmon(config_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-P", "-m", "newsmon.cli", "--config", str(config_path), *args],
                          capture_output=True, text=True, env=service_env(), timeout=timeout, cwd=REPO)


def status(config_path: Path) -> dict:
    done = newsmon(config_path, "status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def child_pids(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def stop_daemon(proc: subprocess.Popen, timeout: float = 60) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=timeout)


def log_events(log: Path) -> list[dict]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append({"msg": line})
    return out


# --- what a user checks afterwards -----------------------------------------------------------------


def archive_report(url: str) -> dict:
    """Articles, versions, orphans and unfinished rows, straight from the archive."""
    from sqlalchemy import func, select, text

    from storage.db import session_scope
    from storage.models import Article, ArticleVersion, CrawlRun, DigestDelivery, DigestItem

    with session_scope(url) as session:
        canonical = list(session.scalars(select(Article.canonical_url)))
        orphans = {
            "versions without article": session.scalar(text(
                "SELECT COUNT(*) FROM article_versions v LEFT JOIN articles a ON a.id = v.article_id "
                "WHERE a.id IS NULL")),
            "items without delivery or article": session.scalar(text(
                "SELECT COUNT(*) FROM digest_items i LEFT JOIN digest_deliveries d ON d.id = i.delivery_id "
                "LEFT JOIN articles a ON a.id = i.article_id WHERE d.id IS NULL OR a.id IS NULL")),
            "articles without version": session.scalar(text(
                "SELECT COUNT(*) FROM articles a WHERE NOT EXISTS "
                "(SELECT 1 FROM article_versions v WHERE v.article_id = a.id)")),
            "fetches without run": session.scalar(text(
                "SELECT COUNT(*) FROM fetches f LEFT JOIN crawl_runs r ON r.id = f.crawl_run_id "
                "WHERE f.crawl_run_id IS NOT NULL AND r.id IS NULL")),
            "signatures without article": session.scalar(text(
                "SELECT COUNT(*) FROM article_signatures s LEFT JOIN articles a ON a.id = s.article_id "
                "WHERE a.id IS NULL")),
        }
        report = {
            "articles": len(canonical), "distinct_urls": len(set(canonical)), "urls": set(canonical),
            "versions": session.scalar(select(func.count(ArticleVersion.id))),
            "orphans": orphans,
            "running_runs": session.scalar(select(func.count(CrawlRun.id)).where(CrawlRun.status == "running")),
            "items": session.scalar(select(func.count(DigestItem.id))),
            "distinct_items": session.scalar(select(func.count(func.distinct(DigestItem.article_id)))),
            "delivered_items": session.scalar(select(func.count(DigestItem.id)).join(DigestDelivery).where(
                DigestDelivery.status == "delivered")),
            "unfinished_deliveries": session.scalar(select(func.count(DigestDelivery.id)).where(
                DigestDelivery.status != "delivered")),
        }
        if session.get_bind().dialect.name == "sqlite":
            report["integrity"] = session.execute(text("PRAGMA integrity_check")).scalar()
            report["foreign_key_violations"] = len(session.execute(text("PRAGMA foreign_key_check")).all())
    return report


def overlapping_crawls(url: str) -> list[str]:
    """Pairs of runs of one source whose fetches interleave (two crawls of it at once)."""
    from sqlalchemy import func, select

    from storage.db import session_scope
    from storage.models import CrawlRun, Fetch

    with session_scope(url) as session:
        rows = session.execute(
            select(CrawlRun.source_id, CrawlRun.id, func.min(Fetch.fetched_at), func.max(Fetch.fetched_at))
            .join(Fetch, Fetch.crawl_run_id == CrawlRun.id).group_by(CrawlRun.source_id, CrawlRun.id)
            .order_by(CrawlRun.source_id, func.min(Fetch.fetched_at))).all()
    out = []
    for before, after in zip(rows, rows[1:]):
        if before[0] == after[0] and after[2] < before[3]:
            out.append(f"source {before[0]}: run {before[1]} ({before[2]}..{before[3]}) and run {after[1]} "
                       f"({after[2]}..{after[3]})")
    return out


# --- a throw-away PostgreSQL server of a test's own ---------------------------------------------


class OwnPostgres:
    """A PostgreSQL server for one test (to stop and start it under a running service)."""

    def __init__(self, bin_dir: Path):
        from conftest import _as_pg_user, free_port

        self._as_pg_user = _as_pg_user
        self.bin = bin_dir
        self.tmp = Path(tempfile.mkdtemp(prefix="newsmon-own-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.tmp, "postgres", "postgres")
            os.chmod(self.tmp, 0o700)
        self.data = self.tmp / "data"
        self.port = free_port()
        subprocess.run(_as_pg_user([str(bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                                    "--no-sync", "-E", "UTF8", "--locale=C"]), check=True, capture_output=True)
        self.start()
        self.base_url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def start(self) -> None:
        subprocess.run(self._as_pg_user([
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.tmp / "server.log"), "-w", "-t", "60",
            "-o", f"-h 127.0.0.1 -p {self.port} -k {self.tmp} -c fsync=off -c max_connections=100", "start"]),
            check=True, capture_output=True)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(self._as_pg_user([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                                         "stop"]), capture_output=True)

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.tmp, ignore_errors=True)


# --- the kill -9 soak ------------------------------------------------------------------------------


def soak_config(workdir: Path, url: str, site: GrowingSite, hook: DedupWebhook, *, interval: float = 1.0,
                crawl: dict | None = None) -> Path:
    return write_config(workdir / "newsmon.yaml", {
        "database_url": url,
        "sources": site.source_configs(interval),
        # No resting of feeds (the faults are the test's own), and quick retries.
        "crawl": {"download_delay": 0, "autothrottle": False, "feed_failure_limit": 1000, **(crawl or {})},
        "digests": [{"name": "desk", "schedule": "every 2s",
                     "channels": [{"type": "webhook", "url": hook.url, "retries": 0}]}],
    })


def kill_soak(url: str, workdir: Path, *, kills: int = 20, seed: int = 1, gap: tuple[float, float] = (0.3, 2.0),
              settle_timeout: float = 180) -> dict:
    """Kill the daemon or its crawl child (SIGKILL) ``kills`` times at random
    moments while articles appear and digests go out; then let it settle,
    stop it cleanly and report what the archive and the receiver hold."""
    from storage.db import migrate

    migrate(url)
    rng = random.Random(seed)
    site, hook = GrowingSite(seed=seed), DedupWebhook(hold_seconds=0.7)
    config = soak_config(workdir, url, site, hook)
    log = workdir / "service.log"
    killed = {"daemon": 0, "crawl": 0}
    moments = {"random": 0, "mid-archive": 0, "mid-send": 0}
    survivors = 0
    t0 = time.monotonic()
    site.publish(4)
    daemon = start_daemon(config, log)

    def articles() -> int:
        from sqlalchemy import func, select

        from storage.db import session_scope
        from storage.models import Article

        with session_scope(url) as session:
            return session.scalar(select(func.count(Article.id)))

    try:
        while killed["daemon"] + killed["crawl"] < kills:
            site.publish(rng.randint(1, 3))
            moment = ("mid-archive", "mid-send", "random")[(killed["daemon"] + killed["crawl"]) % 3]
            if moment == "random":
                time.sleep(rng.uniform(*gap))
            elif moment == "mid-archive":  # just after a crawl filed something
                before, deadline = articles(), time.monotonic() + 6
                while articles() == before and time.monotonic() < deadline:
                    time.sleep(0.1)
                time.sleep(rng.uniform(0, 0.3))
            else:  # while the receiver holds a POST unanswered
                hook.arrived.clear()
                if hook.arrived.wait(10):
                    time.sleep(rng.uniform(0, 0.4))
                else:
                    moment = "random"  # no send came: an ordinary random moment (the daemon is the victim)
            moments[moment] += 1
            children = child_pids(daemon.pid)
            if children and (killed["daemon"] + killed["crawl"]) % 3 != 1 and rng.random() < 0.5:
                try:
                    os.kill(rng.choice(children), signal.SIGKILL)
                    killed["crawl"] += 1
                except ProcessLookupError:
                    pass
                continue
            daemon.kill()
            daemon.wait(30)
            killed["daemon"] += 1
            deadline = time.monotonic() + 15
            while any(pid_alive(p) for p in children) and time.monotonic() < deadline:
                time.sleep(0.1)
            survivors += sum(pid_alive(p) for p in children)
            daemon = start_daemon(config, log)
        expected_urls, expected_titles = site.urls(), site.titles()
        settle_started = time.monotonic()

        def settled():
            report = archive_report(url)
            return (report["urls"] >= expected_urls and report["delivered_items"] >= report["articles"]
                    and set(hook.times_delivered()) >= expected_titles)

        wait_for(settled, settle_timeout, "every article archived and delivered", interval=1.0)
        settle_seconds = time.monotonic() - settle_started
        code = stop_daemon(daemon)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        site.close()
        hook.close()
    report = archive_report(url)
    times = hook.times_delivered()
    counts = [times.get(title, 0) for title in expected_titles]
    return {
        "database": url.split(":", 1)[0].split("+")[0],
        "kills": killed, "moments": moments, "crawls_surviving_their_daemon": survivors, "exit_status": code,
        "articles_expected": len(expected_urls), "articles_filed": report["articles"],
        "distinct_urls": report["distinct_urls"], "versions": report["versions"],
        "missing": sorted(expected_urls - report["urls"]), "unexpected": sorted(report["urls"] - expected_urls),
        "orphans": report["orphans"], "running_runs": report["running_runs"],
        "integrity": report.get("integrity", "n/a"), "foreign_key_violations": report.get("foreign_key_violations", 0),
        "delivered_0": sum(c == 0 for c in counts), "delivered_1": sum(c == 1 for c in counts),
        "delivered_2plus": sum(c >= 2 for c in counts),
        "posts": len(hook.posts), "delivery_ids": len(hook.accepted),
        "ids_with_differing_bodies": sum(len(b) > 1 for b in hook.bodies_per_id().values()),
        "overlapping_crawls": overlapping_crawls(url), "faults": site.faults,
        "seconds": round(time.monotonic() - t0, 1), "settle_seconds": round(settle_seconds, 1),
    }
