"""site agents (sites, jobs.site_id), image architectures, challenge platforms, compute grants

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("capabilities", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("site_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_jobs_site_id", "sites", ["site_id"], ["id"])
        batch.create_index("ix_jobs_site_id", ["site_id"])
    with op.batch_alter_table("images") as batch:
        batch.add_column(sa.Column("architecture", sa.String(16), nullable=False, server_default="amd64"))
    with op.batch_alter_table("challenges") as batch:
        batch.add_column(sa.Column("hardware", sa.JSON(), nullable=True))
    op.create_table(
        "compute_grants",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("challenge_id", sa.Integer(), sa.ForeignKey("challenges.id"), nullable=False, index=True),
        sa.Column("round_number", sa.Integer(), nullable=False),
        sa.Column("factory", sa.String(200), nullable=False),
        sa.Column("account", sa.String(64), nullable=False, index=True),
        sa.Column("gpu_minutes", sa.BigInteger(), nullable=False),
        sa.Column("report_seq", sa.BigInteger(), nullable=False),
        sa.Column("report_leaf_hash", sa.String(64), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("challenge_id", "round_number", "factory"),
    )


def downgrade() -> None:
    op.drop_table("compute_grants")
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("hardware")
    with op.batch_alter_table("images") as batch:
        batch.drop_column("architecture")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_site_id")
        batch.drop_constraint("fk_jobs_site_id", type_="foreignkey")
        batch.drop_column("site_id")
    op.drop_table("sites")
