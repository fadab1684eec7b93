"""Does the service daemon stay flat over hundreds of crawl cycles?

Starts the fixture news site, writes a config whose sources are crawled every
``--interval`` seconds, runs ``newsmon run`` as a subprocess and samples the
daemon's resident memory (VmRSS of the daemon process only; the crawl
subprocesses come and go) until ``--cycles`` crawl runs are recorded in
``crawl_runs``. Prints RSS at start, after warm-up and at the end, and the
growth from warm-up to the end (goal: < 10 %).

    python bench/service_memory.py --cycles 200 --interval 1
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from newsmon.localsite import LocalNewsSite  # noqa: E402
from storage.db import migrate, session_scope  # noqa: E402
from storage.models import CrawlRun  # noqa: E402


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def crawl_runs(url: str) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count(CrawlRun.id)).where(CrawlRun.status != "running"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=200, help="crawl runs to wait for (default 200)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between crawls of a source")
    parser.add_argument("--warmup", type=int, default=20, help="cycles before the warm-up sample")
    parser.add_argument("--sources", type=int, default=3, help="how many fixture-site sources (1-3; crawls of "
                                                                   "different sources run in parallel)")
    parser.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    site = LocalNewsSite().start()
    url = f"sqlite:///{work / 'archive.db'}"
    sources = site.sources()[: max(1, min(args.sources, 3))]
    for source in sources:
        source["check_interval_minutes"] = args.interval / 60
    config = {
        "database_url": url,
        "sources": sources,
        "crawl": {"download_delay": 0, "autothrottle": False, "feed_failure_limit": 10_000},
        "digests": [{"name": "bench", "schedule": "every 10s",
                     "channels": [{"type": "atom", "path": str(work / "digest.xml")}]}],
    }
    config_path = work / "newsmon.yaml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    migrate(url)

    log = open(work / "service.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "newsmon.cli", "--config", str(config_path), "run"],
                            stdout=log, stderr=subprocess.STDOUT)
    samples: list[tuple[int, float]] = []
    started = time.monotonic()
    try:
        time.sleep(1.0)
        start_rss = rss_mib(proc.pid)
        warm_rss = None
        done = 0
        while done < args.cycles:
            if proc.poll() is not None:
                raise SystemExit(f"service exited early with status {proc.returncode}; see {work / 'service.log'}")
            if time.monotonic() - started > args.timeout:
                raise SystemExit(f"only {done} cycles after {args.timeout:.0f} s")
            time.sleep(1.0)
            done = crawl_runs(url)
            rss = rss_mib(proc.pid)
            samples.append((done, rss))
            if warm_rss is None and done >= args.warmup:
                warm_rss = rss
        end_rss = rss_mib(proc.pid)
        elapsed = time.monotonic() - started
        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        code = proc.wait(timeout=120)
        stop_seconds = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
        site.stop()
    peak = max(rss for _, rss in samples)
    growth = (end_rss - warm_rss) / warm_rss * 100
    print(f"crawl cycles:          {done} ({len(sources)} sources every {args.interval:g} s, {elapsed:.0f} s)")
    print(f"daemon RSS at start:   {start_rss:.1f} MiB")
    print(f"after warm-up ({args.warmup}):   {warm_rss:.1f} MiB")
    print(f"at the end:            {end_rss:.1f} MiB (peak {peak:.1f} MiB)")
    print(f"growth warm-up → end:  {growth:+.1f} % (goal < 10 %)")
    print(f"SIGTERM → exit {code} in {stop_seconds:.1f} s")
    print(f"work dir:              {work}")
    return 0 if growth < 10 and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
