"""Benchmark: per-article dedup + classify cost with a small and a large archive,
and the start-up time to restore the dedup index.

Why: dedup must stay cheap as the archive grows (the LSH and anchor indexes
make a lookup independent of archive size); the goal is a 100k/1k cost ratio
below 2. Start-up restores every stored signature, so its time grows with
the archive and is measured separately.

How: a synthetic archive (SQLite file in /tmp) of articles built from the
seed articles' vocabulary and sentences, filled by bulk insert (signatures
computed with crawler.dedup.fingerprint in two worker processes, the stages
are not run 100k times). The smaller archive is a prefix of the larger (same
random stream). Then the same query articles — fresh stories, copies and
edited copies of archived ones, rewrites sharing some of their sentences —
are archived one transaction each through StageRunner(dedup, classify), as
the crawl does.

    /work/venv/bin/python bench/dedup_classify.py              # 1k and 100k
    /work/venv/bin/python bench/dedup_classify.py --sizes 1000 20000 --queries 200
"""
from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.dedup import DedupStage, fingerprint, split_sentences  # noqa: E402
from crawler.stages import StageRunner  # noqa: E402
from crawler.text import text_hash, words  # noqa: E402
from newsmon.config import Config, load_config  # noqa: E402

SEEDS = ROOT / "newsmon" / "data" / "seeds"
SOURCES = 50
CHUNK = 5000

# classify: crawler.classify.ClassifyStage (the US–Colombia topic of the example
# config). Drop it from STAGES to measure dedup alone.
STAGES = ["crawler.dedup.DedupStage", "crawler.classify.ClassifyStage"]


# --- synthetic text -------------------------------------------------------------------


class Generator:
    """Articles that look like a topical archive: random sentences over the
    seeds' vocabulary (by frequency) mixed with real seed sentences, which
    many articles then share, as quotes and stock phrases are shared."""

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

    def article(self) -> tuple[str, str]:
        body = [self.random.choice(self.sentences) if self.random.random() < 0.15 else self.sentence()
                for _ in range(self.random.randint(8, 16))]
        return self.sentence()[:90], "\n".join(body)


def _sign(args: tuple[str, dict]) -> tuple[bytes, bytes, bytes]:
    text, settings = args
    from newsmon.config import Dedup

    fp = fingerprint(text, Dedup(**settings))
    return (fp.hashvalues.astype(np.uint32).tobytes(), fp.anchors.astype(np.uint32).tobytes(),
            fp.sentence_keys.astype(np.uint32).tobytes())


# --- archive ------------------------------------------------------------------------


def build_archive(path: Path, size: int, config: Config) -> float:
    """A migrated SQLite archive of ``size`` synthetic articles with their signatures."""
    from sqlalchemy import insert

    from storage.db import get_engine, migrate
    from storage.models import Article, ArticleSignature, Source, utcnow

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    migrate(url)
    engine = get_engine(url)
    generator = Generator(seed=7)
    settings = config.dedup.model_dump()
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(Source), [{"id": i + 1, "name": f"outlet-{i + 1}", "created_at": utcnow()}
                                      for i in range(SOURCES)])
    with Pool(2) as pool:
        for start in range(0, size, CHUNK):
            batch = [generator.article() for _ in range(min(CHUNK, size - start))]
            signed = pool.map(_sign, [(body, settings) for _, body in batch], chunksize=100)
            now = utcnow()
            articles, signatures = [], []
            for offset, ((title, body), (sig, anchors, keys)) in enumerate(zip(batch, signed)):
                article_id = start + offset + 1
                articles.append({
                    "id": article_id, "source_id": article_id % SOURCES + 1,
                    "canonical_url": f"https://outlet.example/{article_id}", "url": f"https://outlet.example/{article_id}",
                    "title": title, "text": body, "text_hash": text_hash(body), "paywalled": False,
                    "first_seen": now, "last_seen": now, "last_checked_at": now,
                })
                signatures.append({"article_id": article_id, "num_perm": config.dedup.num_perm,
                                   "shingle_size": config.dedup.shingle_size, "signature": sig,
                                   "anchors": anchors, "sentence_keys": keys})
            with engine.begin() as conn:
                conn.execute(insert(Article), articles)
                conn.execute(insert(ArticleSignature), signatures)
    return time.perf_counter() - started


KINDS = ("fresh", "copy", "edited copy", "rewrite")


