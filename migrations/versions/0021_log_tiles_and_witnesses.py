"""the log's stored tree nodes (tiles, proofs), witnesses' cosignatures, entries by submission

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02
"""

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

SUBJECT_KINDS = ("submission.receipt", "result", "method_card")


def completed_nodes(index, leaf, hash_at):
    """As arena.tlog.completed_nodes, frozen here: the leaf and each subtree it completes."""
    nodes, digest, level, i = [(0, index, leaf)], leaf, 0, index
    while i & 1:
        digest = hashlib.sha256(b"\x01" + hash_at(level, i - 1) + digest).digest()
        level, i = level + 1, i >> 1
        nodes.append((level, i, digest))
    return nodes


def upgrade() -> None:
    nodes = op.create_table(
        "log_nodes",
        sa.Column("level", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "log_cosignatures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False, index=True),
        sa.Column("key_id", sa.String(8), nullable=False),
        sa.Column("witness", sa.String(200), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("size", "key_id"),
    )
    with op.batch_alter_table("log_entries") as batch:
        batch.add_column(sa.Column("subject", sa.String(64), nullable=True))
        batch.create_index("ix_log_entries_subject", ["subject"])
    _backfill(nodes)


def _backfill(nodes: sa.Table) -> None:
    """Store the tree nodes of the entries already logged, and each entry's subject."""
    bind = op.get_bind()
    entries = sa.table(
        "log_entries",
        sa.column("seq"),
        sa.column("kind"),
        sa.column("body"),
        sa.column("leaf_hash"),
        sa.column("subject"),
    )
    stored: dict[tuple[int, int], bytes] = {}
    for seq, kind, body, leaf in bind.execute(
        sa.select(entries.c.seq, entries.c.kind, entries.c.body, entries.c.leaf_hash).order_by(entries.c.seq)
    ):
        for level, index, digest in completed_nodes(seq, bytes.fromhex(leaf), lambda lv, i: stored[(lv, i)]):
            stored[(level, index)] = digest
        if kind in SUBJECT_KINDS:
            subject = json.loads(body)["data"].get("submission")
            bind.execute(entries.update().where(entries.c.seq == seq).values(subject=subject))
    if stored:
        op.bulk_insert(nodes, [{"level": lv, "idx": i, "hash": h} for (lv, i), h in stored.items()])


def downgrade() -> None:
    with op.batch_alter_table("log_entries") as batch:
        batch.drop_index("ix_log_entries_subject")
        batch.drop_column("subject")
    op.drop_table("log_cosignatures")
    op.drop_table("log_nodes")
