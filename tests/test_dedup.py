"""Dedup: syndicated copies cluster, rewrites are linked, templates and
boilerplate don't match, the index survives a restart; `newsmon diff`."""
from __future__ import annotations

import itertools
import subprocess
import sys
import zlib
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHashLSH
from sqlalchemy import func, select, text

from crawler.dedup import LshBands, estimated_jaccard, fingerprint, split_sentences
from crawler.stages.dedup import independent_outlets
from crawler.stages import StageRunner
from crawler.text import text_hash
from crawler.config import parse_config
from storage.db import session_scope
from storage.models import Article, ArticleSignature, ArticleVersion, DedupAnchor, DedupBand, DuplicateLink, Source

FIXTURES = Path(__file__).parent / "fixtures" / "dedup"
STAGE = ["dedup"]


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def make_config(**dedup):
    return parse_config({"dedup": dedup} if dedup else {}, "test")


class Archive:
    """Archives articles the way the pipeline does: one transaction per
    article, the stages run inside it, told afterwards that it committed."""

    def __init__(self, url: str, config=None) -> None:
        self.url = url
        self.config = config or make_config()
        self.runner = StageRunner(self.config, STAGE)
        self._slugs = itertools.count()

    def add(self, source: str, body: str, slug: str | None = None) -> int:
        slug = slug or f"story-{next(self._slugs)}"
        with session_scope(self.url) as session:
            src = session.scalar(select(Source).where(Source.name == source))
            if src is None:
                src = Source(name=source)
                session.add(src)
                session.flush()
            article = Article(source_id=src.id, canonical_url=f"https://{source}.example/{slug}",
                              url=f"https://{source}.example/{slug}", title=body.split("\n", 1)[0][:80],
                              text=body, text_hash=text_hash(body))
            session.add(article)
            session.flush()
            self.runner.process(session, article)
        self.runner.committed(article)
        return article.id

    def update_text(self, article_id: int, body: str) -> None:
        """A new version of the same URL: same article row, new text, re-processed."""
        with session_scope(self.url) as session:
            article = session.get(Article, article_id)
            article.text, article.text_hash = body, text_hash(body)
            session.flush()
            self.runner.process(session, article)
        self.runner.committed(article)


def links(url: str) -> set[tuple[int, int, str]]:
    with session_scope(url) as session:
        return {(l.article_id, l.other_article_id, l.kind) for l in session.scalars(select(DuplicateLink))}


def link(url: str, article_id: int, other_id: int) -> DuplicateLink | None:
    with session_scope(url) as session:
        return session.scalar(select(DuplicateLink).where(DuplicateLink.article_id == article_id,
                                                          DuplicateLink.other_article_id == other_id))


def cluster_of(url: str, article_id: int) -> int | None:
    with session_scope(url) as session:
        return session.get(Article, article_id).cluster_id


# --- copies and clusters -------------------------------------------------------------


def test_verbatim_copy_at_another_outlet_forms_one_cluster_of_two_outlets(db_url, seed_texts):
    archive = Archive(db_url)
    original = archive.add("wire", seed_texts["003"])
    copy = archive.add("reprinter", seed_texts["003"])

    with session_scope(db_url) as session:
        rows = session.execute(text(
            "SELECT article_id, source, cluster_id, cluster_first_source, cluster_articles, cluster_outlets, kind, "
            "similarity FROM v_duplicates ORDER BY article_id")).all()
        assert independent_outlets(session, [original, copy]) == 1
    assert [tuple(r) for r in rows] == [
        (original, "wire", original, "wire", 2, 2, None, None),
        (copy, "reprinter", original, "wire", 2, 2, "exact", 1.0),
    ]


def test_typographic_variants_are_still_exact_copies(db_url, seed_texts):
    archive = Archive(db_url)
    original = archive.add("wire", seed_texts["003"])
    variant_text = fixture("003_typographic_variant.txt")
    assert variant_text != seed_texts["003"]
    variant = archive.add("reprinter", variant_text)

    assert links(db_url) == {(variant, original, "exact")}
    assert cluster_of(db_url, variant) == original


def test_reprint_with_byline_is_a_copy_and_edited_reprint_a_near_duplicate(db_url, seed_texts):
    archive = Archive(db_url)
    story_002 = archive.add("wire", seed_texts["002"])
    story_004 = archive.add("bbc", seed_texts["004"])
    copy = archive.add("reprinter", fixture("002_syndicated_copy.txt"))
    edited = archive.add("aggregator", fixture("004_near_duplicate.txt"))

    assert link(db_url, copy, story_002).kind == "copy"
    assert link(db_url, copy, story_002).similarity >= 0.9
    near = link(db_url, edited, story_004)
    assert near.kind == "near-duplicate" and 0.6 <= near.similarity < 0.9
    assert cluster_of(db_url, copy) == story_002 and cluster_of(db_url, edited) == story_004
    assert len(links(db_url)) == 2


