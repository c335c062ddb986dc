"""Transparency-log formats, free of storage and the web: C2SP signed notes, checkpoints,
cosignatures and tiles, and RFC 9162 proofs over stored tree nodes."""

from arena.tlog._note import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    NoteError,
    NoteKey,
    Signature,
    cosign_line,
    note_key,
    open_checkpoint,
    parse_checkpoint,
    parse_vkey,
    sign_line,
    signed_by,
    split_note,
    valid_signature,
)
from arena.tlog._tree import (
    EMPTY_ROOT,
    TILE_WIDTH,
    MemoryTree,
    bundle,
    completed_nodes,
    consistency_proof,
    inclusion_proof,
    needed,
    parse_tile_path,
    root,
    tile_path,
    tile_width,
    unbundle,
)

__all__ = [
    "COSIGNATURE_V1", "ED25519", "EMPTY_ROOT", "TILE_WIDTH", "Checkpoint", "MemoryTree", "NoteError",
    "NoteKey", "Signature", "bundle", "completed_nodes", "consistency_proof", "cosign_line",
    "inclusion_proof", "needed", "note_key", "open_checkpoint", "parse_checkpoint", "parse_tile_path",
    "parse_vkey", "root", "sign_line", "signed_by", "split_note", "tile_path", "tile_width", "unbundle",
    "valid_signature",
]
