"""The dedup stage: links each archived article to its older copies,
near-duplicates and rewrites (the math is in ``crawler.dedup``; docs/dedup.md)."""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

import numpy as np
from datasketch import MinHash
from sqlalchemy import delete, func, select, update

from crawler.dedup import (
    ANCHOR_MAX_POSTINGS,
    ANCHOR_MIN_SHARED,
    CLUSTER_KINDS,
    MAX_CANDIDATES,
    MAX_RELATED_CHECKS,
    MAX_RELATED_LINKS,
    SCHEME,
    SEED,
    SENTENCES_MIN_SHARED,
    AnchorIndex,
    BandIndex,
    BoilerplateModel,
    Fingerprint,
    estimated_jaccard,
    figures_of,
    fingerprint,
    numbers_disagree,
    sentence_overlap,
)
from crawler.stages import Stage
from crawler.text import text_hash
from storage.models import Article, ArticleSignature, DuplicateLink

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from crawler.config import Config

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    source_id: int
    fingerprint: Fingerprint | None  # None: the article is no longer matchable


class DedupStage(Stage):
    """Links each archived article to its older copies, near-duplicates and
    rewrites, and keeps the in-memory indexes in step with committed rows."""

    name = "dedup"

    def __init__(self, config: "Config", **context) -> None:
        super().__init__(config, **context)
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
            .where(Article.text_hash == own_hash, Article.id < article.id)
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
