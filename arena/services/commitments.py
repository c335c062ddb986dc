"""Commitments to hidden sets: computed at ingest, published signed, revealed at the end.

Every item gets a random salt; its leaf is SHA-256 over the salt and the canonical JSON of
(id, input, label, and the SHA-256 of each binary asset it references); the leaves form an RFC 6962
tree whose root the platform signs and publishes.
The salts are kept encrypted beside the set, so that a reveal can later prove any item.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from arena.errors import BadRequest, Conflict, NotFound
from arena.files import private_folder, private_open
from arena.models import HiddenSet
from arena.runtime import Platform
from arena.services import assets, audit
from arena.services.lookups import get_challenge
from arena.signing import FORMAT
from arena.timeutil import iso, utcnow
from hidden_sets import DataKey, TreeBuilder, inclusion_proofs, item_json, item_leaf, references

STATEMENT_TYPE = "arena.hidden-set-commitment/v1"


def _read_jsonl(path: Path) -> Iterator[dict]:
    with path.open("rb") as handle:
        for raw in handle:
            if raw.strip():
                yield json.loads(raw)


def item_assets(item_input, asset_hashes: dict[str, str]) -> dict[str, str] | None:
    """{name: SHA-256 hex} of the assets an item references (None when it references none)."""
    return {name: asset_hashes[name] for name in sorted(references(item_input))} or None


def commit_files(
    platform: Platform,
    *,
    inputs: Path,
    labels: Path,
    set_id: str,
    data_key: DataKey,
    scratch: Path,
    asset_hashes: dict[str, str] | None = None,
) -> tuple[str, int]:
    """Salt every item, store the salts encrypted, return (root hex, number of items).

    Labels are held in memory for the join; inputs stream past. An item's leaf covers the hashes
    of the assets it references.
    """
    gold = {row["id"]: row["label"] for row in _read_jsonl(labels)}
    builder, salts_path = TreeBuilder(), scratch / "salts.jsonl"
    with salts_path.open("w") as salts:
        for row in _read_jsonl(inputs):
            salt = secrets.token_bytes(32)
            assets = item_assets(row["input"], asset_hashes or {})
            builder.add(item_leaf(salt, item_json(row["id"], row["input"], gold[row["id"]], assets)))
            salts.write(json.dumps({"id": row["id"], "salt": salt.hex()}) + "\n")
    platform.hidden_sets.put(set_id=set_id, role="salts", source=salts_path, data_key=data_key)
    salts_path.unlink()
    return builder.root().hex(), builder.size


def statement(*, slug: str, hidden: HiddenSet, root: str, key_id: str) -> dict:
    return {
        "v": FORMAT,
        "type": STATEMENT_TYPE,
        "key_id": key_id,
        "challenge": slug,
        "hidden_set": hidden.id,
        "version": hidden.version,
        "n_items": hidden.n_items,
        "root": root,
        "tree": "RFC 6962 SHA-256",
        "leaf": (
            "SHA-256(0x00 || salt (32 bytes) || canonical JSON of {id, input, label}, with "
            "assets: {path: SHA-256 hex} for an item that references binary assets)"
        ),
        "n_assets": hidden.n_assets,
        "committed_at": iso(hidden.created_at),
    }


def sign_commitment(platform: Platform, *, slug: str, hidden: HiddenSet, root: str) -> None:
    hidden.root = root
    signer = platform.commitments_signer
    hidden.commitment = statement(slug=slug, hidden=hidden, root=root, key_id=signer.key_id)
    hidden.commitment_signature = signer.sign(hidden.commitment)


def public_key_of(platform: Platform, commitment: dict | None) -> str:
    """The key a commitment was signed with: the commitment key it names, or (before separate
    keys) the log's."""
    signer = platform.commitments_signer
    if commitment and commitment.get("key_id") == signer.key_id:
        return signer.public_key
    return platform.signer.public_key


def commitment_document(platform: Platform, hidden: HiddenSet) -> dict:
    """A hidden-set version's commitment as it is shown: the statement, its signature and key."""
    return {
        "version": hidden.version,
        "n_items": hidden.n_items,
        "root": hidden.root,
        "statement": hidden.commitment,
        "signature": hidden.commitment_signature,
        "public_key": public_key_of(platform, hidden.commitment),
        "revealed": hidden.revealed_at is not None,
    }


def signed_commitments(platform: Platform, *, slug: str) -> list[dict]:
    """Every hidden-set version's signed commitment of a challenge, oldest first."""
    with platform.sessions() as session:
        challenge = get_challenge(session, slug)
        query = select(HiddenSet).where(HiddenSet.challenge_id == challenge.id).order_by(HiddenSet.version)
        return [commitment_document(platform, hidden) for hidden in session.scalars(query)]


