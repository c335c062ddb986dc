"""Checking a log export offline: entries (format, signature, hash, chain, times, roots), the
signed head and checkpoint, witnesses' cosignatures, a remembered checkpoint, and kept receipts.
Pure functions of documents; `arena verify` (arena.cli.verify) prints what they find."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

from arena.signing import FORMAT, canonical_bytes, key_id, key_statement, verify_statement
from arena.tlog import (
    MemoryTree,
    NoteError,
    NoteKey,
    inclusion_proof,
    open_checkpoint,
    parse_vkey,
    signed_by,
)
from hidden_sets import leaf_hash, verify_inclusion

KINDS = (
    "challenge.open",
    "hidden_set.version",
    "submission.receipt",
    "result",
    "method_card",
    "round.report",
    "rounds.add",
    "challenge.scorer",
)
BODY_KEYS = {"seq", "kind", "challenge", "at", "prev", "data"}
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
HEAD_TYPE = "arena.log-tree-head/v1"


@dataclass
class Log:
    """What the entry checks learn, for the checks after them."""

    entries: list[dict]
    tree: MemoryTree = field(default_factory=MemoryTree)
    witnessed: int = 0  # the largest size K witnesses cosigned (0: none asked or found)
    roots: dict[str, set] = field(default_factory=dict)  # commitment roots logged, by challenge
    commitment_keys: dict[str, str] = field(default_factory=dict)  # key id → key, certified by log.key


def _shape_problem(entry: dict, index: int) -> str | None:
    body = entry.get("body")
    if not isinstance(body, dict) or set(body) - {"v"} != BODY_KEYS or body.get("v", FORMAT) != FORMAT:
        return f"entry {index}: not a log entry (fields seq, kind, challenge, at, prev, data; v 2 or none)"
    if body["kind"] not in KINDS or not isinstance(body["data"], dict):
        return f"entry {index}: unknown kind {str(body['kind'])[:40]!r}, or data that is not an object"
    if not isinstance(body["at"], str) or not TIME.match(body["at"]):
        return f"entry {index} ({body['kind']}): its time is not UTC ISO 8601 to the second"
    if not isinstance(entry.get("leaf_hash"), str) or not isinstance(entry.get("signature"), str):
        return f"entry {index} ({body['kind']}): no leaf_hash or signature"
    return None


def entry_problems(log: Log, public_key: str) -> list[str]:
    problems, previous, last_at, seen_v2, roots = [], "0" * 64, "", False, log.roots
    for index, entry in enumerate(log.entries):
        shape = _shape_problem(entry, index)
        if shape:
            problems.append(shape)
            log.tree.append(bytes(32))
            continue
        body = entry["body"]
        name = f"entry {index} ({body['kind']})"
        problems += _one_entry(entry, index, name, previous, public_key)
        if body["at"] < last_at:
            problems.append(f"{name}: written at {body['at']}, before the entry before it ({last_at})")
        if seen_v2 and "v" not in body:
            problems.append(f"{name}: in the old format after entries in format 2")
        problems += _root_problems(body, name, roots)
        if body["kind"] in ("challenge.open", "hidden_set.version") and "commitment_key" in body["data"]:
            problems += _key_problems(body["data"]["commitment_key"], name, log, public_key)
        previous, last_at, seen_v2 = entry["leaf_hash"], max(last_at, body["at"]), seen_v2 or "v" in body
        log.tree.append(_leaf(entry))
    return problems


def _leaf(entry: dict) -> bytes:
    try:
        return bytes.fromhex(entry["leaf_hash"])
    except ValueError:
        return bytes(32)


def _one_entry(entry: dict, index: int, name: str, previous: str, public_key: str) -> list[str]:
    body, problems = entry["body"], []
    if body["seq"] != index:
        problems.append(f"{name}: sequence number {body['seq']} where {index} was expected")
    try:
        if leaf_hash(canonical_bytes(body)).hex() != entry["leaf_hash"]:
            problems.append(f"{name}: its content does not match its hash")
    except ValueError:
        problems.append(f"{name}: its content cannot be put in canonical form")
    if body["prev"] != previous:
        problems.append(f"{name}: does not chain to the entry before it")
    if not verify_statement(public_key=public_key, statement=body, signature=entry["signature"]):
        problems.append(f"{name}: the signature does not verify")
    return problems


def _root_problems(body: dict, name: str, roots: dict[str, set]) -> list[str]:
    """A result must name a commitment root its challenge logged before it."""
    known = roots.setdefault(body["challenge"], set())
    if body["kind"] in ("challenge.open", "hidden_set.version"):
        known.add(body["data"].get("root"))
    elif body["kind"] == "result" and body["data"].get("hidden_set_root") not in known:
        return [f"{name}: its hidden_set_root was never logged by {body['challenge']}"]
    return []


def _key_problems(data: dict, name: str, log: Log, log_public_key: str) -> list[str]:
    """A commitment key's certificate: signed by the new key and by the key before it."""
    try:
        statement = key_statement(role=data["role"], public_key=data["public_key"], previous=data["previous"])
        new_ok = verify_statement(public_key=data["public_key"], statement=statement, signature=data["signature"])
        old_ok = verify_statement(
            public_key=data["previous"], statement=statement, signature=data.get("previous_signature") or ""
        )
    except (KeyError, TypeError, ValueError):
        return [f"{name}: not a key certificate (role, public_key, previous, signature, previous_signature)"]
    known = set(log.commitment_keys.values()) or {log_public_key}
    if data["role"] != "commitments" or not new_ok or not old_ok or data["previous"] not in known:
        return [f"{name}: the new {data['role']} key is not signed by itself and by the key before it"]
    log.commitment_keys[key_id(data["public_key"])] = data["public_key"]
    return []


