"""Scale-out: 1 vs 2 ``newsmon worker`` processes, side by side in one run.

Not a test: run ``python bench/scale_out.py`` (needs Debian's redis-server)
and read the ratios; the figures go in bench/README.md.

(a) Polling (network-bound, as real outlets are): a loopback site of
    ``--sources`` sources spread over ``--hosts`` host addresses
    (127.0.0.2, 127.0.0.3, …: each its own server, so the per-host crawl
    slots of docs/scale.md do not serialise them), every response delayed by
    ``--latency`` seconds, the crawl's politeness delay ``--delay``. One poll
    task per source is enqueued (as the leader service does when they are
    due); the wall time until every task finished, with one worker and with
    two, each ``--concurrency`` tasks at once. Each run gets a fresh archive.
(b) Re-analysis (CPU-bound): ``reextract --distributed`` over an archive of
    ``--articles`` articles (stored raw HTML, every stored text stale, so each
    article gets a new version and its analysis rows), with one and with two
    workers of concurrency 1 — against the 2 cores of this machine.

Archives are SQLite files by default; ``--database-url postgresql+psycopg://…/``
(a server base URL, databases are created) to use PostgreSQL.
"""
from __future__ import annotations

import argparse
import http.server
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ("river harbor council senate budget tariff mayor strike market quarry valley bridge railway ferry drought "
         "harvest vaccine clinic teacher museum festival lawsuit verdict pension embassy visa border coffee copper "
         "lithium nickel refinery pipeline turbine reservoir glacier volcano monsoon hurricane orchard vineyard "
         "cattle fishery lagoon canyon plateau summit archive ledger auditor minister envoy treaty accord").split()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def prose(seed: int) -> str:
    rng = random.Random(seed)
    return "".join("<p>" + " ".join(rng.choice(WORDS) for _ in range(45)).capitalize() + ".</p>" for _ in range(6))


def page(base: str, path: str, n: int) -> bytes:
    when = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=n)
    title = f"Story {n}: {WORDS[n % len(WORDS)]} {WORDS[(n * 7) % len(WORDS)]}"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta property="article:published_time" content="{when.isoformat()}">'
            f'<link rel="canonical" href="{base}{path}"></head><body><article><h1>{title}</h1>'
            f"<p class=byline>By Bench Desk</p>{prose(n)}</article></body></html>").encode()


class SlowSite:
    """One HTTP server per host address; ``/<source>/feed.xml`` lists ``per_source`` articles."""

    def __init__(self, hosts: int, latency: float, per_source: int):
        self.latency, self.per_source = latency, per_source
        self.servers = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                time.sleep(site.latency)
                base = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}"
                parts = self.path.strip("/").split("/")
                if len(parts) == 2 and parts[1] == "feed.xml":
                    source = parts[0]
                    items = "".join(f"<item><title>s</title><link>{base}/{source}/a/{i}.html</link></item>"
                                    for i in range(site.per_source))
                    body = (f"<?xml version='1.0'?><rss version='2.0'><channel><title>{source}</title>{items}"
                            "</channel></rss>").encode()
                    ctype = "application/rss+xml"
                elif len(parts) == 3 and parts[1] == "a":
                    n = int(parts[0].rsplit("-", 1)[1]) * 1000 + int(parts[2].split(".")[0])
                    body, ctype = page(base, self.path, n), "text/html; charset=utf-8"
                else:
                    body, ctype = b"not found", "text/plain"
                self.send_response(200 if ctype != "text/plain" else 404)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        for h in range(hosts):
            server = http.server.ThreadingHTTPServer((f"127.0.0.{h + 2}", 0), Handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers.append(server)

    def sources(self, count: int) -> list[dict]:
        out = []
        for i in range(count):
            host, port = self.servers[i % len(self.servers)].server_address
            out.append({"name": f"src-{i}", "language": "en", "feeds": [f"http://{host}:{port}/src-{i}/feed.xml"],
                        "allowed_domains": [host], "horizon_days": 3650,
                        "allow_private_addresses": True})  # loopback: the SSRF guard refuses it otherwise
        return out

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


class Redis:
    def __init__(self, tmp: Path):
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.port = free_port()
        self.proc = subprocess.Popen([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(tmp)], stdout=subprocess.DEVNULL)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("redis-server did not start")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def env() -> dict:
    out = dict(os.environ)
    out.pop("NEWSMON_DATABASE_URL", None)
    out["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), out.get("PYTHONPATH")]))
    return out


def new_archive(args, tmp: Path, name: str) -> str:
    from storage.db import migrate

    if args.database_url:
        from sqlalchemy import create_engine, text

        db = f"bench_{name}_{os.getpid()}"
        engine = create_engine(f"{args.database_url.rstrip('/')}/postgres", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db}"'))
        engine.dispose()
        url = f"{args.database_url.rstrip('/')}/{db}"
    else:
        url = f"sqlite:///{tmp / (name + '.db')}"
    migrate(url)
    return url


def write_config(tmp: Path, name: str, url: str, broker: str, sources: list[dict], crawl: dict) -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"database_url": url, "sources": sources, "crawl": crawl,
                                    "service": {"broker_url": broker, "queue_prefix": f"bench-{name}",
                                                "reextract_chunk": 250}}), encoding="utf-8")
    return path


