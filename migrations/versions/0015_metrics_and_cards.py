"""secondary metrics on boards, and method cards on submissions

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("challenges") as batch:
        batch.add_column(sa.Column("secondary_metrics", sa.JSON(), nullable=True))
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("secondary", sa.JSON(), nullable=True))
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("method_card", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("method_card")
    with op.batch_alter_table("results") as batch:
        batch.drop_column("secondary")
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("secondary_metrics")
