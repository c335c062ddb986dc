"""at most one live (queued or running) job per submission

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

LIVE = "status IN ('queued', 'running')"


def upgrade() -> None:
    # A lapse re-queued twice (the race this revision closes) may have left two live jobs for one
    # submission: keep one, end the others, so the index can be made.
    op.execute(
        f"UPDATE jobs SET status = 'failed', outcome = 'duplicate_requeue' WHERE {LIVE} AND id NOT IN "
        f"(SELECT MIN(id) FROM jobs WHERE {LIVE} GROUP BY submission_id)"
    )
    op.create_index(
        "uq_jobs_one_live_per_submission",
        "jobs",
        ["submission_id"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    op.drop_index("uq_jobs_one_live_per_submission", table_name="jobs")
