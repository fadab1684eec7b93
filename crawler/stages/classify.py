"""The classify stage: topic scores, themes and term hits for each archived article."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from crawler.classify import compile_topics
from crawler.stages import Stage
from storage.models import ArticleTopic, TermHit, ThemeMatch

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

    def process(self, session: "Session", article: "Article", analysis=None) -> None:
        # Replace what a previous run wrote (ORM delete cascades to themes and hits),
        # flushed first so the (article, topic) unique key is free again.
        for previous in session.scalars(select(ArticleTopic).where(ArticleTopic.article_id == article.id)):
            session.delete(previous)
        session.flush()
        if not self.topics.topics:
            article.relevant = None
            return
        if analysis is not None and analysis.topics is not None and analysis.fits(article.text, article.title):
            results = analysis.topics  # computed in a worker process from this very text
        else:
            # A paywall teaser is classified by its title, as when teasers were stored without text.
            results = self.topics.classify(article.title, "" if article.paywalled else article.text)
        for result in results:
            row = ArticleTopic(article_id=article.id, topic=result.name, score=result.score,
                               relevant=result.relevant)
            for theme in result.themes:
                match = ThemeMatch(theme=theme.name, weight=theme.weight, score=theme.score, clause=theme.clause)
                match.hits = [TermHit(term=h.term, matched=h.matched, field=h.field, start_offset=h.start,
                                      end_offset=h.end) for h in theme.hits]
                row.themes.append(match)
            session.add(row)
            log.debug("article %s: topic %s scored %.2f (%s)", article.id, result.name, result.score,
                      "relevant" if result.relevant else "not relevant")
        article.relevant = any(r.relevant for r in results)
        if not article.relevant and self.blank_irrelevant:
            article.text = ""  # blanked: the raw HTML stays in article_versions
