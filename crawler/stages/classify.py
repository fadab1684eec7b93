"""The classify stage: topic scores, themes and term hits for each archived article."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import delete

from crawler.classify import compile_topics
from crawler.stages import Stage
from storage.models import ArticleTopic, TermHit, ThemeMatch, utcnow

# Built once (constructing a statement cost more than running it): Core multi-row inserts.
_TOPICS = ArticleTopic.__table__.insert().returning(ArticleTopic.__table__.c.topic, ArticleTopic.__table__.c.id)
_THEMES = ThemeMatch.__table__.insert().returning(
    ThemeMatch.__table__.c.id, ThemeMatch.__table__.c.article_topic_id, ThemeMatch.__table__.c.theme)
_HITS = TermHit.__table__.insert()

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from crawler.config import Config
    from storage.models import Article

log = logging.getLogger(__name__)


class ClassifyStage(Stage):
    """Writes article_topics / theme_matches / term_hits and article.relevant."""

    name = "classify"

    def __init__(self, config: "Config", **context) -> None:
        super().__init__(config, **context)
        self.topics = compile_topics(config.topics)
        self.blank_irrelevant = any(not t.keep_irrelevant_text for t in config.topics)

    def process(self, session: "Session", article: "Article", analysis=None, new: bool = False) -> None:
        # Replace what a previous run wrote: the database cascades the delete to
        # themes and hits (ON DELETE CASCADE on both databases).
        if not new:
            session.execute(delete(ArticleTopic).where(ArticleTopic.article_id == article.id),
                            execution_options={"synchronize_session": False})
        if not self.topics.topics:
            article.relevant = None
            return
        if analysis is not None and analysis.topics is not None and analysis.fits(article.text, article.title):
            results = analysis.topics  # computed in a worker process from this very text
        else:
            # A paywall teaser is classified by its title, as when teasers were stored without text.
            results = self.topics.classify(article.title, "" if article.paywalled else article.text)
        write_results(session, article.id, results)
        for result in results:
            log.debug("article %s: topic %s scored %.2f (%s)", article.id, result.name, result.score,
                      "relevant" if result.relevant else "not relevant")
        article.relevant = any(r.relevant for r in results)
        if not article.relevant and self.blank_irrelevant:
            article.text = ""  # blanked: the raw HTML stays in article_versions


def write_results(session: "Session", article_id: int, results) -> None:
    """Insert the topics, themes and term hits of one article: three
    multi-row statements (the ORM's unit of work sent ~32 a page, one per
    theme's hits). Ids come back with RETURNING, matched to the rows by their
    keys (a topic's name, a theme's name within its topic: both unique by
    config): asking RETURNING for the rows' order makes SQLite's driver send
    one INSERT per row."""
    if not results:
        return
    now = utcnow()
    topic_ids = dict(session.execute(_TOPICS, [
        {"article_id": article_id, "topic": r.name, "score": r.score, "relevant": r.relevant, "classified_at": now}
        for r in results]).all())
    themes = [(topic_ids[result.name], theme) for result in results for theme in result.themes]
    if not themes:
        return
    theme_ids = {(topic_id, theme): theme_id for theme_id, topic_id, theme in session.execute(_THEMES, [
        {"article_topic_id": topic_id, "theme": t.name, "weight": t.weight, "score": t.score, "clause": t.clause}
        for topic_id, t in themes])}
    hits = [{"theme_match_id": theme_ids[topic_id, theme.name], "term": h.term, "matched": h.matched,
             "field": h.field, "start_offset": h.start, "end_offset": h.end}
            for topic_id, theme in themes for h in theme.hits]
    if hits:
        session.execute(_HITS, hits)
