"""The dedup stage: links each archived article to the copies, near-duplicates
and rewrites already in the archive (the math is in ``crawler.dedup``;
docs/dedup.md).

The archive is the only state. An article's LSH band keys, anchors and
sentence keys are indexed rows (``dedup_bands``, ``dedup_anchors``,
``dedup_sentences``) written in the article's transaction, and its
candidates are found with one indexed lookup each, so whichever process filed
a copy, the next one finds it, and a crawl process starts without restoring
anything.

Two writers filing copies at the same moment: on SQLite the archive has one
writer at a time, and the stage runs after the article's first write, so it
sees every committed copy. On PostgreSQL the stage first takes
transaction-level advisory locks on the article's band keys and anchors
(sorted, so two writers never wait on each other in a cycle): a copy, which
shares keys, waits until the first one committed, then finds it. Articles
that share nothing never wait for each other.
"""
from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Iterable

import numpy as np
from datasketch import MinHash
from sqlalchemy import bindparam, delete, func, or_, select, text, update

from crawler.dedup import (
    ANCHOR_MAX_POSTINGS,
    ANCHOR_MIN_SHARED,
    BOILERPLATE_WINDOW,
    CLUSTER_KINDS,
    MAX_CANDIDATES,
    MAX_RELATED_CHECKS,
    MAX_RELATED_LINKS,
    SCHEME,
    SEED,
    SENTENCES_MIN_SHARED,
    Fingerprint,
    boilerplate_threshold,
    estimated_jaccard,
    figures_of,
    fingerprint,
    lsh_bands,
    numbers_disagree,
    sentence_keys_of,
    sentence_overlap,
)
from crawler.stages import Stage
from crawler.text import text_hash
from storage.models import Article, ArticleSignature, DedupAnchor, DedupBand, DedupSentence, DuplicateLink
from storage.upsert import get_state, insert_ignore, set_state

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from crawler.config import Config

log = logging.getLogger(__name__)

LOCK_SPACE = 1 << 20  # advisory lock keys: band keys and anchors folded into 2^20 slots per kind
_REBUILD_BATCH = 500

# The per-article lookups, built once with bound parameters (constructing a
# statement cost more than running it).
_OWN = bindparam("own")
_WINDOW = (select(ArticleSignature.article_id)
           .where(ArticleSignature.source_id == bindparam("source"), ArticleSignature.article_id != _OWN)
           .order_by(ArticleSignature.article_id.desc()).limit(BOILERPLATE_WINDOW).subquery())
_WINDOW_SPAN = select(func.min(_WINDOW.c.article_id), func.count()).select_from(_WINDOW)
_SENTENCE_COUNTS = (select(DedupSentence.sentence_key, func.count())
                    .where(DedupSentence.source_id == bindparam("source"),
                           DedupSentence.sentence_key.in_(bindparam("keys", expanding=True)),
                           DedupSentence.article_id >= bindparam("lowest"), DedupSentence.article_id != _OWN)
                    .group_by(DedupSentence.sentence_key))
_LINKING_HERE = select(DuplicateLink.article_id).where(DuplicateLink.other_article_id == _OWN)
_BAND_HITS = (select(DedupBand.article_id).distinct()
              .where(DedupBand.band_key.in_(bindparam("keys", expanding=True)), DedupBand.article_id != _OWN)
              .limit(MAX_CANDIDATES * 5))
_COMMON_ANCHORS = (select(DedupAnchor.anchor)
                   .where(DedupAnchor.anchor.in_(bindparam("anchors", expanding=True)), DedupAnchor.article_id != _OWN)
                   .group_by(DedupAnchor.anchor).having(func.count() > ANCHOR_MAX_POSTINGS))
_ANCHOR_HITS = (select(DedupAnchor.article_id, func.count())
                .where(DedupAnchor.anchor.in_(bindparam("anchors", expanding=True)), DedupAnchor.article_id != _OWN)
                .group_by(DedupAnchor.article_id))
_EXACT = (select(Article.id, Article.cluster_id)
          .where(Article.text_hash == bindparam("hash"), Article.id != _OWN, Article.id.not_in(_LINKING_HERE),
                 Article.paywalled.is_not(True))
          .order_by(Article.first_seen, Article.id).limit(1))
_CANDIDATE_ROWS = (select(Article.id, Article.source_id, Article.cluster_id, Article.text, ArticleSignature.signature)
                   .join(ArticleSignature, ArticleSignature.article_id == Article.id)
                   .where(Article.id.in_(bindparam("ids", expanding=True))))
_SIGNATURE = ArticleSignature.__table__.insert()
# PostgreSQL: the locks of an article's keys, taken one after the other in the array's (sorted) order
# as the function scan returns its elements.
_ADVISORY_LOCKS = text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS t(k)")


