"""``newsmon worker``: a Celery worker consuming the work the leader service
enqueues (docs/scale.md), started from our CLI so it reads the same config
and logs the same way.

The worker uses Celery's thread pool: every task's real work runs in a child
process (a crawl, a re-extraction chunk) or is light (a digest), so the
threads only wait, and ``--concurrency`` is how many tasks run at once. While
it runs, the worker renews a ``worker:TOKEN`` lease in the archive every few
seconds — its heartbeat, which ``newsmon status`` lists with the tasks it runs.
"""
from __future__ import annotations

import argparse
import logging
import os
import threading

from newsmon.cli import add_command
from newsmon.cli_support import UsageError, get_config, require_archive

log = logging.getLogger("newsmon.worker")


def register(subparsers) -> None:
    p = add_command(subparsers, "worker", help="consume crawl, re-analysis and digest tasks from the broker",
                    description="Run a Celery worker (Redis broker: service.broker_url or $NEWSMON_BROKER_URL) "
                                "that polls sources, re-extracts chunks of the archive and sends digests, as "
                                "the leader 'newsmon run' enqueues them. Start any number, on any hosts that "
                                "reach the archive and the broker. SIGTERM: finish the running tasks, then exit.",
                    example="newsmon worker --queues poll,analysis --concurrency 4")
    p.add_argument("--queues", default="poll,analysis,digest", metavar="KIND,…",
                   help="which work to take: poll, analysis, digest (default: all three)")
    p.add_argument("--concurrency", type=int, default=4, metavar="N", help="tasks at once (default 4)")
    p.add_argument("--child-start", choices=("warm", "cold"), default="warm",
                   help="warm (default): fork each crawl or re-extraction child from a template process that has "
                        "newsmon's modules and dictionaries loaded; cold: start each from a fresh interpreter")
    p.set_defaults(func=cmd_worker)


def parse_queues(text: str) -> list[str]:
    from newsmon.scale import KINDS

    kinds = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise UsageError(f"--queues {text!r}: expected a comma-separated list of {', '.join(KINDS)}")
    return list(dict.fromkeys(kinds))


def cmd_worker(args: argparse.Namespace) -> int:
    from crawler.config import ConfigError

    kinds = parse_queues(args.queues)
    if not 1 <= args.concurrency <= 256:
        raise UsageError(f"--concurrency {args.concurrency}: expected 1 to 256")
    config = get_config(args)
    broker = config.effective_broker_url()
    if not broker:
        where = config.path or "the defaults (no config file found)"
        raise ConfigError(f"{where}: no broker configured: set service.broker_url or $NEWSMON_BROKER_URL "
                          "(redis://HOST:PORT/DB)")
    url = require_archive(args)
    return run_worker(config, url, kinds, args.concurrency, args.log_format, args.verbose,
                      warm=args.child_start == "warm")


def run_worker(config, url: str, kinds: list[str], concurrency: int, log_format: str, verbose: bool,
               warm: bool = True) -> int:
    from newsmon.scale import queue_name
    from newsmon.scale import tasks  # registers the tasks with the app
    from newsmon.scale.app import celery_app
    from storage.leases import Holder

    for name in ("celery.app.trace", "celery.worker.strategy", "celery.worker.request"):
        logging.getLogger(name).addFilter(_drop_task_arguments)
    holder = Holder()
    tasks.RUNTIME.holder, tasks.RUNTIME.log_format, tasks.RUNTIME.verbose = holder, log_format, verbose
    queues = [queue_name(config.service.queue_prefix, kind) for kind in kinds]
    app = celery_app(config)
    # a digest-only worker starts no children: no template to keep
    tasks.RUNTIME.warm = warm and bool({"poll", "analysis"} & set(kinds)) and _warm_up()
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(url, holder, queues, concurrency, stop), daemon=True,
                            name="newsmon-worker-heartbeat")
    beat.start()
    log.info("newsmon worker: pid %d on %s, queues %s, concurrency %d, broker %s", os.getpid(), holder.host,
             ",".join(queues), concurrency, config.effective_broker_url())
    try:
        app.worker_main(["worker", "--pool", "threads", "--concurrency", str(concurrency), "--queues",
                         ",".join(queues), "--hostname", f"newsmon-{holder.token[:8]}@%h",
                         "--loglevel", "DEBUG" if verbose else "INFO", "--without-gossip", "--without-mingle"])
    finally:
        tasks.RUNTIME.stopping.set()
        stop.set()
        beat.join(10)
        _leave(url, holder)
    return 0


def _warm_up() -> bool:
    """Start the warm template of the crawl children now (newsmon/crawlwarm.py),
    before taking work, by forking one child that does nothing."""
    import time

    from newsmon.crawlproc import start_warm_child

    t0 = time.monotonic()
    try:
        child = start_warm_child(["newsmon.crawlchild", str(os.getpid()), "-", "--version"], "")
        child.wait(300)
        child.stderr.close()
    except Exception as exc:  # noqa: BLE001 - cold children work everywhere
        log.warning("newsmon worker: no warm template for crawl children (%s): starting each from a fresh "
                    "interpreter", exc)
        return False
    log.info("newsmon worker: warm template for crawl children ready in %.1f s", time.monotonic() - t0)
    return True


def _drop_task_arguments(record: logging.LogRecord) -> bool:
    """Celery logs a task's arguments (``data=``) on receipt and failure: ours
    carry the config text, which may hold credentials. Keep the line, drop them."""
    data = getattr(record, "data", None)
    if isinstance(data, dict):
        record.data = {k: v for k, v in data.items() if k not in ("args", "kwargs")}
    return True


def _heartbeat(url: str, holder, queues: list[str], concurrency: int, stop: threading.Event) -> None:
    from newsmon.scale import WORKER_HEARTBEAT_SECONDS, WORKER_LEASE_SECONDS, worker_lease_name
    from newsmon.scale.tasks import RUNTIME
    from storage.db import session_scope
    from storage.leases import forget_dead, try_acquire

    failing = None
    try:
        with session_scope(url) as session:  # heartbeats of workers gone for an hour
            forget_dead(session, "worker:")
    except Exception as exc:
        log.debug("cannot drop old worker heartbeats: %s", exc)
    while not stop.is_set():
        running = RUNTIME.snapshot()
        try:
            with session_scope(url) as session:
                try_acquire(session, worker_lease_name(holder.token), holder, WORKER_LEASE_SECONDS,
                            info={"queues": queues, "concurrency": concurrency, "running": running},
                            extra_pids=tuple(r["pid"] for r in running if r.get("pid")))
            if failing:
                log.info("worker heartbeat: the archive is reachable again")
            failing = None
        except Exception as exc:
            reason = f"{type(exc).__name__}: {(str(getattr(exc, 'orig', None) or exc).splitlines() or [''])[0]}"
            if reason != failing:
                log.error("worker heartbeat: cannot write to the archive: %s", reason)
            failing = reason
        stop.wait(WORKER_HEARTBEAT_SECONDS)


def _leave(url: str, holder) -> None:
    from newsmon.scale import worker_lease_name
    from storage.db import session_scope
    from storage.leases import release

    try:
        with session_scope(url) as session:
            release(session, worker_lease_name(holder.token), holder)
    except Exception as exc:  # it lapses by itself
        log.debug("cannot release the worker's lease: %s", exc)
