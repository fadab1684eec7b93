"""The newsmon service: ``newsmon run``.

Architecture (measured, see docs/architecture.md): an APScheduler
``BackgroundScheduler`` in a small, long-lived daemon that never imports
Scrapy. Each crawl runs as its own subprocess (``newsmon crawl SOURCE``), so
Twisted's reactor, Scrapy's caches and any leak die with the run: the daemon
stays flat at a few tens of MiB over hundreds of cycles, and one source
crashing cannot take the others down. Digests and maintenance are light and
run inside the daemon's thread pool.

Jobs live in the archive database (``apscheduler_jobs``) as ``module:function``
references with plain arguments, under stable ids (``source:NAME``,
``digest:NAME``, ``maintenance``), so schedules survive restarts and
``newsmon status`` can read the next run times from another process.

Stopping: the first SIGTERM/SIGINT stops taking new work, forwards SIGTERM to
running crawls (Scrapy then finishes the items in flight), waits a bounded
time, kills what is left and exits 0. A second signal exits at once.
"""
from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

log = logging.getLogger("newsmon.service")

JOBS_TABLE = "apscheduler_jobs"
CRAWL_STOP_GRACE = 30.0  # seconds a crawl gets to finish in-flight items after SIGTERM
JOB_STOP_GRACE = 15.0  # seconds other running jobs (digests) get once crawls have stopped
MIN_CRAWL_TIMEOUT = 900.0  # a crawl still running after max(this, 3 intervals) is stopped
MAINTENANCE_EVERY = timedelta(hours=1)
DIGEST_MISFIRE_GRACE = 3600  # a digest missed (service down) by less than this runs at start-up
FIRST_RUN_SPREAD = 30.0  # new source jobs start within this many seconds, spread out
MAX_JITTER = 300  # seconds


def source_job_id(name: str) -> str:
    return f"source:{name}"


def digest_job_id(name: str) -> str:
    return f"digest:{name}"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --- the running service's state (one per process) -------------------------------------------


@dataclass
class Service:
    """What the job functions need from the daemon that runs them."""

    config_path: str | None
    log_format: str = "text"
    verbose: bool = False
    crawl_stop_grace: float = CRAWL_STOP_GRACE
    stopping: threading.Event = field(default_factory=threading.Event)
    scheduler: object = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _children: set = field(default_factory=set)
    _active_jobs: int = 0
    _idle: threading.Condition = field(default_factory=threading.Condition)

    def children(self) -> list[subprocess.Popen]:
        with self._lock:
            return list(self._children)

    def job_started(self) -> None:
        with self._idle:
            self._active_jobs += 1

    def job_finished(self) -> None:
        with self._idle:
            self._active_jobs -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._active_jobs == 0, timeout)


_service: Service | None = None


def _load(config_path: str | None):
    from crawler.config import load_config

    return load_config(config_path)


# --- jobs (module-level functions: the job store keeps 'scheduler:NAME' references) ----------


def crawl_command(config_path: str | None, source_name: str, log_format: str = "text",
                  verbose: bool = False) -> list[str]:
    """The crawl subprocess: ``newsmon crawl SOURCE`` behind a small wrapper
    that makes it get SIGTERM if the daemon dies (so a killed daemon leaves no
    orphan crawl racing the next one)."""
    cmd = [sys.executable, "-m", "scheduler", "crawl-child", str(os.getpid())]
    if config_path:
        cmd += ["--config", config_path]
    cmd += ["--log-format", log_format]
    if verbose:
        cmd.append("-v")
    return cmd + ["crawl", source_name]


