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
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hidden_sets._errors import IntegrityError

MAGIC = b"ARHS"
VERSION = 1
SEGMENT_SIZE = 1 << 20
TAG_SIZE = 16
MAX_SEGMENTS = 2**32 - 1


def _file_key(data_key: bytes, salt: bytes, role: str, set_id: str) -> AESGCM:
    info = f"arena/hidden-set/v{VERSION}|{role}|{set_id}".encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(data_key)
    return AESGCM(key)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index > MAX_SEGMENTS:
        raise IntegrityError("file too large for the segment counter")
    return prefix + struct.pack(">IB", index, 1 if last else 0)


def _segments(source: BinaryIO, size: int) -> Iterator[tuple[bytes, bool]]:
    """Yield (chunk, is_last), reading one chunk ahead so the last one is known."""
    current = source.read(size)
    while True:
        following = source.read(size)
        yield current, not following
        if not following:
            return
        current = following


def encrypt_stream(
    source: BinaryIO, sink: BinaryIO, *, data_key: bytes, key_id: str, role: str, set_id: str
) -> int:
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
    aead, total = _file_key(data_key, salt, role, set_id), 0
    for index, (chunk, last) in enumerate(_segments(source, SEGMENT_SIZE)):
        sink.write(aead.encrypt(_nonce(prefix, index, last), chunk, header))
        total += len(chunk)
    return total


def _read_header(source: BinaryIO) -> tuple[bytes, dict]:
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


def decrypt_segments(
    source: BinaryIO, *, data_key: bytes, key_id: str, role: str, set_id: str
) -> Iterator[bytes]:
    """Yield verified plaintext segments. Raises IntegrityError on any change.

    Segments are yielded as they verify: a caller that writes them out must discard what it
    wrote if the iteration raises.
    """
    header, meta = _read_header(source)
    if (meta.get("role"), meta.get("set_id")) != (role, set_id):
        raise IntegrityError(f"this file is not the {role} file of hidden set {set_id}")
    if meta.get("key_id") != key_id:
        raise IntegrityError(f"this file was encrypted under data key {meta.get('key_id')!r}")
    aead = _file_key(data_key, meta["salt_bytes"], role, set_id)
    for index, (chunk, last) in enumerate(_segments(source, SEGMENT_SIZE + TAG_SIZE)):
        try:
            yield aead.decrypt(_nonce(meta["prefix_bytes"], index, last), chunk, header)
        except InvalidTag:
            raise IntegrityError(
                f"{role} file of hidden set {set_id} failed authentication at segment {index}: "
                "it was changed, truncated or reordered"
            ) from None


def decrypt_stream(
    source: BinaryIO, sink: BinaryIO, *, data_key: bytes, key_id: str, role: str, set_id: str
) -> int:
    total = 0
    for plain in decrypt_segments(source, data_key=data_key, key_id=key_id, role=role, set_id=set_id):
        sink.write(plain)
        total += len(plain)
    return total
