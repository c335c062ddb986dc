"""Streams of many files: an uncompressed tar made as it is read (its length known in advance,
so it can go out with a Content-Length), a multipart body of such parts, and a careful unpacker.

Used for binary assets: the organiser's client uploads assets/ as one tar part, a node fetches a
job's assets as one tar, and both sides unpack only regular files under assets/.
"""

from __future__ import annotations

import os
import secrets
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from hidden_sets import asset_name_problem
from sandbox import AssetLimits

BLOCK = 512
CHUNK = 1 << 20


@dataclass(frozen=True)
class Entry:
    name: str
    size: int
    chunks: Callable[[], Iterable[bytes]]  # called once, when the entry's turn comes


def file_entry(name: str, path: Path) -> Entry:
    def chunks() -> Iterator[bytes]:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    return Entry(name, path.stat().st_size, chunks)


def _header(entry: Entry) -> bytes:
    info = tarfile.TarInfo(entry.name)
    info.size, info.mode, info.mtime = entry.size, 0o644, 0
    return info.tobuf(format=tarfile.PAX_FORMAT)


def _padding(size: int) -> int:
    return -size % BLOCK


def tar_length(entries: list[Entry]) -> int:
    return sum(len(_header(e)) + e.size + _padding(e.size) for e in entries) + 2 * BLOCK


def tar_chunks(entries: list[Entry]) -> Iterator[bytes]:
    """The tar's bytes; raises if a file's contents do not have the size announced."""
    for entry in entries:
        yield _header(entry)
        sent = 0
        for chunk in entry.chunks():
            sent += len(chunk)
            if sent > entry.size:
                raise OSError(f"{entry.name} grew while it was being sent")
            yield chunk
        if sent != entry.size:
            raise OSError(f"{entry.name} shrank while it was being sent")
        yield b"\0" * _padding(entry.size)
    yield b"\0" * (2 * BLOCK)


class Reader(Protocol):
    """What `unpack_assets` reads a tar stream from: a binary file, or a `Readable`."""

    def read(self, size: int = -1, /) -> bytes: ...


class Readable:
    """Chunks as a file-like object of known length (requests streams it with a Content-Length;
    0 when the length does not matter, as for reading a download)."""

    def __init__(self, chunks: Iterable[bytes], length: int) -> None:
        self._chunks, self._buffer, self._length = iter(chunks), bytearray(), length
        self.progress: Callable[[int], None] | None = None  # told the bytes of each read

    def __len__(self) -> int:
        return self._length

    def __bool__(self) -> bool:  # a file object is true, whatever its length (tarfile asks)
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        size = len(self._buffer) if size < 0 else size
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        if self.progress and out:
            self.progress(len(out))
        return out


def multipart(parts: list[tuple[str, int, Callable[[], Iterable[bytes]]]]) -> tuple[str, Readable]:
    """(content type, body) for form parts named by (name, length, chunks)."""
    boundary = "arena-" + secrets.token_hex(16)
    heads = [
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        for name, _n, _c in parts
    ]
    tail = f"--{boundary}--\r\n".encode()
    length = sum(len(h) + n + 2 for h, (_name, n, _c) in zip(heads, parts, strict=False)) + len(tail)

    def chunks() -> Iterator[bytes]:
        for head, (_name, _n, body) in zip(heads, parts, strict=False):
            yield head
            yield from body()
            yield b"\r\n"
        yield tail

    return f"multipart/form-data; boundary={boundary}", Readable(chunks(), length)


class UnpackError(Exception):
    """A tar of assets is unusable; the message says why (safe to show the sender)."""


UnpackLimits = AssetLimits  # the limits of one tar of assets (sandbox.ASSET_LIMITS for a hidden set)


def unpack_assets(source: Reader, dest: Path, *, limits: UnpackLimits) -> int:
    """Unpack a tar stream of assets/… into `dest` (which gets dest/assets/…): only folders and
    regular files with valid asset names, within the limits; returns the number of files. On an
    error, what was unpacked stays for the caller to remove (it owns `dest`)."""
    files = total = 0
    try:
        # a stream ("r|") is only read; typeshed asks every fileobj for write, seek and tell
        with tarfile.open(fileobj=source, mode="r|") as archive:  # type: ignore[call-overload]
            for member in archive:
                name = member.name.removeprefix("./").rstrip("/")
                if member.isdir() and (name == "assets" or not asset_name_problem(name)):
                    continue
                if not member.isreg():
                    raise UnpackError(f"{name!r} is not a regular file (links and devices are refused)")
                problem = asset_name_problem(name)
                if problem:
                    raise UnpackError(f"asset {name!r} {problem}")
                files, total = files + 1, total + member.size
                _within(limits, files, member.size, total, name)
                source_file = archive.extractfile(member)
                assert source_file is not None  # a regular file's member: its contents
                try:
                    _write(source_file, dest / name)
                except (FileExistsError, NotADirectoryError):
                    raise UnpackError(f"asset {name!r} appears twice, or as both a file and a folder") from None
    except (tarfile.TarError, EOFError):
        raise UnpackError("the assets are not a valid uncompressed tar archive") from None
    return files


def _within(limits: UnpackLimits, files: int, size: int, total: int, name: str) -> None:
    if files > limits.max_files:
        raise UnpackError(f"more than {limits.max_files:,} asset files")
    if size > limits.max_file_bytes:
        raise UnpackError(f"asset {name!r} is larger than {limits.max_file_bytes:,} bytes")
    if total > limits.max_total_bytes:
        raise UnpackError(f"the assets total more than {limits.max_total_bytes:,} bytes")


def _write(source: IO[bytes], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(CHUNK):
            out.write(chunk)