def _wait_child(proc: subprocess.Popen, timeout: float, service: Service) -> str:
    """Wait for a crawl; stop it (SIGTERM, then SIGKILL) past ``timeout``. Returns how it ended."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            proc.wait(timeout=0.5)
            return "exited"
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() > deadline and not service.stopping.is_set():
            log.warning("crawl pid %d ran longer than %.0f s: stopping it", proc.pid, timeout)
            _stop_child(proc, service.crawl_stop_grace)
            return "timed out"


def _stop_child(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM (Scrapy finishes in-flight items), then SIGKILL after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        log.warning("crawl pid %d still running %.0f s after SIGTERM: killing it", proc.pid, grace)
        proc.kill()
        proc.wait()


def run_source_job(config_path: str | None, source_name: str) -> None:
    """Crawl one source in a subprocess, then record the outcome and back off if it keeps failing."""
    service = _service
    if service is None or service.stopping.is_set():
        return
    service.job_started()
    try:
        config = _load(config_path)
        source = config.source(source_name)
        interval = source.check_interval_minutes * 60
        started = _utcnow().replace(tzinfo=None)
        cmd = crawl_command(config_path, source_name, service.log_format, service.verbose)
        log.info("crawl %s: starting", source_name, extra={"source": source_name})
        t0 = time.monotonic()
        with service._lock:
            if service.stopping.is_set():
                return
            # Its logs go to our stderr (same format); its summary table would only repeat them.
            proc = subprocess.Popen(cmd, process_group=0, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            service._children.add(proc)
        try:
            ended = _wait_child(proc, max(MIN_CRAWL_TIMEOUT, 3 * interval), service)
        finally:
            with service._lock:
                service._children.discard(proc)
        code = proc.returncode
        if service.stopping.is_set():
            ended = "stopped with the service"
        _record_outcome(config, source_name, started, code, ended)
        log.info("crawl %s: finished with exit status %s in %.1f s", source_name, code, time.monotonic() - t0,
                 extra={"source": source_name})
        if not service.stopping.is_set():
            _apply_backoff(config, source_name, interval, service)
    except Exception as exc:  # never let one source's trouble reach the scheduler thread
        log.error("crawl %s: job failed: %s", source_name, exc, exc_info=service.verbose)
    finally:
        service.job_finished()


def _record_outcome(config, source_name: str, started: datetime, code: int | None, ended: str) -> None:
    """Make the crawl's end visible in ``crawl_runs`` even when the crawl could
    not say it: runs left 'running' by a stopped crawl become 'interrupted';
    a crawl that exited with an error before writing any run gets a 'failed' one."""
    from sqlalchemy import select

    from crawler.runlog import source_id as runlog_source_id
    from storage.db import session_scope
    from storage.models import CrawlRun, Source

    with session_scope(config.effective_database_url()) as session:
        source_id = session.scalar(select(Source.id).where(Source.name == source_name))
        runs = [] if source_id is None else list(session.scalars(
            select(CrawlRun).where(CrawlRun.source_id == source_id, CrawlRun.started_at >= started)))
        for run in runs:
            if run.status == "running":
                run.status = "interrupted"
                run.finished_at = _utcnow().replace(tzinfo=None)
                run.message = f"crawl process {ended} (exit status {code}) before finishing"
        if not runs and code != 0 and ended != "stopped with the service":
            if source_id is None:
                source_id = runlog_source_id(session, source_name)
            reason = "was stopped" if code is not None and code < 0 else f"exited with status {code}"
            session.add(CrawlRun(source_id=source_id, started_at=started, finished_at=_utcnow().replace(tzinfo=None),
                                 status="failed", message=f"crawl process {reason} before recording a run"))


def backoff_delay(interval_seconds: float, failures: int, limit: int, cap_seconds: float) -> float | None:
    """After ``limit`` consecutive failed runs, wait 2, 4, 8 … intervals (up to
    ``cap_seconds``, but never less than one interval) before the next try."""
    if failures < limit:
        return None
    return min(interval_seconds * 2 ** (failures - limit + 1), max(cap_seconds, interval_seconds))


def _apply_backoff(config, source_name: str, interval: float, service: Service) -> None:
    from newsmon.digests.content import failure_streak
    from storage.db import session_scope

    with session_scope(config.effective_database_url()) as session:
        streak = failure_streak(session, source_name)
    delay = backoff_delay(interval, len(streak), config.crawl.feed_failure_limit, config.crawl.feed_retry_hours * 3600)
    if delay is None or service.scheduler is None:
        return
    next_run = _utcnow() + timedelta(seconds=delay)
    try:
        service.scheduler.modify_job(source_job_id(source_name), next_run_time=next_run)
    except Exception as exc:  # the job was removed meanwhile
        log.debug("cannot postpone %s: %s", source_name, exc)
        return
    log.warning("source %s failing since %s (%d failed runs in a row): next try at %s",
                source_name, f"{streak[-1][0]:%Y-%m-%d %H:%M}", len(streak), f"{next_run:%Y-%m-%d %H:%M:%S}",
                extra={"source": source_name})


def run_digest_job(config_path: str | None, digest_name: str) -> None:
    """Deliver one digest on all its channels (exactly-once bookkeeping in newsmon.digests)."""
    service = _service
    if service is not None:
        if service.stopping.is_set():
            return
        service.job_started()
    try:
        from newsmon.digests import run_digest

        config = _load(config_path)
        run_digest(config, config.effective_database_url(), digest_name)
    except Exception as exc:
        log.error("digest %s: run failed: %s", digest_name, exc, exc_info=bool(service and service.verbose))
    finally:
        if service is not None:
            service.job_finished()


def retry_unfinished_digests(config_path: str | None) -> None:
    """Re-send deliveries left pending or failed (a crash mid-send, a channel
    that was down) without waiting for the digest's next scheduled time."""
    from sqlalchemy import select

    from storage.db import session_scope
    from storage.models import DigestDelivery

    config = _load(config_path)
    with session_scope(config.effective_database_url()) as session:
        names = set(session.scalars(select(DigestDelivery.digest).where(
            DigestDelivery.status.in_(("pending", "failed")))))
    for digest in config.digests:
        if digest.name in names:
            log.info("digest %s: retrying an unfinished delivery", digest.name)
            run_digest_job(config_path, digest.name)


