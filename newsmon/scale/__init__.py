"""Scale-out through Celery with Redis as broker (docs/scale.md).

The leader service (scheduler.py) enqueues due work when a broker is
configured (``service.broker_url`` or ``$NEWSMON_BROKER_URL``); ``newsmon
worker`` processes on any number of hosts consume it. The archive stays the
only shared state: leases in ``service_leases`` keep a source to one crawl at
a time and bound the crawls per host, and every task is idempotent against
the archive (it, not the broker, decides what is seen).

This package imports nothing heavy at the top: ``newsmon status`` and the
service read the names below without loading Celery.
"""
from __future__ import annotations

POLL, ANALYSIS, DIGEST = "poll", "analysis", "digest"
KINDS = (POLL, ANALYSIS, DIGEST)

TASK_POLL = "newsmon.poll_source"
TASK_REEXTRACT = "newsmon.reextract_chunk"
TASK_DIGEST = "newsmon.send_digest"
TASK_KIND = {TASK_POLL: POLL, TASK_REEXTRACT: ANALYSIS, TASK_DIGEST: DIGEST}

WORKER_LEASE_SECONDS = 45.0  # worker heartbeats and the leases its tasks hold last this long unless renewed
WORKER_HEARTBEAT_SECONDS = 3.0
MIN_POLL_EXPIRY = 60.0  # a poll task not started within max(this, one interval) is dropped: the next one is due


def queue_name(prefix: str, kind: str) -> str:
    return f"{prefix}.{kind}"


def worker_lease_name(token: str) -> str:
    return f"worker:{token}"


def host_slot_name(host: str, slot: int) -> str:
    return f"host:{host}:{slot}"
