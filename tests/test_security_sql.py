"""`newsmon sql` is read-only for real, on both databases: every statement of
the security review (finding 2: PostgreSQL, finding 3: SQLite) is refused,
the rows are still there afterwards and no file was written."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cli_helpers import run_newsmon
from storage.db import is_sqlite, session_scope
from storage.models import Source


def sql(url, query, *extra, cwd):
    return run_newsmon("sql", query, *extra, cwd=cwd, env={"NEWSMON_DATABASE_URL": url})


def reader_role(db_url: str) -> str:
    """The read-only role docs/security.md tells operators to create; its URL."""
    url = make_url(db_url)
    name = f"reader_{url.database}"
    engine = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in (f'CREATE ROLE "{name}" LOGIN', f'GRANT CONNECT ON DATABASE "{url.database}" TO "{name}"',
                          f'GRANT USAGE ON SCHEMA public TO "{name}"',
                          f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{name}"'):
            conn.execute(text(statement))
    engine.dispose()
    return url.set(username=name).render_as_string(hide_password=False)


@pytest.fixture
def archive(db_url, tmp_path):
    """(url for queries, admin url): a read-only role on PostgreSQL, the file on SQLite."""
    with session_scope(db_url) as session:
        session.add_all([Source(name="kept-1"), Source(name="kept-2")])
    return (db_url if is_sqlite(db_url) else reader_role(db_url)), db_url


@pytest.fixture
def pg_url(postgres_server) -> str:
    """A migrated PostgreSQL archive only (for the tests about roles)."""
    from conftest import create_pg_database
    from storage.db import migrate

    url = create_pg_database(postgres_server)
    migrate(url)
    return url


def names(admin_url):
    with session_scope(admin_url) as session:
        return session.execute(text("SELECT name FROM sources ORDER BY name")).scalars().all()


def files(path):
    return sorted(p.name for p in path.iterdir())


COMMON_REFUSED = [
    "begin read write; delete from sources; commit; select 1",  # finding 2, verbatim
    "select 1; delete from sources",
    "select ';' as x; delete from sources;",
    "delete from sources",
    "update sources set name = 'x'",
    "drop table sources",
    "commit",
    "begin read write",
    "copy (select 1) to program 'touch {tmp}/pwned'",
    "vacuum into '{tmp}/copy.db'",  # finding 3
    "attach database '{tmp}/attached.db' as a",  # finding 3
    "",
    "  ;  ",
]


def test_statements_that_would_write_are_refused_before_they_run(archive, tmp_path):
    from storage.readonly import QueryRejected, run_query

    url, admin = archive
    work = tmp_path / "work"
    work.mkdir()
    for query in COMMON_REFUSED:
        with pytest.raises(QueryRejected) as refused:
            run_query(url, query.format(tmp=work))
        assert "\n" not in str(refused.value)
    # through the command line: one line, exit 2, and not the old "returned no rows"
    for query in COMMON_REFUSED[:1]:
        result = sql(url, query.format(tmp=work), cwd=work)
        assert result.returncode == 2, (query, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, query
        assert "returned no rows" not in result.stderr
    assert names(admin) == ["kept-1", "kept-2"]
    assert files(work) == []  # no copy, no attached file, nothing written by a program


def test_one_query_with_semicolons_in_literals_and_a_trailing_semicolon_runs(archive, tmp_path):
    url, _ = archive
    result = sql(url, "select ';' as a, 'x;y' as \"b;c\", name from sources where name like 'kept%' "
                      "order by name; -- done", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"a": ";", "b;c": "x;y", "name": "kept-1"},
                                         {"a": ";", "b;c": "x;y", "name": "kept-2"}]


def test_a_second_statement_hidden_from_the_splitter_is_stopped_by_the_driver(archive, tmp_path):
    # sqlparse reads \' as an escaped quote; both databases end the string at the backslash,
    # so they see a DELETE after it: PostgreSQL's extended protocol and sqlite3 run one statement only.
    url, admin = archive
    result = sql(url, "select 'a\\'; delete from sources; --'", cwd=tmp_path)
    assert result.returncode in (1, 2) and "Traceback" not in result.stderr
    assert ("multiple commands" in result.stderr) or ("one statement at a time" in result.stderr), result.stderr
    assert names(admin) == ["kept-1", "kept-2"]


def test_sqlite_authorizer_denies_settings_extensions_and_attach(sqlite_url, tmp_path):
    from storage.readonly import QueryFailed, QueryRejected, run_query

    with session_scope(sqlite_url) as session:
        session.add(Source(name="kept"))
    for query in ("pragma user_version = 7", "pragma journal_mode = delete", "pragma writable_schema = on",
                  "select load_extension('/nonexistent/ext')", f"explain attach database '{tmp_path}/x.db' as x",
                  "with x as (select 1) insert into sources(name) values ('new')"):
        with pytest.raises((QueryFailed, QueryRejected)) as refused:
            run_query(sqlite_url, query)
        assert "\n" not in str(refused.value)
    assert run_query(sqlite_url, "pragma user_version") == (["user_version"], [(0,)])
    assert run_query(sqlite_url, "select name from pragma_table_info('sources') where name = 'name'") \
        == (["name"], [("name",)])
    # through the command line: exit 1, one line, the reason
    result = sql(sqlite_url, "pragma journal_mode = delete", cwd=tmp_path)
    assert result.returncode == 1 and "read-only through 'newsmon sql': not authorized" in result.stderr
    assert names(sqlite_url) == ["kept"]
    assert not (tmp_path / "x.db").exists()


def test_postgresql_refuses_a_superuser_unless_asked_and_stays_read_only_then(pg_url, tmp_path):
    db_url = pg_url
    with session_scope(db_url) as session:
        session.add(Source(name="kept"))
    result = sql(db_url, "select 1", cwd=tmp_path)
    assert result.returncode == 2 and "superuser" in result.stderr and "--allow-superuser" in result.stderr
    # finding 2: a superuser could read server files; with --allow-superuser the transaction is still read-only
    from storage.readonly import QueryFailed, run_query

    with pytest.raises(QueryFailed, match="read-only"):
        run_query(db_url, "with d as (delete from sources returning *) select * from d", allow_superuser=True)
    # the setting changes nothing for the transaction it runs in, which is rolled back anyway
    assert run_query(db_url, "select set_config('default_transaction_read_only', 'off', false), "
                             "(select count(*) from sources)", allow_superuser=True)[1] == [("off", 1)]
    assert names(db_url) == ["kept"]


def test_postgresql_read_only_role_can_query_but_not_read_server_files(pg_url, tmp_path):
    with session_scope(pg_url) as session:
        session.add_all([Source(name="kept-1"), Source(name="kept-2")])
    url, admin = reader_role(pg_url), pg_url
    result = sql(url, "select count(*) as n from v_articles", "--json", cwd=tmp_path)
    assert result.returncode == 0 and json.loads(result.stdout) == [{"n": 0}], result.stderr
    from storage.readonly import QueryFailed, QueryRejected, run_query

    with pytest.raises(QueryFailed, match="permission denied"):
        run_query(url, "select pg_read_file('/etc/hostname')")
    # a role that may write is refused like a superuser
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'GRANT DELETE ON sources TO "{make_url(url).username}"'))
    engine.dispose()
    with pytest.raises(QueryRejected, match="a role that may write the archive"):
        run_query(url, "select 1")
    assert names(admin) == ["kept-1", "kept-2"]