def start_workers(config: Path, count: int, concurrency: int, queues: str, tmp: Path,
                  child_start: str = "warm") -> list[subprocess.Popen]:
    procs = []
    for i in range(count):
        log = open(tmp / f"{config.stem}-worker{i}.log", "ab")
        procs.append(subprocess.Popen([sys.executable, "-P", "-m", "newsmon.cli", "--config", str(config), "worker",
                                       "--queues", queues, "--concurrency", str(concurrency),
                                       "--child-start", child_start],
                                      stdout=log, stderr=subprocess.STDOUT, env=env(), cwd=tmp))
        log.close()
    return procs


def wait_workers(url: str, count: int, config: Path | None = None) -> None:
    """Until ``count`` workers beat in the archive and each has said Celery's
    "ready." (its consumer is connected: the clock must not include start-up)."""
    from newsmon.scale.status import workers
    from storage.db import session_scope

    logs = [config.parent / f"{config.stem}-worker{i}.log" for i in range(count)] if config else []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with session_scope(url) as session:
            beating = len(workers(session)) >= count
        if beating and all(log.exists() and b" ready." in log.read_bytes() for log in logs):
            return
        time.sleep(0.5)
    raise SystemExit("workers did not start")


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def count_articles(url: str) -> int:
    from sqlalchemy import func, select

    from storage.db import session_scope
    from storage.models import Article

    with session_scope(url) as session:
        return session.scalar(select(func.count(Article.id)))


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def bench_poll(args, tmp: Path, redis: Redis) -> dict[tuple[str, int], float]:
    from crawler.config import read_config
    from newsmon.scale import TASK_POLL
    from newsmon.scale.app import celery_app

    site = SlowSite(args.hosts, args.latency, args.articles_per_source)
    crawl = {"download_delay": args.delay, "autothrottle": False, "analysis_workers": 0, "obey_robots_txt": False,
             "retry_times": 1}
    times = {}
    try:
        for mode in args.child_start:
            for workers in (1, 2):
                name = f"poll{workers}{mode}"
                url = new_archive(args, tmp, name)
                config_path = write_config(tmp, name, url, redis.url, site.sources(args.sources), crawl)
                config = read_config(config_path)
                procs = start_workers(config_path, workers, args.concurrency, "poll", tmp, mode)
                try:
                    wait_workers(url, workers, config_path)
                    text = config_path.read_text(encoding="utf-8")
                    app = celery_app(config)
                    before = load()
                    t0 = time.monotonic()
                    results = [app.send_task(TASK_POLL, args=[text, str(config_path), s.name])
                               for s in config.sources]
                    while not all(r.ready() for r in results):
                        time.sleep(0.2)
                    times[mode, workers] = time.monotonic() - t0
                    after = load()
                finally:
                    stop(procs)
                filed = count_articles(url)
                want = args.sources * args.articles_per_source
                print(f"poll, {mode} children, {workers} worker(s) x concurrency {args.concurrency}: {args.sources} "
                      f"sources in {times[mode, workers]:.1f} s ({filed}/{want} articles filed; load average "
                      f"{before} before, {after} after)", flush=True)
            print(f"poll, {mode} children: 2 workers {times[mode, 1] / times[mode, 2]:.2f}x faster than 1 "
                  "(goal >= 1.8x)", flush=True)
    finally:
        site.close()
    return times


def build_archive(url: str, count: int) -> None:
    """``count`` archived articles with their raw HTML, every stored text stale."""
    from sqlalchemy import insert

    from crawler.decode import compress_html
    from storage.db import session_scope
    from storage.models import Article, ArticleVersion, Source

    with session_scope(url) as session:
        source_ids = []
        for i in range(10):
            source = Source(name=f"src-{i}")
            session.add(source)
            session.flush()
            source_ids.append(source.id)
        base = "https://bench.example"
        for start in range(0, count, 1000):
            rows = [{"source_id": source_ids[n % 10], "canonical_url": f"{base}/a/{n}", "url": f"{base}/a/{n}",
                     "title": "old", "text": "old text", "text_hash": f"stale-{n}"}
                    for n in range(start, min(start + 1000, count))]
            ids = session.execute(insert(Article).returning(Article.id), rows).scalars().all()
            session.execute(insert(ArticleVersion), [
                {"article_id": article_id, "version": 1, "raw_html": compress_html(page(base, f"/a/{n}", n)),
                 "encoding": "utf-8", "title": "old", "text": "old text", "text_hash": f"stale-{n}"}
                for article_id, n in zip(ids, range(start, start + len(ids)))])


