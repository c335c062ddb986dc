"""rounds, KPIs and rewards

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rounds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("challenge_id", sa.Integer(), sa.ForeignKey("challenges.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=True),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("pool_cents", sa.BigInteger(), nullable=False),
        sa.Column("pool_gpu_minutes", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("stopped_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("hidden_set_id", sa.String(40), sa.ForeignKey("hidden_sets.id"), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("log_seq", sa.Integer(), nullable=True),
        sa.UniqueConstraint("challenge_id", "number"),
    )
    op.create_index("ix_rounds_challenge_id", "rounds", ["challenge_id"])
    with op.batch_alter_table("challenges") as batch:
        batch.add_column(sa.Column("rules", sa.JSON(), nullable=True))
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("round_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_submissions_round_id", "rounds", ["round_id"], ["id"])
        batch.create_index("ix_submissions_round_id", ["round_id"])
    with op.batch_alter_table("registrations") as batch:
        batch.add_column(sa.Column("kpi_misses", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("registrations") as batch:
        batch.drop_column("kpi_misses")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_index("ix_submissions_round_id")
        batch.drop_constraint("fk_submissions_round_id", type_="foreignkey")
        batch.drop_column("round_id")
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("rules")
    op.drop_index("ix_rounds_challenge_id", "rounds")
    op.drop_table("rounds")
