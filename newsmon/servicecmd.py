"""Service commands: ``newsmon run`` (the daemon), ``newsmon status`` (what it
did and will do, readable while it runs) and ``newsmon digest NAME``."""
from __future__ import annotations

import argparse
import json
import os
from datetime import datetime, timezone

from newsmon.cli import add_command
from newsmon.cli_support import console, get_config, require_archive


def register(subparsers) -> None:
    p = add_command(subparsers, "run", help="run the service: crawl each source and send digests on schedule",
                    description="Run in the foreground until SIGTERM or Ctrl-C: each source is crawled every "
                                "check_interval_minutes (in a subprocess), each digest is sent on its schedule. "
                                "Schedules are kept in the archive database and survive restarts. The first "
                                "signal lets running crawls finish their in-flight pages; a second exits at once.",
                    example="newsmon --log-format json run")
    p.add_argument("--stop-grace", type=float, default=None, metavar="SECONDS",
                   help="how long a running crawl may take to finish after a stop signal (default 30)")
    p.set_defaults(func=cmd_run)

    p = add_command(subparsers, "status", help="per source and digest: last run, next run, failures",
                    description="Per source: the last crawl (when, outcome, counts), the next scheduled run, "
                                "consecutive failed runs; per digest: last delivery, unfinished deliveries and "
                                "the next run. Works while 'newsmon run' is running.",
                    example="newsmon status --json")
    p.add_argument("--json", action="store_true", help="JSON on stdout")
    p.set_defaults(func=cmd_status)

    p = add_command(subparsers, "digest", help="preview or send a digest now",
                    description="--dry-run prints what the digest would send on each channel and records "
                                "nothing; --send sends it now (and records it, so the next scheduled run "
                                "only sends newer articles).",
                    example="newsmon digest morning --dry-run")
    p.add_argument("name", help="the digest's name in the config")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="show what would be sent; record nothing")
    mode.add_argument("--send", action="store_true", help="send now")
    p.set_defaults(func=cmd_digest)


# --- run ---------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from crawler.config import ConfigError
    from newsmon import daemon

    config = get_config(args)
    require_archive(args)
    if not any(s.enabled for s in config.sources) and not config.digests:
        where = config.path or "the defaults (no config file found)"
        raise ConfigError(f"{where}: no enabled sources and no digests: nothing to run")
    grace = daemon.CRAWL_STOP_GRACE if args.stop_grace is None else args.stop_grace
    return daemon.serve(config, log_format=args.log_format, verbose=args.verbose, crawl_stop_grace=grace)


# --- status ------------------------------------------------------------------------------------


def _scheduled_runs(session) -> dict[str, datetime | None]:
    """Next run per job id, straight from the job store table (the service may be running elsewhere)."""
    from sqlalchemy import inspect, text

    from scheduler import JOBS_TABLE

    if not inspect(session.connection()).has_table(JOBS_TABLE):
        return {}
    rows = session.execute(text(f"SELECT id, next_run_time FROM {JOBS_TABLE}")).all()
    return {job_id: (datetime.fromtimestamp(ts, timezone.utc).replace(tzinfo=None) if ts is not None else None)
            for job_id, ts in rows}


def source_state(run, lease, failures: int, limit: int) -> str:
    """One word for a source: crawling (a live crawl lease), never, failing
    (its last run failed — e.g. archived nothing because the archive refused
    it — or the failure limit is reached), interrupted, or ok."""
    if lease is not None:
        return "crawling"
    if run is None:
        return "never"
    if run.status == "failed" or failures >= limit:
        return "failing"
    if run.status in ("running", "interrupted"):
        return "interrupted"  # stopped before recording its end: the next run goes over it again
    return "ok"


ARCHIVE_FULL_BYTES = 1 << 20  # less free space than this beside a SQLite archive: it cannot take articles


