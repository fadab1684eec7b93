"""The analysis stages every archived article goes through, in order:
dedup → classify → event diff.

A stage is a small class wired by name (Scrapy style), so the crawl, ``newsmon
reextract`` and ``events promote`` run the very same code. Each stage works
inside the caller's transaction: the article, its version and every row the
stages derive from it land together or not at all.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from newsmon.config import Config
    from storage.models import Article

# Order matters: classification reads nothing from dedup, but the event diff
# counts independent outlets (dedup clusters) and only looks at relevant articles.
DEFAULT_STAGES = (
    "crawler.dedup.DedupStage",
    "crawler.classify.ClassifyStage",
    "crawler.events.store.EventDiffStage",
)


class Stage:
    """Base class: override what the stage needs."""

    name = "stage"

    def __init__(self, config: "Config") -> None:
        self.config = config

    def open(self, session: "Session") -> None:
        """Load state from the archive once per process (e.g. the LSH index)."""

    def process(self, session: "Session", article: "Article") -> None:
        """Analyse one archived, flushed article (it has an id) and write the
        stage's rows in ``session``. Must be idempotent: replace the rows a
        previous run wrote for this article."""
        raise NotImplementedError

    def committed(self, article: "Article") -> None:
        """Called after the caller's transaction committed (update in-memory state)."""

    def rolled_back(self, article: "Article") -> None:
        """Called when the caller's transaction was rolled back (forget in-memory state)."""


def _import(path: str) -> type[Stage]:
    module_name, _, class_name = path.rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)


def load_stages(config: "Config", names: tuple[str, ...] | list[str] = DEFAULT_STAGES) -> list[Stage]:
    """Instantiate the stages named by dotted path."""
    return [_import(name)(config) for name in names]


class StageRunner:
    """Opens stages once, runs them per article, tells them how the transaction ended."""

    def __init__(self, config: "Config", names: tuple[str, ...] | list[str] = DEFAULT_STAGES) -> None:
        self.stages = load_stages(config, names)
        self._opened = False

    def open(self, session: "Session") -> None:
        if not self._opened:
            for stage in self.stages:
                stage.open(session)
            self._opened = True

    def process(self, session: "Session", article: "Article") -> None:
        """Run every stage on ``article``. One flush gives the article its id;
        after that the session's autoflush writes pending rows before any
        query that could read them (a later stage reads an earlier one's
        in-memory attributes, e.g. ``article.relevant``), and the caller's
        commit writes the rest: flushing after every stage cost ~10 ms a page."""
        self.open(session)
        session.flush()
        for stage in self.stages:
            stage.process(session, article)

    def committed(self, article: "Article") -> None:
        for stage in self.stages:
            stage.committed(article)

    def rolled_back(self, article: "Article") -> None:
        for stage in self.stages:
            stage.rolled_back(article)
