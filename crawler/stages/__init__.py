"""The analysis stages every archived article goes through, in order:
dedup → classify → event diff.

A stage is a small class wired by name (Scrapy style) in :data:`STAGES`, the
one stage list: the crawl, ``newsmon reextract`` and ``events promote`` all
read it (promote runs only its ``events`` stage), so they run the very same code. Each stage works
inside the caller's transaction: the article, its version and every row the
stages derive from it land together or not at all.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from crawler.config import Config
    from storage.models import Article

# Order matters: classification reads nothing from dedup, but the event diff
# counts independent outlets (dedup clusters) and only looks at relevant articles.
STAGES: dict[str, str] = {
    "dedup": "crawler.stages.dedup.DedupStage",
    "classify": "crawler.stages.classify.ClassifyStage",
    "events": "crawler.events.store.EventDiffStage",
}


class Stage:
    """Base class: override what the stage needs."""

    name = "stage"

    def __init__(self, config: "Config", **context) -> None:
        # ``context``: what a caller hands every stage (e.g. ``timeline`` for
        # ``events promote``, which checks a timeline before writing it).
        self.config = config

    def open(self, session: "Session") -> None:
        """Load state from the archive once per process (e.g. the LSH index)."""

    def process(self, session: "Session", article: "Article", analysis=None, new: bool = False) -> None:
        """Analyse one archived, flushed article (it has an id) and write the
        stage's rows in ``session``. Must be idempotent: replace the rows a
        previous run wrote for this article. ``analysis`` (a
        ``crawler.workers.Analysis``) holds what a worker process already
        computed from the page's text: use it when it fits the article.
        ``new``: the article's row was inserted in this very transaction, so
        no row can refer to it yet (every reference to an article cascades
        on delete) and there is nothing to replace."""
        raise NotImplementedError

    def committed(self, article: "Article") -> None:
        """Called after the caller's transaction committed (update in-memory state)."""

    def rolled_back(self, article: "Article") -> None:
        """Called when the caller's transaction was rolled back (forget in-memory state)."""


def _import(path: str) -> type[Stage]:
    module_name, _, class_name = path.rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)


def stage_paths(only: Iterable[str] | None = None) -> list[str]:
    """Dotted paths of the stages to run, in :data:`STAGES` order. ``only``
    names a subset by short name (``events``) or dotted path."""
    if only is None:
        return list(STAGES.values())
    wanted = [STAGES.get(name, name) for name in only]
    unknown = [name for name in wanted if "." not in name]
    if unknown:
        raise ValueError(f"unknown stage(s) {', '.join(unknown)} (known: {', '.join(STAGES)})")
    ordered = [path for path in STAGES.values() if path in wanted]
    return ordered + [path for path in wanted if path not in ordered]


def load_stages(config: "Config", only: Iterable[str] | None = None, **context) -> list[Stage]:
    """Instantiate the stages (all of :data:`STAGES`, or ``only`` those)."""
    return [_import(path)(config, **context) for path in stage_paths(only)]


class StageRunner:
    """Opens stages once, runs them per article, tells them how the transaction ended."""

    def __init__(self, config: "Config", only: Iterable[str] | None = None, **context) -> None:
        self.stages = load_stages(config, only, **context)
        self._opened = False

    def open(self, session: "Session") -> None:
        if not self._opened:
            for stage in self.stages:
                stage.open(session)
            self._opened = True

    def process(self, session: "Session", article: "Article", analysis=None, new: bool = False) -> None:
        """Run every stage on ``article`` (``new``: see :meth:`Stage.process`). One flush gives the article its id;
        after that the session's autoflush writes pending rows before any
        query that could read them (a later stage reads an earlier one's
        in-memory attributes, e.g. ``article.relevant``), and the caller's
        commit writes the rest: flushing after every stage cost ~10 ms a page."""
        self.open(session)
        session.flush()
        for stage in self.stages:
            stage.process(session, article, analysis, new=new)

    def committed(self, article: "Article") -> None:
        for stage in self.stages:
            stage.committed(article)

    def rolled_back(self, article: "Article") -> None:
        for stage in self.stages:
            stage.rolled_back(article)