def archive_space(url: str) -> dict | None:
    """Free space on the filesystem of a SQLite archive (None for PostgreSQL)."""
    import shutil

    from sqlalchemy.engine import make_url

    from storage.db import is_sqlite

    if not is_sqlite(url):
        return None
    path = make_url(url).database
    try:
        free = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free
    except OSError:
        return None
    return {"path": path, "free_bytes": free, "full": free < ARCHIVE_FULL_BYTES}


def service_status(session) -> dict:
    """The services on this archive, from their leases: the leader (the one
    that schedules), standbys, and the recent errors each one reported."""
    from storage.leases import LEADER, hostname, leases, process_alive

    leader = next((lease for lease in leases(session, LEADER) if lease.name == LEADER), None)
    members = []
    for lease in leases(session, "member:"):
        if lease.live:
            role = "leader" if leader is not None and leader.live and leader.holder == lease.holder else "standby"
        elif lease.host == hostname() and process_alive(lease.pid):
            role = "unresponsive"  # running, but it could not renew its lease (archive down, full, locked)
        else:
            continue
        info = lease.info
        members.append({
            "role": role,
            "pid": lease.pid, "host": lease.host, "since": lease.acquired_at, "heartbeat": lease.renewed_at,
            "config_version": info.get("config_version"), "config_mtime": info.get("config_mtime"),
            "config_path": info.get("config_path"), "config_error": info.get("config_error"),
            "errors": info.get("errors") or [], "crawls": info.get("crawls") or [],
        })
    members.sort(key=lambda m: (m["role"] != "leader", m["since"]))
    for m in members:
        if m["role"] == "unresponsive":
            m["errors"] = m["errors"] + [{"at": m["heartbeat"].isoformat(timespec="seconds"), "what": "heartbeat",
                                          "error": "has not renewed its lease since then"}]
    lapsed = None
    if leader is not None and not leader.live:
        lapsed = {"pid": leader.pid, "host": leader.host, "heartbeat": leader.renewed_at}
    return {"members": members, "lapsed_leader": lapsed}


def collect_status(config, url: str) -> dict:
    """Everything ``newsmon status`` shows, as plain data."""
    from sqlalchemy import func, select

    from crawler.runlog import reap_stale_runs_quietly
    from newsmon.digests.content import failure_streak
    from scheduler import digest_job_id, source_job_id
    from storage.db import session_scope
    from storage.leases import leases
    from storage.models import CrawlRun, DigestDelivery, FeedState, Source

    reap_stale_runs_quietly(url)  # a 'running' run whose process is gone is shown as interrupted
    from newsmon.scale import status as scale_status

    out = {"service": None, "archive": archive_space(url), "sources": [], "digests": [],
           "queues": scale_status.queues(config)}
    with session_scope(url) as session:
        scheduled = _scheduled_runs(session)
        out["service"] = service_status(session)
        out["workers"] = scale_status.workers(session)
        crawling = {lease.name.split(":", 1)[1]: lease for lease in leases(session, "source:") if lease.live}
        for source in config.sources:
            run = session.scalars(
                select(CrawlRun).join(Source, Source.id == CrawlRun.source_id)
                .where(Source.name == source.name).order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc()).limit(1)
            ).first()
            streak = failure_streak(session, source.name)
            failing_feeds = session.scalar(
                select(func.count(FeedState.id)).join(Source, Source.id == FeedState.source_id)
                .where(Source.name == source.name, FeedState.status == "failing"))
            lease = crawling.get(source.name)
            out["sources"].append({
                "name": source.name,
                "enabled": source.enabled,
                "state": source_state(run, lease, len(streak), config.crawl.feed_failure_limit),
                "crawling": None if lease is None else {"pid": lease.info.get("crawl_pid") or lease.pid,
                                                        "host": lease.host, "since": lease.acquired_at},
                "last_run": None if run is None else {
                    "started_at": run.started_at, "finished_at": run.finished_at, "status": run.status,
                    "fetched": run.fetched, "new": run.new_articles, "updated": run.updated,
                    "errors": run.errors, "message": run.message,
                },
                "next_run": scheduled.get(source_job_id(source.name)),
                "consecutive_failures": len(streak),
                "failing_since": streak[-1][0] if len(streak) >= config.crawl.feed_failure_limit else None,
                "failing_feeds": failing_feeds or 0,
            })
        for digest in config.digests:
            delivered = session.scalars(
                select(DigestDelivery).where(DigestDelivery.digest == digest.name,
                                             DigestDelivery.status == "delivered")
                .order_by(DigestDelivery.delivered_at.desc()).limit(1)).first()
            unfinished = list(session.scalars(
                select(DigestDelivery).where(DigestDelivery.digest == digest.name,
                                             DigestDelivery.status.in_(("pending", "failed")))
                .order_by(DigestDelivery.id)))
            out["digests"].append({
                "name": digest.name,
                "schedule": f"{digest.schedule} ({digest.timezone})",
                "last_delivery": delivered.delivered_at if delivered else None,
                "unfinished": [{"channel": d.channel, "status": d.status, "attempts": d.attempts,
                                "since": d.created_at, "error": d.error} for d in unfinished],
                "next_run": scheduled.get(digest_job_id(digest.name)),
            })
    return out


