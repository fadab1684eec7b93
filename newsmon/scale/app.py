"""The Celery application: broker and result backend on the configured Redis,
and the failure semantics of docs/scale.md.

* ``task_acks_late`` + ``task_reject_on_worker_lost``: a task is acknowledged
  when it finished, so the task of a worker that died (SIGKILL, host lost) is
  delivered again — after ``service.visibility_timeout_seconds`` (Redis keeps
  unacknowledged messages aside and a live worker restores them);
* ``worker_prefetch_multiplier = 1``: a worker holds no more tasks than it runs;
* short connect and socket timeouts towards Redis, so a broker outage is an
  error within seconds at the scheduler, never a hang; workers reconnect forever.
"""
from __future__ import annotations

from celery import Celery

from newsmon.scale import ANALYSIS, DIGEST, POLL, TASK_DIGEST, TASK_POLL, TASK_REEXTRACT, queue_name

_apps: dict[tuple, Celery] = {}


def celery_app(config) -> Celery:
    """One Celery app per (broker, queues, visibility timeout) in this process."""
    url = config.effective_broker_url()
    if not url:
        raise ValueError("no broker configured")
    settings = config.service
    key = (url, settings.queue_prefix, settings.visibility_timeout_seconds)
    app = _apps.get(key)
    if app is not None:
        return app
    visibility = settings.visibility_timeout_seconds
    redis_options = {"socket_connect_timeout": 3, "socket_timeout": 10, "retry_on_timeout": False}
    app = Celery("newsmon", broker=url, backend=url, set_as_current=False)
    app.conf.update(
        task_serializer="json", result_serializer="json", accept_content=["json"],
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_track_started=True, result_expires=24 * 3600,
        broker_transport_options={
            "visibility_timeout": visibility,
            # how often a live worker looks for messages of dead ones: a fraction of the timeout
            "unacked_restore_interval": max(1, min(10, int(visibility / 5))),
            "unacked_restore_throttle": 1,
            "socket_connect_timeout": 3, "socket_timeout": 10,
        },
        result_backend_transport_options={"visibility_timeout": visibility, **redis_options},
        redis_socket_connect_timeout=3, redis_socket_timeout=10,
        broker_connection_timeout=3, broker_connection_retry_on_startup=True, broker_connection_max_retries=None,
        worker_hijack_root_logger=False, worker_redirect_stdouts=False,
        task_routes={TASK_POLL: {"queue": queue_name(settings.queue_prefix, POLL)},
                     TASK_REEXTRACT: {"queue": queue_name(settings.queue_prefix, ANALYSIS)},
                     TASK_DIGEST: {"queue": queue_name(settings.queue_prefix, DIGEST)}},
        task_default_queue=queue_name(settings.queue_prefix, POLL),
    )
    _apps[key] = app
    return app


def send(config, task: str, args: list, *, expires: float | None = None) -> str:
    """Publish one task now (no retries: the caller decides what an outage
    means); returns its id. Raises when the broker cannot be reached."""
    app = celery_app(config)
    return app.send_task(task, args=args, expires=expires, retry=False).id
