"""Ed25519 signing keys, and the canonical bytes every signed JSON statement is signed over.

Two canonical forms exist. A statement that carries `"v": 2` (every statement signed since the
format change) is canonicalised with RFC 8785 (JSON Canonicalization Scheme, through the `rfc8785`
package), which any language can reproduce. Older statements (no `"v"`) keep the form they were
signed in: Python's `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`, so
existing logs and commitments still verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hidden_sets import canonical_json, create_exclusive

FORMAT = 2  # the `"v"` of newly signed statements: RFC 8785 canonical bytes
JS_SAFE = 2**53 - 1


def canonical_bytes(statement: Any) -> bytes:
    """The bytes a statement is hashed and signed over: RFC 8785 for `"v": 2`, else the legacy form."""
    if isinstance(statement, dict) and statement.get("v") == FORMAT:
        return rfc8785.dumps(statement)
    return canonical_json(statement)


def _number(text: str) -> int | float:
    value = int(text)
    return value if -JS_SAFE <= value <= JS_SAFE else float(text)


def loads(text: str | bytes) -> Any:
    """Parse canonical JSON back so that re-canonicalising gives the same bytes: RFC 8785 writes a
    large integral double (1e20) as digits, which must come back as a double, as in JavaScript."""
    return json.loads(text, parse_int=_number)


def key_id(public_key: str) -> str:
    """A short, stable name for an Ed25519 public key: the first 8 hex digits of SHA-256 of its
    raw bytes. (Note keys have their own ids, see arena.tlog.)"""
    return hashlib.sha256(base64.b64decode(public_key)).hexdigest()[:8]


@dataclass(frozen=True)
class Signer:
    key: Ed25519PrivateKey

    @property
    def public_bytes(self) -> bytes:
        return self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def public_key(self) -> str:
        return base64.b64encode(self.public_bytes).decode()

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def derive(self, label: str) -> bytes:
        """A secret for another purpose, derived from this key (kept for keys that have no
        separate session key file; see arena.runtime)."""
        raw = self.key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return hmac.new(raw, f"arena/{label}".encode(), hashlib.sha256).digest()

    def sign(self, statement: dict) -> str:
        return base64.b64encode(self.key.sign(canonical_bytes(statement))).decode()

    def sign_bytes(self, message: bytes) -> bytes:
        return self.key.sign(message)


def load_or_create_signer(path: Path) -> Signer:
    """Load the key (PEM, PKCS#8); create one, readable by its owner only, when there is none."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return Signer(key)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    if not create_exclusive(path, pem):  # several processes starting at once: the first one's key
        return load_or_create_signer(path)
    return Signer(key)


def load_or_create_secret(path: Path) -> bytes:
    """A 32-byte random secret (e.g. for signing web session cookies), created mode 0600 if absent."""
    import secrets

    if not path.exists() and not create_exclusive(path, secrets.token_bytes(32)):
        pass  # another process made it first
    secret = path.read_bytes()
    if len(secret) < 32:
        raise ValueError(f"{path} does not hold a 32-byte secret")
    return secret


def key_statement(*, role: str, public_key: str, previous: str | None) -> dict:
    """What a `log.key` entry's two signatures are over: the new key's, and the previous key's."""
    return {
        "v": FORMAT,
        "type": "arena.key/v1",
        "role": role,
        "public_key": public_key,
        "key_id": key_id(public_key),
        "previous": previous,
    }


def verify_statement(*, public_key: str, statement: dict, signature: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(signature, validate=True), canonical_bytes(statement))
    except (InvalidSignature, ValueError, TypeError, rfc8785.CanonicalizationError):
        return False
    return True
