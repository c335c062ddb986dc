"""The log's formats against their specifications: RFC 8785 bytes (published vectors), C2SP
signed notes, checkpoints, cosignatures and tiles, RFC 9162 proofs from stored nodes."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from arena.signing import canonical_bytes, loads, verify_statement
from arena.tlog import (
    COSIGNATURE_V1,
    Checkpoint,
    MemoryTree,
    NoteError,
    bundle,
    consistency_proof,
    cosign_line,
    inclusion_proof,
    note_key,
    open_checkpoint,
    parse_tile_path,
    parse_vkey,
    signed_by,
    split_note,
    tile_path,
    unbundle,
)
from hidden_sets import leaf_hash, root_of, verify_consistency, verify_inclusion

VECTORS = json.loads((Path(__file__).parents[3] / "verifiers" / "vectors.json").read_text())


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_rfc8785_vectors(vector):
    value = loads(vector["input"])
    assert canonical_bytes(value).decode() == vector["canonical"]
    assert canonical_bytes(loads(vector["canonical"])).decode() == vector["canonical"]  # stable


def test_the_signed_vector_entry_verifies():
    entry = VECTORS["signed_entry"]
    body = loads(entry["body_json"])
    assert canonical_bytes(body).decode() == entry["canonical"]
    assert leaf_hash(canonical_bytes(body)).hex() == entry["leaf_hash"]
    assert verify_statement(public_key=entry["public_key"], statement=body, signature=entry["signature"])
    body["data"]["score"] = 1.5
    assert not verify_statement(public_key=entry["public_key"], statement=body, signature=entry["signature"])


def test_old_statements_keep_their_python_form():
    old = {"score": 1.0, "p": 1e-07}
    assert canonical_bytes(old) == b'{"p":1e-07,"score":1.0}'
    assert canonical_bytes({**old, "v": 2}) == b'{"p":1e-7,"score":1,"v":2}'


def test_the_javascript_verifier_agrees_on_the_vectors():
    done = subprocess.run(
        ["node", "verifiers/js/vectors.test.mjs"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[3],
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_proofs_from_stored_nodes_verify_and_match_the_reference_tree():
    leaves = [hashlib.sha256(str(i).encode()).digest() for i in range(300)]
    tree = MemoryTree(leaves)
    for size in (1, 2, 7, 256, 257, 300):
        assert tree.root(size) == root_of(leaves[:size])
        for index in {0, size // 2, size - 1}:
            proof = inclusion_proof(tree.hash_at, index, size)
            assert len(proof) <= size.bit_length()
            assert verify_inclusion(index=index, tree_size=size, leaf=leaves[index], proof=proof, root=tree.root(size))
        for old in (0, 1, size // 3, size):
            proof = consistency_proof(tree.hash_at, old, size)
            assert verify_consistency(
                old_size=old, new_size=size, old_root=tree.root(old), new_root=tree.root(size), proof=proof
            )
    other = MemoryTree([*leaves[:99], b"\x00" * 32, *leaves[100:]])
    proof = consistency_proof(other.hash_at, 150, 300)
    assert not verify_consistency(
        old_size=150, new_size=300, old_root=tree.root(150), new_root=other.root(300), proof=proof
    )


def test_checkpoint_note_and_cosignature_formats():
    log, witness = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    point = Checkpoint(origin="arena.example/log", size=5, root=hashlib.sha256(b"r").digest())
    from arena.tlog import sign_line

    note = point.text + "\n" + sign_line(point.text, "arena.example/log", log)
    assert note.startswith(
        f"arena.example/log\n5\n{base64.b64encode(point.root).decode()}\n\n\u2014 arena.example/log "
    )
    key = note_key("arena.example/log", log)
    assert (
        parse_vkey(key.vkey) == key
        and key.key_id == hashlib.sha256(b"arena.example/log\n\x01" + key.public).digest()[:4]
    )
    assert open_checkpoint(note, key)[0] == point
    cosigned = note + cosign_line(point.text, "w.example/1", witness, 1700000000)
    text, signatures = split_note(cosigned)
    wkey = note_key("w.example/1", witness, COSIGNATURE_V1)
    assert signed_by(text, signatures, wkey) == 1700000000
    raw = base64.b64decode(signatures[1].line.split(" ")[2])
    assert raw[:4] == wkey.key_id and int.from_bytes(raw[4:12], "big") == 1700000000
    with pytest.raises(NoteError):
        open_checkpoint(note.replace("\n5\n", "\n6\n"), key)
    with pytest.raises(NoteError):
        open_checkpoint(note, note_key("arena.example/log", witness))


def test_tile_paths_and_bundles():
    assert tile_path(0, 1234067, 256) == "tile/0/x001/x234/067"
    assert tile_path("entries", 0, 17) == "tile/entries/000.p/17"
    assert parse_tile_path("2/x001/x234/067.p/5") == ("2", 1234067, 5)
    for bad in ("0/1", "0/000.p/256", "0/000.p/0", "64/000", "0/x1/000", "entries/../000"):
        assert parse_tile_path(bad) is None, bad
    assert unbundle(bundle([b"a", b"", b"xyz"])) == [b"a", b"", b"xyz"]
    with pytest.raises(ValueError):
        bundle([b"x" * 70000])
