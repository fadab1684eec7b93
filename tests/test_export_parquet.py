"""`newsmon export --format parquet`: the same rows as the JSON Lines export,
typed, written in row batches; a clear line and exit 2 without pyarrow or
without --output."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from cli_helpers import REPO, run_newsmon
from conftest import add_article
from storage.db import session_scope
from storage.models import CrawlRun, Source

pq = pytest.importorskip("pyarrow.parquet")  # the test extra installs it (pyproject.toml)

ROWS = 2500  # more than two export batches (EXPORT_BATCH = 1000)


def _fill(url: str) -> None:
    start = datetime(2025, 9, 1, 8, 30)
    with session_scope(url) as session:
        for n in range(ROWS):
            source = ("wire", "post", "diario")[n % 3]
            add_article(session, source=source, text=f"Story {n} about visas and tariffs, ñandú {n}.",
                        title=f"Story {n}" if n % 7 else None, language="es" if source == "diario" else "en",
                        published_at=None if n % 11 == 0 else start + timedelta(hours=n),
                        paywalled=n % 5 == 0, relevant=None if n % 4 == 0 else n % 2 == 0)
        wire = session.query(Source).filter_by(name="wire").one()
        session.add(CrawlRun(source_id=wire.id, status="failed", started_at=start, finished_at=start,
                             fetched=1, errors=1))


def _same(parquet_value, json_value) -> bool:
    """A Parquet value equals its JSON Lines text (SQLite keeps times as text and booleans as 0/1)."""
    if isinstance(parquet_value, datetime):
        return json_value is not None and parquet_value == datetime.fromisoformat(json_value)
    if isinstance(parquet_value, date):
        return json_value is not None and parquet_value == date.fromisoformat(json_value[:10])
    if isinstance(parquet_value, bool):
        return json_value is not None and parquet_value == bool(json_value)
    return parquet_value == json_value


def _compare(db_url: str, tmp_path, view: str, *args: str) -> list[dict]:
    env = {"NEWSMON_DATABASE_URL": db_url}
    out = tmp_path / f"{view}.parquet"
    result = run_newsmon("export", "--format", "parquet", "--view", view, "--output", str(out), *args, env=env)
    assert result.returncode == 0, result.stderr
    jsonl = run_newsmon("export", "--format", "jsonl", "--view", view, *args, env=env)
    assert jsonl.returncode == 0, jsonl.stderr
    expected = [json.loads(line) for line in jsonl.stdout.splitlines()]
    table = pq.read_table(out)
    got = table.to_pylist()
    assert f"exported {len(expected)} rows of {view}" in result.stderr
    assert expected and table.column_names == list(expected[0]) and len(got) == len(expected)
    for parquet_row, json_row in zip(got, expected):
        mismatched = {k: (parquet_row[k], json_row[k]) for k in json_row if not _same(parquet_row[k], json_row[k])}
        assert not mismatched, mismatched
    return got


def test_parquet_export_holds_the_jsonl_rows_typed_and_in_batches(db_url, tmp_path):
    import pyarrow as pa

    _fill(db_url)
    rows = _compare(db_url, tmp_path, "v_articles")
    assert len(rows) == ROWS
    schema = pq.read_schema(tmp_path / "v_articles.parquet")
    assert schema.field("id").type == pa.int64() and schema.field("published_at").type == pa.timestamp("us")
    assert schema.field("paywalled").type == pa.bool_() and schema.field("title").type == pa.string()
    assert rows[1]["published_at"] == datetime(2025, 9, 1, 9, 30) and rows[0]["published_at"] is None
    assert rows[0]["paywalled"] is True and rows[0]["relevant"] is None and rows[1]["title"] == "Story 1"
    assert pq.ParquetFile(tmp_path / "v_articles.parquet").num_row_groups == 3  # written batch by batch

    since = _compare(db_url, tmp_path, "v_articles", "--since", "2025-11-01")
    assert 0 < len(since) < ROWS and all(r["published_at"] is None or r["published_at"] >= datetime(2025, 11, 1)
                                         for r in since)

    health = {r["source"]: r for r in _compare(db_url, tmp_path, "v_source_health")}  # aggregates: untyped on SQLite
    assert health["wire"]["failed_runs"] == 1 and health["diario"]["articles"] == ROWS // 3


def test_parquet_without_output_or_pyarrow_is_one_line_and_exit_2(sqlite_url, tmp_path):
    env = {"NEWSMON_DATABASE_URL": sqlite_url}
    result = run_newsmon("export", "--format", "parquet", env=env)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "newsmon: --format parquet writes a file: add --output PATH (Parquet is not for a terminal)"]

    for output, words in ((tmp_path / "missing" / "a.parquet", "no such directory"), (tmp_path, "is a directory")):
        result = run_newsmon("export", "--format", "parquet", "--output", str(output), env=env)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
        assert result.stderr.startswith(f"newsmon: --output {output}: {words}")

    blocker = tmp_path / "no-pyarrow"  # an environment where pyarrow cannot be imported
    (blocker / "pyarrow").mkdir(parents=True)
    (blocker / "pyarrow" / "__init__.py").write_text("raise ImportError('pyarrow is not installed')\n")
    out = tmp_path / "a.parquet"
    result = run_newsmon("export", "--format", "parquet", "--output", str(out),
                         env={**env, "PYTHONPATH": f"{blocker}:{REPO}"})
    assert result.returncode == 2 and not out.exists()
    assert result.stderr.strip().splitlines() == [
        "newsmon: --format parquet needs pyarrow, an optional extra: pip install 'newsmon[parquet]' "
        "(or pip install pyarrow)"]
