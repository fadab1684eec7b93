"""Extraction throughput and quality: bare trafilatura against crawler.extract.

Not a test: run ``python bench/extract_throughput.py`` and read the figures.

1. Options: recall (share of each seed's prose paragraphs found) and boilerplate
   leaks (template strings found) for trafilatura option sets, on the seed
   articles rendered in three boilerplate-heavy templates.
2. Throughput, measured side by side in one run on the same pages (~300
   extractions per variant, interleaved page by page): bare
   ``trafilatura.extract`` (defaults), ``bare_extraction`` with our options and
   metadata, ``extract_article`` without a time limit, with the SIGALRM limit
   (main thread) and through a worker process (called from a thread), and the
   ratios; on the fixture pages as served and padded to outlet size (~130 KB).
3. The time limit's own cost per page.

Pages: the fixture news site's articles (newsmon.localsite, fetched over
HTTP from 127.0.0.1 once) and the seed pages (tests/fixtures/html/seed_pages.py).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "html"))

import trafilatura  # noqa: E402

from crawler import extract as ex  # noqa: E402
from crawler import extracted, timelimit  # noqa: E402
from crawler import metadata as md  # noqa: E402
from crawler.text import normalize_text  # noqa: E402
from seed_pages import seed_pages  # noqa: E402

# Changes to crawler.extract.TRAFILATURA_OPTIONS; "retry" toggles RETRY_WITH_FALLBACK.
OPTION_SETS = {
    "chosen: fast + retry if short": {},
    "balanced (fallbacks always)": {"fast": False, "retry": False},
    "fast, never retried": {"retry": False},
    "balanced + favor_precision": {"fast": False, "retry": False, "favor_precision": True},
    "balanced + favor_recall": {"fast": False, "retry": False, "favor_recall": True},
    "chosen + deduplicate": {"deduplicate": True},
    "chosen + include_comments": {"include_comments": True},
    "chosen - tables": {"include_tables": False},
}
FETCHED = datetime(2025, 11, 22)


@dataclass
class Case:
    """A page and what a reader would check in its extracted text."""

    name: str
    url: str
    body: bytes
    must_contain: list[str]
    must_not_contain: list[str]


def site_cases() -> list[Case]:
    """The fixture news site's articles that have an expected file, fetched over HTTP once."""
    try:
        from newsmon.localsite import LocalNewsSite
    except ImportError:
        return []
    cases = []
    with LocalNewsSite() as site:
        for article in site.articles():
            if not article["expected"]:
                continue
            expected = json.loads(Path(article["expected"]).read_text(encoding="utf-8"))
            with urllib.request.urlopen(article["url"], timeout=10) as response:
                body = response.read()
            cases.append(Case(article["path"], article["url"], body, expected["must_contain"],
                              expected["must_not_contain"]))
    return cases


def seed_cases() -> list[Case]:
    return [Case(p.name, f"https://news.example/world/{p.name}", p.html.encode("utf-8"), p.paragraphs,
                 p.boilerplate) for p in seed_pages()]


def compare_options(cases: list[Case], label: str) -> None:
    print(f"\n== trafilatura options on {len(cases)} {label}: recall / leaks / not-an-article / ms per page")
    saved, saved_retry = dict(ex.TRAFILATURA_OPTIONS), ex.RETRY_WITH_FALLBACK
    ex.extract_article(cases[0].body, cases[0].url, timeout=0)  # imports and caches warm before timing
    rows = {label: {"time": float("inf")} for label in OPTION_SETS}
    try:
        for _ in range(3):  # interleaved passes, best time kept: other work on the machine only adds
            for option_label, changes in OPTION_SETS.items():
                changes = dict(changes)
                ex.RETRY_WITH_FALLBACK = changes.pop("retry", saved_retry)
                ex.TRAFILATURA_OPTIONS = {**saved, **changes}
                found = total = leaks = rejected = 0
                started = time.perf_counter()
                for case in cases:
                    total += len(case.must_contain)
                    try:
                        result = ex.extract_article(case.body, case.url, fetched_at=FETCHED, timeout=0)
                    except extracted.NotArticle:
                        rejected += 1
                        continue
                    text = normalize_text(result.text)
                    found += sum(normalize_text(p) in text for p in case.must_contain)
                    leaks += sum(normalize_text(b) in text for b in case.must_not_contain)
                row = rows[option_label]
                row.update(recall=100 * found / total, leaks=leaks, rejected=rejected,
                           time=min(row["time"], time.perf_counter() - started))
        for option_label, row in rows.items():
            print(f"  {option_label:28s} recall {row['recall']:6.1f}%  leaks {row['leaks']:3d}  "
                  f"rejected {row['rejected']:2d}  {1000 * row['time'] / len(cases):6.1f} ms/page")
    finally:
        ex.TRAFILATURA_OPTIONS, ex.RETRY_WITH_FALLBACK = saved, saved_retry


