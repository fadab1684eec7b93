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

One leader: every ``newsmon run`` on an archive registers a ``member:`` lease
and competes for the ``leader`` lease (storage/leases.py); only the leader
starts its scheduler (APScheduler 3 job stores must not be shared by two
running schedulers). The others log once that they wait as standby and take
over when the leader's lease lapses — at once when the leader ran on this host
and is gone, else within ``LEASE_SECONDS``. A leader that cannot renew its
lease for that long (database down, disk full) steps down and competes again.

Crawls: ``python -P -m newsmon.crawlchild`` (no working directory can shadow
a module), killed by the kernel when the daemon dies, and each under a
``source:NAME`` lease in the archive, so no two crawls of a source overlap,
whichever daemon started them.

Config: checked every ``CONFIG_CHECK_SECONDS``; a valid new version is picked
up (jobs re-synced), an invalid one is logged once and the service keeps
running on the last good version (crawls get that version's text), which
``newsmon status`` names (hash and mtime).

Stopping: the first SIGTERM/SIGINT stops taking new work, forwards SIGTERM to
running crawls (Scrapy then finishes the items in flight), waits a bounded
time, kills what is left and exits 0. A second signal exits at once.
"""
from __future__ import annotations

import collections
import hashlib
import logging
import os
import random
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

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


# --- the daemon ---------------------------------------------------------------------------------


def config_version(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _read_config_file(path: str) -> tuple[str, float]:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    return text, os.stat(path).st_mtime


def _use_config(service: Service, config, text: str, mtime: float | None) -> None:
    service.config, service.config_text = config, text
    service.config_version = config_version(text) if service.config_path else "defaults"
    service.config_mtime, service.bad_version, service.config_error = mtime, None, None


def check_config(service: Service) -> bool:
    """Pick up a changed config file; keep the last good one when the new one
    is invalid (said once per version). Returns whether a new version is in use."""
    from crawler.config import ConfigError, parse_config, parse_yaml_text

    path = service.config_path
    if path is None:
        return False
    try:
        text, mtime = _read_config_file(path)
    except (OSError, UnicodeDecodeError) as exc:
        text, mtime, problem = None, None, f"{path}: cannot read the config file: {exc}"
    else:
        version = config_version(text)
        if version in (service.config_version, service.bad_version):
            return False
        try:
            config = parse_config(parse_yaml_text(text, path), path, Path(path).resolve())
            problem = None
            if config.effective_database_url() != service.url:
                problem = f"{path}: database_url changed: restart 'newsmon run' to use another archive"
        except ConfigError as exc:
            problem = str(exc)
    if problem is not None:
        if service.config_error != problem:
            log.error("config %s is invalid, still running on version %s: %s", path, service.config_version, problem)
            service.error("config", problem)
        service.bad_version = None if text is None else config_version(text)
        service.config_error = problem
        return False
    old = service.config_version
    _use_config(service, config, text, mtime)
    log.info("config %s changed: now running version %s (was %s)", path, service.config_version, old)
    if service.leading and service.scheduler is not None:
        sync_jobs(service.scheduler, job_specs(config, path))
    return True


def _member_info(service: Service) -> dict:
    with service._lock:
        errors = list(service.errors)
    mtime = service.config_mtime
    return {"role": "leader" if service.leading else "standby", "config_path": service.config_path,
            "config_version": service.config_version,
            "config_mtime": datetime.fromtimestamp(mtime, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            if mtime else None,
            "config_error": service.config_error, "errors": errors,
            "crawls": [{"source": name, "pid": pid} for name, pid in service.running_crawls()]}


def heartbeat(service: Service) -> None:
    """Renew this service's leases (member, leader, running crawls' sources),
    write what failed to be written before, and take the lead when it is free.
    Raises when the archive cannot be reached or written."""
    from storage.db import session_scope
    from storage.leases import LEADER, member_name, renew, source_lease_name, try_acquire

    with service._lock:
        pending = list(service.pending.items())
    for key, record in pending:
        record()  # raises while the archive still refuses writes: kept for the next heartbeat
        with service._lock:
            service.pending.pop(key, None)
    with session_scope(service.url) as session:
        for name, pid in service.running_crawls():
            renew(session, source_lease_name(name), service.holder, LEASE_SECONDS, info={"crawl_pid": pid},
                  extra_pids=(pid,))
        if service.leading:
            if not renew(session, LEADER, service.holder, LEASE_SECONDS):
                raise LeadershipLost("another service took the lead")
        else:
            taken, lease = try_acquire(session, LEADER, service.holder, LEASE_SECONDS)
            if taken:
                service.leading = True
            elif lease is not None and getattr(service, "_reported_leader", None) != lease.holder:
                service._reported_leader = lease.holder
                log.info("another newsmon service (pid %d, host %s) holds the archive; waiting as standby",
                         lease.pid, lease.host)
        try_acquire(session, member_name(service.holder.token), service.holder, LEASE_SECONDS,
                    info=_member_info(service))


class LeadershipLost(Exception):
    pass


def _lead(service: Service) -> None:
    """Start the schedule: this service leads now."""
    scheduler = build_scheduler(service.url)
    service.scheduler = scheduler
    scheduler.start(paused=True)
    sync_jobs(scheduler, job_specs(service.config, service.config_path))
    # A one-off job of this process only: kept out of the shared job store.
    scheduler.add_job("scheduler:retry_unfinished_digests", "date", args=(service.config_path,), id="digest-retry",
                      jobstore="local", replace_existing=True, misfire_grace_time=None)
    scheduler.resume()
    broker = service.config.effective_broker_url()
    log.info("newsmon service leading: %d sources, %d digests, pid %d, config version %s%s",
             sum(s.enabled for s in service.config.sources), len(service.config.digests), os.getpid(),
             service.config_version, f", enqueuing work for newsmon workers on {broker}" if broker else "")


def _step_down(service: Service, why: str) -> None:
    """Stop scheduling and kill running crawls at once: another service may lead now."""
    log.error("newsmon service stepping down to standby: %s", why)
    service.error("leadership", why)
    service.leading = False
    service._reported_leader = None
    if service.scheduler is not None:
        try:
            service.scheduler.shutdown(wait=False)
        except Exception as exc:
            log.debug("scheduler shutdown: %s", exc)
        service.scheduler = None
    for proc in service.children():
        if proc.poll() is None:
            proc.kill()


def _loop(service: Service) -> None:
    """Heartbeat, lead or wait, follow the config — until a stop signal."""
    last_ok = time.monotonic()
    last_config_check = 0.0
    failing: str | None = None
    while not service.stopping.is_set():
        was_leading = service.leading
        try:
            heartbeat(service)
            last_ok = time.monotonic()
            if failing:
                log.info("the archive is reachable again")
                failing = None
        except LeadershipLost as exc:
            _step_down(service, str(exc))
        except Exception as exc:
            reason = _reason(exc)
            if reason != failing:
                log.error("cannot reach or write the archive: %s", reason)
                service.error("heartbeat", exc)
                failing = reason
            if service.leading and time.monotonic() - last_ok > LEASE_SECONDS * 0.8:
                _step_down(service, f"could not renew the lead for {time.monotonic() - last_ok:.0f} s: {reason}")
        if service.leading and not was_leading and not service.stopping.is_set():
            try:
                _lead(service)
            except Exception as exc:
                _step_down(service, f"could not start the schedule: {_reason(exc)}")
        if time.monotonic() - last_config_check >= CONFIG_CHECK_SECONDS:
            last_config_check = time.monotonic()
            try:
                check_config(service)
            except Exception as exc:
                log.error("config check failed: %s", _reason(exc))
        service.stopping.wait(HEARTBEAT_SECONDS)


def serve(config, *, log_format: str = "text", verbose: bool = False,
          crawl_stop_grace: float = CRAWL_STOP_GRACE) -> int:
    """Run until SIGTERM/SIGINT; returns the exit status (0 after a clean stop)."""
    global _service
    from storage.db import check_schema
    from storage.leases import Holder

    url = config.effective_database_url()
    check_schema(url)
    config_path = str(config.path) if config.path else None
    service = Service(config_path=config_path, log_format=log_format, verbose=verbose,
                      crawl_stop_grace=crawl_stop_grace, holder=Holder())
    text, mtime = _read_config_file(config_path) if config_path else ("", None)
    _use_config(service, config, text, mtime)
    _service = service

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
    log.info("newsmon service started: pid %d on %s, config version %s", os.getpid(), service.holder.host,
             service.config_version)
    _loop(service)
    return _shutdown(service)


def _shutdown(service: Service) -> int:
    """Stop scheduling, let crawls finish their in-flight items, exit in bounded time."""
    started = time.monotonic()
    if service.scheduler is not None:
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
    idle = service.wait_idle(JOB_STOP_GRACE)
    _leave(service)
    if not idle:
        log.warning("jobs still running after %.0f s: exiting anyway (unfinished digests are re-sent next start)",
                    time.monotonic() - started)
        logging.shutdown()
        os._exit(0)
    log.info("newsmon service stopped in %.1f s", time.monotonic() - started)
    return 0


def _leave(service: Service) -> None:
    """Hand the lead over at once: drop this service's leader and member leases."""
    from storage.db import session_scope
    from storage.leases import LEADER, member_name, release

    try:
        with session_scope(service.url) as session:
            release(session, LEADER, service.holder)
            release(session, member_name(service.holder.token), service.holder)
    except Exception as exc:  # they lapse by themselves
        log.debug("cannot release the service's leases: %s", exc)
