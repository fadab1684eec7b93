"""Benchmark: does filing an article cost more as the archive grows?

Per-article CPU of each analysis stage (dedup, classify, event diff) filing
the same 100 new, varied articles into archives of 1k, 10k and 100k
articles, plus what a crawl process pays at start-up (opening the stages) and
its resident memory, at each size. Prints one line per size and a last line
``max stage ratio 100k/1k: X`` (goal ≤ 1.5; start-up at 100k < 1 s and
< +50 MB over an empty archive).

How the archives are made, quickly but realistically:
1. A base of 1,000 articles is filed through the real stages, one
   transaction each, as the crawl does: varied text over the seed articles'
   vocabulary and sentences, with sentences from the event sets mixed in, so
   mentions, statements, candidates and contradictions are real rows.
2. Larger archives replicate the base in SQL: new ids and text hashes;
   dedup keys (band keys, anchors, sentence keys) scrambled per replica, so
   replicas are not copies of each other; every date shifted back a week per
   replica, so open candidates spread over the years as in a real archive
   and the candidate window holds a realistic number of them.
3. The 100 new articles (fresh stories, copies and edited copies of base
   articles, rewrites, event-rich reports) are filed into each archive,
   interleaved by rounds so machine load hits every size alike. CPU is
   ``time.process_time`` of this process around each stage (SQLite runs
   in-process, so its work is counted).

    .venv/bin/python bench/archive_growth.py                 # 1k, 10k, 100k
    .venv/bin/python bench/archive_growth.py --sizes 1000 20000
"""
from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.config import load_config  # noqa: E402
from crawler.dedup import split_sentences  # noqa: E402
from crawler.stages import StageRunner  # noqa: E402
from crawler.text import text_hash, words  # noqa: E402

SEEDS = ROOT / "newsmon" / "data" / "seeds"
EVENT_SETS = [ROOT / "tests" / "fixtures" / "events" / name for name in ("labelled.yaml", "heldout.yaml")]
SOURCES = 50
BASE = 1000
KINDS = ("fresh", "copy", "edited copy", "rewrite", "event report")


class Generator:
    """Articles that look like a topical archive: random sentences over the
    seeds' vocabulary (by frequency), real seed sentences that many articles
    share (quotes, stock phrases), and event sentences (dated actions,
    figures) that give the event diff real work."""

    def __init__(self, seed: int) -> None:
        texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
        counts: dict[str, int] = {}
        for body in texts:
            for word in words(body):
                counts[word] = counts.get(word, 0) + 1
        self.vocab = np.array(list(counts))
        freq = np.array(list(counts.values()), dtype=float)
        self.p = freq / freq.sum()
        self.sentences = [s for body in texts for s in split_sentences(body) if len(s.split()) >= 8]
        self.events = [item["text"].replace("\n", " ") for path in EVENT_SETS
                       for item in yaml.safe_load(path.read_text(encoding="utf-8"))["items"]]
        self.rng = np.random.default_rng(seed)
        self.random = random.Random(seed)
        self._tokens: list[str] = []
        self._next = 0

    def sentence(self) -> str:
        n = int(self.rng.integers(12, 26))
        if self._next + n > len(self._tokens):  # sampling by frequency is costly per call: draw in bulk
            self._tokens, self._next = self.rng.choice(self.vocab, size=100_000, p=self.p).tolist(), 0
        tokens = self._tokens[self._next:self._next + n]
        self._next += n
        return " ".join(tokens).capitalize() + "."

    def article(self, event_share: float = 0.12) -> tuple[str, str]:
        body = []
        for _ in range(self.random.randint(8, 16)):
            roll = self.random.random()
            body.append(self.random.choice(self.events) if roll < event_share
                        else self.random.choice(self.sentences) if roll < event_share + 0.15 else self.sentence())
        return self.sentence()[:90], "\n".join(body)


