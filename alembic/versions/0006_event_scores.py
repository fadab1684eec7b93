"""Event diff explanations: how a mention was read, whether its date is contradicted; a candidate's score.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_MENTIONS_OLD = """
        SELECT m.event_id, e.title AS event_title, e.date_start AS event_date,
               m.article_id, a.title AS article_title, s.name AS source, a.url,
               a.published_at, m.sentence, m.confidence, m.in_lead, m.first_report
        FROM event_mentions m
        JOIN events e ON e.id = m.event_id
        JOIN articles a ON a.id = m.article_id
        JOIN sources s ON s.id = a.source_id
"""
# The same columns, then how the sentence named the event and its date flag ("date-contradicted":
# the sentence names the event at a date the timeline contradicts; see v_contradictions).
_MENTIONS_NEW = """
        SELECT m.event_id, e.title AS event_title, e.date_start AS event_date,
               m.article_id, a.title AS article_title, s.name AS source, a.url,
               a.published_at, m.sentence, m.confidence, m.in_lead, m.first_report,
               m.how, m.date_flag
        FROM event_mentions m
        JOIN events e ON e.id = m.event_id
        JOIN articles a ON a.id = m.article_id
        JOIN sources s ON s.id = a.source_id
"""
_CANDIDATES_OLD = """
        SELECT c.id AS candidate_id, c.date_start, c.date_precision, c.title, c.status,
               c.first_seen, c.last_seen,
               (SELECT COUNT(*) FROM candidate_sources cs WHERE cs.candidate_id = c.id) AS reports,
               (SELECT COUNT(DISTINCT COALESCE(a.cluster_id, a.id)) FROM candidate_sources cs
                  JOIN articles a ON a.id = cs.article_id WHERE cs.candidate_id = c.id) AS independent_reports
        FROM event_candidates c
"""
_CANDIDATES_NEW = """
        SELECT c.id AS candidate_id, c.date_start, c.date_precision, c.title, c.status,
               c.first_seen, c.last_seen,
               (SELECT COUNT(*) FROM candidate_sources cs WHERE cs.candidate_id = c.id) AS reports,
               (SELECT COUNT(DISTINCT COALESCE(a.cluster_id, a.id)) FROM candidate_sources cs
                  JOIN articles a ON a.id = cs.article_id WHERE cs.candidate_id = c.id) AS independent_reports,
               c.score, c.explanation
        FROM event_candidates c
"""


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_event_mentions")
    op.execute("DROP VIEW IF EXISTS v_event_candidates")
    with op.batch_alter_table("event_mentions") as batch:
        batch.add_column(sa.Column("how", sa.Text(), nullable=True))
        batch.add_column(sa.Column("date_flag", sa.String(length=30), nullable=True))
    with op.batch_alter_table("event_candidates") as batch:
        batch.add_column(sa.Column("score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("explanation", sa.Text(), nullable=True))
    op.execute(f"CREATE VIEW v_event_mentions AS {_MENTIONS_NEW}")
    op.execute(f"CREATE VIEW v_event_candidates AS {_CANDIDATES_NEW}")


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_event_mentions")
    op.execute("DROP VIEW IF EXISTS v_event_candidates")
    with op.batch_alter_table("event_candidates") as batch:
        batch.drop_column("explanation")
        batch.drop_column("score")
    with op.batch_alter_table("event_mentions") as batch:
        batch.drop_column("date_flag")
        batch.drop_column("how")
    op.execute(f"CREATE VIEW v_event_mentions AS {_MENTIONS_OLD}")
    op.execute(f"CREATE VIEW v_event_candidates AS {_CANDIDATES_OLD}")
