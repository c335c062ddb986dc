"""public/private split of hidden sets, and the Ladder's released scores

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("challenges") as batch:
        batch.add_column(sa.Column("public_fraction", sa.Float(), nullable=False, server_default="0.3"))
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("released", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("released_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("item_scores", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        for column in ("item_scores", "released_score", "released"):
            batch.drop_column(column)
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("public_fraction")
