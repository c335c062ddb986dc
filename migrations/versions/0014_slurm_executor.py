"""the Slurm executor: where a job ran, its scheduler id, and one-job node credentials

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("executor", sa.String(10), nullable=False, server_default="local"))
        batch.add_column(sa.Column("external_id", sa.String(40), nullable=True))
    op.create_table(
        "node_credentials",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("job_id", sa.String(40), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_node_credentials_job_id", "node_credentials", ["job_id"])


def downgrade() -> None:
    op.drop_index("ix_node_credentials_job_id", "node_credentials")
    op.drop_table("node_credentials")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("external_id")
        batch.drop_column("executor")
