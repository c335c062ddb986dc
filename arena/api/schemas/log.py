"""The public log: entries, the signed tree head, proofs, cosignatures and the export for `arena verify`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import MISSING, Field

from arena.api.schemas._base import Closed, Hex64, Timestamp
from arena.api.schemas.boards import Commitment, Leaderboard


class LogEntryBody(Closed):
    v: Literal[2] | MISSING = Field(default=MISSING, description="format 2: RFC 8785 bytes; absent before")
    seq: int = Field(ge=0)
    kind: str
    challenge: str | None
    at: Timestamp
    prev: str = Field(description="leaf hash of the entry before (64 zeros first)")
    data: dict[str, Any]


class LogEntry(Closed):
    body: LogEntryBody
    leaf_hash: str = Field(description="SHA-256(0x00 || canonical bytes of body), hex")
    signature: str = Field(description="Ed25519 over the canonical bytes of body, base64")


class LogEntries(Closed):
    size: int
    entries: list[LogEntry]


class TreeHeadHead(Closed):
    v: Literal[2]
    type: str
    size: int
    root: str
    at: Timestamp


class TreeHead(Closed):
    head: TreeHeadHead
    signature: str
    public_key: str


class LogExport(Closed):
    format: Literal["arena.log-export/v2"]
    challenge: str
    public_key: str
    log_key: str = Field(description="the log's C2SP verifier key")
    entries: list[LogEntry]
    tree_head: TreeHead
    checkpoint: str = Field(description="the signed checkpoint note of these entries")
    cosigned: list[str] = Field(description="cosigned checkpoint notes")
    commitments: list[Commitment]
    leaderboard: Leaderboard


class InclusionProof(Closed):
    seq: int
    size: int
    leaf_hash: Hex64
    proof: list[Hex64]
    checkpoint: str


class ConsistencyProof(Closed):
    from_: int = Field(alias="from")
    to: int
    proof: list[Hex64]
    old_checkpoint: str
    new_checkpoint: str


class CosignaturesKept(Closed):
    size: int
    witnesses: list[str]


class CosignedCheckpoints(Closed):
    checkpoints: list[str]
