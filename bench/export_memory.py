"""Export memory and search latency on a large archive.

Fills an archive with ``--articles`` synthetic articles (words drawn from the
fixture site's bodies, ~250 words each, a third in Spanish; the FTS index is
kept by the same triggers a crawl fires), then, in fresh processes, measures
peak resident memory (ru_maxrss) of

* ``newsmon export --format jsonl`` (streams in batches) at 10 % and 100 % of the archive,
* ``newsmon export --format parquet`` (row groups of one batch; with pyarrow installed) at 10 % and 100 %,
* ``newsmon sql "select * from v_articles" --json`` (loads every row: the old way),

and the median latency of a few ``newsmon search`` queries (in-process, warm).

    python bench/export_memory.py --articles 100000                       # SQLite in a temp dir
    python bench/export_memory.py --articles 100000 --db-url postgresql://…/db  # an empty PostgreSQL database
"""
from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

QUERIES = ('visa', '"visa revocation"', "tariffs AND coffee NOT sanctions", "deport* OR aranceles",
           "(Petro OR Trump) AND decertification")


def vocabulary() -> list[str]:
    words: list[str] = []
    for body in sorted((REPO / "newsmon/data/site/content/bodies").glob("*.txt")):
        words += re.findall(r"\w+", body.read_text(encoding="utf-8"))
    return words


def fill(url: str, count: int, batch: int = 2000) -> None:
    from sqlalchemy import insert

    from crawler.text import text_hash
    from storage.db import get_engine, migrate
    from storage.models import Article, Source

    migrate(url)
    words = vocabulary()
    rng = random.Random(16)
    engine = get_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(Source), [{"name": f"outlet-{i}", "created_at": datetime(2025, 1, 1)} for i in range(20)])
    start = datetime(2025, 1, 1)
    for offset in range(0, count, batch):
        rows = []
        for i in range(offset, min(count, offset + batch)):
            body = " ".join(rng.choices(words, k=250))
            when = start + timedelta(minutes=7 * i)
            rows.append({"source_id": 1 + i % 20, "canonical_url": f"http://bench.test/{i}",
                         "url": f"http://bench.test/{i}", "title": " ".join(rng.choices(words, k=9)),
                         "text": body, "text_hash": text_hash(body), "language": "es" if i % 3 == 0 else "en",
                         "published_at": when, "first_seen": when, "last_seen": when, "last_checked_at": when,
                         "paywalled": False})
        with engine.begin() as conn:
            conn.execute(insert(Article), rows)


def measure(url: str, argv: list[str]) -> float:
    """Peak RSS (MiB) of a fresh process running `newsmon ARGV` with stdout to /dev/null."""
    code = ("import resource, sys; sys.argv = ['newsmon', *sys.argv[1:]]\n"
            "from newsmon.cli import main\nstatus = main(sys.argv[1:])\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr)\n"
            "sys.exit(status)")
    done = subprocess.run([sys.executable, "-c", code, *argv], cwd=REPO, env={"NEWSMON_DATABASE_URL": url,
                          "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    return float(done.stderr.strip().splitlines()[-1])


def search_latency(url: str) -> dict[str, float]:
    from crawler.search import search
    from storage.db import session_scope

    out = {}
    for query in QUERIES:
        times = []
        with session_scope(url) as session:
            for _ in range(5):
                began = time.perf_counter()
                search(session, query, limit=20)
                times.append(time.perf_counter() - began)
        out[query] = statistics.median(times) * 1000
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--db-url", help="an empty database (default: a SQLite file in a temp dir)")
    args = parser.parse_args()
    url = args.db_url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='newsmon-export-')) / 'archive.db'}"
    began = time.perf_counter()
    fill(url, args.articles)
    print(f"filled {args.articles} articles in {time.perf_counter() - began:.0f} s ({url.split(':')[0]})")
    tenth = (datetime(2025, 1, 1) + timedelta(minutes=7 * int(args.articles * 0.9))).isoformat()
    rows = {
        f"export jsonl, {args.articles // 10} rows (--since)": ["export", "--format", "jsonl", "--since", tenth],
        f"export jsonl, {args.articles} rows": ["export", "--format", "jsonl"],
        f"export csv, {args.articles} rows": ["export", "--format", "csv"],
    }
    try:
        import pyarrow  # noqa: F401 - the parquet extra
    except ImportError:
        print("(pyarrow not installed: no parquet rows)")
    else:
        parquet = str(Path(tempfile.mkdtemp(prefix="newsmon-export-")) / "export.parquet")
        rows[f"export parquet, {args.articles // 10} rows (--since)"] = ["export", "--format", "parquet", "--since",
                                                                        tenth, "--output", parquet]
        rows[f"export parquet, {args.articles} rows"] = ["export", "--format", "parquet", "--output", parquet]
    rows |= {
        f"sql --json, {args.articles} rows (loads all)": ["sql", "select * from v_articles", "--json"],
    }
    print(f"{'peak RSS':>10}  command")
    for label, argv in rows.items():
        print(f"{measure(url, argv):8.0f} MiB  {label}")
    print(f"{'median ms':>10}  search (limit 20, warm)")
    for query, ms in search_latency(url).items():
        print(f"{ms:10.1f}  {query}")
    print(json.dumps({"articles": args.articles}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
