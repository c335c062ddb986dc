"""Checks on a `docker save` tarball before it goes anywhere near an engine."""

from __future__ import annotations

import hashlib
import json
import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sandbox._base import ImageError

MAX_METADATA_BYTES = 8 * 1024 * 1024
# Loader variables that make every process load or trust code the platform did not choose.
LOADER_VARIABLES = (
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "LD_DEBUG",
    "LD_PROFILE",
    "PYTHONSTARTUP",
    "PYTHONINSPECT",
    "BASH_ENV",
)


@dataclass(frozen=True)
class ImageTarball:
    image_id: str  # "sha256:<hex>" of the image config: what the engine calls the image
    architecture: str
    layers: int


def _safe_name(name: str) -> bool:
    norm = posixpath.normpath(name)
    return not (name.startswith("/") or norm == ".." or norm.startswith("../"))


def _read_member(tar: tarfile.TarFile, name: str, what: str) -> bytes:
    try:
        member = tar.getmember(name)
    except KeyError:
        raise ImageError(f"the image tarball has no {what} ({name})") from None
    if not member.isfile() or member.size > MAX_METADATA_BYTES:
        raise ImageError(f"the image tarball's {what} ({name}) is not a regular small file")
    handle = tar.extractfile(member)
    assert handle is not None
    return handle.read()


def _check_members(tar: tarfile.TarFile) -> None:
    for member in tar.getmembers():
        if not _safe_name(member.name):
            raise ImageError("the image tarball has a path that leaves the archive; use `docker save`")
        if member.isdev() or member.issym() and not _safe_name(member.linkname):
            raise ImageError("the image tarball has a device file or a link that leaves it")


def _config_digest(config_name: object) -> str:
    if not isinstance(config_name, str) or not _safe_name(config_name):
        raise ImageError("the image tarball's manifest names no sha256 config")
    hexpart = posixpath.basename(config_name).removesuffix(".json")
    if len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise ImageError("the image tarball's manifest names no sha256 config")
    return hexpart


def _manifest_entry(tar: tarfile.TarFile) -> dict[str, Any]:
    manifest = json.loads(_read_member(tar, "manifest.json", "manifest"))
    if not isinstance(manifest, list) or len(manifest) != 1:
        raise ImageError("the image tarball must hold exactly one image; save one at a time")
    if not isinstance(manifest[0], dict):
        raise ImageError("the image tarball's manifest is not a `docker save` manifest")
    return manifest[0]


def _check_layers(tar: tarfile.TarFile, layers: object, size: int) -> int:
    """Every layer the manifest names is a regular file inside the archive, whole."""
    if not isinstance(layers, list) or not all(isinstance(name, str) for name in layers):
        raise ImageError("the image tarball's manifest must list its layers as paths")
    for name in layers:
        if not _safe_name(name):
            raise ImageError("the image tarball's manifest names a layer outside the archive")
        try:
            member = tar.getmember(name)
        except KeyError:
            raise ImageError(f"the image tarball has no layer {name[:100]!r}, which its manifest names") from None
        if not member.isfile():
            raise ImageError(f"the image tarball's layer {name[:100]!r} is not a regular file")
        if member.offset_data + member.size > size:
            raise ImageError("the image tarball ends inside a layer; the upload is cut short")
    return len(layers)


def _parse_config(config_bytes: bytes, expected: str) -> dict[str, Any]:
    if hashlib.sha256(config_bytes).hexdigest() != expected:
        raise ImageError("the image config does not match its digest; the tarball is damaged")
    try:
        config = json.loads(config_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ImageError("the image config is not JSON; the tarball is damaged") from None
    if not isinstance(config, dict) or not isinstance(config.get("config", {}), dict | None):
        raise ImageError("the image config is not an image configuration; use `docker save`")
    return config


def inspect_image_tarball(path: Path, *, architectures: tuple[str, ...] = ("amd64",)) -> ImageTarball:
    """Validate a `docker save` tarball holding exactly one image; raises ImageError."""
    try:
        with tarfile.open(path, mode="r:") as tar:
            _check_members(tar)
            entry = _manifest_entry(tar)
            config_name = entry.get("Config")
            expected = _config_digest(config_name)
            # a str: _config_digest refused anything else
            config_bytes = _read_member(tar, cast(str, config_name), "image config")
            layers = _check_layers(tar, entry.get("Layers", []), path.stat().st_size)
    except (tarfile.TarError, EOFError, OSError, json.JSONDecodeError, UnicodeDecodeError):
        raise ImageError("the upload is not a `docker save` tarball (unreadable tar or manifest)") from None
    config = _parse_config(config_bytes, expected)
    arch = config.get("architecture", "")
    if not isinstance(arch, str) or arch not in architectures:
        shown = arch if isinstance(arch, str) and arch else "an unknown architecture"
        raise ImageError(
            f"the image is built for {shown[:40]}; build it for "
            f"{' or '.join(architectures)} (docker build --platform linux/{architectures[0]})"
        )
    _check_run_config(config.get("config") or {})
    return ImageTarball(image_id="sha256:" + expected, architecture=arch, layers=layers)


def _check_run_config(run: dict[str, Any]) -> None:
    """Refuse settings that aim at the host or at the platform rather than at the task."""
    workdir, env = run.get("WorkingDir") or "/", run.get("Env") or []
    if not isinstance(workdir, str) or not isinstance(env, list) or not all(isinstance(e, str) for e in env):
        raise ImageError("the image config's WorkingDir or Env is malformed; use `docker save`")
    workdir = posixpath.normpath(workdir)
    if workdir in ("/proc", "/sys", "/dev") or workdir.startswith(("/proc/", "/sys/", "/dev/")):
        raise ImageError(f"the image's WORKDIR {workdir} is under /proc, /sys or /dev; use a normal folder")
    for entry in env:
        name = str(entry).split("=", 1)[0]
        if name in LOADER_VARIABLES:
            raise ImageError(f"the image sets {name}, which Arena does not allow; remove it from the image")
    if run.get("Volumes"):
        raise ImageError("the image declares VOLUMEs; remove them (the platform mounts /input and /output)")
