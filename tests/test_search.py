"""`newsmon search`: one query syntax, FTS5 on SQLite and tsvector on PostgreSQL."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import delete, update

from crawler.search import SearchError, compile_query, to_fts5, to_tsquery
from crawler.text import text_hash
from storage.db import session_scope
from storage.models import Article, ArticleTopic, Source, ThemeMatch
from cli_helpers import run_newsmon

ARTICLES = [
    # (source, language, published, title, text)
    ("wire", "en", "2025-09-27", "State Department revokes Petro's visa",
     "The State Department revoked the visa of Colombian President Gustavo Petro after his speech in New York. "
     "The visa revocation was announced late on Friday."),
    ("wire", "en", "2025-10-20", "Trump announces tariffs on Colombian goods",
     "Washington said the tariffs would start in November. Officials did not mention the visa of the president."),
    ("post", "en", "2025-11-02", "Coffee exporters brace for a hard winter",
     "Exporters in Huila fear the new tariffs. Nothing was said about sanctions or a revocation of any visa."),
    ("diario", "es", "2025-11-03", "De los aranceles a la descertificación",
     "Las deportaciones y la revocatoria de la visa de Petro marcaron la peor crisis con Estados Unidos."),
    ("diario", "es", "2025-11-05", "Clima en Bogotá",
     "Lluvias en la capital durante toda la semana; el Ideam pide precaución en las vías."),
]


def _add_articles(url: str) -> dict[str, int]:
    ids = {}
    with session_scope(url) as session:
        sources = {}
        for name in sorted({a[0] for a in ARTICLES}):
            sources[name] = Source(name=name)
            session.add(sources[name])
        session.flush()
        for index, (source, language, published, title, body) in enumerate(ARTICLES):
            article = Article(source_id=sources[source].id, canonical_url=f"http://news.test/{index}",
                              url=f"http://news.test/{index}?utm_source=x", title=title, text=body,
                              text_hash=text_hash(body), language=language,
                              published_at=datetime.fromisoformat(published))
            session.add(article)
            session.flush()
            ids[title] = article.id
    return ids


def _search(url: str, *args: str) -> list[dict]:
    result = run_newsmon("search", *args, "--json", env={"NEWSMON_DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _titles(url: str, *args: str) -> list[str]:
    return [hit["title"] for hit in _search(url, *args)]


def test_search_stems_ranks_phrases_and_booleans(db_url):
    _add_articles(db_url)
    # Stemming: 'revoke' finds 'revokes', 'revoked'; the title hit ranks first.
    found = _titles(db_url, "revoke")
    assert found[0] == "State Department revokes Petro's visa"
    # A phrase needs the words together, in order.
    assert _titles(db_url, '"visa revocation"') == ["State Department revokes Petro's visa"]
    # AND (implicit), OR, NOT and parentheses.
    assert set(_titles(db_url, "tariffs visa")) == {"Trump announces tariffs on Colombian goods",
                                                     "Coffee exporters brace for a hard winter"}
    assert _titles(db_url, "tariffs NOT sanctions") == ["Trump announces tariffs on Colombian goods"]
    assert set(_titles(db_url, "(coffee OR Huila) AND tariffs")) == {"Coffee exporters brace for a hard winter"}
    # Spanish, accents and prefixes.
    assert _titles(db_url, "descertificación") == ["De los aranceles a la descertificación"]
    assert _titles(db_url, "deporta*") == ["De los aranceles a la descertificación"]
    assert _titles(db_url, "lluvias OR precaución") == ["Clima en Bogotá"]
    # Highlighted snippets.
    hit = _search(db_url, '"visa revocation"')[0]
    assert "<mark>" in hit["snippet"] and "revocation" in hit["snippet"].lower()


def test_search_filters_by_source_date_and_theme(db_url):
    ids = _add_articles(db_url)
    with session_scope(db_url) as session:
        topic = ArticleTopic(article_id=ids["Trump announces tariffs on Colombian goods"], topic="us-colombia",
                             score=2.0, relevant=True)
        topic.themes.append(ThemeMatch(theme="trade-tariffs", weight=1.0, score=2.0, clause="tariffs"))
        session.add(topic)
    assert set(_titles(db_url, "visa", "--source", "wire")) == {"State Department revokes Petro's visa",
                                                               "Trump announces tariffs on Colombian goods"}
    assert set(_titles(db_url, "visa", "--since", "2025-10-01")) == {
        "Trump announces tariffs on Colombian goods", "Coffee exporters brace for a hard winter",
        "De los aranceles a la descertificación"}
    assert _titles(db_url, "tariffs", "--theme", "trade-tariffs") == ["Trump announces tariffs on Colombian goods"]
    assert len(_search(db_url, "visa", "--limit", "2")) == 2


def test_index_follows_updates_and_deletes(db_url):
    ids = _add_articles(db_url)
    weather = ids["Clima en Bogotá"]
    with session_scope(db_url) as session:
        session.execute(update(Article).where(Article.id == weather)
                        .values(text="Granizada en el norte de la ciudad.", title="Granizo en Bogotá"))
    assert _titles(db_url, "granizada") == ["Granizo en Bogotá"]
    assert _titles(db_url, "lluvias") == []
    with session_scope(db_url) as session:
        session.execute(delete(Article).where(Article.id == weather))
    assert _titles(db_url, "granizada") == []


def test_migration_backfills_articles_archived_before_it(empty_db_url):
    from alembic import command

    from storage.db import _alembic_config, migrate

    with __import__("storage.db", fromlist=["get_engine"]).get_engine(empty_db_url).begin() as conn:
        cfg = _alembic_config(empty_db_url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    _add_articles(empty_db_url)
    migrate(empty_db_url)
    assert _titles(empty_db_url, "Huila") == ["Coffee exporters brace for a hard winter"]


def test_bad_queries_and_filters_are_one_line_exit_2(sqlite_url):
    env = {"NEWSMON_DATABASE_URL": sqlite_url}
    for args, words in ((["AND visa"], "dangling operator"), (['"visa'], "unbalanced quotes"),
                        (["visa NEAR/3 Petro"], "NEAR"), (["NOT visa"], "NOT"),
                        (["visa", "--source", "nowhere"], "no such source"),
                        (["visa", "--since", "last week"], "not a date"),
                        (["visa", "--limit", "0"], "at least 1")):
        result = run_newsmon("search", *args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and words in result.stderr, result.stderr


def test_one_syntax_translated_for_both_backends():
    node = compile_query('"visa revocation" OR (deport* AND NOT tariffs)')
    assert to_fts5(node) == '("visa" + "revocation" OR (("deport" *) NOT "tariffs"))'
    assert to_tsquery(node) == "((visa <-> revocation) | (deport:* & !tariffs))"
    # Accents are kept for PostgreSQL's Spanish stemmer, folded for FTS5.
    node = compile_query("descertificación")
    assert (to_fts5(node), to_tsquery(node)) == ('"descertificacion"', "descertificación")
    with pytest.raises(SearchError):
        compile_query("visa NEAR/2 Petro")


# --- export ----------------------------------------------------------------------------


def test_export_streams_jsonl_and_csv_with_since_and_view(db_url, tmp_path):
    import csv

    _add_articles(db_url)
    env = {"NEWSMON_DATABASE_URL": db_url}
    result = run_newsmon("export", "--format", "jsonl", env=env)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["title"] for r in rows] == [a[3] for a in ARTICLES]
    assert rows[0]["published_at"].startswith("2025-09-27") and rows[0]["source"] == "wire"

    out = tmp_path / "since.csv"
    result = run_newsmon("export", "--format", "csv", "--since", "2025-11-01", "--output", str(out), env=env)
    assert result.returncode == 0 and "exported 3 rows of v_articles" in result.stderr, result.stderr
    with out.open(newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert [r["title"] for r in table] == [a[3] for a in ARTICLES[2:]]
    assert table[1]["text"] == ARTICLES[3][4]

    result = run_newsmon("export", "--view", "v_source_health", env=env)
    health = {r["source"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert health["diario"]["articles"] == 2 and health["wire"]["failed_runs"] == 0

    for args, words in ((["--view", "articles"], "not one of the archive's views"),
                        (["--view", "v_related_links", "--since", "2025-01-01"], None),
                        (["--format", "xml"], "invalid choice")):
        result = run_newsmon("export", *args, env=env)
        if words is None:
            assert result.returncode == 0, result.stderr
        else:
            assert result.returncode == 2 and words in result.stderr, result.stderr
