"""scoring containers: a challenge's scorer, organisers' uploads, the scorer's log; slices

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("challenges") as batch:
        batch.add_column(sa.Column("scorer", sa.JSON(), nullable=True))
    with op.batch_alter_table("uploads") as batch:
        batch.add_column(sa.Column("organiser_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_uploads_organiser_id_organisers", "organisers", ["organiser_id"], ["id"])
        batch.alter_column("team_id", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("scorer_log", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("slices", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        batch.drop_column("slices")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("scorer_log")
    op.execute("DELETE FROM uploads WHERE team_id IS NULL")
    with op.batch_alter_table("uploads") as batch:
        batch.alter_column("team_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint("fk_uploads_organiser_id_organisers", type_="foreignkey")
        batch.drop_column("organiser_id")
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("scorer")
