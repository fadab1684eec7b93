"""Concurrency-safe writes of rows several writers may create at once:
``INSERT … ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL alike."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignore(session: Session, table: Table, rows: Iterable[dict]) -> None:
    """Insert ``rows`` (dicts of column values) into ``table`` in one
    statement, skipping any that conflict with a row already there."""
    rows = list(rows)
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(table).on_conflict_do_nothing(), rows)


def get_state(session: Session, key: str) -> str | None:
    """A value of ``archive_state`` (None when unset)."""
    from storage.models import ArchiveState

    row = session.get(ArchiveState, key)
    return row.value if row is not None else None


def set_state(session: Session, key: str, value: str) -> None:
    """Set a value of ``archive_state`` (whichever writer comes first creates the row)."""
    from sqlalchemy import update

    from storage.models import ArchiveState, utcnow

    insert_ignore(session, ArchiveState.__table__, [{"key": key, "value": value, "updated_at": utcnow()}])
    session.execute(update(ArchiveState).where(ArchiveState.key == key).values(value=value, updated_at=utcnow()))