def test_ten_reprints_count_as_one_independent_outlet(db_url, seed_texts):
    archive = Archive(db_url)
    ids = [archive.add(f"outlet{i}", seed_texts["003"]) for i in range(10)]
    own = archive.add("bbc", seed_texts["004"])

    with session_scope(db_url) as session:
        assert independent_outlets(session, ids) == 1
        assert independent_outlets(session, ids + [own]) == 2
        outlets = session.execute(text("SELECT DISTINCT cluster_outlets FROM v_duplicates")).scalars().all()
    assert outlets == [10]
    assert {cluster_of(db_url, i) for i in ids} == {ids[0]}
    assert cluster_of(db_url, own) is None  # a lone article has no cluster


# --- rewrites: the seeds -----------------------------------------------------------


def test_seed_rewrite_001_of_000_is_linked_related_but_not_clustered(db_url, seed_texts):
    archive = Archive(db_url)
    original = archive.add("foreignaffairs", seed_texts["001"])
    summary = archive.add("digest", seed_texts["000"])

    related = link(db_url, summary, original)
    assert related is not None and related.kind == "related"
    assert 0.1 <= related.similarity < 0.6  # share of the summary's sentences taken from the original
    assert cluster_of(db_url, summary) is None and cluster_of(db_url, original) is None


def test_no_other_seed_pair_is_linked(db_url, seed_texts):
    archive = Archive(db_url)
    ids = {prefix: archive.add(f"outlet-{prefix}", body) for prefix, body in sorted(seed_texts.items())}

    assert links(db_url) == {(ids["001"], ids["000"], "related")}


# --- false positives ---------------------------------------------------------------


@pytest.mark.parametrize("first,second", [
    ("market_wrap_monday.txt", "market_wrap_tuesday.txt"),
    ("weather_bogota_nov_11.txt", "weather_bogota_nov_12.txt"),
    ("live_page_election.txt", "live_page_protests.txt"),
])
def test_templated_stories_of_one_outlet_are_not_linked(sqlite_url, first, second):
    archive = Archive(sqlite_url)
    a = archive.add("capitalwire", fixture(first))
    b = archive.add("capitalwire", fixture(second))

    assert links(sqlite_url) == set()
    assert cluster_of(sqlite_url, a) is None and cluster_of(sqlite_url, b) is None


def test_templated_market_wrap_reprinted_elsewhere_is_still_a_copy(sqlite_url):
    archive = Archive(sqlite_url)
    monday = archive.add("capitalwire", fixture("market_wrap_monday.txt"))
    archive.add("capitalwire", fixture("market_wrap_tuesday.txt"))
    reprint = archive.add("reprinter", "By Capital Wire staff\n" + fixture("market_wrap_monday.txt"))

    assert links(sqlite_url) == {(reprint, monday, "copy")}


def test_boilerplate_left_by_extraction_does_not_link_an_outlets_articles(db_url, seed_texts):
    boilerplate = fixture("boilerplate.txt")
    sentences = split_sentences(seed_texts["002"])
    long_bodies = [p for p in seed_texts["002"].split("\n") if len(p.split()) > 60][:2]
    short = [s for s in sentences if 15 <= len(s.split()) <= 22]
    short_bodies = [" ".join(short[i:i + 2]) for i in range(0, 12, 2)]
    texts = [f"{body}\n{boilerplate}" for body in long_bodies + short_bodies]
    # The short ones are mostly boilerplate: unfiltered, some pairs would pass for near-duplicates.
    sketches = [fingerprint(t, make_config().dedup).hashvalues for t in texts[2:]]
    assert max(estimated_jaccard(a, b) for a, b in itertools.combinations(sketches, 2)) >= 0.6

    archive = Archive(db_url)
    ids = [archive.add("ledger", body) for body in texts]

    assert links(db_url) == set()
    assert all(cluster_of(db_url, i) is None for i in ids)


def test_daily_note_worded_alike_but_with_other_figures_is_not_a_near_duplicate(db_url):
    thursday, friday = fixture("exchange_rate_nov_13.txt"), fixture("exchange_rate_nov_14.txt")
    settings = make_config().dedup
    assert estimated_jaccard(fingerprint(thursday, settings).hashvalues,
                             fingerprint(friday, settings).hashvalues) >= settings.near_duplicate_threshold
    archive = Archive(db_url)
    first = archive.add("capitalwire", thursday)
    archive.add("capitalwire", friday)
    reprint = archive.add("reprinter", thursday)

    assert links(db_url) == {(reprint, first, "exact")}


