"""RFC 6962 / RFC 9162 Merkle trees over hidden-set items: roots, inclusion proofs, verification.

leaf hash  = SHA-256(0x00 || leaf data)
node hash  = SHA-256(0x01 || left || right)
A tree of n leaves splits at k, the largest power of two smaller than n.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class TreeBuilder:
    """Computes the root while leaves stream past, keeping O(log n) hashes."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (subtree size, hash), sizes strictly decreasing
        self.size = 0

    def add(self, leaf: bytes) -> None:
        size, digest = 1, leaf
        while self._stack and self._stack[-1][0] == size:
            left_size, left = self._stack.pop()
            size, digest = left_size + size, node_hash(left, digest)
        self._stack.append((size, digest))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return hashlib.sha256(b"").digest()
        digest = self._stack[-1][1]
        for _size, left in reversed(self._stack[:-1]):
            digest = node_hash(left, digest)
        return digest


def root_of(leaves: Iterable[bytes]) -> bytes:
    builder = TreeBuilder()
    for leaf in leaves:
        builder.add(leaf)
    return builder.root()


def inclusion_proofs(leaves: Sequence[bytes], indices: Iterable[int]) -> dict[int, list[bytes]]:
    """Audit paths (RFC 6962 PATH) for several leaves in one pass over the tree."""
    wanted = sorted(set(indices))
    if any(not 0 <= i < len(leaves) for i in wanted):
        raise IndexError("leaf index outside the tree")
    proofs: dict[int, list[bytes]] = {i: [] for i in wanted}

    def subtree(lo: int, hi: int, inside: list[int]) -> bytes:
        if hi - lo == 1:
            return leaves[lo]
        mid = lo + _split(hi - lo)
        left_w = [i for i in inside if i < mid]
        right_w = [i for i in inside if i >= mid]
        left, right = subtree(lo, mid, left_w), subtree(mid, hi, right_w)
        for i in left_w:
            proofs[i].append(right)
        for i in right_w:
            proofs[i].append(left)
        return node_hash(left, right)

    if leaves:
        subtree(0, len(leaves), wanted)
    return proofs


def verify_inclusion(*, index: int, tree_size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if index >= tree_size or index < 0:
        return False
    fn, sn, digest = index, tree_size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            digest = node_hash(sibling, digest)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            digest = node_hash(digest, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and digest == root


def verify_consistency(
    *, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2: the tree of `new_size` leaves extends the one of `old_size`."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    path = list(proof)
    if not path:
        return False
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself a node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root
