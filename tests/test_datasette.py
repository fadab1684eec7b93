"""Datasette serves the archive with datasette/metadata.yml: titles, search on
the articles views, and the analyst's canned queries as JSON."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

from cli_helpers import REPO, run_newsmon
from conftest import free_port


def _get(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def served_demo(tmp_path_factory):
    work = tmp_path_factory.mktemp("datasette")
    result = run_newsmon("demo", cwd=work, timeout=300)
    assert result.returncode == 0, result.stderr
    db = work / "newsmon-demo.db"
    with sqlite3.connect(db) as conn:  # one source failing, as a user would see after an outage
        conn.execute("INSERT INTO crawl_runs (source_id, started_at, status, fetched, new_articles, updated, "
                     "unchanged, skipped_seen, not_articles, errors, message) SELECT id, '2999-01-01 00:00:00', "
                     "'failed', 0, 0, 0, 0, 0, 0, 1, 'feed returned HTTP 503' FROM sources WHERE name = 'capital-wire'")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "datasette", "serve", str(db), "--metadata",
                               str(REPO / "datasette" / "metadata.yml"), "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/newsmon-demo"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _get(f"{base}.json")
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"datasette did not start: {server.stderr.read().decode()[-2000:]}")
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stderr.close()


def test_canned_queries_answer_the_analysts_questions(served_demo):
    rows = _get(f"{served_demo}/contradicting_the_timeline.json?_shape=array")
    assert [(r["source"], r["stated_value"], r["known_value"]) for r in rows] == [
        ("capital-wire", "2025-10-17", "2025-09-26")]
    event = rows[0]["event_id"]
    first = _get(f"{served_demo}/first_reports_of_event.json?event={quote(event)}&_shape=array")
    assert first and all(r["event_id"] == event for r in first) and first[0]["first_report"] == 1
    themes = _get(f"{served_demo}/new_today_per_theme.json?_shape=array")
    assert themes and all(r["articles"] >= 1 for r in themes)
    failing = _get(f"{served_demo}/sources_failing.json?_shape=array")
    assert [r["source"] for r in failing] == ["capital-wire"] and failing[0]["last_run_status"] == "failed"


def test_search_box_on_the_articles_view_uses_fts(served_demo):
    found = _get(f"{served_demo}/v_articles.json?_search={quote('visa revoked')}&_shape=array")
    assert found and all("visa" in (r["text"] or "").lower() for r in found)
    assert len(found) < len(_get(f"{served_demo}/v_articles.json?_shape=array&_size=max"))
    table = _get(f"{served_demo}/articles.json?_search=Petro&_shape=array")
    assert table and all("petro" in ((r["title"] or "") + (r["text"] or "")).lower() for r in table)


def test_every_query_in_docs_queries_md_runs_on_the_demo_archive(served_demo):
    """docs/queries.md stays true: each SQL block runs (through Datasette's own SQL endpoint)."""
    import re

    blocks = re.findall(r"```sql\n(.*?)```", (REPO / "docs" / "queries.md").read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 12
    answered = 0
    for sql in blocks:
        sql = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
        rows = _get(f"{served_demo}.json?sql={quote(sql)}&_shape=array")
        assert isinstance(rows, list), (sql, rows)
        answered += bool(rows)
    assert answered >= 10  # the demo archive answers nearly all of them with rows
