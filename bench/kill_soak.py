"""The service's kill -9 soak, longer than the one in the test suite.

SIGKILLs the daemon or one of its crawl children ``--kills`` times at random
moments (at random, just after a crawl filed an article, or while the webhook
receiver holds a digest POST unanswered) while articles keep appearing on a
loopback site; then lets the service settle, stops it and prints what the
archive and the id-deduplicating webhook receiver hold: kills, articles
expected/filed, items delivered 0/1/2+ times, POSTs and delivery ids.

    python bench/kill_soak.py --kills 60                     # SQLite
    python bench/kill_soak.py --kills 60 --postgres          # a throw-away PostgreSQL server too

Figures: bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from service_harness import OwnPostgres, kill_soak  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=60, help="SIGKILLs of the daemon or a crawl (default 60)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="also soak on a throw-away PostgreSQL server")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="newsmon-soak-"))
    results = []
    try:
        (work / "sqlite").mkdir()
        results.append(kill_soak(f"sqlite:///{work / 'sqlite' / 'archive.db'}", work / "sqlite", kills=args.kills,
                                 seed=args.seed, settle_timeout=600))
        if args.postgres:
            from conftest import _pg_bin, create_pg_database

            server = OwnPostgres(_pg_bin())
            try:
                (work / "pg").mkdir()
                results.append(kill_soak(create_pg_database(server.base_url), work / "pg", kills=args.kills,
                                         seed=args.seed, settle_timeout=600))
            finally:
                server.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    columns = ["database", "kills", "moments", "articles_expected", "articles_filed", "distinct_urls",
               "delivered_0", "delivered_1", "delivered_2plus", "posts", "delivery_ids",
               "ids_with_differing_bodies", "orphans", "overlapping_crawls", "crawls_surviving_their_daemon",
               "seconds"]
    for result in results:
        print(json.dumps({k: result[k] for k in columns}))
    ok = all(r["articles_filed"] == r["articles_expected"] == r["delivered_1"] and not r["missing"]
             and r["delivered_2plus"] == r["delivered_0"] == 0 for r in results)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
