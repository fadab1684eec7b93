"""The work units a ``newsmon worker`` runs (docs/scale.md).

* ``newsmon.poll_source`` — one crawl of one source, in a child process
  (``python -P -m newsmon.crawlchild … crawl SOURCE``: Scrapy's reactor cannot
  restart inside a long-lived worker), under the source's lease in the
  archive (never two crawls of a source at once, whichever worker) and one of
  ``service.crawls_per_host`` per-host slots (politeness across workers);
* ``newsmon.reextract_chunk`` — ``reextract`` over a range of article ids, in
  a child process (all cores; the worker's threads only wait);
* ``newsmon.send_digest`` — one digest (one sender per delivery: its lease).

Every task is idempotent against the archive: a poll redelivered after a
worker died finds the pages it filed already seen, a chunk re-extracted
again finds its texts unchanged, a digest re-sent resumes its delivery.
Each task carries the config text the scheduler runs (one version everywhere).
"""
from __future__ import annotations

import json
import logging
import random
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from celery import shared_task

from newsmon.crawlproc import (MIN_CRAWL_TIMEOUT, crawl_command, record_outcome, relay_stderr, start_warm_child,
                               stop_child, utcnow, wait_child)
from newsmon.scale import (TASK_DIGEST, TASK_POLL, TASK_REEXTRACT, WORKER_HEARTBEAT_SECONDS, WORKER_LEASE_SECONDS,
                           host_slot_name)

log = logging.getLogger("newsmon.worker")

CHILD_STOP_GRACE = 30.0
SLOT_RETRY_SECONDS = (1.0, 4.0)  # a poll finding every slot of its host taken goes back to the queue this late


@dataclass
class Runtime:
    """This worker process: its lease holder, log settings, the tasks running now."""

    holder: object = None
    log_format: str = "text"
    verbose: bool = False
    warm: bool = True  # children forked from the warm template (newsmon/crawlwarm.py), else fresh interpreters
    stopping: threading.Event = field(default_factory=threading.Event)
    running: dict = field(default_factory=dict)  # task id -> {"task", "what", "pid", "since"}
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get_holder(self):
        if self.holder is None:
            from storage.leases import Holder

            self.holder = Holder()
        return self.holder

    def snapshot(self) -> list[dict]:
        with self.lock:
            return [dict(v) for v in self.running.values()]


RUNTIME = Runtime()


def _config(text: str, path: str | None):
    from crawler.config import parse_config
    from crawler.errors import parse_yaml_text

    origin = path or "<scheduler config>"
    return parse_config(parse_yaml_text(text, origin), origin, Path(path).resolve() if path else None)


def source_host(source) -> str:
    """The host a source is crawled from (its first entry point), for the per-host slots."""
    urls = [*source.feeds, *source.sitemaps, *(s.url for s in source.sections)]
    return (urlsplit(str(urls[0])).hostname or "?").lower() if urls else "?"


def task_holder():
    """A lease holder for one task: this worker's pid and host (a killed worker
    frees its leases at once on this host), a token of its own (two tasks in
    one worker never share a lease)."""
    from storage.leases import Holder

    base = RUNTIME.get_holder()
    return Holder(pid=base.pid, host=base.host)


def _take(url: str, holder, name: str, info: dict, extra: tuple[int, ...] = ()) -> tuple[bool, object]:
    from storage.db import session_scope
    from storage.leases import try_acquire

    with session_scope(url) as session:
        return try_acquire(session, name, holder, WORKER_LEASE_SECONDS, info=info, extra_pids=extra)


def _release(url: str, holder, *names: str) -> None:
    from storage.db import session_scope
    from storage.leases import release

    try:
        with session_scope(url) as session:
            for name in names:
                release(session, name, holder)
    except Exception as exc:  # they lapse by themselves
        log.debug("cannot release %s: %s", names, exc)


def _take_host_slot(url: str, holder, host: str, slots: int, source_name: str) -> str | None:
    for slot in random.sample(range(slots), slots):
        name = host_slot_name(host, slot)
        if _take(url, holder, name, {"source": source_name})[0]:
            return name
    return None


def _run_child(task_id: str, what: str, cmd: list[str], stdin_text: str, timeout: float, renew=None,
               capture_stdout: bool = False) -> tuple[int | None, str, str, str]:
    """Run a newsmon child process; returns (exit status, how it ended, its stdout, its last error line)."""
    if RUNTIME.warm:
        proc = start_warm_child(cmd, stdin_text, capture_stdout)
    else:
        proc = subprocess.Popen(cmd, process_group=0, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE if capture_stdout else subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
    with RUNTIME.lock:
        RUNTIME.running[task_id] = {"task": what.split(" ", 1)[0], "what": what, "pid": proc.pid,
                                    "since": utcnow().isoformat(timespec="seconds")}
    last_error: list[str] = []
    relay = threading.Thread(target=relay_stderr, args=(proc.stderr, last_error), daemon=True)
    relay.start()
    out: list[bytes] = []
    reader = None
    if capture_stdout:
        reader = threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True)
        reader.start()
    try:
        try:
            if proc.stdin is not None:
                proc.stdin.write(stdin_text.encode())
                proc.stdin.close()
        except OSError:
            pass  # it died at once: its exit status says so
        if renew is not None:
            renew(proc.pid)
        ended = wait_child(proc, timeout, RUNTIME.stopping, CHILD_STOP_GRACE,
                           tick=(lambda: renew(proc.pid)) if renew else None, tick_every=WORKER_HEARTBEAT_SECONDS)
    except BaseException:
        stop_child(proc, CHILD_STOP_GRACE)
        raise
    finally:
        with RUNTIME.lock:
            RUNTIME.running.pop(task_id, None)
    relay.join(5)
    if reader is not None:
        reader.join(30)
    return proc.returncode, ended, b"".join(out).decode("utf-8", "replace"), (last_error or [""])[-1]


