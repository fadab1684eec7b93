"""Dedup state as indexed rows (band keys, anchors, sentence keys), queried per article;
the event diff's archive queries made bounded (indexed first reports, statement intervals,
candidate terms).

Revision ID: 0003
Revises: 0002

Existing signatures keep their blobs; their rows in the new tables are built
by the dedup stage the first time it opens on this archive (it needs the
configured LSH banding), recorded in ``article_signatures.lsh_bands/lsh_rows``.
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("article_signatures") as batch:
        batch.add_column(sa.Column("source_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("lsh_bands", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("lsh_rows", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_article_signatures_source_id_sources", "sources", ["source_id"], ["id"],
                                 ondelete="CASCADE")
    op.execute("UPDATE article_signatures SET source_id = "
               "(SELECT a.source_id FROM articles a WHERE a.id = article_signatures.article_id)")
    op.create_index("ix_article_signatures_source_article", "article_signatures", ["source_id", "article_id"])
    op.create_table(
        "archive_state",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "dedup_bands",
        sa.Column("band_key", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.PrimaryKeyConstraint("band_key", "article_id"),
    )
    op.create_index("ix_dedup_bands_article_id", "dedup_bands", ["article_id"])
    op.create_table(
        "dedup_anchors",
        sa.Column("anchor", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.PrimaryKeyConstraint("anchor", "article_id"),
    )
    op.create_index("ix_dedup_anchors_article_id", "dedup_anchors", ["article_id"])
    op.create_table(
        "dedup_sentences",
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
        sa.Column("sentence_key", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.PrimaryKeyConstraint("source_id", "sentence_key", "article_id"),
    )
    op.create_index("ix_dedup_sentences_article_id", "dedup_sentences", ["article_id"])
    op.create_index("ix_contradictions_other_article_id", "contradictions", ["other_article_id"])

    with op.batch_alter_table("event_mentions") as batch:
        batch.add_column(sa.Column("reported_at", sa.DateTime(), nullable=True))
    op.execute("UPDATE event_mentions SET reported_at = (SELECT COALESCE(a.published_at, a.first_seen) "
               "FROM articles a WHERE a.id = event_mentions.article_id)")
    op.create_index("ix_event_mentions_event_reported", "event_mentions", ["event_id", "reported_at"])
    op.create_index("ix_event_candidates_status_date", "event_candidates", ["status", "date_start"])
    # Intervals of existing statements are filled in by the event stage when it first opens.
    with op.batch_alter_table("fact_statements") as batch:
        batch.add_column(sa.Column("interval_lo", sa.Float(), nullable=True))
        batch.add_column(sa.Column("interval_hi", sa.Float(), nullable=True))
    op.create_index("ix_fact_statements_fact_low", "fact_statements", ["fact", "event_id", "interval_lo"])
    op.create_index("ix_fact_statements_fact_high", "fact_statements", ["fact", "event_id", "interval_hi"])
    op.create_table(
        "candidate_terms",
        sa.Column("term", sa.String(12), nullable=False),
        sa.Column("week", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), sa.ForeignKey("event_candidates.id", ondelete="CASCADE"),
                  nullable=False),
        sa.PrimaryKeyConstraint("term", "week", "candidate_id"),
    )
    op.create_index("ix_candidate_terms_candidate_id", "candidate_terms", ["candidate_id"])
    # Terms of existing open candidates are filled in by the event stage when it first opens.


def downgrade() -> None:
    op.drop_table("candidate_terms")
    op.drop_index("ix_fact_statements_fact_high", table_name="fact_statements")
    op.drop_index("ix_fact_statements_fact_low", table_name="fact_statements")
    with op.batch_alter_table("fact_statements") as batch:
        batch.drop_column("interval_hi")
        batch.drop_column("interval_lo")
    op.drop_index("ix_event_candidates_status_date", table_name="event_candidates")
    op.drop_index("ix_event_mentions_event_reported", table_name="event_mentions")
    with op.batch_alter_table("event_mentions") as batch:
        batch.drop_column("reported_at")
    op.drop_index("ix_contradictions_other_article_id", table_name="contradictions")
    op.drop_table("dedup_sentences")
    op.drop_table("dedup_anchors")
    op.drop_table("dedup_bands")
    op.drop_table("archive_state")
    op.drop_index("ix_article_signatures_source_article", table_name="article_signatures")
    with op.batch_alter_table("article_signatures") as batch:
        batch.drop_constraint("fk_article_signatures_source_id_sources", type_="foreignkey")
        batch.drop_column("lsh_rows")
        batch.drop_column("lsh_bands")
        batch.drop_column("source_id")
