"""The log's tree as the transparency-log ecosystem serves it: C2SP checkpoints signed by the log
and cosigned by witnesses, tlog-tiles, and RFC 9162 inclusion and consistency proofs. Every read
costs O(log n) stored nodes (or one tile), never a pass over the whole log."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from arena.errors import BadRequest, Forbidden, NotFound
from arena.models import LogCosignature, LogEntry, LogNode
from arena.runtime import Platform
from arena.services.publiclog import fetch_nodes, size
from arena.timeutil import iso, utcnow
from arena.tlog import (
    COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    NoteKey,
    Signature,
    bundle,
    consistency_proof,
    inclusion_proof,
    needed,
    parse_checkpoint,
    parse_vkey,
    root,
    sign_line,
    signed_by,
    split_note,
    tile_width,
    valid_signature,
)
from arena.tlog import TILE_WIDTH as WIDTH


def log_key(platform: Platform) -> NoteKey:
    return NoteKey(name=platform.settings.log_origin, public=platform.signer.public_bytes)


def log_vkey(platform: Platform) -> str:
    return log_key(platform).vkey


def witness_keys(platform: Platform) -> list[NoteKey]:
    keys = [parse_vkey(text) for text in platform.settings.witness_keys]
    return [k for k in keys if k.alg == COSIGNATURE_V1]


def _computed(session, compute: Callable):
    """Run `compute(hash_at)` over the stored nodes, fetching the ones it reads in one go."""
    known = fetch_nodes(session, needed(compute))
    return compute(lambda level, index: known[(level, index)])


def _size(session, platform: Platform, wanted: int | None) -> int:
    current = size(platform, session)
    if wanted is None:
        return current
    if not 0 <= wanted <= current:
        raise BadRequest(f"the log holds {current} entries; no tree of size {wanted}")
    return wanted


def _memo(platform: Platform, name: str) -> dict:
    """A per-process cache of values fixed forever once the log has reached a size (roots, signed
    checkpoints): the log is append-only, so they never go stale. Bounded."""
    cache = platform.memo.setdefault(name, {})
    if len(cache) > 4096:
        cache.clear()
    return cache


def root_at(platform: Platform, tree_size: int | None = None) -> tuple[int, bytes]:
    with platform.sessions() as session:
        tree_size = _size(session, platform, tree_size)
        roots = _memo(platform, "log-roots")
        if tree_size not in roots:
            roots[tree_size] = _computed(session, lambda at: root(at, tree_size))
        return tree_size, roots[tree_size]


def checkpoint(platform: Platform, *, size: int | None = None, cosigned: bool = True) -> str:
    """The signed checkpoint note of the log at `size` (default: now), with the cosignatures
    collected for it."""
    tree_size, digest = root_at(platform, size)
    notes = _memo(platform, "log-checkpoints")
    if (tree_size, digest) not in notes:
        text = Checkpoint(origin=platform.settings.log_origin, size=tree_size, root=digest).text
        notes[(tree_size, digest)] = text + "\n" + sign_line(text, platform.settings.log_origin, platform.signer.key)
    note = notes[(tree_size, digest)]
    return note + ("".join(_cosignature_lines(platform, tree_size)) if cosigned else "")


def _cosignature_lines(platform: Platform, tree_size: int) -> list[str]:
    with platform.sessions() as session:
        query = select(LogCosignature.line).where(LogCosignature.size == tree_size).order_by(LogCosignature.id)
        return list(session.scalars(query))


def tree_head(platform: Platform, tree_size: int | None = None) -> dict:
    """The JSON tree head (`arena.log-tree-head/v1`, kept for existing clients), signed."""
    tree_size, digest = root_at(platform, tree_size)
    head = {"v": 2, "type": "arena.log-tree-head/v1", "size": tree_size, "root": digest.hex(), "at": iso(utcnow())}
    return {"head": head, "signature": platform.signer.sign(head), "public_key": platform.signer.public_key}


def inclusion(platform: Platform, *, seq: int, tree_size: int | None = None) -> dict:
    with platform.sessions() as session:
        tree_size = _size(session, platform, tree_size)
        if not 0 <= seq < tree_size:
            raise BadRequest(f"entry {seq} is not in the tree of size {tree_size}")
        proof = _computed(session, lambda at: inclusion_proof(at, seq, tree_size))
        leaf = session.get(LogEntry, seq).leaf_hash
    return {
        "seq": seq,
        "size": tree_size,
        "leaf_hash": leaf,
        "proof": [p.hex() for p in proof],
        "checkpoint": checkpoint(platform, size=tree_size),
    }


def consistency(platform: Platform, *, old: int, new: int | None = None) -> dict:
    with platform.sessions() as session:
        new = _size(session, platform, new)
        if not 0 <= old <= new:
            raise BadRequest(f"no consistency proof from size {old} to size {new}")
        proof = _computed(session, lambda at: consistency_proof(at, old, new))
    return {
        "from": old,
        "to": new,
        "proof": [p.hex() for p in proof],
        "old_checkpoint": checkpoint(platform, size=old),
        "new_checkpoint": checkpoint(platform, size=new),
    }


def tile(platform: Platform, *, level: int, index: int, width: int) -> bytes:
    """Tile (level, index) of the given width: hashes of tree level 8 * level (c2sp.org/tlog-tiles)."""
    with platform.sessions() as session:
        if tile_width(size(platform, session), level, index) < width:
            raise NotFound("no such tile yet")
        first = index * WIDTH
        rows = session.execute(
            select(LogNode.hash)
            .where(LogNode.level == 8 * level, LogNode.index >= first, LogNode.index < first + width)
            .order_by(LogNode.index)
        )
        return b"".join(bytes(h) for (h,) in rows)


def entry_bundle(platform: Platform, *, index: int, width: int) -> bytes:
    """Entries [256 index, 256 index + width) as a tlog-tiles entry bundle of their canonical bytes."""
    with platform.sessions() as session:
        if tile_width(size(platform, session), 0, index) < width:
            raise NotFound("no such entry bundle yet")
        first = index * WIDTH
        bodies = session.scalars(
            select(LogEntry.body).where(LogEntry.seq >= first, LogEntry.seq < first + width).order_by(LogEntry.seq)
        )
        try:
            return bundle(body.encode() for body in bodies)
        except ValueError as error:
            raise BadRequest(f"{error}; get the entries from /api/log") from None


def add_cosignatures(platform: Platform, *, note: str) -> dict:
    """Collect a witness's cosignature on one of this log's checkpoints: the note must be the
    log's own signed checkpoint of a size it has had, cosigned by a configured witness."""
    try:
        text, signatures = split_note(note)
        point = parse_checkpoint(text)
    except NoteError as error:
        raise BadRequest(str(error)) from None
    if signed_by(text, signatures, log_key(platform)) is None or point.origin != platform.settings.log_origin:
        raise BadRequest("the note is not a checkpoint signed by this log")
    if point.size > size(platform) or root_at(platform, point.size)[1] != point.root:
        raise BadRequest("the checkpoint's root is not this log's root at that size")
    accepted = []
    for key in witness_keys(platform):
        found = valid_signature(text, signatures, key)
        if found is not None:
            accepted.append(_store(platform, point.size, key, *found))
    if not accepted:
        raise Forbidden("no valid cosignature by a witness this platform knows (ARENA_WITNESS_KEYS)")
    return {"size": point.size, "witnesses": accepted}