def bench_reanalysis(args, tmp: Path, redis: Redis) -> dict[int, float]:
    from crawler.config import read_config
    from newsmon.crawlcmd import reextract_distributed

    sources = [{"name": f"src-{i}", "language": "en", "feeds": [f"https://bench.example/{i}.xml"]} for i in range(10)]
    times = {}
    template = new_archive(args, tmp, "template")
    build_archive(template, args.articles)
    if not args.database_url:  # everything in the main file before copying it
        from storage.db import get_engine

        with get_engine(template).connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        get_engine(template).dispose()
    for workers in (1, 2):
        name = f"reanalysis{workers}"
        if args.database_url:
            url = new_archive(args, tmp, name)
            from sqlalchemy import create_engine, text

            from storage.db import get_engine

            get_engine(template).dispose()
            get_engine(url).dispose()
            engine = create_engine(f"{args.database_url.rstrip('/')}/postgres", isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                db = url.rsplit("/", 1)[1]
                conn.execute(text(f'DROP DATABASE "{db}"'))
                conn.execute(text(f'CREATE DATABASE "{db}" TEMPLATE "{template.rsplit("/", 1)[1]}"'))
            engine.dispose()
        else:
            shutil.copy(tmp / "template.db", tmp / f"{name}.db")
            url = f"sqlite:///{tmp / (name + '.db')}"
        config_path = write_config(tmp, name, url, redis.url, sources, {"analysis_workers": 0})
        procs = start_workers(config_path, workers, 1, "analysis", tmp, args.child_start[-1])
        try:
            wait_workers(url, workers, config_path)
            before = load()
            t0 = time.monotonic()
            result = reextract_distributed(read_config(config_path), url)
            times[workers] = time.monotonic() - t0
            after = load()
        finally:
            stop(procs)
        print(f"re-analysis, {workers} worker(s) x concurrency 1: {result.examined} articles in {times[workers]:.1f} s "
              f"= {result.examined / times[workers]:.0f} articles/s ({len(result.text_changed)} new versions, "
              f"{len(result.errors)} errors; load average {before} before, {after} after)", flush=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=60)
    parser.add_argument("--hosts", type=int, default=30)
    parser.add_argument("--articles-per-source", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.25, help="seconds added to every response")
    parser.add_argument("--delay", type=float, default=3.0, help="crawl.download_delay (politeness per host)")
    parser.add_argument("--concurrency", type=int, default=3, help="poll tasks at once per worker")
    parser.add_argument("--articles", type=int, default=10000, help="archived articles to re-analyse")
    parser.add_argument("--database-url", help="PostgreSQL server base URL (default: SQLite files)")
    parser.add_argument("--own-postgres", action="store_true",
                        help="start a throw-away PostgreSQL server as the tests do (Debian's postgresql; fsync off)")
    parser.add_argument("--skip", choices=("poll", "reanalysis"), action="append", default=[])
    parser.add_argument("--child-start", choices=("warm", "cold", "both"), default="both",
                        help="newsmon worker --child-start for the polls (both: cold, then warm; re-analysis: warm)")
    args = parser.parse_args()
    args.child_start = ("cold", "warm") if args.child_start == "both" else (args.child_start,)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the workers and redis-server (finally below)
    tmp = Path(tempfile.mkdtemp(prefix="newsmon-bench-scale-"))
    postgres = None
    if args.own_postgres:
        sys.path.insert(0, str(ROOT / "tests"))
        from conftest import _pg_bin
        from service_harness import OwnPostgres

        postgres = OwnPostgres(_pg_bin())
        args.database_url = postgres.base_url
    redis = Redis(tmp)
    try:
        print(f"{os.cpu_count()} cores; load average {load()}; archive: "
              f"{'PostgreSQL' if args.database_url else 'SQLite'}", flush=True)
        if "poll" not in args.skip:
            poll = bench_poll(args, tmp, redis)
            print("poll, side by side: " + "; ".join(
                f"{mode} children {poll[mode, 1]:.1f} s vs {poll[mode, 2]:.1f} s = {poll[mode, 1] / poll[mode, 2]:.2f}x"
                for mode in args.child_start), flush=True)
        if "reanalysis" not in args.skip:
            re_ = bench_reanalysis(args, tmp, redis)
            print(f"re-analysis: 2 workers {re_[1] / re_[2]:.2f}x faster than 1 (2 cores: at most 2x)", flush=True)
    finally:
        redis.close()
        if postgres is not None:
            postgres.close()  # "immediate": our open connections do not hold it
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