def commitment_problems(document: dict, log: Log, public_key: str) -> list[str]:
    """Each commitment in the export is signed by the key it names (certified in the log; the
    log's key before separate keys) and commits to a root its challenge logged."""
    problems = []
    for commitment in document.get("commitments") or []:
        statement: dict[str, Any] = commitment.get("statement") or {}
        name = f"commitment v{statement.get('version')} of {statement.get('challenge')}"
        key = log.commitment_keys.get(statement["key_id"]) if "key_id" in statement else public_key
        if key is None or not verify_statement(
            public_key=key, statement=statement, signature=commitment.get("signature") or ""
        ):
            problems.append(f"{name}: not signed by a commitment key the log certified")
        if statement.get("root") not in log.roots.get(statement.get("challenge", ""), set()):
            problems.append(f"{name}: its root is not one the log holds for the challenge")
    return problems


def head_problems(document: dict, log: Log, public_key: str) -> list[str]:
    signed = document["tree_head"]
    head, problems = signed["head"], []
    if not isinstance(head, dict) or head.get("type") != HEAD_TYPE:
        return [f"the tree head is not an {HEAD_TYPE} head"]
    if not verify_statement(public_key=public_key, statement=head, signature=signed["signature"]):
        problems.append("the tree head's signature does not verify")
    if head["size"] != log.tree.size:
        problems.append(f"the tree head counts {head['size']} entries; the export holds {log.tree.size}")
    elif head["root"] != log.tree.root().hex():
        problems.append("the tree head's root is not the root of the exported entries")
    return problems


def log_key(document: dict, public_key: str) -> NoteKey | None:
    """The log's note key: the export's vkey, if it is for the public key trusted."""
    try:
        key = parse_vkey(document["log_key"])
    except (KeyError, NoteError, TypeError, AttributeError):
        return None
    return key if base64.b64encode(key.public).decode() == public_key else None


