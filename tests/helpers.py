"""Factories for test data: bundles and image tarballs."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import yaml


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def make_bundle(
    root: Path,
    *,
    slug: str = "toy",
    metric: str = "accuracy",
    n: int = 10,
    labels: list | None = None,
    sample: bool = True,
    extra: dict | None = None,
) -> Path:
    """A valid bundle: item i has input {"x": i} and label labels[i] (default: "even"/"odd")."""
    root.mkdir(parents=True, exist_ok=True)
    config = {"slug": slug, "title": f"Toy {slug}", "metric": metric,
              "limits": {"time_limit_seconds": 30, "memory_mb": 256}, **(extra or {})}
    (root / "challenge.yaml").write_text(yaml.safe_dump(config))
    gold = labels if labels is not None else ["even" if i % 2 == 0 else "odd" for i in range(n)]
    write_jsonl(root / "inputs.jsonl", [{"id": f"i{i}", "input": {"x": i}} for i in range(n)])
    write_jsonl(root / "labels.jsonl", [{"id": f"i{i}", "label": gold[i]} for i in range(n)])
    if sample:
        write_jsonl(root / "sample/inputs.jsonl", [{"id": "s0", "input": {"x": 0}}])
        write_jsonl(root / "sample/labels.jsonl", [{"id": "s0", "label": gold[0]}])
    return root


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def make_image_tarball(path: Path, *, arch: str = "amd64", images: int = 1, salt: str = "") -> str:
    """A minimal `docker save`-shaped tarball; returns the image id it declares."""
    config = json.dumps({"architecture": arch, "os": "linux", "salt": salt}).encode()
    digest = hashlib.sha256(config).hexdigest()
    manifest = [{"Config": f"blobs/sha256/{digest}", "RepoTags": None, "Layers": []}] * images
    with tarfile.open(path, "w") as tar:
        _add(tar, f"blobs/sha256/{digest}", config)
        _add(tar, "manifest.json", json.dumps(manifest).encode())
    return "sha256:" + digest
