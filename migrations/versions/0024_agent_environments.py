"""agent challenges: a challenge's declared environment, a job's trajectory

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("challenges") as batch:
        batch.add_column(sa.Column("environment", sa.JSON(), nullable=True))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("trajectory", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("trajectory")
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("environment")
