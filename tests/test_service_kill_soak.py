"""kill -9 soak of the service on SQLite and PostgreSQL (a longer one: bench/kill_soak.py).

The daemon and its crawl children are SIGKILLed 12 times at random moments
while articles keep appearing on a loopback site and digests go to a loopback
webhook receiver that drops repeated delivery ids. Afterwards: every article
the site published is archived once, with one version and no orphan rows,
and the receiver got every one of them exactly once; every resend of a
delivery id carried the same body; no two crawls of a source overlapped; no
crawl outlived its daemon."""
from __future__ import annotations

import pytest

from service_harness import kill_soak

# Long-running service processes: two groups (service, service-b), each run one test after another on one xdist
# worker (`make test` uses -n 3 --dist loadgroup), the rest of the suite spread beside them.
pytestmark = pytest.mark.xdist_group("service")


def test_kill_soak(db_url, tmp_path):
    figures = kill_soak(db_url, tmp_path, kills=12, seed=11)
    print("soak figures:", {k: v for k, v in figures.items() if k not in ("missing", "unexpected")})

    assert figures["kills"]["daemon"] + figures["kills"]["crawl"] == 12
    assert figures["kills"]["daemon"] >= 3
    assert figures["missing"] == [] and figures["unexpected"] == []
    assert figures["articles_filed"] == figures["distinct_urls"] == figures["versions"] == \
        figures["articles_expected"]
    assert all(n == 0 for n in figures["orphans"].values()), figures["orphans"]
    assert figures["running_runs"] == 0 and figures["integrity"] in ("ok", "n/a")
    assert figures["foreign_key_violations"] == 0
    assert (figures["delivered_0"], figures["delivered_2plus"]) == (0, 0)
    assert figures["delivered_1"] == figures["articles_expected"]
    assert figures["ids_with_differing_bodies"] == 0
    assert figures["overlapping_crawls"] == []
    assert figures["crawls_surviving_their_daemon"] == 0
    assert figures["exit_status"] == 0
