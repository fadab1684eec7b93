"""Duplicate detection: syndicated copies, near-duplicates and rewrites.

Why three mechanisms:

* **exact** — the same story reprinted elsewhere has the same
  ``crawler.text.text_hash`` (typography folded away); an indexed equality
  lookup in the archive finds it, even right after a restart.
* **copy / near-duplicate** — a reprint with a changed headline, a dropped
  paragraph or an appended correction. MinHash over word shingles, indexed by
  LSH banding (``BandIndex``: datasketch's bands and rows, compact buckets),
  finds it in constant time; the estimated Jaccard decides the kind. Copies and near-duplicates join the older article's
  *cluster* (``articles.cluster_id`` = the cluster's first-seen article; a lone
  article keeps ``cluster_id`` NULL).
* **related** — another outlet's rewrite or summary shares whole passages but
  only ~7 % of its 5-word shingles (seeds 000/001), too low for LSH. Rewrites
  are found through *anchors* (the shingles whose hash is divisible by
  ``ANCHOR_SAMPLE``, so both texts sample the same ones) and confirmed by
  sentence overlap. Related articles are linked, not clustered.

False positives come from text that is not the story: boilerplate left in by
extraction and templates (market wraps, weather). Guards, in order:

1. per-source boilerplate: a sentence (digits masked) already seen in
   ``boilerplate_articles`` earlier articles of the same source is dropped
   before shingling;
2. texts shorter than ``min_words`` are never matched (stubs, paywall teasers);
3. a copy/near-duplicate whose figures mostly differ is a filled-in template,
   not a copy (``NUMBERS_MIN`` / ``NUMBERS_AGREE``);
4. anchors carried by more than ``ANCHOR_MAX_POSTINGS`` archived articles are
   common phrases and do not make candidates; ``related`` needs two outlets.

docs/dedup.md has the measurements behind the numbers.
"""
from __future__ import annotations

import logging
import math
import re
import zlib
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Container, Iterable

import numpy as np
from datasketch import MinHash, MinHashLSH
from datasketch.hashfunc import sha1_hash32
from sqlalchemy import delete, func, select, update

from crawler.stages import Stage
from crawler.text import normalize_text, text_hash
from storage.models import Article, ArticleSignature, DuplicateLink

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from newsmon.config import Config, Dedup

log = logging.getLogger(__name__)

SCHEME = "affine32"  # datasketch permutation scheme; uint32 values stored as-is
SEED = 1
ANCHOR_SAMPLE = 8  # keep shingles whose hash % 8 == 0: ~1 in 8, the same ones in every text
ANCHOR_MIN_SHARED = 4  # anchors two texts must share to be compared (seeds 000/001 share 10, others <= 2)
ANCHOR_MAX_POSTINGS = 50  # an anchor in more archived articles is a common phrase
MAX_CANDIDATES = 100  # most-shared-first, so a pathological text costs bounded work
MAX_RELATED_CHECKS = 10  # candidates re-read for the sentence-overlap check, most-shared-first
MAX_RELATED_LINKS = 10
SENTENCE_MIN_WORDS = 6  # shorter "sentences" (datelines, captions) say nothing about reuse
SENTENCE_SHARED = 0.3  # a sentence is shared when 30 % of its shingles occur in the other text
SENTENCES_MIN_SHARED = 2  # one common quote does not make a rewrite
NUMBERS_MIN = 3  # both texts need this many distinct figures for the template guard
NUMBERS_AGREE = 0.5  # copies agree on their figures; templates don't
BOILERPLATE_WINDOW = 300  # recent articles per source that teach the boilerplate filter
BOILERPLATE_SHARE = 0.05  # ...and the share of them a sentence must be in (a quote repeated twice is not)
CLUSTER_KINDS = ("exact", "copy", "near-duplicate")

