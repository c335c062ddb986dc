"""The platform's Ed25519 signing key: statements (commitments, later the log) are signed with it.

A statement is a JSON object; what is signed is its canonical JSON (keys sorted, no spaces, UTF-8).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hidden_sets._commitment import canonical_json
from hidden_sets._keyring import create_exclusive


@dataclass(frozen=True)
class Signer:
    key: Ed25519PrivateKey

    @property
    def public_key(self) -> str:
        raw = self.key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def derive(self, label: str) -> bytes:
        """A secret for another purpose (e.g. signing web session cookies), derived from this key,
        so every process sharing the key shares it and nothing more is stored."""
        import hashlib
        import hmac

        raw = self.key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                     serialization.NoEncryption())
        return hmac.new(raw, f"arena/{label}".encode(), hashlib.sha256).digest()

    def sign(self, statement: dict) -> str:
        return base64.b64encode(self.key.sign(canonical_json(statement))).decode()


def load_or_create_signer(path: Path) -> Signer:
    """Load the key (PEM, PKCS#8); create one, readable by its owner only, when there is none."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return Signer(key)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    if not create_exclusive(path, pem):  # several processes starting at once: the first one's key
        return load_or_create_signer(path)
    return Signer(key)


def verify_statement(*, public_key: str, statement: dict, signature: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key, validate=True))
        key.verify(base64.b64decode(signature, validate=True), canonical_json(statement))
    except (InvalidSignature, ValueError):
        return False
    return True
