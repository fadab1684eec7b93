"""Stable SQL views for users: their queries target these, not the tables.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Plain SQL that SQLite and PostgreSQL both accept.
VIEWS = {
    "v_articles": """
        SELECT a.id, s.name AS source, a.url, a.canonical_url, a.title, a.author,
               a.published_at, a.language, a.site_name, a.description,
               a.first_seen, a.last_seen, a.relevant, a.paywalled,
               a.cluster_id, a.text_hash, a.text,
               (SELECT COUNT(*) FROM article_versions v WHERE v.article_id = a.id) AS versions
        FROM articles a JOIN sources s ON s.id = a.source_id
    """,
    # One row per clustered article (a lone article has cluster_id NULL and no row);
    # kind/similarity: how it matched its cluster (NULL for the cluster's first-seen article).
    "v_duplicates": """
        SELECT a.id AS article_id, s.name AS source, a.url, a.title,
               a.cluster_id, h.url AS cluster_first_url, hs.name AS cluster_first_source,
               h.first_seen AS cluster_first_seen,
               (SELECT COUNT(*) FROM articles m WHERE m.cluster_id = a.cluster_id) AS cluster_articles,
               (SELECT COUNT(DISTINCT m.source_id) FROM articles m WHERE m.cluster_id = a.cluster_id)
                   AS cluster_outlets,
               (SELECT l.kind FROM duplicate_links l JOIN articles o ON o.id = l.other_article_id
                 WHERE l.article_id = a.id AND o.cluster_id = a.cluster_id AND l.kind <> 'related'
                 ORDER BY l.similarity DESC, l.other_article_id LIMIT 1) AS kind,
               (SELECT l.similarity FROM duplicate_links l JOIN articles o ON o.id = l.other_article_id
                 WHERE l.article_id = a.id AND o.cluster_id = a.cluster_id AND l.kind <> 'related'
                 ORDER BY l.similarity DESC, l.other_article_id LIMIT 1) AS similarity
        FROM articles a
        JOIN sources s ON s.id = a.source_id
        JOIN articles h ON h.id = a.cluster_id
        JOIN sources hs ON hs.id = h.source_id
    """,
    "v_article_themes": """
        SELECT t.article_id, a.title, s.name AS source, t.topic, m.theme, m.score,
               m.weight, t.score AS topic_score, t.relevant
        FROM theme_matches m
        JOIN article_topics t ON t.id = m.article_topic_id
        JOIN articles a ON a.id = t.article_id
        JOIN sources s ON s.id = a.source_id
    """,
    "v_event_mentions": """
        SELECT m.event_id, e.title AS event_title, e.date_start AS event_date,
               m.article_id, a.title AS article_title, s.name AS source, a.url,
               a.published_at, m.sentence, m.confidence, m.in_lead, m.first_report
        FROM event_mentions m
        JOIN events e ON e.id = m.event_id
        JOIN articles a ON a.id = m.article_id
        JOIN sources s ON s.id = a.source_id
    """,
    "v_event_candidates": """
        SELECT c.id AS candidate_id, c.date_start, c.date_precision, c.title, c.status,
               c.first_seen, c.last_seen,
               (SELECT COUNT(*) FROM candidate_sources cs WHERE cs.candidate_id = c.id) AS reports,
               (SELECT COUNT(DISTINCT COALESCE(a.cluster_id, a.id)) FROM candidate_sources cs
                  JOIN articles a ON a.id = cs.article_id WHERE cs.candidate_id = c.id) AS independent_reports
        FROM event_candidates c
    """,
    "v_contradictions": """
        SELECT c.id, c.kind, c.event_id, c.fact, c.stated_value, c.known_value,
               c.article_id, a.title AS article_title, s.name AS source, a.url,
               c.sentence, c.other_article_id, c.other_sentence, c.known_source, c.created_at
        FROM contradictions c
        JOIN articles a ON a.id = c.article_id
        JOIN sources s ON s.id = a.source_id
    """,
}


def upgrade() -> None:
    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in reversed(list(VIEWS)):
        op.execute(f"DROP VIEW IF EXISTS {name}")