def query_articles(count: int, archived: int) -> list[tuple[str, str, int]]:
    """(title, text, original article id): fresh stories, copies, edited copies
    and rewrites of the first ``archived`` articles, by turns (``KINDS``)."""
    generator = Generator(seed=7)
    originals = [generator.article() for _ in range(archived)]
    fresh = Generator(seed=99)
    rng = random.Random(5)
    out = []
    for i in range(count):
        original = rng.randrange(archived)
        title, body = originals[original]
        lines = body.split("\n")
        kind = i % 4
        if kind == 0:
            title, body = fresh.article()
        elif kind == 2:  # edited copy: one sentence changed, a correction appended
            lines[rng.randrange(len(lines))] = fresh.sentence()
            body = "\n".join(lines + ["Correction: an earlier version misstated a figure."])
        elif kind == 3:  # rewrite: keeps a third of the sentences, writes the rest anew
            kept = lines[: max(3, len(lines) // 3)]
            title, body = fresh.sentence()[:90], "\n".join(kept + [fresh.sentence() for _ in range(len(lines))])
        out.append((title, body, original + 1))  # article ids follow generation order from 1
    return out


# --- measurements ------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure_startup(url: str, config: Config) -> tuple[float, float]:
    """Seconds and MB of resident memory to restore the dedup index."""
    from storage.db import session_scope

    before = rss_mb()
    started = time.perf_counter()
    stage = DedupStage(config)
    with session_scope(url) as session:
        stage.open(session)
    return time.perf_counter() - started, rss_mb() - before


class Timed:
    """One archive with its own StageRunner, timing each stage per article
    (inside the article's transaction, flush included), as
    StageRunner.process runs them."""

    def __init__(self, url: str, config: Config) -> None:
        from storage.db import session_scope

        self.url = url
        self.runner = StageRunner(config, STAGES)
        with session_scope(url) as session:
            self.runner.open(session)
        self.timings: dict[str, list[float]] = {stage.name: [] for stage in self.runner.stages}

    def archive(self, number: int, title: str, body: str) -> None:
        from storage.db import session_scope
        from storage.models import Article

        with session_scope(self.url) as session:
            article = Article(source_id=number % SOURCES + 1, canonical_url=f"https://query.example/{number}",
                              url=f"https://query.example/{number}", title=title, text=body,
                              text_hash=text_hash(body))
            session.add(article)
            session.flush()
            for stage in self.runner.stages:
                started = time.perf_counter()
                stage.process(session, article)
                session.flush()
                self.timings[stage.name].append((time.perf_counter() - started) * 1000)
        self.runner.committed(article)


def found_links(url: str, size: int, queries: list[tuple[str, str, int]]) -> str:
    """Per kind of query article, how many were linked to the article they
    were made from (and how): a cheaper run must not be a blinder one.
    Query articles got ids size+1… in order."""
    from sqlalchemy import select

    from storage.db import session_scope
    from storage.models import DuplicateLink

    with session_scope(url) as session:
        links = {(a, o): kind for a, o, kind in session.execute(
            select(DuplicateLink.article_id, DuplicateLink.other_article_id, DuplicateLink.kind)
            .where(DuplicateLink.article_id > size))}
        others = sum(1 for (a, o) in links if o != queries[a - size - 1][2] and (a - size - 1) % len(KINDS))
    fresh = [size + 1 + i for i in range(0, len(queries), len(KINDS))]
    parts = [f"fresh linked to anything {sum(1 for a in fresh if any(k[0] == a for k in links))}/{len(fresh)}"]
    for number, name in enumerate(KINDS[1:], start=1):
        mine = [size + 1 + i for i in range(number, len(queries), len(KINDS))]
        found = [links[(a, queries[a - size - 1][2])] for a in mine if (a, queries[a - size - 1][2]) in links]
        how = ", ".join(f"{kind} {found.count(kind)}" for kind in sorted(set(found)))
        parts.append(f"{name} {len(found)}/{len(mine)}" + (f" ({how})" if how else ""))
    return "; ".join(parts) + f"; other links from copies/rewrites: {others}"


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    return (f"mean {statistics.mean(values):.2f} ms, median {statistics.median(values):.2f} ms, "
            f"p95 {ordered[int(len(ordered) * 0.95)]:.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--dir", default="/tmp", help="where the SQLite archives go")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    config = load_config(str(ROOT / "newsmon" / "data" / "newsmon.example.yaml"))
    queries = query_articles(args.queries, min(args.sizes))
    per_size = {}
    archives: dict[int, Timed] = {}
    for size in args.sizes:
        path = Path(args.dir) / f"newsmon-bench-dedup-{size}.db"
        build = build_archive(path, size, config)
        url = f"sqlite:///{path}"
        startup, memory = measure_startup(url, config)
        print(f"archive {size:>7} articles: built in {build:6.1f} s; dedup index restore {startup:6.2f} s "
              f"(+{memory:.0f} MB RSS)", flush=True)
        archives[size] = Timed(url, config)
    # Interleaved in rounds, so a change in machine load hits every size alike.
    for start in range(0, len(queries), 20):
        for timed in archives.values():
            for number in range(start, min(start + 20, len(queries))):
                timed.archive(number, *queries[number][:2])
    for size, timed in archives.items():
        timings = {name: values[10:] for name, values in timed.timings.items()}  # first few warm caches up
        total = [sum(parts) for parts in zip(*timings.values())]
        per_size[size] = statistics.mean(total)
        print(f"archive {size:>7} articles, per new article:")
        for name, values in timings.items():
            print(f"    {name:>10}: {summary(values)}")
        print(f"    {'together':>10}: {summary(total)}")
        print(f"    found, per kind of new article: {found_links(timed.url, size, queries)}")
        path = Path(timed.url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    small, large = min(per_size), max(per_size)
    print(f"per-article dedup+classify cost ratio {large}/{small}: {per_size[large] / per_size[small]:.2f} "
          f"(goal < 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