def _store(platform: Platform, tree_size: int, key: NoteKey, signature: Signature, timestamp: int) -> str:
    try:
        with platform.transaction() as session:
            session.add(
                LogCosignature(
                    size=tree_size, key_id=key.key_id.hex(), witness=key.name, line=signature.line, timestamp=timestamp
                )
            )
    except IntegrityError:
        pass  # this witness already cosigned this size
    return key.name


def cosigned_checkpoints(platform: Platform, *, up_to: int | None = None) -> list[str]:
    """For each configured witness, the largest checkpoint (at most `up_to`) it cosigned, as a
    note carrying the log's signature and every cosignature collected for that size."""
    with platform.sessions() as session:
        query = select(LogCosignature.key_id, LogCosignature.size)
        if up_to is not None:
            query = query.where(LogCosignature.size <= up_to)
        latest: dict[str, int] = {}
        for key_id, tree_size in session.execute(query):
            latest[key_id] = max(tree_size, latest.get(key_id, 0))
    return [checkpoint(platform, size=s) for s in sorted(set(latest.values()))]


def public_keys(platform: Platform) -> dict:
    """The keys anyone needs to check the log: served at /.well-known/arena-keys.json."""
    return {
        "log": {
            "origin": platform.settings.log_origin,
            "vkey": log_vkey(platform),
            "public_key": platform.signer.public_key,
            "key_id": platform.signer.key_id,
        },
        "commitments": {
            "public_key": platform.commitments_signer.public_key,
            "key_id": platform.commitments_signer.key_id,
        },
        "witnesses": [k.vkey for k in witness_keys(platform)],
        "algorithm": "Ed25519",
        "canonical_json": 'RFC 8785 (statements with "v": 2)',
    }