_SENTENCE_SPLIT = re.compile(r"\n+|(?<=[.!?])[\"'\u201d\u2019)\]]*\s+")
_DIGITS = re.compile(r"\d+")
_FIGURE = re.compile(r"\d(?:[\d.,:]*\d)?")  # 3,874.50 · 5:43 · 2033 — whole, as written


# --- fingerprints ------------------------------------------------------------------


@dataclass
class Fingerprint:
    """What dedup knows about one text after the boilerplate filter."""

    word_count: int
    sentences: list[tuple[list[str], set[str]]]  # content sentences: normalized words, figures
    shingles: set[str]
    hashvalues: np.ndarray  # uint32 MinHash
    anchors: np.ndarray  # uint32, sorted unique
    sentence_keys: np.ndarray  # uint32, every sentence of the text (boilerplate included)
    numbers: set[str] = field(default_factory=set)


def split_sentences(text: str) -> list[str]:
    """Sentences and lines: the unit boilerplate and rewrites are made of."""
    return [s for s in (part.strip() for part in _SENTENCE_SPLIT.split(text or "")) if s]


def sentence_key(sentence_words: list[str]) -> int:
    """Key of a sentence with its figures masked, so a template line
    ('The index closed at 1,684.52 points') is one key whatever the day's numbers."""
    return zlib.crc32(_DIGITS.sub("0", " ".join(sentence_words)).encode("utf-8"))


def shingles_of(tokens: list[str], size: int) -> list[str]:
    """Word k-shingles; a text shorter than k is one shingle."""
    if len(tokens) <= size:
        return [" ".join(tokens)] if tokens else []
    return [" ".join(tokens[i:i + size]) for i in range(len(tokens) - size + 1)]


def figures_of(text: str) -> set[str]:
    """The figures a text states, whole ('3,874.50', not '3', '874', '50')."""
    return set(_FIGURE.findall(text))


def fingerprint(text: str, settings: "Dedup", boilerplate: Container[int] = frozenset(),
                permutations=None) -> Fingerprint:
    """Shingle, sketch and sample one text, leaving out boilerplate sentences."""
    all_keys: set[int] = set()
    content: list[tuple[list[str], set[str]]] = []
    for raw in split_sentences(text):
        tokens = normalize_text(raw).split()
        if not tokens:
            continue
        key = sentence_key(tokens)
        all_keys.add(key)
        if key not in boilerplate:
            content.append((tokens, figures_of(raw)))
    content_words = [w for sentence, _ in content for w in sentence]
    shingles = set(shingles_of(content_words, settings.shingle_size))
    hashes = np.array([sha1_hash32(s.encode("utf-8")) for s in shingles], dtype=np.uint32)
    minhash = MinHash(settings.num_perm, seed=SEED, hashfunc=int, permutations=permutations, scheme=SCHEME)
    if len(hashes):
        minhash.update_batch(hashes.tolist())
    anchors = np.unique(hashes[hashes % ANCHOR_SAMPLE == 0])
    return Fingerprint(
        word_count=len(content_words),
        sentences=[s for s in content if len(s[0]) >= SENTENCE_MIN_WORDS],
        shingles=shingles,
        hashvalues=minhash.hashvalues.astype(np.uint32),
        anchors=anchors,
        sentence_keys=np.array(sorted(all_keys), dtype=np.uint32),
        numbers=set().union(*(figures for _, figures in content)),
    )


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """MinHash estimate of the shingle sets' Jaccard similarity."""
    return float(np.count_nonzero(a == b)) / len(a) if len(a) == len(b) and len(a) else 0.0


def numbers_disagree(a: set[str], b: set[str]) -> bool:
    """True when two texts full of figures share few of them: a filled-in
    template (market wrap, weather), not a copy of the same story."""
    if len(a) < NUMBERS_MIN or len(b) < NUMBERS_MIN:
        return False
    return len(a & b) / len(a | b) < NUMBERS_AGREE


