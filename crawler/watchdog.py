"""A crawl stops within its grace period after SIGTERM/SIGINT, whatever a page,
a rule or the archive is doing.

Scrapy's first-signal handler stops the crawl gracefully (in-flight pages are
finished); that needs the reactor thread to come back, which a slow page, a
stuck download or a long transaction can delay indefinitely. The watchdog is
armed by the first signal: if the crawl has not ended ``grace`` seconds later
it marks the runs still 'running' as 'interrupted' (best effort, bounded) and
ends the process. Installed once the reactor runs, after Scrapy's own
handlers, which it calls on."""
from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Callable

log = logging.getLogger("newsmon.crawl")

FORCED_EXIT_STATUS = 3
RECORD_TIMEOUT = 5.0  # seconds the watchdog waits for the interrupted runs to be written


class StopWatchdog:
    def __init__(self, grace: float, record: Callable[[str], None]) -> None:
        self.grace = grace
        self.record = record  # called with a message when the grace period ran out
        self.finished = threading.Event()
        self._armed = threading.Event()
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        if not self._armed.is_set():
            self._armed.set()
            threading.Thread(target=self._expire, name="stop-watchdog", daemon=True).start()
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, frame)

    def _expire(self) -> None:
        if self.finished.wait(self.grace):
            return
        message = f"stopped: the crawl did not end within {self.grace:g} s of the stop signal (--stop-grace)"
        log.warning("%s", message)
        writer = threading.Thread(target=self._record, args=(message,), daemon=True)
        writer.start()
        writer.join(RECORD_TIMEOUT)
        logging.shutdown()
        os._exit(FORCED_EXIT_STATUS)

    def _record(self, message: str) -> None:
        try:
            self.record(message)
        except Exception:  # noqa: BLE001 - the next run marks it interrupted anyway
            log.debug("could not record the interrupted runs", exc_info=True)
