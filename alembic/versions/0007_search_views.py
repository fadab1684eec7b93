"""Full-text search over articles, and views for related links, candidate sources and source health.

SQLite: an FTS5 external-content table ``articles_fts`` (title, description,
text; rowid = articles.id) kept in sync by triggers, backfilled here.
PostgreSQL: a generated ``articles.search_vector`` tsvector (English or
Spanish configuration by the article's language; title weighted A,
description B, text C) with a GIN index.

A later migration that rebuilds ``articles`` on SQLite (Alembic batch mode
copies the table) must recreate the three triggers and rebuild the index.

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The text-search configuration of an article; crawler/search.py repeats it per query.
PG_CONFIG = "CASE WHEN language LIKE 'es%' THEN 'spanish'::regconfig ELSE 'english'::regconfig END"

SQLITE_FTS = [
    """CREATE VIRTUAL TABLE articles_fts USING fts5(
           title, description, text,
           content='articles', content_rowid='id',
           tokenize='porter unicode61 remove_diacritics 2')""",
    # External content: the index is told the old values on delete/update.
    """CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
           INSERT INTO articles_fts(rowid, title, description, text)
           VALUES (new.id, new.title, new.description, new.text);
       END""",
    """CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
           INSERT INTO articles_fts(articles_fts, rowid, title, description, text)
           VALUES ('delete', old.id, old.title, old.description, old.text);
       END""",
    # Only when a searched column changes (last_seen updates on every re-check must stay cheap).
    """CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, description, text ON articles BEGIN
           INSERT INTO articles_fts(articles_fts, rowid, title, description, text)
           VALUES ('delete', old.id, old.title, old.description, old.text);
           INSERT INTO articles_fts(rowid, title, description, text)
           VALUES (new.id, new.title, new.description, new.text);
       END""",
    # ORDER BY rank: title hits weigh most, then the description, then the text.
    "INSERT INTO articles_fts(articles_fts, rank) VALUES ('rank', 'bm25(10.0, 4.0, 1.0)')",
    "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",  # backfill existing rows
]

PG_FTS = [
    f"""ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
           setweight(to_tsvector({PG_CONFIG}, coalesce(title, '')), 'A') ||
           setweight(to_tsvector({PG_CONFIG}, coalesce(description, '')), 'B') ||
           setweight(to_tsvector({PG_CONFIG}, coalesce(text, '')), 'C')
       ) STORED""",
    "CREATE INDEX ix_articles_search_vector ON articles USING GIN (search_vector)",
]

VIEWS = {
    # Rewrites, summaries and copies found by dedup, both articles named.
    "v_related_links": """
        SELECT l.article_id, a.title, s.name AS source, a.url,
               l.other_article_id, o.title AS other_title, os.name AS other_source, o.url AS other_url,
               l.kind, l.similarity, l.created_at
        FROM duplicate_links l
        JOIN articles a ON a.id = l.article_id
        JOIN sources s ON s.id = a.source_id
        JOIN articles o ON o.id = l.other_article_id
        JOIN sources os ON os.id = o.source_id
    """,
    # A candidate event's backing articles and sentences.
    "v_candidate_sources": """
        SELECT cs.candidate_id, c.title AS candidate_title, c.date_start, c.status,
               cs.article_id, a.title AS article_title, s.name AS source, a.url, a.published_at,
               cs.sentence
        FROM candidate_sources cs
        JOIN event_candidates c ON c.id = cs.candidate_id
        JOIN articles a ON a.id = cs.article_id
        JOIN sources s ON s.id = a.source_id
    """,
    # Per source: its last run, failures in the last runs and fetches, failing entry points.
    "v_source_health": """
        SELECT s.id AS source_id, s.name AS source,
               (SELECT MAX(r.started_at) FROM crawl_runs r WHERE r.source_id = s.id) AS last_run_at,
               (SELECT r.status FROM crawl_runs r WHERE r.source_id = s.id
                 ORDER BY r.started_at DESC, r.id DESC LIMIT 1) AS last_run_status,
               (SELECT MAX(r.started_at) FROM crawl_runs r WHERE r.source_id = s.id AND r.status = 'ok')
                   AS last_ok_at,
               (SELECT COUNT(*) FROM crawl_runs r WHERE r.source_id = s.id AND r.status = 'failed') AS failed_runs,
               (SELECT COUNT(*) FROM crawl_runs r WHERE r.source_id = s.id) AS runs,
               (SELECT COUNT(*) FROM fetches f WHERE f.source_id = s.id AND f.outcome = 'error') AS fetch_errors,
               (SELECT COUNT(*) FROM fetches f WHERE f.source_id = s.id) AS fetches,
               (SELECT COUNT(*) FROM feed_states fs WHERE fs.source_id = s.id AND fs.status = 'failing')
                   AS failing_entry_points,
               (SELECT COUNT(*) FROM articles a WHERE a.source_id = s.id) AS articles,
               (SELECT MAX(a.first_seen) FROM articles a WHERE a.source_id = s.id) AS last_new_article_at
        FROM sources s
    """,
}


def upgrade() -> None:
    statements = SQLITE_FTS if op.get_bind().dialect.name == "sqlite" else PG_FTS
    for statement in statements:
        op.execute(statement)
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(list(VIEWS)):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("articles_fts_insert", "articles_fts_delete", "articles_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
        op.execute("ALTER TABLE articles DROP COLUMN IF EXISTS search_vector")