@shared_task(name=TASK_POLL, bind=True, max_retries=None, acks_late=True)
def poll_source(self, config_text: str, config_path: str | None, source_name: str) -> dict:
    """Crawl one source in a child process, under its source lease and a slot of its host."""
    from storage.db import session_scope
    from storage.leases import renew, source_lease_name

    config = _config(config_text, config_path)
    source = config.source(source_name)
    url = config.effective_database_url()
    lease = source_lease_name(source_name)
    holder = task_holder()
    taken, other = _take(url, holder, lease, {"crawl_pid": None, "task": self.request.id})
    if not taken:
        log.info("poll %s: skipped: a crawl of this source is running (pid %s on %s)", source_name,
                 other.info.get("crawl_pid") or other.pid, other.host, extra={"source": source_name})
        return {"source": source_name, "status": "skipped"}
    try:
        host = source_host(source)
        slot = _take_host_slot(url, holder, host, config.service.crawls_per_host, source_name)
        if slot is None:
            _release(url, holder, lease)
            log.debug("poll %s: every crawl slot of %s is taken: back to the queue", source_name, host)
            raise self.retry(countdown=random.uniform(*SLOT_RETRY_SECONDS))

        def keep(pid: int) -> None:
            try:
                with session_scope(url) as session:
                    renew(session, lease, holder, WORKER_LEASE_SECONDS, info={"crawl_pid": pid}, extra_pids=(pid,))
                    renew(session, slot, holder, WORKER_LEASE_SECONDS, info={"source": source_name},
                          extra_pids=(pid,))
            except Exception as exc:  # the archive is away: the crawl itself will say so
                log.warning("poll %s: cannot renew its leases: %s", source_name, exc)

        started = utcnow()
        t0 = time.monotonic()
        log.info("poll %s: starting", source_name, extra={"source": source_name})
        cmd = crawl_command(config_path, source_name, RUNTIME.log_format, RUNTIME.verbose)
        interval = source.check_interval_minutes * 60
        try:
            code, ended, _, last = _run_child(self.request.id, f"poll {source_name}", cmd, config_text,
                                              max(MIN_CRAWL_TIMEOUT, 3 * interval), renew=keep)
        finally:
            _release(url, holder, slot)
        if last and code not in (0, None):
            ended = f"{ended} ({last[:300]})"
        if RUNTIME.stopping.is_set() and code not in (0, None):
            ended = "stopped with the worker"
        log.info("poll %s: finished with exit status %s in %.1f s", source_name, code, time.monotonic() - t0,
                 extra={"source": source_name})
        record_outcome(config, source_name, started, code, ended)
        return {"source": source_name, "status": "done", "exit_status": code}
    finally:
        _release(url, holder, lease)


@shared_task(name=TASK_REEXTRACT, bind=True, acks_late=True)
def reextract_chunk(self, config_text: str, config_path: str | None, first_id: int, last_id: int,
                    since: str | None = None) -> dict:
    """``newsmon reextract --ids FIRST:LAST --json`` in a child process; returns its JSON summary."""
    args = ["reextract", "--ids", f"{first_id}:{last_id}", "--json"] + (["--since", since] if since else [])
    cmd = crawl_command(config_path, "", RUNTIME.log_format, RUNTIME.verbose, command=tuple(args))
    code, ended, out, last = _run_child(self.request.id, f"reextract {first_id}..{last_id}", cmd, config_text,
                                        MIN_CRAWL_TIMEOUT * 4, capture_stdout=True)
    try:
        return json.loads(out)
    except ValueError:
        raise RuntimeError(f"reextract of articles {first_id}..{last_id}: child {ended} with exit status {code}"
                           + (f": {last}" if last else "")) from None


@shared_task(name=TASK_DIGEST, bind=True, acks_late=True)
def send_digest(self, config_text: str, config_path: str | None, digest_name: str) -> list[dict]:
    """Deliver one digest on its channels (immutable deliveries, one sender each: newsmon.digests)."""
    from newsmon.digests import run_digest

    config = _config(config_text, config_path)
    with RUNTIME.lock:
        RUNTIME.running[self.request.id] = {"task": "digest", "what": f"digest {digest_name}", "pid": None,
                                            "since": utcnow().isoformat(timespec="seconds")}
    try:
        results = run_digest(config, config.effective_database_url(), digest_name)
    finally:
        with RUNTIME.lock:
            RUNTIME.running.pop(self.request.id, None)
    for result in results:
        if result.status == "failed":
            log.error("digest %s %s: %s", digest_name, result.channel, result.detail)
    return [{"channel": r.channel, "status": r.status, "detail": r.detail} for r in results]
