"""The public log: challenge openings (with the hidden set's commitment root), submission
receipts, results and round closings. Append-only; every entry is canonical JSON (RFC 8785 since
format `"v": 2`) naming the hash of the entry before it, signed with the platform's Ed25519 key;
the entries are the leaves of an RFC 9162 Merkle tree whose nodes are stored as entries are
appended (see arena.services.logtree for checkpoints, tiles and proofs). An entry is written in
the same transaction as the action it records."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import func, select, text

from arena.db import advisory_lock
from arena.models import LogEntry, LogNode
from arena.runtime import Platform
from arena.signing import FORMAT, canonical_bytes, key_statement, loads
from arena.timeutil import iso, utcnow
from arena.tlog import completed_nodes, needed
from hidden_sets import leaf_hash

GENESIS = "0" * 64
SUBJECT_KINDS = ("submission.receipt", "result", "method_card")
COMMITTING_KINDS = ("challenge.open", "hidden_set.version")


def _certified(session) -> str | None:
    """The commitment key the latest certificate in the log names, if any."""
    query = select(LogEntry.body).where(LogEntry.kind.in_(COMMITTING_KINDS)).order_by(LogEntry.seq.desc())
    for body in session.scalars(query):
        certificate = loads(body)["data"].get("commitment_key")
        if certificate:
            return certificate["public_key"]
    return None


def _commitment_key_certificate(platform: Platform, session) -> dict | None:
    """For the first commitment signed by a new commitment key: the key's certificate, carried in
    the entry that records the commitment (so signed, as every entry, by the log's key): the key
    statement signed by the new key and by the key that signed commitments before it (the log's
    own key, the first time). None when the key is already certified."""
    new = platform.commitment_signer
    assert new is not None  # append asks only where there is a commitment signer
    previous = _certified(session)
    if previous == new.public_key:
        return None
    previous = previous or platform.signer.public_key
    statement = key_statement(role="commitments", public_key=new.public_key, previous=previous)
    by_previous = platform.signer.sign(statement) if previous == platform.signer.public_key else None
    return {
        "role": "commitments",
        "public_key": new.public_key,
        "key_id": new.key_id,
        "previous": previous,
        "signature": new.sign(statement),
        "previous_signature": by_previous,
    }


def append(platform: Platform, session, *, kind: str, challenge: str | None, data: dict) -> dict:
    """Add an entry; returns it as published (body, signature). Concurrent appends serialise on
    the log's advisory lock (PostgreSQL) or the single writer (SQLite), so no two get one number.
    An entry's time is never before the previous entry's (a clock stepping back is held level)."""
    advisory_lock(session, "log")
    if kind in COMMITTING_KINDS and platform.commitment_signer is not None:
        certificate = _commitment_key_certificate(platform, session)
        data = {**data, "commitment_key": certificate} if certificate else data
    last = session.scalars(select(LogEntry).order_by(LogEntry.seq.desc()).limit(1)).first()
    at = iso(utcnow())
    if last is not None:
        at = max(at, loads(last.body)["at"])
    body: dict[str, Any] = {
        "v": FORMAT,
        "seq": (last.seq + 1) if last else 0,
        "kind": kind,
        "challenge": challenge,
        "at": at,
        "prev": last.leaf_hash if last else GENESIS,
        "data": data,
    }
    raw = canonical_bytes(body)
    leaf = leaf_hash(raw)
    entry = LogEntry(
        seq=body["seq"],
        kind=kind,
        challenge=challenge,
        body=raw.decode(),
        leaf_hash=leaf.hex(),
        signature=platform.signer.sign(body),
        subject=data.get("submission") if kind in SUBJECT_KINDS else None,
    )
    session.add(entry)
    _store_nodes(session, body["seq"], leaf)
    session.flush()
    return entry_document(entry)


def _store_nodes(session, seq: int, leaf: bytes) -> None:
    known = fetch_nodes(session, needed(lambda at: completed_nodes(seq, leaf, at)))
    for level, index, digest in completed_nodes(seq, leaf, lambda lv, i: known[(lv, i)]):
        session.add(LogNode(level=level, index=index, hash=digest))


def fetch_nodes(session, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored nodes named, in one query on the primary key. (Written as SQL text: building
    the same OR expression with SQLAlchemy's constructs costs more than the query itself.)"""
    if not wanted:
        return {}
    pairs = sorted(wanted)
    where = " OR ".join(f"(level = :l{n} AND idx = :i{n})" for n in range(len(pairs)))
    params = {k: v for n, (level, index) in enumerate(pairs) for k, v in ((f"l{n}", level), (f"i{n}", index))}
    rows = session.execute(text(f"SELECT level, idx, hash FROM log_nodes WHERE {where}"), params)
    return {(level, index): bytes(digest) for level, index, digest in rows}


def entry_document(entry: LogEntry) -> dict:
    """A log entry as the log serves it: its body, leaf hash and signature."""
    return {"body": loads(entry.body), "leaf_hash": entry.leaf_hash, "signature": entry.signature}


def entries(platform: Platform, *, challenge: str | None = None, start: int = 0, limit: int = 1000) -> list[dict]:
    if challenge is not None and "\x00" in challenge:
        return []  # no challenge's slug holds a NUL, which PostgreSQL cannot even compare
    with platform.sessions() as session:
        query = select(LogEntry).where(LogEntry.seq >= start).order_by(LogEntry.seq).limit(limit)
        if challenge is not None:
            query = query.where(LogEntry.challenge == challenge)
        return [entry_document(e) for e in session.scalars(query)]


def about(platform: Platform, *, submission: str) -> list[dict]:
    """The receipt, results and method cards logged for one submission, in order."""
    with platform.sessions() as session:
        query = select(LogEntry).where(LogEntry.subject == submission).order_by(LogEntry.seq)
        return [entry_document(e) for e in session.scalars(query)]


def size(platform: Platform, session=None) -> int:
    if session is None:
        with platform.sessions() as session:
            return size(platform, session)
    last = session.scalar(select(func.max(LogEntry.seq)))
    return 0 if last is None else last + 1


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

    return hmac.new(
        platform.signer.derive("item-scores-salt"), f"{submission_id}/{split}".encode(), hashlib.sha256
    ).digest()
