"""Binary assets of hidden sets (assets/ in a bundle, referenced from items).

At ingest each file is encrypted on its own (the stream format derives a per-file key from the
set's data key, bound to the file's slot), hashed in the same pass, and listed in an encrypted
manifest (name, SHA-256, size, in name order). A job decrypts exactly the assets its items
reference into its memory folder, one 1 MiB segment at a time (so this process's memory stays
flat whatever the set's size), and checks each file's hash against the manifest, which the
commitment covers. A node gets them as one tar stream, decrypted as it is sent.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from arena.models import HiddenSet
from arena.runtime import Platform
from arena.streams import Entry, file_entry
from hidden_sets import ASSET_ROLE, DataKey, IntegrityError

MANIFEST_ROLE = "assets"


@dataclass(frozen=True)
class Asset:
    index: int
    name: str
    sha256: str
    size: int

    @property
    def role(self) -> str:
        return f"{ASSET_ROLE}{self.index}"

    def check(self, hidden: HiddenSet, hasher) -> None:
        """Raise unless what `hasher` saw is this asset's committed bytes."""
        if hasher.hexdigest() != self.sha256:
            raise IntegrityError(f"asset {self.index} of hidden set {hidden.id} does not match its committed hash")


def ingest(
    platform: Platform, *, folder: Path, set_id: str, data_key: DataKey, names: list[str], scratch: Path
) -> dict[str, str]:
    """Encrypt each asset under folder/ and the manifest; returns {name: SHA-256 hex}."""
    hashes: dict[str, str] = {}
    manifest = scratch / "assets.jsonl"
    with manifest.open("w") as out:
        for index, name in enumerate(sorted(names)):
            hasher = hashlib.sha256()
            size = platform.hidden_sets.put(
                set_id=set_id, role=f"{ASSET_ROLE}{index}", source=folder / name, data_key=data_key, hasher=hasher
            )
            hashes[name] = hasher.hexdigest()
            out.write(json.dumps({"name": name, "sha256": hashes[name], "size": size}) + "\n")
    platform.hidden_sets.put(set_id=set_id, role=MANIFEST_ROLE, source=manifest, data_key=data_key)
    manifest.unlink()
    return hashes


def manifest(platform: Platform, hidden: HiddenSet, key: DataKey) -> list[Asset]:
    """The set's assets, in name order (decrypted in memory); empty for a set without assets."""
    if not hidden.n_assets:
        return []
    rows = platform.hidden_sets.iter_lines(set_id=hidden.id, role=MANIFEST_ROLE, data_key=key)
    return [
        Asset(index, row["name"], row["sha256"], row["size"])
        for index, row in enumerate(json.loads(raw) for raw in rows if raw.strip())
    ]


def hashes(platform: Platform, hidden: HiddenSet, key: DataKey) -> dict[str, str]:
    return {asset.name: asset.sha256 for asset in manifest(platform, hidden, key)}


def _mkdirs(base: Path, name: str) -> Path:
    """Create the folders of asset `name` under `base` (readable by the container); its path."""
    target = base / name
    folder = base
    for part in Path(name).parts[:-1]:
        folder = folder / part
        if not folder.is_dir():
            folder.mkdir(mode=0o755)
            os.chmod(folder, 0o755)
    return target


def stage(platform: Platform, hidden: HiddenSet, key: DataKey, dest: Path) -> int:
    """Decrypt the set's assets into dest/assets/…, each checked against its committed hash;
    returns how many. A failure leaves the half-written file removed (the caller wipes dest)."""
    entries = manifest(platform, hidden, key)
    for asset in entries:
        target, hasher = _mkdirs(dest, asset.name), hashlib.sha256()
        platform.hidden_sets.decrypt_to(set_id=hidden.id, role=asset.role, data_key=key, dest=target, hasher=hasher)
        try:
            asset.check(hidden, hasher)
        except IntegrityError:
            target.unlink(missing_ok=True)
            raise
        os.chmod(target, 0o644)
    return len(entries)


def folder_mb(*, assets_bytes: int | None, kind: str) -> int:
    """The memory a job's staged assets take, in MiB (a hidden run stages the whole set's; a
    sample run's are small and not counted)."""
    return math.ceil((assets_bytes or 0) / 2**20) if kind == "hidden" else 0


def sample_folder(platform: Platform, slug: str) -> Path:
    return platform.sample_dir / slug / "assets"


def sample_bytes(platform: Platform, slug: str) -> int:
    root = sample_folder(platform, slug)
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.is_dir() else 0


def stage_sample(platform: Platform, slug: str, dest: Path) -> None:
    """Copy the public sample's assets (plain files) into dest/assets/…."""
    root = sample_folder(platform, slug)
    if root.is_dir():
        shutil.copytree(root, dest / "assets", copy_function=shutil.copyfile)
        for parent, _dirs, files in os.walk(dest / "assets"):
            os.chmod(parent, 0o755)
            for name in files:
                os.chmod(Path(parent) / name, 0o644)


def sample_entries(platform: Platform, slug: str) -> list[Entry]:
    root = sample_folder(platform, slug)
    if not root.is_dir():
        return []
    return [file_entry(p.relative_to(root.parent).as_posix(), p) for p in sorted(root.rglob("*")) if p.is_file()]


def hidden_entries(platform: Platform, hidden: HiddenSet, key: DataKey) -> list[Entry]:
    """The set's assets for a tar stream, each decrypted as it is sent and checked at its end."""

    def chunks(asset: Asset) -> Iterator[bytes]:
        hasher = hashlib.sha256()
        for plain in platform.hidden_sets.iter_plaintext(set_id=hidden.id, role=asset.role, data_key=key):
            hasher.update(plain)
            yield plain
        asset.check(hidden, hasher)

    return [Entry(a.name, a.size, functools.partial(chunks, a)) for a in manifest(platform, hidden, key)]