def run_maintenance_job(config_path: str | None) -> None:
    """Hourly housekeeping: retry unfinished digest deliveries; on SQLite,
    checkpoint the WAL so it does not grow without bound, and refresh planner stats."""
    try:
        from storage.db import get_engine, is_sqlite

        config = _load(config_path)
        url = config.effective_database_url()
        if is_sqlite(url):
            with get_engine(url).connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.exec_driver_sql("PRAGMA optimize")
        retry_unfinished_digests(config_path)
        log.info("maintenance done")
    except Exception as exc:
        log.error("maintenance failed: %s", exc)


# --- building the schedule --------------------------------------------------------------------


@dataclass
class JobSpec:
    id: str
    func: str
    args: tuple
    trigger: object
    misfire_grace_time: int
    first_run: datetime | None = None


def _trigger_signature(trigger) -> tuple:
    """What makes two triggers the same schedule (start dates aside)."""
    from apscheduler.triggers.interval import IntervalTrigger

    if isinstance(trigger, IntervalTrigger):
        return ("interval", trigger.interval, trigger.jitter)
    return (type(trigger).__name__, str(trigger), str(getattr(trigger, "timezone", "")), trigger.jitter)


def job_specs(config, config_path: str | None) -> list[JobSpec]:
    """One job per enabled source, one per digest, and maintenance."""
    from apscheduler.triggers.interval import IntervalTrigger

    from crawler.schedules import parse_schedule

    now = _utcnow()
    specs = []
    for source in config.sources:
        if not source.enabled:
            continue
        seconds = source.check_interval_minutes * 60
        jitter = min(int(seconds * 0.1), MAX_JITTER) or None
        specs.append(JobSpec(
            id=source_job_id(source.name), func="scheduler:run_source_job", args=(config_path, source.name),
            trigger=IntervalTrigger(seconds=seconds, jitter=jitter), misfire_grace_time=max(int(seconds), 1),
            first_run=now + timedelta(seconds=random.uniform(0, min(seconds, FIRST_RUN_SPREAD))),
        ))
    for digest in config.digests:
        specs.append(JobSpec(
            id=digest_job_id(digest.name), func="scheduler:run_digest_job", args=(config_path, digest.name),
            trigger=parse_schedule(digest.schedule, digest.timezone), misfire_grace_time=DIGEST_MISFIRE_GRACE,
        ))
    specs.append(JobSpec(id="maintenance", func="scheduler:run_maintenance_job", args=(config_path,),
                         trigger=IntervalTrigger(seconds=MAINTENANCE_EVERY.total_seconds()),
                         misfire_grace_time=int(MAINTENANCE_EVERY.total_seconds())))
    return specs


