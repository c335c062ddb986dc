"""binary assets in hidden sets, and the interactive protocol

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("challenges") as batch:
        batch.add_column(sa.Column("protocol", sa.String(16), nullable=False, server_default="batch"))
    with op.batch_alter_table("hidden_sets") as batch:
        batch.add_column(sa.Column("n_assets", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("assets_bytes", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("hidden_sets") as batch:
        batch.drop_column("assets_bytes")
        batch.drop_column("n_assets")
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("protocol")
