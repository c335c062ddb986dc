"""tenancy: administrators, co-organisers of a challenge, the organiser that created a team

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "administrators",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "challenge_organisers",
        sa.Column("challenge_id", sa.Integer(), sa.ForeignKey("challenges.id"), primary_key=True),
        sa.Column("organiser_id", sa.Integer(), sa.ForeignKey("organisers.id"), primary_key=True),
        sa.Column("added_at", sa.DateTime(), nullable=False),
    )
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("administrator_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_tokens_administrator", "administrators", ["administrator_id"], ["id"])
    with op.batch_alter_table("teams") as batch:
        batch.add_column(sa.Column("created_by", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_teams_created_by", "organisers", ["created_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("teams") as batch:
        batch.drop_constraint("fk_teams_created_by", type_="foreignkey")
        batch.drop_column("created_by")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_constraint("fk_tokens_administrator", type_="foreignkey")
        batch.drop_column("administrator_id")
    op.drop_table("challenge_organisers")
    op.drop_table("administrators")