class DedupStage(Stage):
    """Links each archived article to the archive's copies, near-duplicates and rewrites of it."""

    name = "dedup"

    def __init__(self, config: "Config", **context) -> None:
        super().__init__(config, **context)
        self.settings = config.dedup
        self._permutations = MinHash(self.settings.num_perm, seed=SEED, scheme=SCHEME).permutations
        self.bands = lsh_bands(self.settings)

    # -- start-up: nothing to restore; only signatures made with other settings are redone

    def _current(self):
        return ((ArticleSignature.num_perm == self.settings.num_perm)
                & (ArticleSignature.shingle_size == self.settings.shingle_size)
                & (ArticleSignature.lsh_bands == self.bands.bands)
                & (ArticleSignature.lsh_rows == self.bands.rows))

    def open(self, session: "Session") -> None:
        """Redo the rows of signatures made with other settings (num_perm,
        shingle size or banding; after an upgrade from an archive without
        band rows), in the caller's transaction: one existence check when
        there are none. The crawl and ``reextract`` open the stages in a
        transaction of their own before the first article."""
        marker = f"num_perm={self.settings.num_perm} shingle_size={self.settings.shingle_size} " \
                 f"bands={self.bands.bands} rows={self.bands.rows}"
        if get_state(session, "dedup.index_settings") == marker:  # one lookup, whatever the archive's size
            return
        stale = select(ArticleSignature.article_id).where(or_(ArticleSignature.lsh_rows.is_(None),
                                                              ~self._current()))
        done = 0
        while True:
            batch = list(session.scalars(stale.order_by(ArticleSignature.article_id).limit(_REBUILD_BATCH)))
            if not batch:
                break
            for article_id in batch:
                self._rebuild(session, session.get(ArticleSignature, article_id))
            session.flush()
            done += len(batch)
        set_state(session, "dedup.index_settings", marker)
        log.info("dedup: redid the index rows of %d signatures for the current settings", done)

    def _rebuild(self, session: "Session", row: ArticleSignature) -> None:
        article = session.get(Article, row.article_id)
        if row.num_perm != self.settings.num_perm or row.shingle_size != self.settings.shingle_size:
            fp = self._fingerprint(session, article)
            self._clear_rows(session, article.id)
            self._write_rows(session, article, fp)
            return
        session.execute(delete(DedupBand).where(DedupBand.article_id == article.id))
        keys = self.bands.band_keys(np.frombuffer(row.signature, dtype=np.uint32))[0]
        insert_ignore(session, DedupBand.__table__, [{"band_key": int(k), "article_id": article.id} for k in keys])
        row.source_id, row.lsh_bands, row.lsh_rows = article.source_id, self.bands.bands, self.bands.rows
        if not session.scalar(select(func.count()).select_from(DedupSentence)
                              .where(DedupSentence.article_id == article.id)):
            keys = np.frombuffer(row.sentence_keys, dtype=np.uint32)
            insert_ignore(session, DedupSentence.__table__, [
                {"source_id": article.source_id, "sentence_key": int(k), "article_id": article.id} for k in keys])
            anchors = np.frombuffer(row.anchors, dtype=np.uint32)
            insert_ignore(session, DedupAnchor.__table__,
                          [{"anchor": int(a), "article_id": article.id} for a in anchors])

    # -- per article

    def process(self, session: "Session", article: "Article", analysis=None, new: bool = False) -> None:
        """Replace this article's index rows and outgoing links with ones
        computed from its current text, and put it in the right cluster."""
        if not new:
            session.execute(delete(DuplicateLink).where(DuplicateLink.article_id == article.id))
            self._clear_rows(session, article.id)
        if article.paywalled:  # a teaser is not the story: never matched, never a match
            log.debug("dedup: article %s is a paywall teaser: not matched", article.id)
            self._set_cluster(session, article, None)
            return
        fp = self._fingerprint(session, article, analysis=analysis)
        if fp.word_count < self.settings.min_words:
            log.debug("dedup: article %s has %d words of content (< %d): not matched",
                      article.id, fp.word_count, self.settings.min_words)
            self._set_cluster(session, article, None)
            return
        self._lock(session, fp)
        self._write_rows(session, article, fp)
        links = self._find_links(session, article, fp, new)
        for other_id, kind, similarity in links:
            session.add(DuplicateLink(article_id=article.id, other_article_id=other_id, kind=kind,
                                      similarity=round(similarity, 4)))
        clustering = next(((other, kind) for other, kind, _ in links if kind in CLUSTER_KINDS), None)
        self._set_cluster(session, article, clustering[0] if clustering else None)
        if links:
            log.info("dedup: article %s → %s", article.id,
                     ", ".join(f"{kind} of {other} ({sim:.2f})" for other, kind, sim in links))

    def _fingerprint(self, session: "Session", article: "Article", strict: bool = False,
                     analysis=None) -> Fingerprint:
        text_ = article.text or ""
        usable = analysis is not None and analysis.fingerprint is not None and analysis.fits(text_)
        keys = analysis.sentence_keys if usable else sentence_keys_of(text_)
        boilerplate = self.boilerplate(session, article.source_id, article.id, keys,
                                       threshold=1 if strict else None)
        if usable and not boilerplate:  # a worker fingerprinted this text, and none of it is boilerplate
            return analysis.fingerprint
        return fingerprint(text_, self.settings, boilerplate, self._permutations)

    def boilerplate(self, session: "Session", source_id: int, article_id: int, keys: np.ndarray,
                    threshold: int | None = None) -> set[int]:
        """Which of ``keys`` are boilerplate for the source: carried by at
        least ``threshold`` (default: the configured number and 5 %) of the
        source's ``BOILERPLATE_WINDOW`` newest other signed articles."""
        if not len(keys):
            return set()
        lowest, others = session.execute(_WINDOW_SPAN, {"source": source_id, "own": article_id}).one()
        if not others:
            return set()
        needed = threshold or boilerplate_threshold(self.settings, others)
        counts = session.execute(_SENTENCE_COUNTS, {"source": source_id, "keys": [int(k) for k in keys],
                                                    "lowest": lowest, "own": article_id}).all()
        return {key for key, n in counts if n >= needed}

    def _lock(self, session: "Session", fp: Fingerprint) -> None:
        """PostgreSQL: wait for any concurrent writer of a text sharing band
        keys or anchors with this one (SQLite has one writer already)."""
        if session.get_bind().dialect.name != "postgresql":
            return
        keys = {int(k) % LOCK_SPACE for k in self.bands.band_keys(fp.hashvalues)[0]}
        keys |= {LOCK_SPACE + int(a) % LOCK_SPACE for a in fp.anchors}
        session.execute(_ADVISORY_LOCKS, {"keys": sorted(keys)})  # one statement: ~80 keys a page

    def _clear_rows(self, session: "Session", article_id: int) -> None:
        for model in (DedupBand, DedupAnchor, DedupSentence, ArticleSignature):
            session.execute(delete(model).where(model.article_id == article_id))

    def _write_rows(self, session: "Session", article: "Article", fp: Fingerprint) -> None:
        session.execute(_SIGNATURE, [dict(
            article_id=article.id, source_id=article.source_id, num_perm=self.settings.num_perm,
            shingle_size=self.settings.shingle_size, lsh_bands=self.bands.bands, lsh_rows=self.bands.rows,
            signature=fp.hashvalues.astype(np.uint32).tobytes(), anchors=fp.anchors.astype(np.uint32).tobytes(),
            sentence_keys=fp.sentence_keys.astype(np.uint32).tobytes())])
        band_keys = self.bands.band_keys(fp.hashvalues)[0]
        insert_ignore(session, DedupBand.__table__,
                      [{"band_key": int(k), "article_id": article.id} for k in band_keys])
        insert_ignore(session, DedupAnchor.__table__,
                      [{"anchor": int(a), "article_id": article.id} for a in fp.anchors])
        insert_ignore(session, DedupSentence.__table__, [
            {"source_id": article.source_id, "sentence_key": int(k), "article_id": article.id}
            for k in fp.sentence_keys])

    def _candidates(self, session: "Session", article: "Article", fp: Fingerprint, new: bool = False) -> list[int]:
        """Other articles sharing a band key (first) or enough uncommon anchors,
        most-shared first; not those that already link to this one (a newer
        copy linked when it was filed; a new article has none)."""
        own = article.id
        linked_here = set() if new else set(session.scalars(_LINKING_HERE, {"own": own}))
        shared: Counter = Counter()
        band_keys = [int(k) for k in self.bands.band_keys(fp.hashvalues)[0]]
        for other in session.scalars(_BAND_HITS, {"keys": band_keys, "own": own}):
            shared[other] += ANCHOR_MAX_POSTINGS  # LSH hits first
        anchors = [int(a) for a in fp.anchors]
        if anchors:
            common = session.scalars(_COMMON_ANCHORS, {"anchors": anchors, "own": own}).all()
            rare = sorted(set(anchors) - set(common))
            if rare:
                for other, n in session.execute(_ANCHOR_HITS, {"anchors": rare, "own": own}):
                    shared[other] += n
        return [other for other, n in shared.most_common()
                if n >= ANCHOR_MIN_SHARED and other not in linked_here][:MAX_CANDIDATES]

    def _find_links(self, session: "Session", article: "Article", fp: Fingerprint,
                    new: bool = False) -> list[tuple[int, str, float]]:
        """(other article, kind, similarity), the clustering match first.

        The exact lookup uses the ``text_hash`` the pipeline stored with the
        text (hashing a long text again costs ~3 ms a page); it is computed
        only for an article that has none."""
        links: list[tuple[int, str, float]] = []
        done_groups: set[int] = set()
        own_hash = article.text_hash or text_hash(article.text or "")
        exact = session.execute(_EXACT, {"hash": own_hash, "own": article.id}).first()
        if exact is not None:
            links.append((exact.id, "exact", 1.0))
            done_groups.add(exact.cluster_id or exact.id)

        ids = self._candidates(session, article, fp, new)
        if exact is not None and exact.id in ids:
            ids.remove(exact.id)
        if not ids:
            return links
        rows = session.execute(_CANDIDATE_ROWS, {"ids": ids}).all()
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
                own_specific = self._fingerprint(session, article, strict=True)
            other_text = row.text or ""
            other = fingerprint(other_text, self.settings,
                                self.boilerplate(session, row.source_id, row.id, sentence_keys_of(other_text), 1),
                                self._permutations)
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
            if heads_members:  # its members follow it into the other cluster
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
