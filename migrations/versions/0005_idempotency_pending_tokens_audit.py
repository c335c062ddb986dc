"""idempotent submissions, a cap on pending submissions, token expiry, the audit trail

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(length=100), nullable=True))
        batch.create_unique_constraint("uq_submissions_team_idempotency", ["team_id", "idempotency_key"])
    with op.batch_alter_table("challenges") as batch:
        batch.add_column(sa.Column("max_pending", sa.Integer(), nullable=False, server_default="3"))
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("label", sa.String(length=100), nullable=True))
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=250), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target", sa.String(length=250), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_table("audit_events")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("label")
        batch.drop_column("expires_at")
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("max_pending")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_constraint("uq_submissions_team_idempotency", type_="unique")
        batch.drop_column("idempotency_key")
