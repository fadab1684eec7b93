"""Shared helpers of the pure event-diff rule tests: diff_text on short texts against the test timeline."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from crawler.events.diff import diff_text
from crawler.events.timeline import read_timeline

TIMELINE = read_timeline(Path(__file__).parent / "fixtures" / "events" / "timeline.yaml")


def read(text: str, published=date(2025, 11, 20), language: str = "en"):
    return diff_text(text, TIMELINE, published, language, None, published)


def named(text: str, **kw) -> set[str]:
    """Events mentioned without a flag."""
    return {m.event_id for m in read(text, **kw).mentions if m.flag is None}


def contradicted(text: str, **kw) -> set[str]:
    return {f"{c.kind}:{c.event_id}:{c.fact}" for c in read(text, **kw).contradictions}
