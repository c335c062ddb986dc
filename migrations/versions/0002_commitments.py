"""hidden-set commitments and the root each result was scored against

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hidden_sets") as batch:
        batch.add_column(sa.Column("root", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("commitment", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("commitment_signature", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("revealed_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("hidden_set_root", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.drop_column("hidden_set_root")
    with op.batch_alter_table("hidden_sets") as batch:
        for column in ("revealed_at", "commitment_signature", "commitment", "root"):
            batch.drop_column(column)