def timed(fn, pages) -> float:
    started = time.perf_counter()
    for url, body in pages:
        fn(url, body)
    return time.perf_counter() - started


def in_thread(fn, pages) -> float:
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("t", timed(fn, pages)))
    thread.start()
    thread.join()
    return box["t"]


def heavy(body: bytes, index: int) -> bytes:
    """The page as real outlets serve it: ~150 KB, most of it chrome (inline
    scripts and styles, mega-menus, rails of related stories)."""
    script = "<script>window.__STATE__=" + json.dumps({"k%d" % i: "v" * 40 for i in range(1200)}) + "</script>"
    style = "<style>" + "".join(f".c{i}{{margin:{i}px;padding:{i}px}}" for i in range(1500)) + "</style>"
    menu = "<nav class='mega-menu'><ul>" + "".join(
        f"<li><a href='/section/{i}'>Section {i}</a><ul>" + "".join(
            f"<li><a href='/section/{i}/{j}'>Subsection {j}</a></li>" for j in range(8)) + "</ul></li>"
        for i in range(25)) + "</ul></nav>"
    rail = "<aside class='rail'>" + "".join(
        f"<div class='card'><a href='/story/{index}-{i}'>Story number {i} about something else entirely "
        f"happening today</a><p>A one-line teaser for story {i}.</p></div>" for i in range(60)) + "</aside>"
    page = body.decode("utf-8")
    page = page.replace("</head>", style + script + "</head>", 1).replace("<body>", "<body>" + menu, 1)
    page = page.replace("</body>", rail + "</body>", 1)
    return page.encode("utf-8")