# -- reveal -----------------------------------------------------------------------------------------
def _decrypted_rows(platform: Platform, hidden: HiddenSet, key: DataKey, role: str) -> Iterator[dict]:
    for raw in platform.hidden_sets.iter_lines(set_id=hidden.id, role=role, data_key=key):
        if raw.strip():
            yield json.loads(raw)


def _hidden_set(session, challenge_id: int, version: int | None) -> HiddenSet:
    query = select(HiddenSet).where(HiddenSet.challenge_id == challenge_id)
    query = query.where(HiddenSet.version == version) if version else query.order_by(HiddenSet.version.desc())
    hidden = session.scalars(query.limit(1)).first()
    if hidden is None:
        raise BadRequest(f"this challenge has no hidden set version {version}")
    return hidden


def build_reveal(platform: Platform, hidden: HiddenSet, ids: list[str] | None) -> dict:
    key = platform.hidden_sets.open_data_key(
        key_id=hidden.data_key_id, master_key_id=hidden.master_key_id, wrapped=hidden.wrapped_key
    )
    gold = {row["id"]: row["label"] for row in _decrypted_rows(platform, hidden, key, "labels")}
    asset_hashes = assets.hashes(platform, hidden, key)
    salts = _decrypted_rows(platform, hidden, key, "salts")
    wanted = None if ids is None else set(ids)
    leaves: list[bytes] = []
    items: list[dict[str, Any]] = []
    for index, (row, salt_row) in enumerate(zip(_decrypted_rows(platform, hidden, key, "inputs"), salts, strict=False)):
        salt = bytes.fromhex(salt_row["salt"])
        data = item_json(row["id"], row["input"], gold[row["id"]], item_assets(row["input"], asset_hashes))
        leaves.append(item_leaf(salt, data))
        if wanted is None or row["id"] in wanted:
            items.append({"index": index, "salt": salt.hex(), "item": data.decode()})
    if wanted is not None and len(items) != len(wanted):
        raise BadRequest(f"{len(wanted) - len(items)} of the ids to reveal are not in this hidden set")
    if wanted is not None:
        proofs = inclusion_proofs(leaves, [i["index"] for i in items])
        for item in items:
            item["proof"] = [p.hex() for p in proofs[item["index"]]]
    return {
        "format": "arena.hidden-set-reveal/v1",
        "statement": hidden.commitment,
        "signature": hidden.commitment_signature,
        "public_key": public_key_of(platform, hidden.commitment),
        "complete": wanted is None,
        "items": items,
    }


def reveal_path(platform: Platform, hidden: HiddenSet) -> Path:
    return platform.settings.blob_dir / "reveals" / f"{hidden.id}.json"


def reveal(
    platform: Platform,
    *,
    slug: str,
    ids: list[str] | None,
    organiser_id: int | None = None,
    version: int | None = None,
    actor=None,
) -> dict:
    """Publish items with their salts (all, or the ids given) and inclusion proofs: the challenge's
    organisers (`actor`, or the organiser `organiser_id`) or the administrator."""
    from arena.services.tenancy import acting, run_challenge

    actor = acting(actor, organiser_id)
    with platform.transaction() as session:
        challenge = run_challenge(session, who=actor, slug=slug, what="reveal its hidden set")
        hidden = _hidden_set(session, challenge.id, version)
        path = reveal_path(platform, hidden)
        if hidden.revealed_at is not None and json.loads(path.read_text()).get("complete"):
            raise Conflict(f"version {hidden.version} is revealed in full already; nothing to add")
        document = build_reveal(platform, hidden, ids)
        private_folder(path.parent)
        partial = path.with_suffix(".partial")
        with private_open(partial) as out:
            out.write(json.dumps(document).encode())
        partial.replace(path)
        hidden.revealed_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="hidden_set.reveal",
            target=f"challenge:{slug}",
            detail={"version": hidden.version, "items": len(document["items"])},
        )
        return {
            "hidden_set": hidden.id,
            "version": hidden.version,
            "items": len(document["items"]),
            "complete": document["complete"],
        }


def reveal_file(platform: Platform, *, slug: str, version: int | None) -> Path:
    with platform.sessions() as session:
        challenge = get_challenge(session, slug)
        query = select(HiddenSet).where(HiddenSet.challenge_id == challenge.id, HiddenSet.revealed_at.is_not(None))
        if version is not None:
            query = query.where(HiddenSet.version == version)
        hidden = session.scalars(query.order_by(HiddenSet.version.desc()).limit(1)).first()
        if hidden is None:
            raise NotFound(
                f"the organiser of {slug!r} has not revealed {'that version of ' if version else ''}its hidden set"
            )
        return reveal_path(platform, hidden)