def test_short_stubs_are_never_matched(db_url):
    archive = Archive(db_url)
    stub = "Subscribe to continue reading this article. Already a subscriber? Log in."
    archive.add("ledger", stub)
    archive.add("other", stub)

    assert links(db_url) == set()


# --- edits, idempotency, transactions ------------------------------------------------


def test_new_version_is_rechecked_and_never_linked_to_itself(db_url, seed_texts):
    archive = Archive(db_url)
    wire = archive.add("wire", seed_texts["003"])
    live = archive.add("bbc", seed_texts["004"])
    archive.update_text(live, seed_texts["004"] + "\nUpdate: the embassy declined to comment.\n")
    assert links(db_url) == set()

    archive.update_text(live, seed_texts["003"])  # the page now carries the wire story
    assert links(db_url) == {(live, wire, "exact")}
    archive.update_text(live, seed_texts["003"])  # re-processing is idempotent
    assert links(db_url) == {(live, wire, "exact")}
    with session_scope(db_url) as session:
        assert session.scalar(select(ArticleSignature).where(ArticleSignature.article_id == live)) is not None

    archive.update_text(live, seed_texts["004"])  # and back: it leaves the cluster
    assert links(db_url) == set()
    assert cluster_of(db_url, live) is None and cluster_of(db_url, wire) is None


def test_rolled_back_article_leaves_no_phantom_in_the_index(sqlite_url, seed_texts):
    archive = Archive(sqlite_url)
    with pytest.raises(RuntimeError):
        with session_scope(sqlite_url) as session:
            src = Source(name="wire")
            session.add(src)
            session.flush()
            article = Article(source_id=src.id, canonical_url="https://wire.example/x", url="https://wire.example/x",
                              text=seed_texts["002"], text_hash=text_hash(seed_texts["002"]))
            session.add(article)
            session.flush()
            archive.runner.process(session, article)
            raise RuntimeError("the version insert failed")
    archive.runner.rolled_back(article)

    with session_scope(sqlite_url) as session:  # the rolled-back article left no index rows
        assert session.scalar(select(func.count()).select_from(DedupBand)) == 0
        assert session.scalar(select(func.count()).select_from(DedupAnchor)) == 0
    copy = archive.add("reprinter", fixture("002_syndicated_copy.txt"))
    assert links(sqlite_url) == set() and cluster_of(sqlite_url, copy) is None


def test_near_duplicate_of_a_story_reprinted_everywhere_is_still_found(sqlite_url, seed_texts):
    # 60 reprints make every anchor of the story a "common phrase" (ignored):
    # the LSH band index is what finds the edited copy.
    archive = Archive(sqlite_url)
    first = archive.add("bbc", seed_texts["004"])
    for i in range(60):
        archive.add(f"reprinter{i}", seed_texts["004"])
    edited = archive.add("aggregator", fixture("004_near_duplicate.txt"))

    with session_scope(sqlite_url) as session:
        kinds = session.execute(select(DuplicateLink.kind).where(DuplicateLink.article_id == edited)).scalars().all()
    assert kinds == ["near-duplicate"]
    assert cluster_of(sqlite_url, edited) == first


def test_band_keys_find_the_same_candidates_as_datasketch_minhash_lsh():
    rng = np.random.default_rng(3)
    base = rng.integers(0, 2**32, size=(300, 128), dtype=np.uint64).astype(np.uint32)
    for i in range(0, 300, 3):  # plant pairs at several similarities
        keep = rng.random(128) < (0.3 + 0.7 * (i % 30) / 30)
        base[i + 1] = np.where(keep, base[i], base[i + 1])
    ours = LshBands(0.45, 128)
    keys = ours.band_keys(base)  # what dedup_bands stores: articles sharing a key are candidates
    postings: dict[int, set[int]] = {}
    for i, row in enumerate(keys.tolist()):
        for key in row:
            postings.setdefault(key, set()).add(i)
    theirs = MinHashLSH(threshold=0.45, num_perm=128)
    for i in range(300):
        theirs.insert(i, LeanMinHash(seed=1, hashvalues=base[i], scheme="affine32"))

    found = 0
    for i in range(300):
        expected = set(theirs.query(LeanMinHash(seed=1, hashvalues=base[i], scheme="affine32")))
        assert set().union(*(postings[key] for key in keys[i].tolist())) == expected
        found += len(expected) > 1
    assert found > 20


# --- restart -------------------------------------------------------------------------


