"""Leases in the archive: who may do what, and until when.

A lease is one ``service_leases`` row, named for what it guards:

* ``leader`` — the one service that runs the schedule (APScheduler's job
  store must not be shared by two running schedulers);
* ``member:TOKEN`` — every running service, leader or standby, so ``newsmon
  status`` can list them (with the config version each one runs);
* ``source:NAME`` — a crawl of that source in progress (held by the service
  that started it, naming the crawl process too), so a restarted or second
  service never overlaps it;
* ``delivery:ID`` — a digest delivery being sent: one sender at a time.

The holder renews it before ``expires_at``. Anyone may take a lease over once
it expired — or at once, when it was held on this host by processes that are
all gone (a ``kill -9``: no waiting out the expiry). Taking over is a
compare-and-set ``UPDATE`` on the old holder and expiry, and a new lease an
``INSERT … ON CONFLICT DO NOTHING``, so two racing processes cannot both win,
on SQLite or on PostgreSQL. Times are the holders' clocks (UTC): hosts sharing
a PostgreSQL archive need synchronised clocks (NTP), as the expiry is the only
thing that tells a host that another host's process died.
"""
from __future__ import annotations

import os
import socket
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.models import ServiceLease, utcnow

LEADER = "leader"


def member_name(token: str) -> str:
    return f"member:{token}"


def source_lease_name(source: str) -> str:
    return f"source:{source}"


def delivery_lease_name(delivery_id: int) -> str:
    return f"delivery:{delivery_id}"


@lru_cache(maxsize=1)
def hostname() -> str:
    return socket.gethostname()


def process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell a
    live process from a later one that reuses its pid; None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return int(fields[19])


def process_alive(pid: int, start: int | None = None) -> bool:
    """Whether ``pid`` runs here and is the process that started at ``start``."""
    if sys.platform.startswith("linux"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            return False
        if fields[0] in (b"Z", b"X"):
            return False
        return start is None or int(fields[19]) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Holder:
    """Who holds a lease: a token unique to this holder, and the processes
    whose death (on this host) frees it at once."""

    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=hostname)

    def pids(self, *extra: int) -> list[list[int | None]]:
        return [[p, process_start(p)] for p in (self.pid, *extra)]


@dataclass
class LeaseState:
    """A lease as ``newsmon status`` and a would-be holder see it."""

    name: str
    holder: str
    pid: int
    host: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
    info: dict
    live: bool


def _pids_alive(row: ServiceLease) -> bool:
    pids = (row.info or {}).get("pids") or [[row.pid, None]]
    return any(process_alive(pid, start) for pid, start in pids)


def is_live(row: ServiceLease, now: datetime | None = None) -> bool:
    """Unexpired, and — when held on this host — by a process still running."""
    now = now or utcnow()
    if row.expires_at <= now:
        return False
    if row.host == hostname():
        return _pids_alive(row)
    return True


def _state(row: ServiceLease, now: datetime) -> LeaseState:
    return LeaseState(row.name, row.holder, row.pid, row.host, row.acquired_at, row.renewed_at, row.expires_at,
                      dict(row.info or {}), is_live(row, now))


def write_lock(session: Session) -> None:
    """SQLite: take the database write lock before reading, so the read and
    the write that follows see the same state (a deferred transaction that
    read first may be refused its write after another process wrote).
    PostgreSQL needs nothing: the compare-and-set ``UPDATE`` is enough."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(ServiceLease).where(ServiceLease.name == "").values(pid=0)
                        .execution_options(synchronize_session=False))


def _insert_new(session: Session, values: dict) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(ServiceLease).values(**values).on_conflict_do_nothing(index_elements=["name"]))


def try_acquire(session: Session, name: str, holder: Holder, ttl: float, info: dict | None = None,
                extra_pids: tuple[int, ...] = ()) -> tuple[bool, LeaseState | None]:
    """Take lease ``name`` for ``ttl`` seconds (or renew it, if ``holder`` has
    it). Returns (acquired, the lease as it stands). The caller commits."""
    write_lock(session)
    now = utcnow()
    values = dict(holder=holder.token, pid=holder.pid, host=holder.host, renewed_at=now,
                  expires_at=now + timedelta(seconds=ttl), info={**(info or {}), "pids": holder.pids(*extra_pids)})
    row = session.get(ServiceLease, name, populate_existing=True)
    if row is None:
        _insert_new(session, dict(name=name, acquired_at=now, **values))
        row = session.get(ServiceLease, name, populate_existing=True)  # ours, or the racer's that won
        return row is not None and row.holder == holder.token, None if row is None else _state(row, now)
    if row.holder != holder.token and is_live(row, now):
        return False, _state(row, now)
    if row.holder != holder.token:
        values["acquired_at"] = now
    taken = session.execute(
        update(ServiceLease)
        .where(ServiceLease.name == name, ServiceLease.holder == row.holder, ServiceLease.expires_at == row.expires_at)
        .values(**values).execution_options(synchronize_session=False)
    ).rowcount == 1
    row = session.get(ServiceLease, name, populate_existing=True)
    return taken, None if row is None else _state(row, now)


def renew(session: Session, name: str, holder: Holder, ttl: float, info: dict | None = None,
          extra_pids: tuple[int, ...] = ()) -> bool:
    """Push the expiry of a lease ``holder`` holds; False when it lost it."""
    now = utcnow()
    values = dict(renewed_at=now, expires_at=now + timedelta(seconds=ttl))
    if info is not None or extra_pids:
        values["info"] = {**(info or {}), "pids": holder.pids(*extra_pids)}
    return session.execute(
        update(ServiceLease).where(ServiceLease.name == name, ServiceLease.holder == holder.token)
        .values(**values).execution_options(synchronize_session=False)
    ).rowcount == 1


def release(session: Session, name: str, holder: Holder) -> None:
    session.execute(delete(ServiceLease).where(ServiceLease.name == name, ServiceLease.holder == holder.token)
                    .execution_options(synchronize_session=False))


def current(session: Session, name: str) -> LeaseState | None:
    row = session.get(ServiceLease, name, populate_existing=True)
    return None if row is None else _state(row, utcnow())


def leases(session: Session, prefix: str = "") -> list[LeaseState]:
    """Every lease whose name starts with ``prefix``, live or not, by name."""
    now = utcnow()
    rows = session.scalars(select(ServiceLease).where(ServiceLease.name.startswith(prefix, autoescape=True))
                           .order_by(ServiceLease.name))
    return [_state(row, now) for row in rows]


def forget_dead(session: Session, prefix: str, older_than: timedelta = timedelta(hours=1)) -> int:
    """Drop leases under ``prefix`` that expired more than ``older_than`` ago."""
    return session.execute(
        delete(ServiceLease).where(ServiceLease.name.startswith(prefix, autoescape=True),
                                   ServiceLease.expires_at < utcnow() - older_than)
        .execution_options(synchronize_session=False)).rowcount
