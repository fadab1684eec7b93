"""The archive is created by Alembic, identically on SQLite and PostgreSQL."""
from sqlalchemy import inspect, text

from storage.db import SchemaError, check_schema, get_engine, head_revision, migrate


def test_init_creates_every_table_and_view_and_is_idempotent(empty_db_url):
    assert migrate(empty_db_url) == head_revision()
    assert migrate(empty_db_url) == head_revision()  # second run changes nothing
    check_schema(empty_db_url)
    inspector = inspect(get_engine(empty_db_url))
    tables = set(inspector.get_table_names())
    for table in ("sources", "crawl_runs", "fetches", "articles", "article_versions", "duplicate_links",
                  "article_topics", "theme_matches", "events", "event_mentions", "digest_deliveries"):
        assert table in tables
    views = set(inspector.get_view_names())
    assert {"v_articles", "v_duplicates", "v_article_themes", "v_event_mentions",
            "v_event_candidates", "v_contradictions", "v_related_links", "v_candidate_sources",
            "v_source_health"} <= views


def test_archive_stamped_by_newer_schema_is_refused(empty_db_url):
    migrate(empty_db_url)
    with get_engine(empty_db_url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    try:
        migrate(empty_db_url)
    except SchemaError as exc:
        assert "newer than this newsmon knows" in str(exc)
    else:
        raise AssertionError("a newer schema was not refused")


def test_sqlite_archive_uses_wal_and_foreign_keys(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    migrate(url)
    with get_engine(url).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_migrations_create_exactly_what_the_models_declare(empty_db_url):
    """The ORM and the Alembic scripts cannot drift apart unnoticed."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from storage.models import Base, include_object

    migrate(empty_db_url)
    with get_engine(empty_db_url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False, "include_object": include_object})
        differences = [d for d in compare_metadata(context, Base.metadata)
                       if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "apscheduler_jobs")]
    assert differences == []


def test_the_schema_head_constant_is_the_newest_migration():
    from storage.db import SCHEMA_HEAD

    assert SCHEMA_HEAD == head_revision()
