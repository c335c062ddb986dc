"""sample runs (on the public sample set) and container logs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=10), nullable=False, server_default="hidden"))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("log", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("log")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("kind")