def _when(value: datetime | None, missing: str = "-") -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else missing


def _jsonable(value):
    if isinstance(value, datetime):
        return value.isoformat() + "Z"
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def cmd_status(args: argparse.Namespace) -> int:
    from rich import box
    from rich.table import Table

    config = get_config(args)
    url = require_archive(args)
    status = collect_status(config, url)
    if args.json:
        print(json.dumps(_jsonable(status), indent=2, ensure_ascii=False))
        return 0
    out = console()
    fancy = out.is_terminal
    _print_service(out, status["service"])
    _print_workers(out, status["workers"], status["queues"])
    space = status["archive"]
    if space and space["full"]:
        out.print(f"Archive: the filesystem of {space['path']} is full ({space['free_bytes'] // 1024} KiB free): "
                  "new articles cannot be archived until there is room", markup=False)
    table = Table("source", "state", "last run (UTC)", "outcome", "new", "updated", "errors", "next run (UTC)",
                  "failures", box=box.SIMPLE_HEAVY if fancy else None, title="Sources" if fancy else None)
    for s in status["sources"]:
        run = s["last_run"]
        failures = str(s["consecutive_failures"])
        if s["failing_since"]:
            failures += f" (failing since {_when(s['failing_since'])})"
        if s["failing_feeds"]:
            failures += f", {s['failing_feeds']} failing feeds"
        if run and run["message"] and s["state"] == "failing":
            failures += f": {run['message'][:160]}"
        table.add_row(s["name"] + ("" if s["enabled"] else " (disabled)"), s["state"],
                      _when(run and run["started_at"], "never"), run["status"] if run else "-",
                      str(run["new"]) if run else "-", str(run["updated"]) if run else "-",
                      str(run["errors"]) if run else "-", _when(s["next_run"], "not scheduled"), failures)
    if not fancy:
        out.print("Sources")
    out.print(table)
    table = Table("digest", "schedule", "last delivery (UTC)", "unfinished", "next run (UTC)",
                  box=box.SIMPLE_HEAVY if fancy else None, title="Digests" if fancy else None)
    for d in status["digests"]:
        unfinished = "; ".join(f"{u['channel']} {u['status']} ×{u['attempts']}"
                               + (f": {u['error']}" if u["error"] else "") for u in d["unfinished"]) or "-"
        table.add_row(d["name"], d["schedule"], _when(d["last_delivery"], "never"), unfinished,
                      _when(d["next_run"], "not scheduled"))
    if status["digests"]:
        if not fancy:
            out.print("Digests")
        out.print(table)
    return 0