def query_articles(count: int, originals: list[tuple[str, str]]) -> list[tuple[str, str]]:
    fresh = Generator(seed=99)
    rng = random.Random(5)
    out = []
    for i in range(count):
        title, body = originals[rng.randrange(len(originals))]
        lines = body.split("\n")
        kind = KINDS[i % len(KINDS)]
        if kind == "fresh":
            title, body = fresh.article()
        elif kind == "edited copy":
            lines[rng.randrange(len(lines))] = fresh.sentence()
            body = "\n".join(lines + ["Correction: an earlier version misstated a figure."])
        elif kind == "rewrite":
            kept = lines[: max(3, len(lines) // 3)]
            title, body = fresh.sentence()[:90], "\n".join(kept + [fresh.sentence() for _ in range(len(lines))])
        elif kind == "event report":
            title, body = fresh.article(event_share=0.5)
        out.append((title, body))
    return out


# --- archives ---------------------------------------------------------------------------


def file_articles(url: str, config, articles: list[tuple[str, str]], first_number: int,
                  timings: dict[str, list[float]] | None = None, runner: StageRunner | None = None) -> None:
    """File articles one transaction each through the real stages (as the crawl's archive step)."""
    from datetime import datetime, timedelta

    from storage.db import session_scope
    from storage.models import Article, ArticleVersion

    runner = runner or StageRunner(config)
    with session_scope(url) as session:
        runner.open(session)
    for offset, (title, body) in enumerate(articles):
        number = first_number + offset
        published = datetime(2025, 9, 1) + timedelta(hours=number % 2000)
        with session_scope(url) as session:
            article = Article(source_id=number % SOURCES + 1, canonical_url=f"https://outlet.example/{number}",
                              url=f"https://outlet.example/{number}", title=title, text=body,
                              text_hash=text_hash(body), published_at=published, language="en")
            article.versions.append(ArticleVersion(version=1, raw_html=b"-", title=title, text=body,
                                                   text_hash=article.text_hash))
            session.add(article)
            session.flush()
            for stage in runner.stages:
                started = time.process_time()
                stage.process(session, article, new=True)  # as the crawl files a new article
                session.flush()
                if timings is not None:
                    timings.setdefault(stage.name, []).append((time.process_time() - started) * 1000)


def build_base(path: Path, config) -> list[tuple[str, str]]:
    from sqlalchemy import insert

    from storage.db import get_engine, migrate
    from storage.models import Source, utcnow

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    migrate(url)
    with get_engine(url).begin() as conn:
        conn.execute(insert(Source), [{"id": i + 1, "name": f"outlet-{i + 1}", "created_at": utcnow()}
                                      for i in range(SOURCES)])
    generator = Generator(seed=7)
    originals = [generator.article() for _ in range(BASE)]
    file_articles(url, config, originals, 1)
    return originals


# Per table replicated: the columns that change per replica ({k} replica number, {d} article id
# offset, {c} candidate id offset, {w} days shifted back); other columns are copied, ``id`` dropped.
REPLICATE = {
    "articles": {"id": "id + {d}", "canonical_url": "canonical_url || '/r{k}'", "url": "url || '/r{k}'",
                 "text_hash": "text_hash || 'r{k}'",
                 "cluster_id": "CASE WHEN cluster_id IS NULL THEN NULL ELSE cluster_id + {d} END",
                 "published_at": "datetime(published_at, '-{w} days')",
                 "first_seen": "datetime(first_seen, '-{w} days')"},
    "article_signatures": {"article_id": "article_id + {d}"},
    "dedup_bands": {"band_key": "(abs(band_key) % 1000000000000) * 1000 + {k}", "article_id": "article_id + {d}"},
    "dedup_anchors": {"anchor": "anchor * 1000 + {k}", "article_id": "article_id + {d}"},
    "dedup_sentences": {"sentence_key": "sentence_key * 1000 + {k}", "article_id": "article_id + {d}"},
    "duplicate_links": {"article_id": "article_id + {d}", "other_article_id": "other_article_id + {d}"},
    "article_topics": None,  # classification rows are not read by other articles' stages
    "event_mentions": {"article_id": "article_id + {d}", "first_report": "0",
                       "reported_at": "datetime(reported_at, '-{w} days')"},
    "fact_statements": {"article_id": "article_id + {d}"},
    "contradictions": {"article_id": "article_id + {d}",
                       "other_article_id": "CASE WHEN other_article_id IS NULL THEN NULL ELSE other_article_id + {d} END"},
    "event_candidates": {"id": "id + {c}", "date_start": "date(date_start, '-{w} days')"},
    "candidate_sources": {"candidate_id": "candidate_id + {c}", "article_id": "article_id + {d}"},
    "candidate_terms": {"candidate_id": "candidate_id + {c}", "week": "week - {k}"},
}


def replicate(base: Path, path: Path, size: int) -> None:
    import shutil
    import sqlite3

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copy(base, path)
    conn = sqlite3.connect(path)
    max_article = conn.execute("SELECT max(id) FROM articles").fetchone()[0]
    max_candidate = conn.execute("SELECT coalesce(max(id), 0) FROM event_candidates").fetchone()[0] or 0
    columns = {table: [row[1] for row in conn.execute(f"PRAGMA table_info({table})")] for table in REPLICATE}
    for k in range(1, size // BASE):
        offsets = {"k": k, "d": k * max_article, "c": k * max_candidate, "w": 7 * k}
        for table, changes in REPLICATE.items():
            if changes is None:
                continue
            names = [c for c in columns[table] if c != "id" or "id" in changes]
            values = ", ".join(changes.get(c, c).format(**offsets) for c in names)
            # Copy the base rows only (those of the first replica's ids, or all rows of the base's articles).
            where = (f" WHERE id <= {max_article}" if table == "articles"
                     else f" WHERE id <= {max_candidate}" if table == "event_candidates"
                     else f" WHERE candidate_id <= {max_candidate}" if table == "candidate_terms"
                     else f" WHERE article_id <= {max_article}")
            conn.execute(f"INSERT INTO {table} ({', '.join(names)}) SELECT {values} FROM {table}{where}")
        conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


STARTUP = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from crawler.config import load_config
from crawler.stages import StageRunner
from storage.db import session_scope
config = load_config({config!r})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
runner = StageRunner(config)
opened = time.perf_counter()
with session_scope({url!r}) as session:
    runner.open(session)
print(json.dumps({{"seconds": time.perf_counter() - opened, "setup": opened - started,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_growth_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024}}))
"""


def startup(url: str, config_path: str) -> dict:
    """What a fresh crawl process pays to open the stages on this archive (best of 3)."""
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", STARTUP.format(root=str(ROOT), config=config_path, url=url)],
                             capture_output=True, text=True, check=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return min(runs, key=lambda r: r["seconds"])


def found_links(url: str, first: int, queries: int) -> str:
    """How many copies, edited copies and rewrites were linked (a cheaper run must not be a blinder one)."""
    from sqlalchemy import select

    from storage.db import session_scope
    from storage.models import Article, DuplicateLink

    with session_scope(url) as session:
        linked = {url for url, in session.execute(
            select(Article.canonical_url).join(DuplicateLink, DuplicateLink.article_id == Article.id)
            .where(Article.canonical_url.like("https://outlet.example/1000____")))}
    parts = []
    for index, kind in enumerate(KINDS):
        mine = [f"https://outlet.example/{first + i}" for i in range(index, queries, len(KINDS))]
        parts.append(f"{kind} {sum(u in linked for u in mine)}/{len(mine)}")
    return ", ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--dir", default="/tmp", help="where the SQLite archives go")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    config_path = str(ROOT / "newsmon" / "data" / "newsmon.example.yaml")
    config = load_config(config_path)
    directory = Path(args.dir)
    base = directory / "newsmon-growth-base.db"
    started = time.perf_counter()
    originals = build_base(base, config)
    print(f"base archive: {BASE} articles filed through the stages in {time.perf_counter() - started:.0f} s",
          flush=True)
    empty = directory / "newsmon-growth-empty.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{empty}{suffix}").unlink(missing_ok=True)
    from storage.db import migrate
    migrate(f"sqlite:///{empty}")
    empty_start = startup(f"sqlite:///{empty}", config_path)
    urls, starts = {}, {}
    for size in args.sizes:
        path = directory / f"newsmon-growth-{size}.db"
        started = time.perf_counter()
        replicate(base, path, size)
        urls[size] = f"sqlite:///{path}"
        starts[size] = startup(urls[size], config_path)
        print(f"archive {size:>7}: replicated in {time.perf_counter() - started:.0f} s", flush=True)
    queries = query_articles(args.queries, originals)
    timings: dict[int, dict[str, list[float]]] = {size: {} for size in args.sizes}
    runners = {size: StageRunner(config) for size in args.sizes}
    first = 10_000_000
    for start in range(0, len(queries), 10):  # interleaved rounds
        for size in args.sizes:
            file_articles(urls[size], config, queries[start:start + 10], first + start, timings[size], runners[size])
    means: dict[int, dict[str, float]] = {}
    for size in args.sizes:
        means[size] = {name: statistics.mean(values) for name, values in timings[size].items()}
        stages = "  ".join(f"{name} {value:6.1f}" for name, value in means[size].items())
        total = sum(means[size].values())
        s = starts[size]
        print(f"size {size:>7}: CPU ms/article  {stages}  total {total:6.1f} | start-up: open {s['seconds']:.3f} s "
              f"(+ set-up {s['setup']:.2f} s whatever the size), "
              f"RSS {s['rss_mb']:.0f} MB (+{s['rss_mb'] - empty_start['rss_mb']:.1f} MB over an empty archive) | "
              f"linked: {found_links(urls[size], first, len(queries))}")
    small, large = min(args.sizes), max(args.sizes)
    ratios = {name: means[large][name] / means[small][name] for name in means[small]}
    print("stage ratios " + ", ".join(f"{name} {ratio:.2f}" for name, ratio in ratios.items()))
    print(f"max stage ratio {large // 1000}k/{small // 1000}k: {max(ratios.values()):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
