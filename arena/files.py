"""What the platform keeps under ARENA_HOME (the database with private scores, keys, hidden sets,
images, uploads, samples) is its own: folders are made 0700 and files 0600, whatever the umask."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """Make `path` and whichever of its parents are missing, each 0700; returns `path`."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
        os.chmod(folder, FOLDER_MODE)
    return missing[0] if missing else path


def tighten(path: Path) -> None:
    """Make a folder of ours 0700 (one made before this rule, or by someone else's umask)."""
    if path.is_dir() and path.stat().st_uid == os.geteuid():
        os.chmod(path, FOLDER_MODE)


def private_open(path: Path) -> BinaryIO:
    """Open `path` for writing from the start, created (or kept) 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, "wb")


def private_copy(source: Path, target: Path) -> None:
    """Copy a file (never through a link: `source` may come from a container) into a 0600 one."""
    with os.fdopen(os.open(source, os.O_RDONLY | os.O_NOFOLLOW), "rb") as src, private_open(target) as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
