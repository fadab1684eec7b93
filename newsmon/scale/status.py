"""What ``newsmon status`` shows of scale-out: the workers (their heartbeat
leases in the archive) and the queues (Redis ``LLEN``, with a short timeout:
status never hangs on a broker that is down)."""
from __future__ import annotations

from newsmon.scale import KINDS, queue_name

# kombu's Redis transport keeps priorities 3, 6 and 9 of a queue in lists named QUEUE\x06\x16N
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def workers(session) -> list[dict]:
    """Live workers, oldest first: host, pid, queues, concurrency, what they run."""
    from storage.leases import leases

    out = []
    for lease in leases(session, "worker:"):
        if not lease.live:
            continue
        info = lease.info
        out.append({"pid": lease.pid, "host": lease.host, "since": lease.acquired_at, "heartbeat": lease.renewed_at,
                    "queues": info.get("queues") or [], "concurrency": info.get("concurrency"),
                    "running": info.get("running") or []})
    out.sort(key=lambda w: w["since"])
    return out


def queues(config) -> dict | None:
    """Tasks waiting per queue and taken but unfinished (``unacked``); None
    without a broker; ``{"error": …}`` when it cannot be reached."""
    url = config.effective_broker_url()
    if not url:
        return None
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        waiting = {}
        for kind in KINDS:
            name = queue_name(config.service.queue_prefix, kind)
            waiting[name] = sum(client.llen(name + suffix) for suffix in _PRIORITY_SUFFIXES)
        return {"broker": _redacted(url), "waiting": waiting, "unacked": client.hlen("unacked")}
    except redis.RedisError as exc:
        return {"broker": _redacted(url), "error": f"{type(exc).__name__}: {exc}"}
    finally:
        client.close()


def _redacted(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