def _print_service(out, service: dict) -> None:
    """Who runs the schedule, who waits, which config each one runs, what failed lately."""
    members = service["members"]
    if not members:
        lapsed = service["lapsed_leader"]
        line = "Service: not running"
        if lapsed:
            line += (f" (the last leader, pid {lapsed['pid']} on {lapsed['host']}, stopped renewing its lease at "
                     f"{_when(lapsed['heartbeat'])} UTC)")
        out.print(line, markup=False)
        return
    out.print("Service", markup=False)
    for m in members:
        out.print(f"  {m['role']}: pid {m['pid']} on {m['host']} since {_when(m['since'])} UTC, heartbeat "
                  f"{_when(m['heartbeat'])} UTC, config version {m['config_version']}"
                  + (f" (file modified {m['config_mtime']} UTC)" if m["config_mtime"] else ""), markup=False)
        if m["config_error"]:
            out.print(f"    the config file on disk is invalid (still running the version above): "
                      f"{m['config_error']}", markup=False)
        for crawl in m["crawls"]:
            out.print(f"    crawling {crawl['source']} (pid {crawl['pid']})", markup=False)
        for error in m["errors"][-5:]:
            out.print(f"    error at {error['at'].replace('T', ' ')} UTC, {error['what']}: {error['error']}",
                      markup=False)
    if not any(m["role"] == "leader" for m in members):
        out.print("  no leader at the moment: a standby takes over within a minute", markup=False)


def _print_workers(out, workers: list[dict], queues: dict | None) -> None:
    """The workers (docs/scale.md) and what waits for them; nothing without a broker and workers."""
    if queues is None and not workers:
        return
    out.print(f"Workers: {len(workers)}" + (f", broker {queues['broker']}" if queues else ""), markup=False)
    for w in workers:
        out.print(f"  pid {w['pid']} on {w['host']} since {_when(w['since'])} UTC, heartbeat {_when(w['heartbeat'])} "
                  f"UTC, queues {','.join(w['queues'])}, concurrency {w['concurrency']}", markup=False)
        for task in w["running"]:
            out.print(f"    running {task['what']} since {task['since'].replace('T', ' ')} UTC", markup=False)
    if queues and "error" in queues:
        out.print(f"  queues: broker unreachable: {queues['error']}", markup=False)
    elif queues:
        waiting = ", ".join(f"{name} {count}" for name, count in queues["waiting"].items())
        out.print(f"  queued: {waiting}; taken, unfinished: {queues['unacked']}", markup=False)


# --- digest ------------------------------------------------------------------------------------


def cmd_digest(args: argparse.Namespace) -> int:
    from newsmon.digests import run_digest
    from newsmon.digests.render import render_text

    config = get_config(args)
    url = require_archive(args)
    results = run_digest(config, url, args.name, dry_run=args.dry_run)
    out = console()
    failed = False
    for result in results:
        if args.dry_run:
            if result.status == "nothing-new":
                out.print(f"[{result.channel}] nothing new: would not send", markup=False)
                continue
            out.print(f"[{result.channel}] would send {result.articles} articles"
                      + (f" (retrying delivery {result.delivery_key})" if result.delivery_key else ""), markup=False)
            out.print(render_text(result.content), markup=False, highlight=False)
        elif result.status == "delivered":
            out.print(f"[{result.channel}] sent {result.articles} articles to {result.detail} "
                      f"(delivery {result.delivery_key})", markup=False)
        elif result.status == "nothing-new":
            out.print(f"[{result.channel}] nothing new: not sent", markup=False)
        elif result.status == "busy":
            out.print(f"[{result.channel}] delivery {result.delivery_key} is {result.detail}: not sent now",
                      markup=False)
        else:
            failed = True
            out.print(f"[{result.channel}] FAILED: {result.detail} (delivery {result.delivery_key} "
                      "stays pending and is retried on the next run)", markup=False)
    return 1 if failed else 0
