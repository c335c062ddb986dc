"""The public log: challenge openings (with the hidden set's commitment root), submission
receipts, results and, later, round closings. Append-only; every entry is canonical JSON naming
the hash of the entry before it, signed with the platform's Ed25519 key; the entries are the
leaves of an RFC 6962 Merkle tree whose signed head anyone can fetch. An entry is written in the
same transaction as the action it records."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import func, select

from arena.db import advisory_lock
from arena.models import LogEntry
from arena.platform import Platform
from arena.timeutil import iso, utcnow
from hidden_sets import TreeBuilder
from hidden_sets._commitment import canonical_json
from hidden_sets._merkle import leaf_hash

GENESIS = "0" * 64


def append(platform: Platform, session, *, kind: str, challenge: str | None, data: dict) -> dict:
    """Add an entry; returns it as published (body, signature). Concurrent appends serialise on
    the log's advisory lock (PostgreSQL) or the single writer (SQLite), so no two get one number."""
    advisory_lock(session, "log")
    last = session.scalars(select(LogEntry).order_by(LogEntry.seq.desc()).limit(1)).first()
    body = {"seq": (last.seq + 1) if last else 0, "kind": kind, "challenge": challenge,
            "at": iso(utcnow()), "prev": last.leaf_hash if last else GENESIS, "data": data}
    raw = canonical_json(body)
    entry = LogEntry(seq=body["seq"], kind=kind, challenge=challenge, body=raw.decode(),
                     leaf_hash=leaf_hash(raw).hex(), signature=platform.signer.sign(body))
    session.add(entry)
    session.flush()
    return published(entry)


def published(entry: LogEntry) -> dict:
    return {"body": json.loads(entry.body), "leaf_hash": entry.leaf_hash, "signature": entry.signature}


def tree_head(platform: Platform, leaf_hashes: list[str] | None = None) -> dict:
    """The signed head over all entries (or over the given leaf hashes, for a consistent export)."""
    if leaf_hashes is None:
        with platform.sessions() as session:
            leaf_hashes = list(session.scalars(select(LogEntry.leaf_hash).order_by(LogEntry.seq)))
    builder = TreeBuilder()
    for digest in leaf_hashes:
        builder.add(bytes.fromhex(digest))
    head = {"type": "arena.log-tree-head/v1", "size": builder.size, "root": builder.root().hex(),
            "at": iso(utcnow())}
    return {"head": head, "signature": platform.signer.sign(head), "public_key": platform.signer.public_key}


def entries(platform: Platform, *, challenge: str | None = None, start: int = 0, limit: int = 1000) -> list[dict]:
    with platform.sessions() as session:
        query = select(LogEntry).where(LogEntry.seq >= start).order_by(LogEntry.seq).limit(limit)
        if challenge is not None:
            query = query.where(LogEntry.challenge == challenge)
        return [published(e) for e in session.scalars(query)]


def size(platform: Platform) -> int:
    with platform.sessions() as session:
        return session.scalar(select(func.count(LogEntry.seq))) or 0


def export(platform: Platform, *, challenge: str) -> dict:
    """Everything `arena verify` needs, offline: the whole chain (other challenges' entries too, so
    the chain and tree can be checked), the signed tree head, the public key, and the board. All
    from one read of the log, so entries logged meanwhile cannot make a genuine export disagree."""
    from arena.services.leaderboard import leaderboard

    everything = entries(platform, limit=10**9)
    board = leaderboard(platform, slug=challenge,
                        log_entries=[e for e in everything if e["body"]["challenge"] == challenge])
    return {"format": "arena.log-export/v1", "challenge": challenge, "public_key": platform.signer.public_key,
            "entries": everything, "tree_head": tree_head(platform, [e["leaf_hash"] for e in everything]),
            "leaderboard": board}


def scores_digest(values, *, salt: bytes = b"") -> str:
    """SHA-256 of the salt, then the per-item score vector (float64, little-endian), in the hidden
    set's order. Results are salted (`scores_salt`): unsalted, a small split's 0/1 vector could be
    found by trying every one."""
    import numpy as np

    return hashlib.sha256(salt + np.asarray(values, dtype="<f8").tobytes()).hexdigest()


def scores_salt(platform: Platform, *, submission_id: str, split: str) -> bytes:
    """The secret salt of one result's digest: 32 bytes derived from the platform's key, so it is
    stored nowhere and can be disclosed for one result without disclosing any other."""
    import hmac

    return hmac.new(platform.signer.derive("item-scores-salt"), f"{submission_id}/{split}".encode(),
                    hashlib.sha256).digest()
