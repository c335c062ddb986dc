"""RFC 9162 trees kept as stored nodes, and their C2SP tlog-tiles encoding.

A *node* (level, index) is the hash of the full subtree over leaves [index * 2^level,
(index + 1) * 2^level). Appending a leaf stores it at level 0 and every node it completes, so
the root of any size, an inclusion proof and a consistency proof each read O(log n) nodes. The
functions here take `hash_at(level, index)` and never see storage; `needed()` tells which nodes
a computation will read, so that a store fetches them in one query.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable

from hidden_sets import node_hash

HashAt = Callable[[int, int], bytes]
EMPTY_ROOT = hashlib.sha256(b"").digest()
TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_ENTRY_BYTES = 0xFFFF  # an entry bundle's uint16 length prefix


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def subtree_hash(hash_at: HashAt, lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) for a range the RFC's recursion produces (lo aligned to the split)."""
    n = hi - lo
    if n & (n - 1) == 0 and lo % n == 0:
        return hash_at(n.bit_length() - 1, lo // n)
    k = _split(n)
    return node_hash(subtree_hash(hash_at, lo, lo + k), subtree_hash(hash_at, lo + k, hi))


def root(hash_at: HashAt, size: int) -> bytes:
    return subtree_hash(hash_at, 0, size) if size else EMPTY_ROOT


def inclusion_proof(hash_at: HashAt, index: int, size: int) -> list[bytes]:
    """RFC 9162 PATH(index, D[0:size]), leaf side first."""
    if not 0 <= index < size:
        raise IndexError(f"leaf {index} is not in a tree of {size}")
    proof, lo, hi = [], 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            proof.append(subtree_hash(hash_at, lo + k, hi))
            hi = lo + k
        else:
            proof.append(subtree_hash(hash_at, lo, lo + k))
            lo += k
    return proof[::-1]


def consistency_proof(hash_at: HashAt, old: int, new: int) -> list[bytes]:
    """RFC 9162 PROOF(old, D[0:new]): empty for old == 0 or old == new."""
    if not 0 <= old <= new:
        raise IndexError(f"no consistency proof from size {old} to size {new}")
    if old in (0, new):
        return []
    proof, lo, hi, m, complete = [], 0, new, old, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(subtree_hash(hash_at, lo + k, hi))
            hi = lo + k
        else:
            proof.append(subtree_hash(hash_at, lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        proof.append(subtree_hash(hash_at, lo, hi))
    return proof[::-1]


def needed(compute: Callable[[HashAt], object]) -> set[tuple[int, int]]:
    """The nodes `compute(hash_at)` reads (its reads never depend on the hashes' values)."""
    wanted: set[tuple[int, int]] = set()

    def record(level: int, index: int) -> bytes:
        wanted.add((level, index))
        return bytes(32)

    compute(record)
    return wanted


def completed_nodes(index: int, leaf: bytes, hash_at: HashAt) -> list[tuple[int, int, bytes]]:
    """The nodes to store when leaf `index` is appended: the leaf, and each subtree it completes."""
    nodes, digest, level, i = [(0, index, leaf)], leaf, 0, index
    while i & 1:
        digest = node_hash(hash_at(level, i - 1), digest)
        level, i = level + 1, i >> 1
        nodes.append((level, i, digest))
    return nodes


class MemoryTree:
    """Stored nodes in a dict: for tests, benchmarks and verifiers that hold a whole log."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.size = 0
        for leaf in leaves:
            self.append(leaf)

    def hash_at(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def append(self, leaf: bytes) -> None:
        for level, index, digest in completed_nodes(self.size, leaf, self.hash_at):
            self.nodes[(level, index)] = digest
        self.size += 1

    def root(self, size: int | None = None) -> bytes:
        return root(self.hash_at, self.size if size is None else size)


# -- tlog-tiles -------------------------------------------------------------------------------------
def encode_index(n: int) -> str:
    """Tile index as 3-digit path elements, all but the last prefixed with x: 1234067 → x001/x234/067."""
    parts = []
    while True:
        parts.append(f"{n % 1000:03d}")
        n //= 1000
        if not n:
            break
    return "/".join([f"x{p}" for p in reversed(parts[1:])] + [parts[0]])


def tile_path(level: int | str, index: int, width: int) -> str:
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{encode_index(index)}{suffix}"


_TILE = re.compile(
    r"^(?P<level>entries|0|[1-9][0-9]?)/(?P<index>(?:x[0-9]{3}/)*[0-9]{3})"
    r"(?:\.p/(?P<width>[1-9][0-9]{0,2}))?$"
)


def parse_tile_path(path: str) -> tuple[str, int, int] | None:
    """("entries" or the level as text, index, width) of a path below tile/, or None."""
    match = _TILE.match(path)
    if not match or (match["level"] != "entries" and int(match["level"]) > 63):
        return None
    width = int(match["width"]) if match["width"] else TILE_WIDTH
    if width >= TILE_WIDTH and match["width"]:
        return None
    return match["level"], int(match["index"].replace("x", "").replace("/", "")), width


def tile_width(size: int, level: int, index: int) -> int:
    """How many hashes tile (level, index) holds in a tree of `size` leaves (0: none yet)."""
    count = size >> (TILE_HEIGHT * level)
    return max(0, min(TILE_WIDTH, count - index * TILE_WIDTH))


def bundle(entries: Iterable[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length and its bytes."""
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_BYTES:
            raise ValueError(f"an entry of {len(entry)} bytes does not fit an entry bundle (at most 65535)")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def unbundle(data: bytes) -> list[bytes]:
    entries, at = [], 0
    while at < len(data):
        if at + 2 > len(data):
            raise ValueError("truncated entry bundle")
        length = int.from_bytes(data[at : at + 2], "big")
        entries.append(data[at + 2 : at + 2 + length])
        at += 2 + length
        if at > len(data):
            raise ValueError("truncated entry bundle")
    return entries