def throughput(cases: list[Case], origin: str, count: int) -> None:
    """Each variant extracts the same pages, interleaved page by page so that
    load from other processes hits all variants alike; a page's cost is its
    best (and median) time over the rounds."""
    pages = [(c.url, c.body) for c in cases]
    rounds = max(1, count // len(pages))
    size = sum(len(b) for _, b in pages) / len(pages) / 1024
    print(f"\n== {origin}: {len(pages)} pages x {rounds} rounds = {len(pages) * rounds} extractions per variant, "
          f"{size:.0f} KB average, 1 core")

    def ours(timeout):
        def run(url, body):
            try:
                ex.extract_article(body, url, fetched_at=FETCHED, timeout=timeout)
            except extracted.NotArticle:
                pass
        return run

    variants = {
        "bare trafilatura.extract": lambda url, body: trafilatura.extract(body, url=url),
        "bare_extraction + metadata": lambda url, body: trafilatura.bare_extraction(
            body, url=url, with_metadata=True, **ex.TRAFILATURA_OPTIONS),
        "extract_article, no limit": ours(0),
        "extract_article, SIGALRM limit": ours(10),
    }
    threaded = "extract_article, worker process"
    ex.extract_article(pages[0][1], pages[0][0], timeout=0)  # warm caches and imports
    in_thread(ours(10), pages[:1])  # start the worker process outside the measurement
    samples = {name: [[] for _ in pages] for name in [*variants, threaded]}
    for _ in range(rounds):
        for index, (url, body) in enumerate(pages):
            for name, fn in variants.items():
                started = time.perf_counter()
                fn(url, body)
                samples[name][index].append(time.perf_counter() - started)
            samples[threaded][index].append(in_thread(ours(10), [(url, body)]))
    best = {name: sum(min(s) for s in per_page) / len(pages) for name, per_page in samples.items()}
    median = {name: sum(statistics.median(s) for s in per_page) / len(pages) for name, per_page in samples.items()}
    bare = best["bare trafilatura.extract"]
    print(f"  {'variant':34s} {'pages/s':>8s} {'ms/page':>8s} {'vs bare':>8s}   (median ms/page)")
    for name in samples:
        print(f"  {name:34s} {1 / best[name]:8.1f} {1000 * best[name]:8.2f} {best[name] / bare:8.2f}   "
              f"({1000 * median[name]:.2f})")
    alarm = best["extract_article, SIGALRM limit"]
    print(f"  extract_article over bare trafilatura.extract:                 {100 * (alarm / bare - 1):+.1f}%")
    print(f"  extract_article over bare_extraction (same options + metadata): "
          f"{100 * (alarm / best['bare_extraction + metadata'] - 1):+.1f}%")
    print(f"  SIGALRM limit over no limit: {1000 * (alarm - best['extract_article, no limit']):+.2f} ms/page; "
          f"worker process over no limit: {1000 * (best[threaded] - best['extract_article, no limit']):+.2f} ms/page")


def timer_overhead() -> None:
    print("\n== time-limit mechanism alone")
    n = 20000
    started = time.perf_counter()
    for _ in range(n):
        with timelimit.time_limit(10):
            pass
    print(f"  SIGALRM timer set+clear: {1e6 * (time.perf_counter() - started) / n:.1f} µs per page")
    tiny = "<html><body><article><p>" + "Short text. " * 40 + "</p></article></body></html>"
    samples = []

    def roundtrips():
        for _ in range(200):
            t0 = time.perf_counter()
            try:
                ex.extract_article(tiny, "https://news.example/a", timeout=10)
            except extracted.NotArticle:
                pass
            samples.append(time.perf_counter() - t0)

    thread = threading.Thread(target=roundtrips)
    thread.start()
    thread.join()
    local = []
    for _ in range(200):
        t0 = time.perf_counter()
        try:
            ex.extract_article(tiny, "https://news.example/a", timeout=0)
        except extracted.NotArticle:
            pass
        local.append(time.perf_counter() - t0)
    print(f"  worker-process round trip on a small page: {1000 * statistics.median(samples):.2f} ms "
          f"vs {1000 * statistics.median(local):.2f} ms in process (median)")
    huge = "<html><body>" + "<div><p>word " * 2000 + "</p></div>" * 2000 + "</body></html>"
    t0 = time.perf_counter()
    try:
        ex.extract_article(huge, "https://news.example/huge", timeout=0)
    except extracted.NotArticle:
        pass
    natural = time.perf_counter() - t0
    for label, runner in (("main thread, SIGALRM", lambda fn: fn()), ("other thread, worker process", None)):
        box = {}

        def attempt():
            t1 = time.perf_counter()
            try:
                ex.extract_article(huge, "https://news.example/huge", timeout=0.2)
                box["outcome"] = "finished"
            except extracted.ExtractionTimeout as exc:
                box["outcome"] = exc.reason
            box["seconds"] = time.perf_counter() - t1

        if runner:
            runner(attempt)
        else:
            thread = threading.Thread(target=attempt)
            thread.start()
            thread.join()
        print(f"  pathological page (2000 nested blocks, {natural:.2f} s unlimited), limit 0.2 s, {label}: "
              f"{box['outcome']} after {box['seconds']:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--skip-options", action="store_true")
    args = parser.parse_args()
    print(f"{extracted.EXTRACTOR}; language detection: {'py3langid' if md.py3langid else 'page attributes only'}")
    site, seeds = site_cases(), seed_cases()
    if not args.skip_options:
        compare_options(seeds, "seed pages in 3 boilerplate-heavy templates")
        if site:
            compare_options(site, "fixture-site articles (expected files)")
    cases, origin = (site, "fixture-site articles") if site else (seeds, "seed pages in 3 templates")
    throughput(cases, origin, args.pages)
    heavy_cases = [Case(c.name, c.url, heavy(c.body, i), c.must_contain, c.must_not_contain)
                   for i, c in enumerate(cases)]
    throughput(heavy_cases, origin + " padded with outlet-size chrome", args.pages)
    timer_overhead()


if __name__ == "__main__":
    main()