def test_copy_of_an_old_article_is_recognised_after_a_restart(db_url, seed_texts):
    first_run = Archive(db_url)
    old_004 = first_run.add("bbc", seed_texts["004"])
    old_001 = first_run.add("foreignaffairs", seed_texts["001"])
    del first_run  # the process ends

    second_run = Archive(db_url)  # a new stage instance opens the same archive
    edited = second_run.add("aggregator", fixture("004_near_duplicate.txt"))
    summary = second_run.add("digest", seed_texts["000"])

    assert links(db_url) == {(edited, old_004, "near-duplicate"), (summary, old_001, "related")}


def test_restart_in_a_new_process_recognises_yesterdays_copy(tmp_path, seed_texts):
    from storage.db import migrate

    url = f"sqlite:///{tmp_path / 'archive.db'}"
    migrate(url)
    old = Archive(url).add("bbc", seed_texts["004"])
    script = (
        "import sys; sys.path.insert(0, %r)\n"
        "from test_dedup import Archive, fixture\n"
        "print(Archive(%r).add('aggregator', fixture('004_near_duplicate.txt')))\n"
    ) % (str(Path(__file__).parent), url)
    new_id = int(subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                                text=True).stdout.split()[-1])

    assert link(url, new_id, old).kind == "near-duplicate"


def test_changed_settings_recompute_stored_signatures(sqlite_url, seed_texts):
    Archive(sqlite_url).add("bbc", seed_texts["004"])
    Archive(sqlite_url, make_config(num_perm=64, shingle_size=4)).add("aggregator", fixture("004_near_duplicate.txt"))

    with session_scope(sqlite_url) as session:
        settings = set(session.execute(select(ArticleSignature.num_perm, ArticleSignature.shingle_size)).all())
        assert settings == {(64, 4)}
        assert len(session.scalars(select(ArticleSignature.signature)).first()) == 64 * 4
    assert {kind for _, _, kind in links(sqlite_url)} == {"near-duplicate"}


# --- newsmon diff --------------------------------------------------------------------


def _write_versions(url: str, texts: list[str]) -> int:
    with session_scope(url) as session:
        src = Source(name="bbc")
        session.add(src)
        session.flush()
        article = Article(source_id=src.id, canonical_url="https://bbc.example/a", url="https://bbc.example/a",
                          title="Petro recalls ambassador", text=texts[-1], text_hash=text_hash(texts[-1]))
        session.add(article)
        session.flush()
        for number, body in enumerate(texts, start=1):
            session.add(ArticleVersion(article_id=article.id, version=number, raw_html=zlib.compress(b"<html/>"),
                                       fetched_at=datetime(2025, 11, 10 + number, 8, 30), text=body,
                                       text_hash=text_hash(body)))
        return article.id


def run_cli(url: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    config = tmp_path / "newsmon.yaml"
    config.write_text(f"database_url: {url}\n")
    return subprocess.run([sys.executable, "-m", "newsmon.cli", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=60)


def test_diff_shows_what_changed_between_the_last_two_versions(sqlite_url, tmp_path):
    article_id = _write_versions(sqlite_url, [
        "Petro recalls ambassador.\nThe embassy declined to comment.\n",
        "Petro recalls ambassador.\nThe embassy said talks would resume.\n",
        "Petro recalls ambassador from Washington.\nThe embassy said talks would resume.\n",
    ])
    result = run_cli(sqlite_url, tmp_path, "diff", str(article_id))

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("--- version 2 (fetched 2025-11-12 08:30")
    assert lines[1].startswith("+++ version 3 (fetched 2025-11-13 08:30")
    assert "-Petro recalls ambassador." in lines
    assert "+Petro recalls ambassador from Washington." in lines
    assert " The embassy said talks would resume." in lines

    older = run_cli(sqlite_url, tmp_path, "diff", str(article_id), "--from", "1", "--to", "2")
    assert "-The embassy declined to comment." in older.stdout.splitlines()
    assert "+The embassy said talks would resume." in older.stdout.splitlines()


def test_diff_of_a_single_version_article_says_so(sqlite_url, tmp_path):
    article_id = _write_versions(sqlite_url, ["Petro recalls ambassador.\n"])
    result = run_cli(sqlite_url, tmp_path, "diff", str(article_id))

    assert result.returncode == 0
    assert "only one version" in result.stdout


def test_diff_of_unknown_article_or_version_exits_2(sqlite_url, tmp_path):
    article_id = _write_versions(sqlite_url, ["one\n", "two\n"])
    unknown = run_cli(sqlite_url, tmp_path, "diff", "999")
    assert unknown.returncode == 2 and "no article 999" in unknown.stderr and "Traceback" not in unknown.stderr
    bad_version = run_cli(sqlite_url, tmp_path, "diff", str(article_id), "--from", "1", "--to", "7")
    assert bad_version.returncode == 2 and "version 7" in bad_version.stderr
