"""Encrypted hidden-set files in a folder: one file per (set, role), each under the set's data key."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from hidden_sets._errors import HiddenSetError
from hidden_sets._keyring import Keyring
from hidden_sets._stream import decrypt_segments, decrypt_stream, encrypt_stream

ROLES = ("inputs", "labels", "salts", "assets")  # "assets": the manifest of the set's asset files
ASSET_ROLE = "asset/"  # "asset/<index>": one asset file, the index-th of the manifest


class Hasher(Protocol):
    """What `put` and `decrypt_to` feed the plaintext to: a `hashlib` hash object."""

    def update(self, data: bytes | memoryview, /) -> None: ...


class _Hashing:
    """A file wrapper that feeds what passes through it to a hash."""

    def __init__(self, handle: BinaryIO, hasher: Hasher) -> None:
        self.handle, self.hasher = handle, hasher

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.hasher.update(data)
        return data

    def write(self, data: bytes | memoryview) -> int:
        self.hasher.update(data)
        return self.handle.write(data)


@dataclass(frozen=True)
class DataKey:
    id: str
    master_key_id: str
    wrapped: bytes
    key: bytes = field(repr=False)


class HiddenSetStore:
    """Stores encrypted set files under `root/<set_id>/<role>.enc`."""

    def __init__(self, *, root: Path, keyring: Keyring, reload: Callable[[], Keyring] | None = None) -> None:
        self.root = root
        self.keyring = keyring
        self._reload = reload

    def new_data_key(self) -> DataKey:
        if self._reload is not None:
            self.keyring = self._reload()  # wrap under the newest primary, even after a rotation
        key_id = "dk-" + secrets.token_hex(8)
        key = secrets.token_bytes(32)
        master_id, wrapped = self.keyring.wrap(key, data_key_id=key_id)
        return DataKey(id=key_id, master_key_id=master_id, wrapped=wrapped, key=key)

    def open_data_key(self, *, key_id: str, master_key_id: str, wrapped: bytes) -> DataKey:
        if master_key_id not in self.keyring.keys and self._reload is not None:
            self.keyring = self._reload()  # rotated by another process since this one started
        key = self.keyring.unwrap(wrapped, master_key_id=master_key_id, data_key_id=key_id)
        return DataKey(id=key_id, master_key_id=master_key_id, wrapped=wrapped, key=key)

    def path(self, set_id: str, role: str) -> Path:
        if role.startswith(ASSET_ROLE) and role[len(ASSET_ROLE) :].isdigit():
            return self.root / set_id / "assets" / f"{int(role[len(ASSET_ROLE) :]):07d}.enc"
        if role not in ROLES:
            raise HiddenSetError(f"unknown hidden-set file role {role!r}")
        return self.root / set_id / f"{role}.enc"

    def put(self, *, set_id: str, role: str, source: Path, data_key: DataKey, hasher: Hasher | None = None) -> int:
        """Encrypt `source` into the store (written aside, then renamed into place); `hasher`, when
        given, is fed the plaintext as it is read (one pass over a large file)."""
        final = self.path(set_id, role)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        final.parent.mkdir(exist_ok=True, mode=0o700)  # only this platform may read the sets
        partial = final.with_suffix(".partial")
        try:
            with (
                source.open("rb") as src,
                os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as dst,
            ):
                size = encrypt_stream(
                    _Hashing(src, hasher) if hasher else src,
                    dst,
                    data_key=data_key.key,
                    key_id=data_key.id,
                    role=role,
                    set_id=set_id,
                )
                dst.flush()
                os.fsync(dst.fileno())
            partial.replace(final)
        finally:
            partial.unlink(missing_ok=True)
        return size

    def remove_set(self, set_id: str) -> None:
        shutil.rmtree(self.root / set_id, ignore_errors=True)

    def decrypt_to(self, *, set_id: str, role: str, data_key: DataKey, dest: Path, hasher: Hasher | None = None) -> int:
        """Decrypt one file to `dest` (meant to be in a memory-backed job folder); `hasher`, when
        given, is fed the plaintext as it is written.

        On any error `dest` is removed, so no half-decrypted file stays behind.
        """
        try:
            with self.path(set_id, role).open("rb", buffering=0) as src, dest.open("wb", buffering=0) as dst:
                return decrypt_stream(
                    src,
                    _Hashing(dst, hasher) if hasher else dst,
                    data_key=data_key.key,
                    key_id=data_key.id,
                    role=role,
                    set_id=set_id,
                )
        except BaseException:
            dest.unlink(missing_ok=True)
            raise

    def iter_lines(self, *, set_id: str, role: str, data_key: DataKey) -> Iterator[bytes]:
        """Yield the plaintext lines of one file, decrypted in memory only."""
        pending = b""
        with self.path(set_id, role).open("rb") as src:
            for plain in self._segments(src, set_id, role, data_key):
                pending += plain
                *lines, pending = pending.split(b"\n")
                yield from lines
        if pending:
            yield pending

    def iter_plaintext(self, *, set_id: str, role: str, data_key: DataKey) -> Iterator[bytes]:
        """Yield the plaintext of one file segment by segment (1 MiB), decrypted in memory only;
        a tampered segment raises before anything after it is yielded."""
        with self.path(set_id, role).open("rb") as src:
            yield from self._segments(src, set_id, role, data_key)

    def _segments(self, src: BinaryIO, set_id: str, role: str, data_key: DataKey) -> Iterator[bytes]:
        return decrypt_segments(src, data_key=data_key.key, key_id=data_key.id, role=role, set_id=set_id)