def checkpoint_problems(document: dict, log: Log, key: NoteKey | None) -> list[str]:
    if "checkpoint" not in document:
        return []  # an export of format v1
    if key is None:
        return ["the export's log key (vkey) is missing or not the public key you trust"]
    try:
        point, _ = open_checkpoint(document["checkpoint"], key)
    except NoteError as error:
        return [f"the checkpoint: {error}"]
    if point.size != log.tree.size or point.root != log.tree.root():
        return [f"the checkpoint (size {point.size}) is not the tree of the exported entries"]
    return []


def witness_problems(
    document: dict, log: Log, key: NoteKey | None, witnesses: list[NoteKey], minimum: int
) -> list[str]:
    """At least `minimum` of the trusted witnesses cosigned a checkpoint that this log extends."""
    if not minimum:
        return []
    if key is None:
        return ["the export's log key (vkey) is missing or not the public key you trust"]
    problems, sizes = [], []
    for witness in witnesses:
        size, problem = _witnessed_size(document.get("cosigned") or [], log, key, witness)
        problems += [problem] if problem else []
        sizes += [size] if size else []
    if len(sizes) < minimum:
        problems.append(f"only {len(sizes)} of the {minimum} witnesses required cosigned a checkpoint of this log")
    else:
        log.witnessed = sorted(sizes, reverse=True)[minimum - 1]
    return problems


def _witnessed_size(notes: list, log: Log, key: NoteKey, witness: NoteKey) -> tuple[int, str | None]:
    best = 0
    for note in notes:
        try:
            point, signatures = open_checkpoint(note, key)
        except (NoteError, TypeError, AttributeError):
            continue
        if signed_by(point.text, signatures, witness) is None:
            continue
        if point.size > log.tree.size or log.tree.root(point.size) != point.root:
            return 0, (
                f"witness {witness.name} cosigned a checkpoint of size {point.size} that this log does "
                "not extend: the log was rewritten, or others were shown another one"
            )
        best = max(best, point.size)
    return best, None


def state_problems(state: dict | None, log: Log) -> list[str]:
    """The log must extend the checkpoint remembered from the last verification."""
    if not state:
        return []
    size, root = int(state["size"]), bytes.fromhex(state["root"])
    if size > log.tree.size:
        return [
            f"the export holds {log.tree.size} entries, fewer than the {size} you verified before: "
            "it is stale or the log was cut"
        ]
    if log.tree.root(size) != root:
        return [
            f"the log does not extend the checkpoint you verified before (size {size}): its first "
            f"{size} entries changed"
        ]
    return []


def receipt_problems(kept: dict[str, dict], log: Log, public_key: str) -> list[str]:
    """Each kept receipt or result is in the log, proven by an inclusion proof against the
    witnessed checkpoint (or, without witnesses, the export's own tree)."""
    problems = []
    size = log.witnessed or log.tree.size
    for name, entry in sorted(kept.items()):
        problem = _kept_problem(name, entry, log, size, public_key)
        problems += [problem] if problem else []
    return problems


def _kept_problem(name: str, entry: dict, log: Log, size: int, public_key: str) -> str | None:
    try:
        body, seq = entry["body"], int(entry["body"]["seq"])
        leaf = leaf_hash(canonical_bytes(body))
    except (KeyError, TypeError, ValueError, AttributeError):
        return f"{name}: not a log entry as the platform gave it"
    if not verify_statement(public_key=public_key, statement=body, signature=entry.get("signature", "")):
        return f"{name}: its signature does not verify with the platform's key"
    if seq >= size:
        return (
            f"{name}: entry {seq} is not yet covered by a cosigned checkpoint (size {size})"
            if log.witnessed
            else f"{name}: entry {seq} is missing: the log holds {size} entries"
        )
    proof = inclusion_proof(log.tree.hash_at, seq, size)
    if not verify_inclusion(index=seq, tree_size=size, leaf=leaf, proof=proof, root=log.tree.root(size)):
        return f"{name}: entry {seq} is missing from the log: another entry stands at its place"
    return None
