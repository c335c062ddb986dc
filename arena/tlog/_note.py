"""C2SP signed notes (c2sp.org/signed-note), checkpoints (c2sp.org/tlog-checkpoint) and
cosignatures (c2sp.org/tlog-cosignature), with Ed25519 keys.

A note is UTF-8 text ending in a newline, a blank line, then one signature line per signer:
`— <key name> base64(4-byte key id || signature)`. A key id is the first 4 bytes of
SHA-256(name || 0x0A || algorithm byte || public key): 0x01 for a note signature over the text,
0x04 for a cosignature over `cosignature/v1\\ntime <T>\\n` + the text, whose signature is
preceded by T as 8 big-endian bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
DASH = "\u2014 "


class NoteError(ValueError):
    """A note, checkpoint, key or signature line that is not in its format."""


@dataclass(frozen=True)
class NoteKey:
    """A named Ed25519 public key of one algorithm: a log's (0x01) or a witness's (0x04)."""

    name: str
    public: bytes
    alg: int = ED25519

    @property
    def key_id(self) -> bytes:
        return hashlib.sha256(self.name.encode() + b"\n" + bytes([self.alg]) + self.public).digest()[:4]

    @property
    def vkey(self) -> str:
        """The C2SP verifier key: `<name>+<hex key id>+<base64(alg || public key)>`."""
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([self.alg]) + self.public).decode()}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def parse_vkey(text: str) -> NoteKey:
    try:
        name, hex_id, b64 = text.strip().split("+", 2)
        raw = base64.b64decode(b64, validate=True)
        key = NoteKey(name=name, public=raw[1:], alg=raw[0])
    except (ValueError, IndexError, binascii.Error):
        raise NoteError(f"not a verifier key (name+keyid+base64): {text.strip()[:80]!r}") from None
    if key.alg not in (ED25519, COSIGNATURE_V1) or len(key.public) != 32 or key.key_id.hex() != hex_id:
        raise NoteError(f"not an Ed25519 verifier key, or its id does not match: {text.strip()[:80]!r}")
    return key


def note_key(name: str, private: Ed25519PrivateKey, alg: int = ED25519) -> NoteKey:
    return NoteKey(name=name, alg=alg, public=private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def _line(key: NoteKey, payload: bytes) -> str:
    return f"{DASH}{key.name} {base64.b64encode(key.key_id + payload).decode()}\n"


def sign_line(text: str, name: str, private: Ed25519PrivateKey) -> str:
    """A note signature line over `text` (the note body, ending in a newline)."""
    return _line(note_key(name, private), private.sign(text.encode()))


def cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign_line(text: str, name: str, private: Ed25519PrivateKey, timestamp: int) -> str:
    """A tlog-cosignature/v1 line over the checkpoint `text`, made at `timestamp` (Unix seconds)."""
    signature = private.sign(cosigned_message(text, timestamp))
    return _line(note_key(name, private, COSIGNATURE_V1), struct.pack(">Q", timestamp) + signature)


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    payload: bytes  # the signature, or for a cosignature the timestamp then the signature
    line: str


def split_note(note: str) -> tuple[str, list[Signature]]:
    """The note's text (up to and including its last newline before the blank line) and its
    signature lines."""
    text, sep, rest = note.partition("\n\n")
    if not sep or not text or "\n\n" in rest:
        raise NoteError("not a signed note: the text and the signatures must be separated by one blank line")
    signatures = [_parse_line(line) for line in rest.split("\n") if line]
    if not signatures or not rest.endswith("\n"):
        raise NoteError("not a signed note: no signature lines, or no final newline")
    return text + "\n", signatures


def _parse_line(line: str) -> Signature:
    if not line.startswith(DASH):
        raise NoteError(f"not a signature line: {line[:80]!r}")
    try:
        name, b64 = line[len(DASH) :].split(" ")
        raw = base64.b64decode(b64, validate=True)
    except (ValueError, binascii.Error):
        raise NoteError(f"not a signature line: {line[:80]!r}") from None
    if len(raw) < 5:
        raise NoteError(f"signature line too short: {line[:80]!r}")
    return Signature(name=name, key_id=raw[:4], payload=raw[4:], line=line + "\n")


def valid_signature(text: str, signatures: list[Signature], key: NoteKey) -> tuple[Signature, int] | None:
    """The first of `signatures` that is a valid one by `key`, with its time (0 for a note
    signature, the cosignature's timestamp for a cosigner); None when there is none."""
    for sig in signatures:
        if sig.name != key.name or sig.key_id != key.key_id:
            continue
        if key.alg == ED25519 and key.verify(text.encode(), sig.payload):
            return sig, 0
        if key.alg == COSIGNATURE_V1 and len(sig.payload) == 72:
            timestamp = struct.unpack(">Q", sig.payload[:8])[0]
            if key.verify(cosigned_message(text, timestamp), sig.payload[8:]):
                return sig, timestamp
    return None


def signed_by(text: str, signatures: list[Signature], key: NoteKey) -> int | None:
    """Whether `key` validly signed the note: its time (see valid_signature), or None."""
    found = valid_signature(text, signatures, key)
    return None if found is None else found[1]


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    @property
    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")
    try:
        origin, size, root = lines[0], lines[1], base64.b64decode(lines[2], validate=True)
        if not origin or not size.isdigit() or (size != "0" and size.startswith("0")) or len(root) != 32:
            raise ValueError
    except (IndexError, ValueError, binascii.Error):
        raise NoteError("not a checkpoint: origin, decimal size and base64 SHA-256 root hash lines") from None
    return Checkpoint(origin=origin, size=int(size), root=root)


def open_checkpoint(note: str, log_key: NoteKey) -> tuple[Checkpoint, list[Signature]]:
    """Parse a checkpoint note and check the log's signature on it (NoteError when it fails)."""
    text, signatures = split_note(note)
    checkpoint = parse_checkpoint(text)
    if checkpoint.origin != log_key.name:
        raise NoteError(f"the checkpoint is for {checkpoint.origin!r}, not for the log {log_key.name!r}")
    if signed_by(text, signatures, log_key) is None:
        raise NoteError("the checkpoint is not signed by the log's key")
    return checkpoint, signatures