def sentence_overlap(a: Fingerprint, b: Fingerprint, shingle_size: int) -> tuple[float, int]:
    """Share of one text's sentences that reappear in the other (the larger
    of both directions) and how many: a rewrite keeps whole passages even when
    most of its shingles are new. A sentence counts when enough of its
    shingles occur in the other text and all its figures do too."""

    def direction(x: Fingerprint, y: Fingerprint) -> tuple[float, int]:
        if not x.sentences:
            return 0.0, 0
        shared = 0
        for sentence, figures in x.sentences:
            own = set(shingles_of(sentence, shingle_size))
            if len(own & y.shingles) < SENTENCE_SHARED * len(own):
                continue
            if not figures <= y.numbers:
                continue  # a template sentence with other facts, or a rewrite that changed them
            shared += 1
        return shared / len(x.sentences), shared

    return max(direction(a, b), direction(b, a))


# --- in-memory indexes -------------------------------------------------------------


class PostingIndex:
    """Key → articles, compact: restored articles live in two sorted numpy
    arrays (binary-searched), articles committed since in a dict. Python
    dicts of sets cost ~300 bytes per posting; this costs 12."""

    def __init__(self, dtype) -> None:
        self.dtype = dtype
        self.keys = np.empty(0, dtype=dtype)
        self.ids = np.empty(0, dtype=np.int32)
        self.recent: dict[int, list[int]] = defaultdict(list)
        self.recent_of: dict[int, list[int]] = {}  # article → its keys in ``recent``
        self.restored: set[int] = set()
        self.stale: set[int] = set()  # restored articles re-processed or forgotten since

    def __len__(self) -> int:
        return len(self.restored - self.stale) + len(self.recent_of)

    def load(self, keys: np.ndarray, ids: np.ndarray) -> None:
        order = np.argsort(keys, kind="stable")
        self.keys, self.ids = keys[order].astype(self.dtype), ids[order].astype(np.int32)
        self.restored = set(np.unique(self.ids).tolist())

    def add(self, article_id: int, keys: np.ndarray) -> None:
        self.remove(article_id)
        self.recent_of[article_id] = keys.tolist()
        for key in self.recent_of[article_id]:
            self.recent[key].append(article_id)

    def remove(self, article_id: int) -> None:
        if article_id in self.restored:
            self.stale.add(article_id)
        for key in self.recent_of.pop(article_id, []):
            ids = self.recent[key]
            ids.remove(article_id)
            if not ids:
                del self.recent[key]

    def postings(self, keys: np.ndarray, limit: int | None = None) -> Iterable[set[int]]:
        """Per key, the articles carrying it; keys with more than ``limit``
        postings are skipped (counted before listing: they can be long)."""
        if not len(keys):
            return
        keys = keys.astype(self.dtype)
        lo = np.searchsorted(self.keys, keys, "left").tolist()
        hi = np.searchsorted(self.keys, keys, "right").tolist()
        for key, start, end in zip(keys.tolist(), lo, hi):
            recent = self.recent.get(key, [])
            if limit is not None and end - start + len(recent) > limit:
                continue
            yield {i for i in self.ids[start:end].tolist() if i not in self.stale} | set(recent)


class AnchorIndex(PostingIndex):
    """Anchor → articles, for finding texts that share passages."""

    def __init__(self) -> None:
        super().__init__(np.uint32)

    def query(self, anchors: np.ndarray) -> Counter:
        """Articles by number of shared, not-too-common anchors."""
        shared: Counter = Counter()
        for ids in self.postings(anchors, ANCHOR_MAX_POSTINGS):
            shared.update(ids)
        return shared


