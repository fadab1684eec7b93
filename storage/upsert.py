"""Rows that several writers may create at the same moment (sources, feed
states, pending pages, the robots.txt cache): one ``INSERT … ON CONFLICT``
statement, which SQLite (3.24+) and PostgreSQL both run atomically, instead of
a SELECT followed by an INSERT that a concurrent writer can beat (``UNIQUE
constraint failed``, or a PostgreSQL transaction aborted mid-run).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import select

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session


def _insert(session: "Session", model):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - newsmon supports these two
        raise NotImplementedError(f"no upsert for the {dialect} dialect")
    return insert(model)


def get_or_create(session: "Session", model, keys: dict[str, Any], defaults: dict[str, Any] | None = None,
                  *, for_update: bool = False):
    """The ``model`` row whose unique columns equal ``keys``, inserted (with
    ``defaults``) when missing; whoever inserts it first, every caller gets the
    one row. ``for_update`` locks it for the rest of the transaction
    (PostgreSQL; SQLite has one writer anyway)."""
    query = select(model).filter_by(**keys)
    if for_update:
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is not None:
        return row
    session.execute(_insert(session, model).values(**keys, **(defaults or {}))
                    .on_conflict_do_nothing(index_elements=list(keys)))
    return session.scalars(query).one()


def upsert(session: "Session", model, keys: dict[str, Any], values: dict[str, Any],
           on_conflict: dict[str, Any] | None = None) -> None:
    """Insert ``keys`` + ``values``, or, when a row with ``keys`` exists, set
    ``on_conflict`` (default: ``values``) on it; expressions may refer to the
    existing row's columns (e.g. ``{"attempts": Model.attempts + 1}``)."""
    session.execute(_insert(session, model).values(**keys, **values)
                    .on_conflict_do_update(index_elements=list(keys), set_=on_conflict or values))


_IGNORING: dict[tuple[str, Any], Any] = {}


def insert_ignore(session: "Session", table, rows: Iterable[dict]) -> None:
    """Insert ``rows`` (dicts of column values) into ``table`` in one
    statement, skipping any that conflict with a row already there. The
    statement is built once per table and dialect (building it cost more
    than running it, on a page's dedup rows)."""
    rows = list(rows)
    if not rows:
        return
    key = (session.get_bind().dialect.name, table)
    if key not in _IGNORING:
        _IGNORING[key] = _insert(session, table).on_conflict_do_nothing()
    session.execute(_IGNORING[key], rows)


def get_state(session: "Session", key: str) -> str | None:
    """A value of ``archive_state`` (None when unset)."""
    from storage.models import ArchiveState

    row = session.get(ArchiveState, key)
    return row.value if row is not None else None


def set_state(session: "Session", key: str, value: str) -> None:
    """Set a value of ``archive_state`` (whichever writer comes first creates the row)."""
    from sqlalchemy import update

    from storage.models import ArchiveState, utcnow

    insert_ignore(session, ArchiveState.__table__, [{"key": key, "value": value, "updated_at": utcnow()}])
    session.execute(update(ArchiveState).where(ArchiveState.key == key).values(value=value, updated_at=utcnow()))
