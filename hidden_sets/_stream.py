"""Segmented streaming AEAD for hidden-set files (in the style of Tink's AES-GCM-HKDF streaming).

Layout of an encrypted file:
    magic "ARHS" | version (1 byte) | header length (2 bytes, big-endian) | header (JSON)
    then segments: AES-256-GCM(ciphertext of up to SEGMENT_SIZE bytes) || 16-byte tag

The header names the data key id, a random salt, a random 7-byte nonce prefix, the file's role
and the hidden set it belongs to. The per-file key is HKDF-SHA256(data key, salt, info=role|set).
Segment i uses nonce = prefix || i (4 bytes) || last-flag (1 byte); every segment takes the whole
header as associated data. So a flipped byte, a truncation, a reordered or dropped segment, or a
file moved to another role or set all fail to decrypt. Memory use is one segment, whatever the size.
"""

from __future__ import annotations

import base64
import json
import secrets
import struct
from collections.abc import Iterator
from typing import Any, BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hidden_sets._errors import IntegrityError


class _Source(Protocol):
    """What the stream functions read from: a binary file, buffered or raw."""

    def read(self, size: int = -1, /) -> bytes: ...


class _RawSource(_Source, Protocol):
    """A source `decrypt_stream` can read into its reused buffers."""

    def readinto(self, buffer: memoryview, /) -> int | None: ...


class _Sink(Protocol):
    """What `decrypt_stream` writes to: a binary file, buffered or raw (raw ones may write short)."""

    def write(self, data: bytes | memoryview, /) -> int | None: ...


MAGIC = b"ARHS"
VERSION = 1
SEGMENT_SIZE = 1 << 20
TAG_SIZE = 16
MAX_SEGMENTS = 2**32 - 1


def _derive(data_key: bytes, salt: bytes, role: str, set_id: str) -> bytes:
    info = f"arena/hidden-set/v{VERSION}|{role}|{set_id}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(data_key)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index > MAX_SEGMENTS:
        raise IntegrityError("file too large for the segment counter")
    return prefix + struct.pack(">IB", index, 1 if last else 0)


def _segments(source: _Source, size: int) -> Iterator[tuple[bytes, bool]]:
    """Yield (chunk, is_last), reading one chunk ahead so the last one is known."""
    current = source.read(size)
    while True:
        following = source.read(size)
        yield current, not following
        if not following:
            return
        current = following


def encrypt_stream(source: _Source, sink: BinaryIO, *, data_key: bytes, key_id: str, role: str, set_id: str) -> int:
    """Encrypt `source` into `sink`; returns the number of plaintext bytes."""
    salt, prefix = secrets.token_bytes(32), secrets.token_bytes(7)
    meta = {
        "key_id": key_id,
        "role": role,
        "set_id": set_id,
        "salt": base64.b64encode(salt).decode(),
        "nonce_prefix": base64.b64encode(prefix).decode(),
        "segment_size": SEGMENT_SIZE,
    }
    body = json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()
    header = MAGIC + struct.pack(">BH", VERSION, len(body)) + body
    sink.write(header)
    aead, total = AESGCM(_derive(data_key, salt, role, set_id)), 0
    for index, (chunk, last) in enumerate(_segments(source, SEGMENT_SIZE)):
        sink.write(aead.encrypt(_nonce(prefix, index, last), chunk, header))
        total += len(chunk)
    return total


def _read_header(source: _Source) -> tuple[bytes, dict[str, Any]]:
    fixed = source.read(7)
    if len(fixed) != 7 or fixed[:4] != MAGIC:
        raise IntegrityError("not an Arena hidden-set file (bad magic)")
    version, length = struct.unpack(">BH", fixed[4:])
    if version != VERSION:
        raise IntegrityError(f"unsupported hidden-set file version {version}")
    body = source.read(length)
    try:
        meta = json.loads(body)
        meta["salt_bytes"] = base64.b64decode(meta["salt"])
        meta["prefix_bytes"] = base64.b64decode(meta["nonce_prefix"])
    except Exception:
        raise IntegrityError("hidden-set file header is damaged") from None
    if len(meta["prefix_bytes"]) != 7 or meta.get("segment_size") != SEGMENT_SIZE:
        raise IntegrityError("hidden-set file header is damaged")
    return fixed + body, meta


