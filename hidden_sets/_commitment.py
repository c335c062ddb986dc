"""Commitments to hidden-set items: what a leaf is, and how revealed items are checked.

leaf data = salt (32 random bytes) || canonical JSON of {"id", "input", "label"}, plus
"assets": {name: SHA-256 hex} for an item that references binary assets (the key is absent
otherwise, so a set without assets has the same leaves as before assets existed)
canonical JSON = keys sorted, no spaces, UTF-8, no NaN or Infinity.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hidden_sets._merkle import leaf_hash, root_of, verify_inclusion

SALT_BYTES = 32


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def item_json(item_id: str, item_input: Any, label: Any, assets: dict[str, str] | None = None) -> bytes:
    item = {"id": item_id, "input": item_input, "label": label}
    if assets:
        item["assets"] = assets
    return canonical_json(item)


def item_leaf(salt: bytes, item_json_bytes: bytes) -> bytes:
    return leaf_hash(salt + item_json_bytes)


@dataclass(frozen=True)
class RevealedItem:
    index: int
    salt: bytes
    item: bytes  # the canonical JSON, exactly as hashed
    proof: Sequence[bytes]


def check_revealed(items: Sequence[RevealedItem], *, root: bytes, tree_size: int) -> list[str]:
    """Problems with revealed items, one line each, naming the item; empty when all is well."""
    problems = []
    complete = sorted(i.index for i in items) == list(range(tree_size))
    if complete and all(not i.proof for i in items):
        # A full reveal carries no proofs: the whole set must hash to the root. (Which item
        # changed cannot be told without the genuine tree; a partial reveal names it.)
        ordered = sorted(items, key=lambda i: i.index)
        problems += _per_item(ordered, root, tree_size, need_proofs=False)
        if root_of(item_leaf(i.salt, i.item) for i in ordered) != root:
            problems.append("the revealed set as a whole does not hash to the committed root")
        return problems
    return _per_item(items, root, tree_size, need_proofs=True)


def _describe(item: RevealedItem) -> str:
    try:
        return f"item {item.index} (id {json.loads(item.item)['id']!r})"
    except (ValueError, KeyError, TypeError):
        return f"item {item.index}"


def _per_item(items: Sequence[RevealedItem], root: bytes, tree_size: int, *, need_proofs: bool) -> list[str]:
    problems = []
    for item in items:
        try:
            canonical = canonical_json(json.loads(item.item))
        except (ValueError, UnicodeDecodeError):
            problems.append(f"item {item.index}: not JSON")
            continue
        if canonical != item.item:
            problems.append(f"{_describe(item)}: not in canonical JSON form")
        elif need_proofs and not verify_inclusion(
            index=item.index, tree_size=tree_size, leaf=item_leaf(item.salt, item.item), proof=item.proof, root=root
        ):
            problems.append(f"{_describe(item)}: does not match the committed root")
    return problems
