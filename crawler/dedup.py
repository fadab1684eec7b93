"""Duplicate detection: syndicated copies, near-duplicates and rewrites.

Why three mechanisms:

* **exact** — the same story reprinted elsewhere has the same
  ``crawler.text.text_hash`` (typography folded away); an indexed equality
  lookup in the archive finds it, even right after a restart.
* **copy / near-duplicate** — a reprint with a changed headline, a dropped
  paragraph or an appended correction. MinHash over word shingles, indexed by
  LSH banding (``LshBands``: datasketch's bands and rows, one indexed row per band),
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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Container

import numpy as np
from datasketch import MinHash, MinHashLSH
from datasketch.hashfunc import sha1_hash32

from crawler.text import normalize_text

if TYPE_CHECKING:  # pragma: no cover
    from crawler.config import Dedup

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


# --- LSH band keys ------------------------------------------------------------------


class LshBands:
    """MinHash LSH banding: two articles are candidates when all ``rows``
    values of one of ``bands`` bands are equal. datasketch's MinHashLSH
    chooses bands and rows for the threshold (the same optimisation it would
    use); each band becomes one 64-bit key (FNV-1a over its values, the band
    number mixed in), stored as an indexed row in the archive
    (``dedup_bands``), so finding candidates is one indexed lookup."""

    _PRIME = np.uint64(1099511628211)  # FNV-1a 64-bit

    def __init__(self, threshold: float, num_perm: int) -> None:
        params = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.bands, self.rows = params.b, params.r

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """(n, num_perm) uint32 signatures → (n, bands) bucket keys as int64
        (the uint64 hash reinterpreted, so both databases store it as BIGINT)."""
        signatures = np.atleast_2d(signatures)
        n = signatures.shape[0]
        values = signatures[:, : self.bands * self.rows].reshape(n, self.bands, self.rows).astype(np.uint64)
        keys = np.broadcast_to(np.arange(self.bands, dtype=np.uint64) + np.uint64(14695981039346656037),
                               (n, self.bands)).copy()
        for row in range(self.rows):
            keys = (keys ^ values[:, :, row]) * self._PRIME
        return keys.view(np.int64)


def lsh_bands(settings: "Dedup") -> LshBands:
    """The banding for these settings: LSH at a threshold below
    near_duplicate_threshold gives candidates, confirmed by the estimate."""
    return LshBands(max(0.1, settings.near_duplicate_threshold - 0.15), settings.num_perm)


def sentence_keys_of(text: str) -> np.ndarray:
    """Every sentence key of a text (sorted uint32), boilerplate included:
    what the per-source boilerplate filter learns from and asks about."""
    keys = {sentence_key(tokens) for raw in split_sentences(text) if (tokens := normalize_text(raw).split())}
    return np.array(sorted(keys), dtype=np.uint32)


def boilerplate_threshold(settings: "Dedup", others: int) -> int:
    """How many other recent articles of a source must carry a sentence for it
    to be boilerplate: the configured number, and 5 % of the window, so a
    sentence an outlet repeats now and then (a quote, a background line)
    stays while its footer and template lines go."""
    return max(settings.boilerplate_articles, math.ceil(BOILERPLATE_SHARE * others))
