"""Shared fixtures: a real SQLite file and a real PostgreSQL server.

PostgreSQL is started once per test session from Debian's binaries with
initdb/pg_ctl on 127.0.0.1 and a free port, as the ``postgres`` user when run
as root (initdb refuses root). Tests taking ``db_url`` run against both
databases; the PostgreSQL half is skipped, with the reason shown, only when
no server binary exists on this machine (CI installs one).
"""
from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = Path(__file__).resolve().parent.parent / "newsmon" / "data" / "seeds"  # package data, one copy
PG_BIN_CANDIDATES = [Path("/usr/lib/postgresql") / v / "bin" for v in ("17", "16", "15", "14", "13")]


def _pg_bin() -> Path | None:
    override = os.environ.get("NEWSMON_PG_BIN")
    if override:
        return Path(override)
    for candidate in PG_BIN_CANDIDATES:
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_pg_user(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@pytest.fixture(scope="session")
def postgres_server():
    """Base URL (without database name) of a throw-away PostgreSQL server."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed: apt-get install postgresql")
    tmp = Path(tempfile.mkdtemp(prefix="newsmon-pg-"))
    data = tmp / "data"
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
        os.chmod(tmp, 0o700)
    port = free_port()
    subprocess.run(_as_pg_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                "--no-sync", "-E", "UTF8", "--locale=C"]),
                   check=True, capture_output=True)
    log = tmp / "server.log"
    subprocess.run(_as_pg_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                                "-o", f"-h 127.0.0.1 -p {port} -k {tmp} -c fsync=off -c full_page_writes=off "
                                      f"-c synchronous_commit=off -c max_connections=200",
                                "start"]),
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_pg_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


_db_counter = itertools.count()


def create_pg_database(base_url: str) -> str:
    """A new empty database on the test server; returns its URL."""
    from sqlalchemy import create_engine, text

    name = f"t{os.getpid()}_{next(_db_counter)}_{int(time.time() * 1000) % 100000}"
    engine = create_engine(f"{base_url}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{base_url}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request, tmp_path) -> str:
    """URL of an empty database (no tables yet): a SQLite file or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'archive.db'}"
    return create_pg_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def db_url(empty_db_url) -> str:
    """URL of an archive migrated to the newest schema, on SQLite and on PostgreSQL."""
    from storage.db import migrate

    migrate(empty_db_url)
    return empty_db_url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A migrated SQLite archive only (for tests whose subject is not the database)."""
    from storage.db import migrate

    url = f"sqlite:///{tmp_path / 'archive.db'}"
    migrate(url)
    return url


@pytest.fixture
def seed_texts() -> dict[str, str]:
    """The five seed articles by their three-digit prefix ('000' … '004')."""
    return {p.name[:3]: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}
