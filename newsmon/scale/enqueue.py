"""The scheduler's side of scale-out: with a broker configured, a due source
or digest job publishes one task instead of running the work in the service.

A broker outage stops nothing else: the job logs one line when the broker
becomes unreachable (and one when it is back), the job's next due time tries
again, and nothing is lost — the archive still says what was seen, so the
next poll of a source files whatever appeared meanwhile.

Poll tasks expire after one interval (at least ``MIN_POLL_EXPIRY``): work the
workers could not start before the next due time is dropped, not piled up.
A source failing ``crawl.feed_failure_limit`` times in a row rests as the
service would make it rest (``backoff_delay``), decided here from its runs in
the archive, since workers cannot move the schedule.
"""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

from newsmon.crawlproc import backoff_delay, utcnow
from newsmon.scale import MIN_POLL_EXPIRY, TASK_DIGEST, TASK_POLL

log = logging.getLogger("newsmon.service")

_state = {"down": None}  # the broker's last error, while it is unreachable
_lock = threading.Lock()


def _publish(config, task: str, args: list, what: str, expires: float | None, on_error) -> str | None:
    from newsmon.scale.app import send

    try:
        task_id = send(config, task, args, expires=expires)
    except Exception as exc:  # kombu's OperationalError, a refused connection, a timeout
        reason = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"
        with _lock:
            first = _state["down"] is None
            _state["down"] = reason
        if first:
            log.error("broker %s unreachable: %s not enqueued (%s); due work is enqueued again at its next due "
                      "time, nothing is lost", config.effective_broker_url(), what, reason)
        else:
            log.debug("broker still unreachable: %s not enqueued", what)
        if on_error is not None:
            on_error(f"enqueue {what}", f"broker unreachable: {reason}")
        return None
    with _lock:
        was_down, _state["down"] = _state["down"], None
    if was_down:
        log.info("broker %s reachable again: enqueuing resumed", config.effective_broker_url())
    log.info("%s: enqueued (task %s)", what, task_id)
    return task_id


def resting(config, source_name: str) -> bool:
    """Whether a failing source still rests after its streak of failed runs."""
    from newsmon.digests.content import failure_streak
    from storage.db import session_scope

    source = config.source(source_name)
    interval = source.check_interval_minutes * 60
    with session_scope(config.effective_database_url()) as session:
        streak = failure_streak(session, source_name)
    delay = backoff_delay(interval, len(streak), config.crawl.feed_failure_limit, config.crawl.feed_retry_hours * 3600)
    if delay is None:
        return False
    until = streak[0][0] + timedelta(seconds=delay)
    if until > utcnow():
        log.info("poll %s: not enqueued: failing (%d failed runs in a row), next try after %s", source_name,
                 len(streak), f"{until:%Y-%m-%d %H:%M:%S}", extra={"source": source_name})
        return True
    return False


def enqueue_poll(config, config_text: str, config_path: str | None, source_name: str, on_error=None) -> str | None:
    if resting(config, source_name):
        return None
    interval = config.source(source_name).check_interval_minutes * 60
    return _publish(config, TASK_POLL, [config_text, config_path, source_name], f"poll {source_name}",
                    max(interval, MIN_POLL_EXPIRY), on_error)


def enqueue_digest(config, config_text: str, config_path: str | None, digest_name: str,
                   on_error=None) -> str | None:
    return _publish(config, TASK_DIGEST, [config_text, config_path, digest_name], f"digest {digest_name}",
                    None, on_error)
