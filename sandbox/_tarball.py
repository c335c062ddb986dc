"""Checks on a `docker save` tarball before it goes anywhere near an engine."""

from __future__ import annotations

import hashlib
import json
import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path

from sandbox._base import ImageError

MAX_METADATA_BYTES = 8 * 1024 * 1024
# Loader variables that make every process load or trust code the platform did not choose.
LOADER_VARIABLES = ("LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_DEBUG", "LD_PROFILE",
                    "PYTHONSTARTUP", "PYTHONINSPECT", "BASH_ENV")


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


def _config_digest(config_name: str) -> str:
    hexpart = posixpath.basename(config_name).removesuffix(".json")
    if len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise ImageError("the image tarball's manifest names no sha256 config")
    return hexpart


def inspect_image_tarball(path: Path, *, architectures: tuple[str, ...] = ("amd64",)) -> ImageTarball:
    """Validate a `docker save` tarball holding exactly one image; raises ImageError."""
    try:
        with tarfile.open(path, mode="r:") as tar:
            _check_members(tar)
            manifest = json.loads(_read_member(tar, "manifest.json", "manifest"))
            if not isinstance(manifest, list) or len(manifest) != 1:
                raise ImageError("the image tarball must hold exactly one image; save one at a time")
            entry = manifest[0]
            config_name = entry.get("Config", "") if isinstance(entry, dict) else ""
            expected = _config_digest(config_name)
            config_bytes = _read_member(tar, config_name, "image config")
    except (tarfile.TarError, json.JSONDecodeError, UnicodeDecodeError):
        raise ImageError("the upload is not a `docker save` tarball (unreadable tar or manifest)") from None
    if hashlib.sha256(config_bytes).hexdigest() != expected:
        raise ImageError("the image config does not match its digest; the tarball is damaged")
    config = json.loads(config_bytes)
    arch = config.get("architecture", "")
    if arch not in architectures:
        raise ImageError(f"the image is built for {arch or 'an unknown architecture'}; build it for "
                         f"{' or '.join(architectures)} (docker build --platform linux/{architectures[0]})")
    _check_run_config(config.get("config") or {})
    return ImageTarball(image_id="sha256:" + expected, architecture=arch, layers=len(entry.get("Layers", [])))


def _check_run_config(run: dict) -> None:
    """Refuse settings that aim at the host or at the platform rather than at the task."""
    workdir = posixpath.normpath(run.get("WorkingDir") or "/")
    if workdir in ("/proc", "/sys", "/dev") or workdir.startswith(("/proc/", "/sys/", "/dev/")):
        raise ImageError(f"the image's WORKDIR {workdir} is under /proc, /sys or /dev; use a normal folder")
    for entry in run.get("Env") or []:
        name = str(entry).split("=", 1)[0]
        if name in LOADER_VARIABLES:
            raise ImageError(f"the image sets {name}, which Arena does not allow; remove it from the image")
    if run.get("Volumes"):
        raise ImageError("the image declares VOLUMEs; remove them (the platform mounts /input and /output)")
