"""The one engine and session factory, and schema migration.

SQLite gets WAL (readers don't block the crawler), foreign keys and a busy
timeout on every connection; PostgreSQL goes through the same code. The schema
is only ever created by Alembic (``migrate``), never by ``create_all``.
"""
from __future__ import annotations

import contextlib
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker



def migrations_dir() -> Path:
    """Alembic's script folder. Its source is the checkout's top-level
    ``alembic/`` (with ``alembic.ini``, as the design has it); the wheel ships
    that folder as the package ``storage.migrations`` (pyproject's
    package-dir mapping), found here with importlib.resources."""
    from importlib.resources import files

    installed = Path(str(files("storage").joinpath("migrations")))
    if (installed / "env.py").is_file():
        return installed
    return Path(__file__).resolve().parent.parent / "alembic"  # a checkout (or an editable install)


class SchemaError(Exception):
    """The database's schema does not match this code (worded for the user)."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def normalize_url(url: str) -> str:
    """Let users write postgresql://… and get the psycopg 3 driver we ship."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@lru_cache(maxsize=16)
def get_engine(url: str) -> Engine:
    """One engine per database URL per process."""
    url = normalize_url(url)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        with engine.connect() as conn:  # WAL is persistent: set it once per file
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        return engine
    return create_engine(url, pool_pre_ping=True)


@lru_cache(maxsize=16)
def session_factory(url: str) -> sessionmaker[Session]:
    """One session factory per database URL per process (like its engine)."""
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextlib.contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A transaction: committed when the block ends, rolled back on error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _alembic_config(url: str):
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = _alembic_config("sqlite://")
    return ScriptDirectory.from_config(cfg).get_current_head()


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with get_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# The newest migration in alembic/versions (a test keeps the two equal). Knowing
# it here lets the common case — an archive already current — be checked with
# one SELECT, without importing alembic (mako, pygments: ~11 MiB in the daemon).
SCHEMA_HEAD = "0007"


def _stamped_revision(url: str) -> str | None:
    with get_engine(url).connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:  # no table yet: a new database
            conn.rollback()
            return None


def check_schema(url: str) -> None:
    """Raise SchemaError unless the archive is at this code's schema."""
    if _stamped_revision(url) == SCHEMA_HEAD:
        return
    from alembic.script import ScriptDirectory

    current = current_revision(url)
    script = ScriptDirectory.from_config(_alembic_config(url))
    head = script.get_current_head()
    if current == head:
        return
    if current is None:
        raise SchemaError("the archive has no newsmon tables yet: run 'newsmon init'")
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise SchemaError(
            f"the archive's schema ({current}) is newer than this newsmon knows (head {head}): upgrade newsmon"
        )
    raise SchemaError(f"the archive's schema ({current}) is older than this newsmon's ({head}): run 'newsmon init'")


def migrate(url: str) -> str:
    """Bring the archive to the newest schema (idempotent); returns the revision."""
    from alembic import command
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(url)
    current = current_revision(url)
    script = ScriptDirectory.from_config(cfg)
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        raise SchemaError(
            f"the archive's schema ({current}) is newer than this newsmon knows "
            f"(head {script.get_current_head()}): upgrade newsmon"
        )
    with get_engine(url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return script.get_current_head()


def ping(url: str) -> None:
    with get_engine(url).connect() as conn:
        conn.execute(text("SELECT 1"))