class BandIndex(PostingIndex):
    """MinHash LSH: an article is a candidate when all ``rows`` values of one
    of ``bands`` bands equal the query's. datasketch's MinHashLSH chooses
    bands and rows for the threshold (the same optimisation it would use);
    the buckets are kept as 64-bit band hashes in a PostingIndex, because
    MinHashLSH's dicts of sets take ~9 KB per article (1 GB and 27 s to
    restore at 100k articles, docs/dedup.md)."""

    _PRIME = np.uint64(1099511628211)  # FNV-1a 64-bit

    def __init__(self, threshold: float, num_perm: int) -> None:
        super().__init__(np.uint64)
        params = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.bands, self.rows = params.b, params.r

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """(n, num_perm) uint32 signatures → (n, bands) uint64 bucket keys,
        the band number mixed in so equal values in two bands differ."""
        n = signatures.shape[0]
        values = signatures[:, : self.bands * self.rows].reshape(n, self.bands, self.rows).astype(np.uint64)
        keys = np.broadcast_to(np.arange(self.bands, dtype=np.uint64) + np.uint64(14695981039346656037),
                               (n, self.bands)).copy()
        for row in range(self.rows):
            keys = (keys ^ values[:, :, row]) * self._PRIME
        return keys

    def load_signatures(self, ids: list[int], signatures: np.ndarray) -> None:
        if ids:
            keys = self.band_keys(signatures)
            self.load(keys.ravel(), np.repeat(np.asarray(ids, dtype=np.int32), self.bands))

    def add_signature(self, article_id: int, hashvalues: np.ndarray) -> None:
        self.add(article_id, self.band_keys(hashvalues.reshape(1, -1))[0])

    def query(self, hashvalues: np.ndarray) -> set[int]:
        found: set[int] = set()
        for ids in self.postings(self.band_keys(hashvalues.reshape(1, -1))[0]):
            found |= ids
        return found


