"""Leases in the archive (storage/leases.py), on SQLite and PostgreSQL: one
holder at a time, even between racing processes; a lapsed lease or one whose
processes died on this host is taken over; renewing a lost lease fails."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from storage.db import session_scope
from storage.leases import Holder, current, release, renew, try_acquire

REPO = Path(__file__).resolve().parent.parent
RACER = """
import sys
from storage.db import session_scope
from storage.leases import Holder, try_acquire
sys.stdin.readline()  # start together
with session_scope(sys.argv[1]) as session:
    won, _ = try_acquire(session, "race", Holder(), 60)
print("won" if won else "lost", flush=True)
sys.stdin.read()  # stay alive (a dead holder's lease is free) until every racer has tried
"""


def take(url, name, holder, ttl=60.0):
    with session_scope(url) as session:
        return try_acquire(session, name, holder, ttl)


def test_one_holder_at_a_time_and_renewal_fails_once_lost(db_url):
    a, b = Holder(), Holder()
    won_a, _ = take(db_url, "leader", a)
    won_b, seen = take(db_url, "leader", b)
    with session_scope(db_url) as session:
        renewed = renew(session, "leader", a, 60)
    with session_scope(db_url) as session:
        release(session, "leader", a)
    won_b_after, _ = take(db_url, "leader", b)
    with session_scope(db_url) as session:
        renewed_lost = renew(session, "leader", a, 60)
        holder = current(session, "leader").holder

    assert won_a and not won_b and seen.holder == a.token and seen.live
    assert renewed and won_b_after and not renewed_lost and holder == b.token


def test_a_lapsed_lease_and_a_dead_holders_lease_are_taken_over(db_url):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    gone = Holder(pid=dead.pid)
    won_dead, _ = take(db_url, "source:a", gone)
    won_lapsed, _ = take(db_url, "source:b", Holder(), ttl=0.05)
    time.sleep(0.2)
    heir = Holder()
    took_dead, _ = take(db_url, "source:a", heir)
    took_lapsed, _ = take(db_url, "source:b", heir)

    assert won_dead and won_lapsed and took_dead and took_lapsed


def test_racing_processes_one_wins(db_url):
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    for _ in range(3):
        with session_scope(db_url) as session:
            lease = current(session, "race")
            if lease is not None:
                release(session, "race", Holder(token=lease.holder))
        racers = [subprocess.Popen([sys.executable, "-c", RACER, db_url], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                  for _ in range(4)]
        time.sleep(1.5)  # let them import
        for racer in racers:
            racer.stdin.write("go\n")
            racer.stdin.flush()
        results = [racer.stdout.readline().strip() for racer in racers]
        outputs = [racer.communicate(timeout=120) for racer in racers]  # closes stdin: they exit
        assert sorted(results) == ["lost", "lost", "lost", "won"], (results, outputs)
