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

The daemon around these jobs — leadership, heartbeat, config reload, stopping
— is newsmon/daemon.py. Only the leading service runs them: each job checks
``_service.leading``.

Crawls: ``python -P -m newsmon.crawlchild`` (no working directory can shadow
a module), killed by the kernel when the daemon dies, and each under a
``source:NAME`` lease in the archive, so no two crawls of a source overlap,
whichever daemon started them.
"""
from __future__ import annotations

import collections
import logging
import random
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from newsmon.crawlproc import (  # noqa: F401 - backoff_delay is part of this module's API
    MIN_CRAWL_TIMEOUT, backoff_delay, crawl_command, record_failed_start, record_outcome, relay_stderr, wait_child)

log = logging.getLogger("newsmon.service")

JOBS_TABLE = "apscheduler_jobs"
CRAWL_STOP_GRACE = 30.0  # seconds a crawl gets to finish in-flight items after SIGTERM
JOB_STOP_GRACE = 15.0  # seconds other running jobs (digests) get once crawls have stopped
MAINTENANCE_EVERY = timedelta(hours=1)
DIGEST_MISFIRE_GRACE = 3600  # a digest missed (service down) by less than this runs at start-up
FIRST_RUN_SPREAD = 30.0  # new source jobs start within this many seconds, spread out
MAX_JITTER = 300  # seconds
LEASE_SECONDS = 45.0  # leader, member and source leases last this long unless renewed
HEARTBEAT_SECONDS = 3.0  # how often the service renews its leases and looks for work as standby
CONFIG_CHECK_SECONDS = 5.0
JOB_STORE_RETRY_SECONDS = 5.0  # pause after the job store failed to save a run time
RECENT_ERRORS = 10  # errors kept for `newsmon status`


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
    config: object = None  # the last good config (what runs)
    config_text: str = ""  # its text, handed to crawls
    config_version: str = "defaults"
    config_mtime: float | None = None
    bad_version: str | None = None  # the invalid version on disk, reported once
    config_error: str | None = None
    holder: object = None  # storage.leases.Holder of this service
    leading: bool = False
    reported_leader: str | None = None  # the leader a standby last named in its log
    stopping: threading.Event = field(default_factory=threading.Event)
    scheduler: object = None
    errors: collections.deque = field(default_factory=lambda: collections.deque(maxlen=RECENT_ERRORS))
    pending: dict = field(default_factory=dict)  # archive writes that failed, by key: retried on each heartbeat
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _children: dict = field(default_factory=dict)  # Popen -> source name
    _active_jobs: int = 0
    _idle: threading.Condition = field(default_factory=threading.Condition)

    def children(self) -> list[subprocess.Popen]:
        with self._lock:
            return list(self._children)

    def running_crawls(self) -> list[tuple[str, int]]:
        with self._lock:
            return [(name, proc.pid) for proc, name in self._children.items()]

    def error(self, what: str, exc: BaseException | str) -> None:
        """Remember a failure for `newsmon status` (written with the next heartbeat)."""
        detail = exc if isinstance(exc, str) else _reason(exc)
        with self._lock:
            self.errors.append({"at": _utcnow().replace(tzinfo=None).isoformat(timespec="seconds"),
                                "what": what, "error": detail})

    @property
    def url(self) -> str:
        return self.config.effective_database_url()

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


def _reason(exc: BaseException) -> str:
    """One line saying what went wrong (the database driver's own words when there are some)."""
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {detail[0] if detail else ''}".strip(": ")


def _load(config_path: str | None):
    """The config a job runs with: the service's last good one, else the file."""
    if _service is not None and _service.config is not None and _service.config_path == config_path:
        return _service.config
    from crawler.config import load_config

    return load_config(config_path)


# --- jobs (module-level functions: the job store keeps 'scheduler:NAME' references) ----------


def _source_lease(service: Service, source_name: str, child_pid: int | None = None):
    """Take (or renew, naming the crawl's pid) the source's lease; the other holder's lease when it is taken."""
    from storage.db import session_scope
    from storage.leases import source_lease_name, try_acquire

    with session_scope(service.url) as session:
        taken, lease = try_acquire(session, source_lease_name(source_name), service.holder, LEASE_SECONDS,
                                   info={"crawl_pid": child_pid},
                                   extra_pids=(child_pid,) if child_pid else ())
    return None if taken else lease


def _release_source(service: Service, source_name: str) -> None:
    from storage.db import session_scope
    from storage.leases import release, source_lease_name

    try:
        with session_scope(service.url) as session:
            release(session, source_lease_name(source_name), service.holder)
    except Exception as exc:  # the lease lapses by itself
        log.debug("cannot release the lease of %s: %s", source_name, exc)


def run_source_job(config_path: str | None, source_name: str) -> None:
    """Crawl one source in a subprocess under the source's lease, then record
    the outcome and back off if it keeps failing."""
    service = _service
    if service is None or service.stopping.is_set() or not service.leading:
        return
    service.job_started()
    try:
        config = _load(config_path)
        source = config.source(source_name)
        if config.effective_broker_url():  # workers crawl it (newsmon/scale)
            from newsmon.scale.enqueue import enqueue_poll

            enqueue_poll(config, service.config_text, config_path, source_name, service.error)
            return
        interval = source.check_interval_minutes * 60
        other = _source_lease(service, source_name)
        if other is not None:
            log.warning("crawl %s: skipped: a crawl of this source is still running (pid %s on %s)",
                        source_name, other.info.get("crawl_pid") or other.pid, other.host,
                        extra={"source": source_name})
            return
        try:
            _crawl(service, config, source_name, interval)
        finally:
            _release_source(service, source_name)
    except Exception as exc:  # never let one source's trouble reach the scheduler thread
        service.error(f"crawl {source_name}", exc)
        log.error("crawl %s: job failed: %s", source_name, _reason(exc), exc_info=service.verbose)
        started, why = _utcnow().replace(tzinfo=None), _reason(exc)
        with service._lock:  # on record once the archive takes writes again (one per source)
            service.pending.setdefault(("start", source_name),
                                       lambda: record_failed_start(service.url, source_name, started, why))
    finally:
        service.job_finished()


def _crawl(service: Service, config, source_name: str, interval: float) -> None:
    started = _utcnow().replace(tzinfo=None)
    cmd = crawl_command(service.config_path, source_name, service.log_format, service.verbose)
    log.info("crawl %s: starting", source_name, extra={"source": source_name})
    t0 = time.monotonic()
    with service._lock:
        if service.stopping.is_set() or not service.leading:
            return
        # Its logs go to our stderr (same format); its summary table would only repeat them.
        proc = subprocess.Popen(cmd, process_group=0, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        service._children[proc] = source_name
    last_error: list[str] = []
    relay = threading.Thread(target=relay_stderr, args=(proc.stderr, last_error), daemon=True)
    relay.start()
    try:
        try:
            proc.stdin.write(service.config_text.encode())
            proc.stdin.close()
        except OSError:
            pass  # it died at once: its exit status says so
        try:
            _source_lease(service, source_name, proc.pid)  # the lease now names the crawl process too
        except Exception as exc:
            log.debug("cannot name crawl pid %d in the lease of %s: %s", proc.pid, source_name, exc)
        ended = wait_child(proc, max(MIN_CRAWL_TIMEOUT, 3 * interval), service.stopping, service.crawl_stop_grace)
    finally:
        with service._lock:
            service._children.pop(proc, None)
    relay.join(5)
    code = proc.returncode
    if last_error and code not in (0, None):
        ended = f"{ended} ({last_error[-1][:300]})"
    if service.stopping.is_set():
        ended = "stopped with the service"
    elif not service.leading:
        ended = "stopped: the service stepped down"
    log.info("crawl %s: finished with exit status %s in %.1f s", source_name, code, time.monotonic() - t0,
             extra={"source": source_name})
    if code not in (0, None) and not ended.startswith("stopped"):
        service.error(f"crawl {source_name}", f"crawl process {ended} with exit status {code}")
    record = lambda: record_outcome(config, source_name, started, code, ended)  # noqa: E731
    try:
        record()
    except Exception as exc:  # the archive is unreachable or full: write it when it is back
        service.error(f"recording the crawl of {source_name}", exc)
        log.error("crawl %s: cannot record its outcome (will retry): %s", source_name, _reason(exc))
        with service._lock:
            service.pending[("outcome", source_name, started)] = record
        return
    if not service.stopping.is_set() and service.leading:
        _apply_backoff(config, source_name, interval, service)


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
        if service.stopping.is_set() or not service.leading:
            return
        service.job_started()
    try:
        from newsmon.digests import run_digest

        config = _load(config_path)
        if service is not None and config.effective_broker_url():  # a worker sends it (newsmon/scale)
            from newsmon.scale.enqueue import enqueue_digest

            enqueue_digest(config, service.config_text, config_path, digest_name, service.error)
            return
        results = run_digest(config, config.effective_database_url(), digest_name)
        if service is not None:
            for result in results:
                if result.status == "failed":
                    service.error(f"digest {digest_name} {result.channel}", result.detail)
    except Exception as exc:
        if service is not None:
            service.error(f"digest {digest_name}", exc)
        log.error("digest %s: run failed: %s", digest_name, _reason(exc), exc_info=bool(service and service.verbose))
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
        if _service is not None:
            _service.error("maintenance", exc)
        log.error("maintenance failed: %s", _reason(exc))


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
    existing = {job.id: job for job in scheduler.get_jobs(jobstore="default")}
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


def _job_store(url: str):
    """APScheduler's SQLAlchemy job store, except that a failed write of a
    job's next run time (database down, disk full) is logged instead of
    raised: APScheduler 3 lets that error end its scheduling thread, leaving a
    process that runs nothing. The job then stays due and runs again on the
    next wake-up. (Overrides the public JobStore API of APScheduler 3.10+;
    tests/test_service_leader.py notices a change.)"""
    from apscheduler.jobstores.base import JobLookupError
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    from storage.db import get_engine

    class ArchiveJobStore(SQLAlchemyJobStore):
        def update_job(self, job):
            try:
                super().update_job(job)
            except JobLookupError:
                log.warning("job %s vanished from the job store (removed by hand?)", job.id)
            except Exception as exc:
                if _service is not None:
                    _service.error(f"job store: updating {job.id}", exc)
                log.error("job store: cannot save the next run of %s (it runs again when due): %s", job.id,
                          _reason(exc))
                # The stored run time stays in the past: without a pause the scheduler would spin on it.
                (_service.stopping.wait if _service is not None else time.sleep)(JOB_STORE_RETRY_SECONDS)

    return ArchiveJobStore(engine=get_engine(url), tablename=JOBS_TABLE)


def build_scheduler(url: str):
    """A BackgroundScheduler whose jobs live in the archive database."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    return BackgroundScheduler(
        jobstores={"default": _job_store(url),
                   "local": MemoryJobStore()},  # this process's one-off jobs
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=timezone.utc,
    )