def sync_jobs(scheduler, specs: list[JobSpec]) -> None:
    """Make the job store match the config: keep jobs whose schedule did not
    change (so their next run time survives a restart), replace changed ones,
    drop jobs of sources and digests no longer configured."""
    existing = {job.id: job for job in scheduler.get_jobs()}
    for spec in specs:
        job = existing.get(spec.id)
        if (job is not None and job.func_ref == spec.func and tuple(job.args) == spec.args
                and _trigger_signature(job.trigger) == _trigger_signature(spec.trigger)
                and job.misfire_grace_time == spec.misfire_grace_time):
            log.info("job %s kept: next run %s", spec.id, job.next_run_time)
            continue
        options = {"next_run_time": spec.first_run} if spec.first_run else {}
        scheduler.add_job(spec.func, spec.trigger, args=spec.args, id=spec.id, name=spec.id,
                          replace_existing=True, max_instances=1, coalesce=True,
                          misfire_grace_time=spec.misfire_grace_time, **options)
        log.info("job %s scheduled (%s)", spec.id, spec.trigger)
    for job_id in set(existing) - {spec.id for spec in specs}:
        scheduler.remove_job(job_id)
        log.info("job %s removed: no longer in the config", job_id)


def build_scheduler(url: str):
    """A BackgroundScheduler whose jobs live in the archive database."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    from storage.db import get_engine

    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=get_engine(url), tablename=JOBS_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=timezone.utc,
    )


# --- the daemon ---------------------------------------------------------------------------------


def serve(config, *, log_format: str = "text", verbose: bool = False,
          crawl_stop_grace: float = CRAWL_STOP_GRACE) -> int:
    """Run until SIGTERM/SIGINT; returns the exit status (0 after a clean stop)."""
    global _service
    from storage.db import check_schema

    url = config.effective_database_url()
    check_schema(url)
    config_path = str(config.path) if config.path else None
    service = Service(config_path=config_path, log_format=log_format, verbose=verbose,
                      crawl_stop_grace=crawl_stop_grace)
    _service = service
    scheduler = build_scheduler(url)
    service.scheduler = scheduler

    def on_signal(signum, _frame):
        if service.stopping.is_set():
            log.warning("second %s: exiting now", signal.Signals(signum).name)
            for proc in service.children():
                proc.kill()
            logging.shutdown()
            os._exit(1)
        log.info("%s received: finishing in-flight work, then stopping", signal.Signals(signum).name)
        service.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    scheduler.start(paused=True)
    sync_jobs(scheduler, job_specs(config, config_path))
    scheduler.add_job("scheduler:retry_unfinished_digests", "date", args=(config_path,), id="digest-retry",
                      replace_existing=True, misfire_grace_time=None)
    scheduler.resume()
    log.info("newsmon service started: %d sources, %d digests, pid %d",
             sum(s.enabled for s in config.sources), len(config.digests), os.getpid())

    while not service.stopping.wait(1.0):
        pass
    return _shutdown(service)


def _shutdown(service: Service) -> int:
    """Stop scheduling, let crawls finish their in-flight items, exit in bounded time."""
    started = time.monotonic()
    service.scheduler.shutdown(wait=False)
    children = service.children()
    for proc in children:
        if proc.poll() is None:
            log.info("asking crawl pid %d to finish its in-flight items", proc.pid)
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + service.crawl_stop_grace
    for proc in children:
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            log.warning("crawl pid %d did not stop in %.0f s: killing it", proc.pid, service.crawl_stop_grace)
            proc.kill()
            proc.wait()
    if not service.wait_idle(JOB_STOP_GRACE):
        log.warning("jobs still running after %.0f s: exiting anyway (unfinished digests are re-sent next start)",
                    time.monotonic() - started)
        logging.shutdown()
        os._exit(0)
    log.info("newsmon service stopped in %.1f s", time.monotonic() - started)
    return 0


# --- the crawl subprocess wrapper ------------------------------------------------------------------


def _die_with_parent(parent_pid: int) -> None:
    """Linux: deliver SIGTERM to this process when the daemon dies, as a
    graceful stop; then make sure the daemon did not die before we got here."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:
        sys.exit(1)


def _child_main(argv: list[str]) -> int:
    parent_pid, rest = int(argv[0]), argv[1:]
    _die_with_parent(parent_pid)
    from newsmon.cli import main

    return main(rest)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "crawl-child":
        sys.exit(_child_main(sys.argv[2:]))
    sys.exit("usage: python -m scheduler crawl-child PARENT_PID NEWSMON-ARGS... (used by 'newsmon run')")
