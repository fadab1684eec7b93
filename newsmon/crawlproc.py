"""Crawl processes: how the service (scheduler.py) and the Celery workers
(newsmon/scale/tasks.py) start ``newsmon crawl SOURCE`` in a child process,
wait for it, relay its log lines, and put its end on record in the archive.

A crawl is always its own process (``python -P -m newsmon.crawlchild``):
Twisted's reactor cannot be restarted inside a long-lived process, and a
child that dies with its parent (``PR_SET_PDEATHSIG``) never outlives the
daemon or worker that started it.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

log = logging.getLogger("newsmon.service")

MIN_CRAWL_TIMEOUT = 900.0  # a crawl still running after max(this, 3 intervals) is stopped


def utcnow() -> datetime:
    """Naive UTC, as the archive stores times."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def crawl_command(config_path: str | None, source_name: str, log_format: str = "text",
                  verbose: bool = False, command: tuple[str, ...] = ()) -> list[str]:
    """The crawl subprocess: this interpreter, ``-P`` (the working directory
    is not on ``sys.path``, so a folder named ``newsmon`` there changes
    nothing), newsmon.crawlchild (dies with the daemon; reads the config text
    on stdin), then ``newsmon crawl SOURCE``."""
    cmd = [sys.executable, "-P", "-m", "newsmon.crawlchild", str(os.getpid()), config_path or "-",
           "--log-format", log_format]
    if verbose:
        cmd.append("-v")
    return cmd + list(command or ("crawl", source_name))



class WarmChild:
    """A child forked from the warm template, with the parts of ``subprocess.Popen``
    that :func:`wait_child`, :func:`stop_child` and the relays use."""

    stdin = None  # the config text went with the start

    def __init__(self, process, stdout, stderr, lifeline) -> None:
        self._process, self.pid, self.stdout, self.stderr = process, process.pid, stdout, stderr
        self._lifeline = lifeline  # the write end: the child dies when it closes (with this process)
        self._code: int | None = None

    @property
    def returncode(self) -> int | None:
        if self._code is None:
            code = self._process.exitcode  # negative: killed by that signal, as Popen's
            if code is not None:  # reaped: let go of its pipes
                self._code = code
                self._lifeline.close()
                self._process.close()
        return self._code

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self._code is None:
            self._process.join(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired("crawl child", timeout)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:  # not reaped yet: the pid is still this child's
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


_warm_lock = threading.Lock()
_warm_context = None


def start_warm_child(cmd: list[str], stdin_text: str, capture_stdout: bool = False) -> WarmChild:
    """Start the child ``cmd`` (from :func:`crawl_command`) as a fork of this
    process's warm template instead of a fresh interpreter: multiprocessing's
    fork server, started at the first call with newsmon/crawlwarm.py
    preloaded (imports and dictionaries loaded once, not per child). The
    child runs newsmon.crawlchild's ``forked_main``: the same crawl, on the
    same config text, with the same exit status and log lines on its stderr."""
    import multiprocessing

    from newsmon.crawlchild import forked_main

    global _warm_context
    argv = cmd[cmd.index("newsmon.crawlchild") + 1:]
    with _warm_lock:  # one fork server per process; Process.start from many task threads
        if _warm_context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["newsmon.crawlwarm"])
            _warm_context = context
        out_r, out_w = _warm_context.Pipe(duplex=False) if capture_stdout else (None, None)
        err_r, err_w = _warm_context.Pipe(duplex=False)
        life_r, life_w = _warm_context.Pipe(duplex=False)
        process = _warm_context.Process(target=forked_main, name="newsmon child",
                                        args=(int(argv[0]), argv[1:], stdin_text, out_w, err_w, life_r))
        try:
            process.start()
        except BaseException:
            life_w.close()
            for conn in (out_r, err_r):
                if conn is not None:
                    conn.close()
            raise
        finally:
            for conn in (out_w, err_w, life_r):
                if conn is not None:
                    conn.close()
    stdout = os.fdopen(os.dup(out_r.fileno()), "rb") if out_r is not None else None
    stderr = os.fdopen(os.dup(err_r.fileno()), "rb")
    for conn in (out_r, err_r):
        if conn is not None:
            conn.close()
    return WarmChild(process, stdout, stderr, life_w)


