"""The newsmon daemon: ``newsmon run`` (the jobs it schedules are in scheduler.py).

One leader: every ``newsmon run`` on an archive registers a ``member:`` lease
and competes for the ``leader`` lease (storage/leases.py) on each heartbeat;
only the leader starts its scheduler (APScheduler 3 job stores must not be
shared by two running schedulers). The others log once that they wait as
standby and take over when the leader's lease lapses — at once when the leader
ran on this host and is gone, else within ``LEASE_SECONDS``. A leader that
cannot renew its lease for most of that time (database down, disk full) steps
down, kills its crawls and competes again. What could not be written meanwhile
(a crawl's outcome) is written on the first heartbeat that succeeds.

Config: checked every ``CONFIG_CHECK_SECONDS``; a valid new version is picked
up (jobs re-synced), an invalid one is logged once and the service keeps
running on the last good version (its crawls get that version's text), which
``newsmon status`` names (hash and mtime).

Stopping: the first SIGTERM/SIGINT stops taking new work, forwards SIGTERM to
running crawls (Scrapy then finishes the items in flight), waits a bounded
time, kills what is left, hands its leases back and exits 0. A second signal
exits at once.
"""
from __future__ import annotations

import hashlib
import logging
import os
import signal
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import scheduler
from scheduler import (
    CONFIG_CHECK_SECONDS,
    CRAWL_STOP_GRACE,
    HEARTBEAT_SECONDS,
    JOB_STOP_GRACE,
    LEASE_SECONDS,
    Service,
    _reason,
    build_scheduler,
    job_specs,
    sync_jobs,
)

log = logging.getLogger("newsmon.service")


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
    from crawler.config import ConfigError, parse_config
    from crawler.errors import parse_yaml_text

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
            elif lease is not None and service.reported_leader != lease.holder:
                service.reported_leader = lease.holder
                log.info("another newsmon service (pid %d, host %s) holds the archive; waiting as standby",
                         lease.pid, lease.host)
        try_acquire(session, member_name(service.holder.token), service.holder, LEASE_SECONDS,
                    info=_member_info(service))


class LeadershipLost(Exception):
    pass


def _lead(service: Service) -> None:
    """Start the schedule: this service leads now."""
    from storage.db import session_scope
    from storage.leases import forget_dead

    with session_scope(service.url) as session:  # services and sends that died long ago
        forget_dead(session, "member:")
        forget_dead(session, "delivery:")
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
    service.reported_leader = None
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
    from storage.db import check_schema
    from storage.leases import Holder

    url = config.effective_database_url()
    check_schema(url)
    config_path = str(config.path) if config.path else None
    service = Service(config_path=config_path, log_format=log_format, verbose=verbose,
                      crawl_stop_grace=crawl_stop_grace, holder=Holder())
    text, mtime = _read_config_file(config_path) if config_path else ("", None)
    _use_config(service, config, text, mtime)
    scheduler._service = service  # what the job functions run with

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