def decrypt_segments(source: _Source, *, data_key: bytes, key_id: str, role: str, set_id: str) -> Iterator[bytes]:
    """Yield verified plaintext segments. Raises IntegrityError on any change.

    Segments are yielded as they verify: a caller that writes them out must discard what it
    wrote if the iteration raises.
    """
    header, meta = _read_header(source)
    _check_meta(meta, key_id=key_id, role=role, set_id=set_id)
    aead = AESGCM(_derive(data_key, meta["salt_bytes"], role, set_id))
    for index, (chunk, last) in enumerate(_segments(source, SEGMENT_SIZE + TAG_SIZE)):
        try:
            yield aead.decrypt(_nonce(meta["prefix_bytes"], index, last), chunk, header)
        except InvalidTag:
            raise _tampered(role, set_id, index) from None


def _check_meta(meta: dict[str, Any], *, key_id: str, role: str, set_id: str) -> None:
    if (meta.get("role"), meta.get("set_id")) != (role, set_id):
        raise IntegrityError(f"this file is not the {role} file of hidden set {set_id}")
    if meta.get("key_id") != key_id:
        raise IntegrityError(f"this file was encrypted under data key {meta.get('key_id')!r}")


def decrypt_stream(source: _RawSource, sink: _Sink, *, data_key: bytes, key_id: str, role: str, set_id: str) -> int:
    """Decrypt `source` into `sink`, segment by segment, through two reused buffers.

    A segment is written only after its tag verified; on an error, what was written before it
    must be discarded by the caller.
    """
    header, meta = _read_header(source)
    _check_meta(meta, key_id=key_id, role=role, set_id=set_id)
    key = _derive(data_key, meta["salt_bytes"], role, set_id)
    sealed = bytearray(SEGMENT_SIZE + TAG_SIZE)
    ahead = bytearray(SEGMENT_SIZE + TAG_SIZE)
    plain = bytearray(SEGMENT_SIZE + 15)
    size, index, total = _read_full(source, sealed), 0, 0
    while True:
        ahead_size = _read_full(source, ahead)
        last = ahead_size == 0
        written = _open_into(
            key,
            _nonce(meta["prefix_bytes"], index, last),
            header,
            memoryview(sealed)[:size],
            plain,
            where=(role, set_id, index),
        )
        _write_all(sink, memoryview(plain)[:written])
        total += written
        if last:
            return total
        sealed, ahead, size, index = ahead, sealed, ahead_size, index + 1


def _read_full(source: _RawSource, buffer: bytearray) -> int:
    """Fill `buffer` unless the file ends first (raw reads may return short)."""
    view, filled = memoryview(buffer), 0
    while filled < len(buffer):
        got = source.readinto(view[filled:])
        if not got:
            break
        filled += got
    return filled


def _write_all(sink: _Sink, data: memoryview) -> None:
    while data:
        written = sink.write(data)
        data = data[written if written is not None else len(data) :]


def _open_into(
    key: bytes, nonce: bytes, header: bytes, sealed: memoryview, out: bytearray, *, where: tuple[str, str, int]
) -> int:
    if len(sealed) < TAG_SIZE:
        raise _tampered(*where)
    decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce, bytes(sealed[-TAG_SIZE:]))).decryptor()
    decryptor.authenticate_additional_data(header)
    written = decryptor.update_into(sealed[:-TAG_SIZE], out)
    try:
        decryptor.finalize()
    except InvalidTag:
        raise _tampered(*where) from None
    return written


def _tampered(role: str, set_id: str, index: int) -> IntegrityError:
    return IntegrityError(
        f"{role} file of hidden set {set_id} failed authentication at segment {index}: "
        "it was changed, truncated or reordered"
    )
