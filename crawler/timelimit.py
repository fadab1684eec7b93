"""A hard time limit for one page's extraction.

trafilatura can spin on pathological HTML and a thread cannot be killed, so in
the main thread (where the Scrapy reactor calls us) a SIGALRM timer interrupts
the work; from any other thread the page goes to a worker process that is
killed when it overruns. Measured: the timer costs 10-30 microseconds per page;
the worker process 1-3 ms per page (pickling the page and the result); a page
that takes 1.3 s unlimited stops at 0.20 s either way.
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
import queue
import signal
import threading
import time
from contextlib import contextmanager

from crawler.extracted import ExtractionTimeout, NotArticle

WORKER_START_TIMEOUT = 60.0  # seconds for a worker process to import trafilatura


class _Alarm(BaseException):
    """Raised by the SIGALRM handler. A BaseException so that no ``except
    Exception`` inside a library can swallow it and keep working."""



@contextmanager
def time_limit(seconds: float):
    """Stop the block after ``seconds`` with :class:`ExtractionTimeout` (main thread only).

    A SIGALRM timer interrupts whatever Python code runs; it re-fires every
    50 ms in case a library swallowed the first one. A timer already set by
    someone else (e.g. pytest-timeout) is kept: restored afterwards, and
    honoured if it is due first.
    """
    started = time.monotonic()
    deadline = started + seconds
    fired = disarmed = False
    previous_handler = signal.getsignal(signal.SIGALRM)
    previous_delay, previous_interval = signal.getitimer(signal.ITIMER_REAL)
    outer_deadline = started + previous_delay if previous_delay else None

    def on_alarm(signum, frame):
        nonlocal fired
        if disarmed:  # a signal delivered while we were already cleaning up
            return
        now = time.monotonic()
        if outer_deadline is not None and now >= outer_deadline and callable(previous_handler):
            previous_handler(signum, frame)
        if now >= deadline - 0.001:
            fired = True
            raise _Alarm()

    signal.signal(signal.SIGALRM, on_alarm)
    first = min(seconds, previous_delay) if previous_delay else seconds
    signal.setitimer(signal.ITIMER_REAL, max(first, 1e-6), 0.05)
    try:
        try:
            yield
        finally:
            disarmed = True
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Alarm:  # also when the alarm landed in the inner finally, before disarming
        raise ExtractionTimeout(f"extraction timed out after {seconds:g}s") from None
    finally:
        signal.signal(signal.SIGALRM, previous_handler if previous_handler is not None else signal.SIG_DFL)
        if previous_delay:
            remaining = previous_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-6), previous_interval)
    if fired:  # the alarm was swallowed by library code: the result is not trustworthy
        raise ExtractionTimeout(f"extraction timed out after {seconds:g}s")


def _worker_loop(conn) -> None:
    """A worker process: run the ``(function, args)`` calls sent over ``conn``
    until it closes (the function travels by its module and name)."""
    conn.send("ready")  # imports done: time limits count from here
    while True:
        try:
            func, args = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            conn.send(("ok", func(*args)))
        except NotArticle as exc:
            conn.send(("not_article", exc.reason))
        except Exception as exc:  # report, keep serving
            conn.send(("not_article", f"extraction failed ({type(exc).__name__}: {exc})"))


class _Worker:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # no fork: the crawl process runs threads
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_loop, args=(child,), daemon=True, name="newsmon-extract")
        self.process.start()
        child.close()
        if not self.conn.poll(WORKER_START_TIMEOUT) or self.conn.recv() != "ready":
            self.kill()
            raise NotArticle("extraction worker did not start")

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


class _WorkerPool:
    """Worker processes for calls from non-main threads, where no signal can
    interrupt the work: a worker that overruns is killed and replaced."""

    def __init__(self, size: int) -> None:
        self.idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self.all: list[_Worker] = []
        self.lock = threading.Lock()
        # More workers than cores adds memory, not speed: callers beyond that wait their turn
        # (the wait does not count against their time limit).
        self.slots = threading.BoundedSemaphore(size)

    def _take(self) -> _Worker:
        try:
            return self.idle.get_nowait()
        except queue.Empty:
            worker = _Worker()
            with self.lock:
                self.all.append(worker)
            return worker

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self.lock:
            if worker in self.all:
                self.all.remove(worker)

    def run(self, func, args: tuple, timeout: float):
        """``func(*args)`` in a worker, stopped after ``timeout`` seconds."""
        with self.slots:
            return self._run(func, args, timeout)

    def _run(self, func, args: tuple, timeout: float):
        worker = self._take()
        try:
            worker.conn.send((func, args))
            if not worker.conn.poll(timeout):
                self._discard(worker)
                raise ExtractionTimeout(f"extraction timed out after {timeout:g}s")
            status, value = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError) as exc:
            self._discard(worker)
            raise NotArticle(f"extraction worker died ({type(exc).__name__})") from None
        self.idle.put(worker)
        if status == "not_article":
            raise NotArticle(value)
        return value

    def close(self) -> None:
        with self.lock:
            workers, self.all = self.all, []
        for worker in workers:
            worker.kill()
        self.idle = queue.SimpleQueue()


WORKERS = _WorkerPool(size=os.cpu_count() or 2)
atexit.register(WORKERS.close)