class BoilerplateModel:
    """Per source, how many recent articles carry each sentence key."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.recent: dict[int, OrderedDict[int, np.ndarray]] = defaultdict(OrderedDict)
        self.counts: dict[int, Counter] = defaultdict(Counter)

    def add(self, source_id: int, article_id: int, keys: np.ndarray) -> None:
        self.remove(source_id, article_id)
        window = self.recent[source_id]
        window[article_id] = keys
        self.counts[source_id].update(keys.tolist())
        while len(window) > BOILERPLATE_WINDOW:
            _, old = window.popitem(last=False)
            self.counts[source_id].subtract(old.tolist())

    def remove(self, source_id: int, article_id: int) -> None:
        old = self.recent[source_id].pop(article_id, None)
        if old is not None:
            self.counts[source_id].subtract(old.tolist())

    def boilerplate(self, source_id: int, exclude_article: int | None = None,
                    threshold: int | None = None) -> "SourceBoilerplate":
        """Sentence keys seen in ``threshold`` other recent articles of the
        source; by default in the configured number and in 5 % of them, so a
        sentence an outlet repeats now and then (a quote, a background line)
        stays while its footer and template lines go."""
        own = self.recent[source_id].get(exclude_article) if exclude_article is not None else None
        others = len(self.recent[source_id]) - (own is not None)
        needed = threshold or max(self.threshold, math.ceil(BOILERPLATE_SHARE * others))
        return SourceBoilerplate(self.counts[source_id], set(own.tolist()) if own is not None else set(), needed)


class SourceBoilerplate:
    """Membership test 'is this sentence key boilerplate for the source?',
    without building a set per article."""

    def __init__(self, counts: Counter, own: set[int], threshold: int) -> None:
        self.counts, self.own, self.threshold = counts, own, threshold

    def __contains__(self, key: int) -> bool:
        return self.counts.get(key, 0) - (key in self.own) >= self.threshold


# --- the stage ---------------------------------------------------------------------


@dataclass
class _Pending:
    source_id: int
    fingerprint: Fingerprint | None  # None: the article is no longer matchable


class DedupStage(Stage):
    """Links each archived article to its older copies, near-duplicates and
    rewrites, and keeps the in-memory indexes in step with committed rows."""

    name = "dedup"

    def __init__(self, config: "Config") -> None:
        super().__init__(config)
        self.settings = config.dedup
        self._permutations = MinHash(self.settings.num_perm, seed=SEED, scheme=SCHEME).permutations
        # LSH at a threshold below near_duplicate_threshold: candidates, confirmed by the estimate.
        self.lsh = BandIndex(max(0.1, self.settings.near_duplicate_threshold - 0.15), self.settings.num_perm)
        self.anchors = AnchorIndex()
        self.boilerplate = BoilerplateModel(self.settings.boilerplate_articles)
        self._pending: dict[int, _Pending] = {}

    # -- start-up

    def open(self, session: "Session") -> None:
        """Restore the indexes from ``article_signatures``; signatures made with
        other settings (num_perm, shingle size) are recomputed from the text."""
        count = session.scalar(select(func.count()).select_from(ArticleSignature)) or 0
        rows = session.execute(
            select(ArticleSignature.article_id, Article.source_id, ArticleSignature.num_perm,
                   ArticleSignature.shingle_size, ArticleSignature.signature, ArticleSignature.anchors,
                   ArticleSignature.sentence_keys)
            .join(Article, Article.id == ArticleSignature.article_id)
            .order_by(ArticleSignature.article_id)
            .execution_options(yield_per=2000)  # streamed: the archive's signatures never sit in memory twice
        )
        ids = np.empty(count, dtype=np.int32)
        matrix = np.empty((count, self.settings.num_perm), dtype=np.uint32)
        anchors: list[np.ndarray] = []
        stale: list[tuple[int, int]] = []
        loaded = 0
        for article_id, source_id, num_perm, shingle_size, signature, anchor_bytes, keys in rows:
            self.boilerplate.add(source_id, article_id, np.frombuffer(keys, dtype=np.uint32))
            if num_perm != self.settings.num_perm or shingle_size != self.settings.shingle_size:
                stale.append((article_id, source_id))
                continue
            if loaded == len(ids):  # rows added since the count
                ids, matrix = np.resize(ids, loaded + 1000), np.resize(matrix, (loaded + 1000, matrix.shape[1]))
            ids[loaded] = article_id
            matrix[loaded] = np.frombuffer(signature, dtype=np.uint32)
            anchors.append(np.frombuffer(anchor_bytes, dtype=np.uint32).copy())
            loaded += 1
        ids, matrix = ids[:loaded], matrix[:loaded]
        self.lsh.load_signatures(ids.tolist(), matrix)
        if loaded:
            self.anchors.load(np.concatenate(anchors), np.repeat(ids, [len(a) for a in anchors]))
        del matrix, anchors
        if stale:
            self._recompute(session, stale)
        log.info("dedup: restored %d signatures (%d recomputed for new settings)", loaded + len(stale), len(stale))

    def _recompute(self, session: "Session", stale: list[tuple[int, int]]) -> None:
        for article_id, source_id in stale:
            text = session.scalar(select(Article.text).where(Article.id == article_id)) or ""
            fp = fingerprint(text, self.settings, self.boilerplate.boilerplate(source_id, article_id),
                             self._permutations)
            self._store_signature(session, article_id, fp)
            self._remember(article_id, source_id, fp)

    # -- per article

    def process(self, session: "Session", article: "Article") -> None:
        """Replace this article's signature and outgoing links with ones computed
        from its current text, and put it in the right cluster."""
        session.execute(delete(DuplicateLink).where(DuplicateLink.article_id == article.id))
        if article.paywalled:  # a teaser is not the story: never matched, never a match
            log.debug("dedup: article %s is a paywall teaser: not matched", article.id)
            session.execute(delete(ArticleSignature).where(ArticleSignature.article_id == article.id))
            self._set_cluster(session, article, None)
            self._pending[article.id] = _Pending(article.source_id, None)
            return
        fp = fingerprint(article.text or "", self.settings,
                         self.boilerplate.boilerplate(article.source_id, article.id), self._permutations)
        if fp.word_count < self.settings.min_words:
            log.debug("dedup: article %s has %d words of content (< %d): not matched",
                      article.id, fp.word_count, self.settings.min_words)
            session.execute(delete(ArticleSignature).where(ArticleSignature.article_id == article.id))
            self._set_cluster(session, article, None)
            self._pending[article.id] = _Pending(article.source_id, None)
            return
        self._store_signature(session, article.id, fp)
        self._pending[article.id] = _Pending(article.source_id, fp)

        links = self._find_links(session, article, fp)
        for other_id, kind, similarity in links:
            session.add(DuplicateLink(article_id=article.id, other_article_id=other_id, kind=kind,
                                      similarity=round(similarity, 4)))
        clustering = next(((other, kind) for other, kind, _ in links if kind in CLUSTER_KINDS), None)
        self._set_cluster(session, article, clustering[0] if clustering else None)
        if links:
            log.info("dedup: article %s → %s", article.id,
                     ", ".join(f"{kind} of {other} ({sim:.2f})" for other, kind, sim in links))

    def _find_links(self, session: "Session", article: "Article", fp: Fingerprint) -> list[tuple[int, str, float]]:
        """(older article, kind, similarity), the clustering match first.

        The exact lookup uses the ``text_hash`` the pipeline stored with the
        text (hashing a long text again costs ~3 ms a page); it is computed
        only for an article that has none."""
        links: list[tuple[int, str, float]] = []
        done_groups: set[int] = set()
        own_hash = article.text_hash or text_hash(article.text or "")
        exact = session.execute(
            select(Article.id, Article.cluster_id)
            .where(Article.text_hash == own_hash, Article.id < article.id, Article.paywalled.is_not(True))
            .order_by(Article.first_seen, Article.id).limit(1)
        ).first()
        if exact is not None:
            links.append((exact.id, "exact", 1.0))
            done_groups.add(exact.cluster_id or exact.id)

        candidates: Counter = self.anchors.query(fp.anchors)
        for key in self.lsh.query(fp.hashvalues):
            candidates[key] += ANCHOR_MAX_POSTINGS  # LSH hits first
        ids = [cid for cid, _ in candidates.most_common() if cid < article.id and cid != article.id
               and (candidates[cid] >= ANCHOR_MIN_SHARED)][:MAX_CANDIDATES]
        if exact is not None and exact.id in ids:
            ids.remove(exact.id)
        if not ids:
            return links

        rows = session.execute(
            select(Article.id, Article.source_id, Article.cluster_id, Article.text, ArticleSignature.signature)
            .join(ArticleSignature, ArticleSignature.article_id == Article.id)
            .where(Article.id.in_(ids))
        ).all()
        rows.sort(key=lambda row: ids.index(row.id))
        clustered: dict[int, tuple[float, int]] = {}  # group → (similarity, article)
        related: list[tuple[float, int]] = []
        own_specific: Fingerprint | None = None
        own_figures: set[str] | None = None
        related_checks = 0
        for row in rows:
            similarity = estimated_jaccard(fp.hashvalues, np.frombuffer(row.signature, dtype=np.uint32))
            group = row.cluster_id or row.id
            if similarity >= self.settings.near_duplicate_threshold:
                own_figures = figures_of(article.text or "") if own_figures is None else own_figures
                if numbers_disagree(own_figures, figures_of(row.text or "")):
                    log.debug("dedup: %s vs %s: similar wording, different figures (a template)",
                              article.id, row.id)
                    continue
                if group not in done_groups and similarity > clustered.get(group, (-1.0, 0))[0]:
                    clustered[group] = (similarity, row.id)
                continue
            if row.source_id == article.source_id or group in done_groups or related_checks >= MAX_RELATED_CHECKS:
                continue
            related_checks += 1
            # Evidence of a rewrite is what is specific to the story: a sentence its
            # outlet also ran in another article (template, stock paragraph) is not.
            if own_specific is None:
                own_specific = fingerprint(article.text or "", self.settings,
                                           self.boilerplate.boilerplate(article.source_id, article.id, 1),
                                           self._permutations)
            other = fingerprint(row.text or "", self.settings,
                                self.boilerplate.boilerplate(row.source_id, row.id, 1), self._permutations)
            overlap, shared = sentence_overlap(own_specific, other, self.settings.shingle_size)
            if overlap >= self.settings.related_threshold and shared >= SENTENCES_MIN_SHARED:
                related.append((overlap, row.id))

        for similarity, other_id in sorted(clustered.values(), key=lambda item: (-item[0], item[1])):
            kind = "copy" if similarity >= self.settings.copy_threshold else "near-duplicate"
            links.append((other_id, kind, similarity))
        linked = {other for other, _, _ in links}
        for overlap, other_id in sorted(related, key=lambda item: (-item[0], item[1]))[:MAX_RELATED_LINKS]:
            if other_id not in linked:
                links.append((other_id, "related", overlap))
        return links

    def _set_cluster(self, session: "Session", article: "Article", match_id: int | None) -> None:
        """Join the cluster of ``match_id`` (or leave any cluster), keeping the
        rule: a cluster head points at itself while it has members, a lone
        article has cluster_id NULL."""
        previous = article.cluster_id
        heads_members = previous == article.id and bool(session.scalar(
            select(func.count()).select_from(Article)
            .where(Article.cluster_id == article.id, Article.id != article.id)))
        if match_id is not None:
            match = session.get(Article, match_id)
            head_id = match.cluster_id or match.id
            if match.cluster_id is None:
                match.cluster_id = match.id
            if heads_members:  # its members follow it into the older cluster
                session.execute(update(Article).where(Article.cluster_id == article.id).values(cluster_id=head_id))
            article.cluster_id = head_id
        else:
            article.cluster_id = article.id if heads_members else None
        session.flush()
        if previous is not None and previous not in (article.id, article.cluster_id):
            members = session.scalar(select(func.count()).select_from(Article)
                                     .where(Article.cluster_id == previous, Article.id != previous))
            if not members:  # the old cluster is down to its head: a lone article again
                session.execute(update(Article).where(Article.id == previous).values(cluster_id=None))

    def _store_signature(self, session: "Session", article_id: int, fp: Fingerprint) -> None:
        values = dict(num_perm=self.settings.num_perm, shingle_size=self.settings.shingle_size,
                      signature=fp.hashvalues.astype(np.uint32).tobytes(),
                      anchors=fp.anchors.astype(np.uint32).tobytes(),
                      sentence_keys=fp.sentence_keys.astype(np.uint32).tobytes())
        row = session.get(ArticleSignature, article_id)
        if row is None:
            session.add(ArticleSignature(article_id=article_id, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)

    # -- transaction outcome

    def _remember(self, article_id: int, source_id: int, fp: Fingerprint | None) -> None:
        if fp is None:
            self.lsh.remove(article_id)
            self.anchors.remove(article_id)
            self.boilerplate.remove(source_id, article_id)
            return
        self.lsh.add_signature(article_id, fp.hashvalues)
        self.anchors.add(article_id, fp.anchors)
        self.boilerplate.add(source_id, article_id, fp.sentence_keys)

    def committed(self, article: "Article") -> None:
        pending = self._pending.pop(article.id, None)
        if pending is not None:
            self._remember(article.id, pending.source_id, pending.fingerprint)

    def rolled_back(self, article: "Article") -> None:
        self._pending.pop(article.id, None)


# --- for other stages ----------------------------------------------------------------


def independent_outlets(session: "Session", article_ids: Iterable[int]) -> int:
    """How many outlets independently reported what these articles say: each
    cluster counts once, for the outlet of its first-seen article, so ten
    reprints of one wire story are one confirmation."""
    ids = list(set(article_ids))
    if not ids:
        return 0
    head = Article.__table__.alias("head")
    origin = func.coalesce(head.c.source_id, Article.source_id)
    return int(session.scalar(
        select(func.count(func.distinct(origin)))
        .select_from(Article)
        .outerjoin(head, head.c.id == Article.cluster_id)
        .where(Article.id.in_(ids))
    ) or 0)
