"""storage/upsert.py: a get-or-create row inserted by a concurrent writer
while we were looking is returned, not a unique-constraint error, on SQLite
and PostgreSQL."""
from __future__ import annotations

import threading
import time

from sqlalchemy import func, select, text

from storage.db import is_sqlite, session_scope
from storage.models import PendingPage, Source
from storage.upsert import get_or_create, upsert


def test_get_or_create_returns_the_row_a_concurrent_writer_inserted_first(db_url):
    result: dict = {}

    def second_writer() -> None:
        try:
            with session_scope(db_url) as session:
                result["id"] = get_or_create(session, Source, {"name": "wire"}).id
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            result["error"] = exc

    with session_scope(db_url) as first:
        first.add(Source(name="wire"))
        first.flush()  # inserted, not committed: the second writer cannot see it yet
        thread = threading.Thread(target=second_writer)
        thread.start()
        if not is_sqlite(db_url):  # wait until its INSERT … ON CONFLICT waits on our uncommitted row
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with session_scope(db_url) as probe:
                    waiting = probe.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                                                "'Lock' AND query LIKE 'INSERT INTO sources%'"))
                if waiting:
                    break
                time.sleep(0.1)
            assert waiting, "the second writer never reached its insert"
        first_id = first.scalar(select(Source.id).where(Source.name == "wire"))
    thread.join(timeout=120)
    assert "error" not in result, result.get("error")
    assert result["id"] == first_id
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).select_from(Source)) == 1


def test_upsert_updates_the_existing_row_from_its_own_columns(db_url):
    with session_scope(db_url) as session:
        source = get_or_create(session, Source, {"name": "wire"})
        keys = {"source_id": source.id, "canonical_url": "https://wire.example/a"}
        for _ in range(3):
            upsert(session, PendingPage, keys, {"url": "https://wire.example/a?x", "attempts": 1, "status": "pending"},
                   {"attempts": PendingPage.attempts + 1})
        (row,) = session.scalars(select(PendingPage))
        assert row.attempts == 3 and row.first_failed_at is not None
