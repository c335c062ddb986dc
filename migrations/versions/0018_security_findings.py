"""security findings: web sessions ended on sign-out, rate-limit counters shared by every API
process, and node credentials spent by their one result post

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("window", sa.BigInteger(), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    with op.batch_alter_table("node_credentials") as batch:
        batch.add_column(sa.Column("used_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("node_credentials") as batch:
        batch.drop_column("used_at")
    op.drop_table("rate_counters")
    op.drop_table("web_sessions")
