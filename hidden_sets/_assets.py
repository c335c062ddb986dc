"""Binary assets of a hidden set: their names, how items reference them, and how revealed assets
are checked against the commitment.

An item references an asset by a JSON string anywhere in its input that starts with "assets/"
and names a file of the set's assets/ folder ({"image": "assets/0001.png"}). Each asset is stored
as its own encrypted file; its SHA-256 goes into the leaf of every item that references it, so
the commitment covers the assets' bytes as well as the items.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

PREFIX = "assets/"
MAX_DEPTH = 8
MAX_NAME = 255
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


def name_problem(name: str) -> str | None:
    """Why `name` cannot be an asset name (a relative path under assets/), or None."""
    if not name.startswith(PREFIX) or len(name) > MAX_NAME:
        return f"must start with {PREFIX!r} and be at most {MAX_NAME} characters"
    parts = name[len(PREFIX) :].split("/")
    if len(parts) > MAX_DEPTH:
        return f"is nested more than {MAX_DEPTH - 1} folders deep below assets/"
    if not all(_SEGMENT.match(part) for part in parts):
        return (
            "must be made of folder and file names of letters, digits, '.', '_' and '-' (not starting with '.' or '-')"
        )
    return None


def references(value: Any) -> set[str]:
    """Every asset name an item's input references (strings starting with "assets/")."""
    found: set[str] = set()
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            if current.startswith(PREFIX):
                found.add(current)
        elif isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return found


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def committed_assets(items: Iterable[dict[str, Any]]) -> Iterator[tuple[str, str, str]]:
    """(item description, asset name, committed SHA-256 hex) for every asset of revealed items;
    an item whose assets are not a map of names to hashes, or do not name exactly the assets its
    input references, gives one row with an empty name."""
    for item in items:
        where, assets = f"item {str(item.get('id'))[:80]!r}", item.get("assets") or {}
        if (
            not isinstance(assets, dict)
            or not all(isinstance(v, str) for v in assets.values())
            or set(assets) != references(item.get("input"))
        ):
            yield where, "", ""
            continue
        for name, digest in sorted(assets.items()):
            yield where, name, digest


def check_revealed_assets(items: Iterable[dict[str, Any]], folder: Path) -> list[str]:
    """Problems with asset files in `folder` (laid out as the bundle's assets/) against the hashes
    the revealed items commit to; empty when every file matches."""
    problems, checked = [], {}
    for where, name, digest in committed_assets(items):
        if not name:
            problems.append(
                f"{where}: its committed assets are not the assets its input references, each with a SHA-256 hash"
            )
            continue
        if name_problem(name):
            problems.append(f"{where}: asset name {name[:80]!r} is not a valid asset path")
            continue
        if name not in checked:
            path = folder / name
            checked[name] = sha256_file(path) if path.is_file() and not path.is_symlink() else None
        if checked[name] is None:
            problems.append(f"{where}: asset {name} is missing from {folder}")
        elif checked[name] != digest:
            problems.append(f"{where}: asset {name} does not match the committed hash")
    return problems
