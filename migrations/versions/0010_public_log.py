"""the signed, append-only public log

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_entries",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("challenge", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_log_entries_challenge", "log_entries", ["challenge"])
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("item_scores_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.drop_column("item_scores_sha256")
    op.drop_index("ix_log_entries_challenge", table_name="log_entries")
    op.drop_table("log_entries")
