"""Ad-hoc SQL that cannot change anything: what ``newsmon sql`` runs.

Three layers, so one mistake is not enough to write:

* **One statement per call**, and it must be a query (``SELECT``, ``WITH``,
  ``VALUES``, ``TABLE``, ``EXPLAIN``, ``SHOW``; ``PRAGMA`` on SQLite). The
  input is tokenized by sqlparse's lexer (string literals, quoted names,
  comments and dollar quotes are understood), so ``select ';'`` and a
  trailing ``;`` are fine while ``select 1; delete …`` is refused.
* **The driver runs exactly one statement**: PostgreSQL through the extended
  query protocol (a prepared statement: the server itself rejects a second
  command) inside a ``READ ONLY`` transaction that a single query cannot end;
  SQLite through :mod:`sqlite3`, which refuses a second statement.
* **The database refuses writes**: PostgreSQL sessions of a role that may
  write (a superuser, a table owner, a member of ``pg_read_server_files`` …)
  are refused unless the caller insists (``--allow-superuser``); SQLite is
  opened ``mode=ro`` with an authorizer that denies ATTACH/DETACH (which
  VACUUM INTO uses too), every write, transaction control, PRAGMAs that set
  something, and ``load_extension``.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlparse import tokens as T
from sqlparse.lexer import tokenize

from storage.db import SchemaError, is_sqlite, normalize_url

QUERY_KEYWORDS = {"SELECT", "WITH", "VALUES", "TABLE", "EXPLAIN", "SHOW"}
SQLITE_QUERY_KEYWORDS = QUERY_KEYWORDS - {"TABLE", "SHOW"} | {"PRAGMA"}
MAX_QUERY_CHARS = 100_000

# PRAGMAs that only report (with no argument, or a table/index name).
READ_PRAGMAS = {
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list",
    "foreign_key_check", "integrity_check", "quick_check", "database_list", "collation_list", "function_list",
    "module_list", "pragma_list", "compile_options", "encoding", "page_count", "page_size", "freelist_count",
    "user_version", "schema_version", "application_id", "foreign_keys", "journal_mode", "data_version",
}
NAME_PRAGMAS = {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list",
                "foreign_key_check", "integrity_check", "quick_check", "table_list"}
DENIED_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"}


class QueryRejected(Exception):
    """The input is not one read-only query (worded for the user; exit status 2)."""


class QueryFailed(Exception):
    """The database refused or failed the query (worded for the user; exit status 1)."""


def single_query(sql: str, sqlite: bool) -> str:
    """The one statement in ``sql`` (without its trailing ``;``), after
    checking it is a query; raises QueryRejected."""
    if len(sql) > MAX_QUERY_CHARS:
        raise QueryRejected(f"the query is longer than {MAX_QUERY_CHARS} characters")
    statements, first, end = 0, None, None
    pending = False
    position = 0
    for ttype, value in tokenize(sql):
        start = position
        position += len(value)
        if ttype in T.Whitespace or ttype in T.Comment or ttype in T.Newline:
            continue
        if ttype in T.Punctuation and value == ";":
            if pending:
                statements, pending, end = statements + 1, False, start
            continue
        if statements:
            raise QueryRejected("one statement per call: the input holds more than one (separated by ';')")
        if first is None:
            first = value
        pending = True
    if first is None:
        raise QueryRejected("the query is empty")
    allowed = SQLITE_QUERY_KEYWORDS if sqlite else QUERY_KEYWORDS
    if first.upper() not in allowed:
        raise QueryRejected(f"only queries run here ({', '.join(sorted(allowed))}), not {first.upper()}: "
                            "the archive is read-only through 'newsmon sql'")
    return sql[:end] if end is not None else sql


# --- SQLite ---------------------------------------------------------------------------------------


def _sqlite_authorizer(action, arg1, arg2, _database, _trigger):
    if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_DENY if (arg2 or "").lower() in DENIED_FUNCTIONS else sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA:
        name = (arg1 or "").lower()
        if name in READ_PRAGMAS and (arg2 is None or name in NAME_PRAGMAS):
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_UPDATE and arg1 in ("sqlite_master", "sqlite_temp_master"):
        # SQLite's own schema bookkeeping when a table-valued function is first used;
        # the file is opened read-only, so a real schema write still fails.
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _sqlite_query(database: str, statement: str) -> tuple[list[str], list[tuple]] | None:
    path = Path(database)
    if not path.exists():
        raise SchemaError(f"no archive at {database}: run 'newsmon init' first")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        conn.set_authorizer(_sqlite_authorizer)
        try:
            cursor = conn.execute(statement)
            if cursor.description is None:
                return None
            return [d[0] for d in cursor.description], cursor.fetchall()
        except sqlite3.DatabaseError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if reason == "not authorized":
                reason = "not authorized: the statement would write, attach a file or change a setting"
            raise QueryFailed(f"the archive is read-only through 'newsmon sql': {reason}"
                              if "not authorized" in reason or "readonly" in reason.replace(" ", "").lower()
                              else f"SQL error: {reason}") from None
        except (sqlite3.ProgrammingError, sqlite3.Warning) as exc:
            raise QueryRejected(str(exc)) from None
    finally:
        conn.close()


# --- PostgreSQL -----------------------------------------------------------------------------------

ROLE_CHECK = """
select r.rolsuper,
       pg_has_role(current_user, 'pg_read_server_files', 'USAGE')
         or pg_has_role(current_user, 'pg_write_server_files', 'USAGE')
         or pg_has_role(current_user, 'pg_execute_server_program', 'USAGE'),
       exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
               where c.relkind in ('r', 'p')
                 and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
                 and (pg_has_role(current_user, c.relowner, 'USAGE')
                      or has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')))
from pg_roles r where r.rolname = current_user
"""


def _connect_args(url: str) -> dict:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    args = parsed.translate_connect_args(username="user", database="dbname")
    args.update({k: v for k, v in parsed.query.items() if isinstance(v, str)})
    return args


def _pg_query(url: str, statement: str, allow_superuser: bool) -> tuple[list[str], list[tuple]] | None:
    import psycopg

    try:
        conn = psycopg.connect(**_connect_args(url), connect_timeout=30)
    except psycopg.Error as exc:
        raise QueryFailed(f"cannot connect: {str(exc).strip().splitlines()[0]}") from None
    try:
        superuser, server_files, writes = conn.execute(ROLE_CHECK).fetchone()
        conn.rollback()
        if not allow_superuser and (superuser or server_files or writes):
            what = ("a superuser" if superuser else "a role that may read or write server files" if server_files
                    else "a role that may write the archive")
            raise QueryRejected(
                f"connected to PostgreSQL as {conn.info.user}, {what}: connect as a read-only role "
                "(GRANT SELECT only; see docs/security.md) or pass --allow-superuser")
        conn.read_only = True  # BEGIN READ ONLY: one query cannot end the transaction
        try:
            with conn.cursor() as cursor:
                cursor.execute(statement, prepare=True)  # extended protocol: exactly one statement
                if cursor.description is None:
                    return None
                return [d.name for d in cursor.description], cursor.fetchall()
        except psycopg.Error as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
                raise QueryFailed(f"the archive is read-only through 'newsmon sql': {reason}") from None
            raise QueryFailed(f"SQL error: {reason}") from None
        finally:
            conn.rollback()
    finally:
        conn.close()


def run_query(url: str, sql: str, *, allow_superuser: bool = False) -> tuple[list[str], list[tuple]] | None:
    """(column names, rows) of one read-only query, or None when the statement
    returns no rows. Raises QueryRejected (not a single query, a writing role)
    or QueryFailed (the database said no)."""
    from sqlalchemy.engine import make_url

    url = normalize_url(url)
    sqlite = is_sqlite(url)
    statement = single_query(sql, sqlite)
    if sqlite:
        return _sqlite_query(make_url(url).database or "", statement)
    return _pg_query(url, statement, allow_superuser)


def readonly_engine(url: str):
    """An engine for newsmon's own read-only queries (``export``): SQLite opened
    with ``mode=ro``, PostgreSQL sessions with ``default_transaction_read_only``.
    User SQL goes through :func:`run_query`, which also refuses what could write."""
    import sqlite3
    from pathlib import Path

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from storage.db import SchemaError, is_sqlite, normalize_url

    url = normalize_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        if not database or not Path(database).exists():
            raise SchemaError(f"no archive at {database}: run 'newsmon init' first")
        uri = f"file:{Path(database).resolve()}?mode=ro"
        return create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    return create_engine(url, connect_args={"options": "-c default_transaction_read_only=on"})
