"""Shared fixtures: a real SQLite file and a real PostgreSQL server.

PostgreSQL is started once per test session from Debian's binaries with
initdb/pg_ctl on 127.0.0.1 and a free port, as the ``postgres`` user when run
as root (initdb refuses root). Tests taking ``db_url`` run against both
databases; the PostgreSQL half is skipped, with the reason shown, only when
no server binary exists on this machine, and fails instead under
``NEWSMON_REQUIRE_PG=1`` (``make test``, which CI runs, sets it).
"""
from __future__ import annotations

import hashlib
import itertools
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = Path(__file__).resolve().parent.parent / "newsmon" / "data" / "seeds"  # package data, one copy
# aiosmtpd logs every client disconnect at INFO ("EOF received", "connection lost"): noise in the suite's
# output once an in-process command has installed a root handler.
logging.getLogger("mail.log").setLevel(logging.WARNING)

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
        if os.environ.get("NEWSMON_REQUIRE_PG") == "1":  # CI: a missing server is a failure, not a skip
            pytest.fail("NEWSMON_REQUIRE_PG=1 but no PostgreSQL server binaries (initdb, pg_ctl) were found")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed: apt-get install postgresql")
    tmp = Path(tempfile.mkdtemp(prefix="newsmon-pg-"))
    data = tmp / "data"
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
        os.chmod(tmp, 0o700)
    subprocess.run(_as_pg_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                "--no-sync", "-E", "UTF8", "--locale=C"]),
                   check=True, capture_output=True)
    log = tmp / "server.log"
    for attempt in range(3):  # a free port can be taken by another process (xdist worker) before the server binds it
        port = free_port()
        started = subprocess.run(_as_pg_user([
            str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
            "-o", f"-h 127.0.0.1 -p {port} -k {tmp} -c fsync=off -c full_page_writes=off "
                  f"-c synchronous_commit=off -c max_connections=200", "start"]), capture_output=True, text=True)
        if started.returncode == 0:
            break
    else:
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr.strip()} {log.read_text(errors='replace')[-2000:]}")
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


# --- shared factories (one of each; test modules import them: ``from conftest import …``) -------------

# Crawl settings for tests against the loopback site: no politeness delay, one quick retry.
# download_timeout is a safety net: a loopback server starved of CPU by a loaded machine (two CPU hogs,
# three xdist workers) can take seconds to answer; tests of timeouts set their own.
FAST = {"download_delay": 0, "autothrottle": False, "retry_times": 1, "download_timeout": 30}


def write_config(tmp_path: Path, db_url: str | None = None, sources: list[dict] | None = None, *,
                 crawl: dict | None = None, name: str = "newsmon.yaml", **top) -> str:
    """Write a newsmon config file (``FAST`` crawl settings unless ``crawl`` overrides them, plus any
    other top-level keys such as ``topics`` or ``digests``) and return its path."""
    data: dict = {"sources": list(sources or []), "crawl": {**FAST, **(crawl or {})}, **top}
    if db_url is not None:
        data["database_url"] = db_url
    path = Path(tmp_path) / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def crawl(config: str, *args: str, check: bool = True, timeout: float = 300):
    """`newsmon --config CONFIG crawl ARGS…` in a subprocess, with quick retries; asserts exit 0 unless
    ``check`` is false. The timeout is a safety net for a loaded machine, not a measurement."""
    from cli_helpers import run_newsmon

    result = run_newsmon("--config", config, "crawl", "--set", "NEWSMON_RETRY_BACKOFF=0.1", *args,
                         timeout=timeout)
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


_article_numbers = itertools.count(1)


def add_article(session, *, source: str = "example", text: str = "", title: str | None = None,
                url: str | None = None, version: bool = True, **fields):
    """A source row (created on first use), an article and, unless ``version`` is false, its first
    version, as the crawler stores them; ``fields`` set other article columns. Returns the flushed
    article (it has an id)."""
    from storage.models import Article, ArticleVersion, Source
    from storage.upsert import get_or_create

    source_row = get_or_create(session, Source, {"name": source})
    number = next(_article_numbers)
    url = url or f"https://{source}.example/{number}"
    title = text.split("\n")[0][:80] if title is None else title
    digest = hashlib.sha256(f"{text}\0{url}".encode()).hexdigest() if "text_hash" not in fields else None
    article = Article(source_id=source_row.id, canonical_url=fields.pop("canonical_url", url), url=url,
                      title=title, text=text, **({"text_hash": digest} if digest else {}), **fields)
    if version:
        article.versions.append(ArticleVersion(version=1, raw_html=b"x", title=title, text=text,
                                               text_hash=article.text_hash))
    session.add(article)
    session.flush()
    return article


class StaticSite:
    """A loopback HTTP server answering from ``routes`` (path → (status, content type, body bytes)),
    which a test may change while it runs; ``requests`` lists the paths asked for, in order."""

    def __init__(self, routes: dict | None = None) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.routes: dict = dict(routes or {})
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                site.requests.append(self.path)
                status, content_type, body = site.routes.get(self.path, (404, "text/plain", b"not found"))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "StaticSite":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def rss(base_url: str, links: list[tuple[str, str]]) -> bytes:
    """An RSS feed of (title, path) items on ``base_url``."""
    from html import escape

    items = "".join(f"<item><title>{escape(title)}</title><link>{base_url}{path}</link></item>"
                    for title, path in links)
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{items}</channel></rss>").encode()
