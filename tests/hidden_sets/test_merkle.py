import hashlib

import pytest

from hidden_sets._merkle import (
    TreeBuilder,
    inclusion_proofs,
    leaf_hash,
    node_hash,
    root_of,
    verify_inclusion,
)


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH, written as the RFC defines it."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(f"item {i}".encode()) for i in range(n)]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 33, 100])
def test_streaming_root_matches_the_rfc_definition(n):
    assert root_of(leaves(n)) == reference_root(leaves(n))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 64, 65])
def test_every_inclusion_proof_verifies_and_a_wrong_leaf_does_not(n):
    hashed = leaves(n)
    root = root_of(hashed)
    proofs = inclusion_proofs(hashed, range(n))
    for i in range(n):
        assert verify_inclusion(index=i, tree_size=n, leaf=hashed[i], proof=proofs[i], root=root)
        assert not verify_inclusion(index=i, tree_size=n, leaf=leaf_hash(b"forged"), proof=proofs[i], root=root)
        if n > 1:
            other = (i + 1) % n
            assert not verify_inclusion(index=other, tree_size=n, leaf=hashed[i], proof=proofs[i], root=root)


def test_known_rfc6962_empty_and_single_values():
    assert TreeBuilder().root().hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_of([leaf_hash(b"")]).hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"


def test_proofs_for_indices_outside_the_tree_are_refused():
    with pytest.raises(IndexError):
        inclusion_proofs(leaves(3), [3])