def wait_child(proc: subprocess.Popen, timeout: float, stopping: threading.Event, grace: float,
               tick=None, tick_every: float = 3.0) -> str:
    """Wait for a crawl; stop it (SIGTERM, then SIGKILL after ``grace``) past
    ``timeout``, unless ``stopping`` is set (the stop path handles it then).
    ``tick()`` runs every ``tick_every`` seconds meanwhile (lease renewal).
    Returns how it ended."""
    deadline = time.monotonic() + timeout
    next_tick = time.monotonic() + tick_every
    while True:
        try:
            proc.wait(timeout=0.5)
            return "exited"
        except subprocess.TimeoutExpired:
            pass
        if tick is not None and time.monotonic() >= next_tick:
            next_tick = time.monotonic() + tick_every
            tick()
        if time.monotonic() > deadline and not stopping.is_set():
            log.warning("crawl pid %d ran longer than %.0f s: stopping it", proc.pid, timeout)
            stop_child(proc, grace)
            return "timed out"



def stop_child(proc: subprocess.Popen, grace: float) -> None:
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



def relay_stderr(stream, last_error: list[str]) -> None:
    """Copy a crawl's log lines to our stderr, remembering its last error (for its run's record)."""
    import json

    out = getattr(sys.stderr, "buffer", None)
    for raw in iter(stream.readline, b""):
        try:
            if out is not None:
                out.write(raw)
                out.flush()
        except (OSError, ValueError):
            pass
        line = raw.decode("utf-8", "replace").strip()
        if line.startswith("newsmon: "):
            last_error.append(line.removeprefix("newsmon: "))
        elif line.startswith("{") and '"ERROR"' in line:
            try:
                last_error.append(json.loads(line)["msg"].splitlines()[0])
            except (ValueError, KeyError, IndexError):
                pass
        elif " ERROR " in line:
            last_error.append(line)
        del last_error[:-1]
    stream.close()



def record_outcome(config, source_name: str, started: datetime, code: int | None, ended: str) -> None:
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
        crashed = code not in (0, None) and not ended.startswith("stopped")
        for run in runs:
            if run.status == "running":
                # A crawl that exits with an error before recording its end failed (e.g. the
                # archive became unwritable); one stopped by the service was interrupted.
                run.status = "failed" if crashed else "interrupted"
                run.finished_at = utcnow()
                run.message = f"crawl process {ended} (exit status {code}) before finishing"
        if not runs and code != 0 and not ended.startswith("stopped"):
            if source_id is None:
                source_id = runlog_source_id(session, source_name)
            reason = "was stopped" if code is not None and code < 0 else f"exited with status {code}"
            if "(" in ended:  # what the crawl said last
                reason += " " + ended[ended.index("("):]
            session.add(CrawlRun(source_id=source_id, started_at=started, finished_at=utcnow(),
                                 status="failed", message=f"crawl process {reason} before recording a run"))



def record_failed_start(url: str, source_name: str, started: datetime, why: str) -> None:
    """A crawl the service could not even start (the archive refused the source's lease) is a failed run."""
    from crawler.runlog import source_id
    from storage.db import session_scope
    from storage.models import CrawlRun

    with session_scope(url) as session:
        session.add(CrawlRun(source_id=source_id(session, source_name), started_at=started,
                             finished_at=utcnow(), status="failed",
                             message=f"newsmon could not start the crawl: {why}"))



def backoff_delay(interval_seconds: float, failures: int, limit: int, cap_seconds: float) -> float | None:
    """After ``limit`` consecutive failed runs, wait 2, 4, 8 … intervals (up to
    ``cap_seconds``, but never less than one interval) before the next try."""
    if failures < limit:
        return None
    return min(interval_seconds * 2 ** (failures - limit + 1), max(cap_seconds, interval_seconds))
