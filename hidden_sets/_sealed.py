"""Small sealed blobs under a hidden set's data key: container logs of runs on hidden data.

sealed = nonce (12) || AES-256-GCM(HKDF-SHA256(data key, info="arena/sealed/v1|<purpose>"), data)
with the purpose as associated data, so a blob sealed for one job never opens as another's.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hidden_sets._errors import IntegrityError


def _key(data_key: bytes, purpose: str) -> AESGCM:
    info = f"arena/sealed/v1|{purpose}".encode()
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(data_key))


def seal(data_key: bytes, *, purpose: str, data: bytes) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + _key(data_key, purpose).encrypt(nonce, data, purpose.encode())


def unseal(data_key: bytes, *, purpose: str, sealed: bytes) -> bytes:
    try:
        return _key(data_key, purpose).decrypt(sealed[:12], sealed[12:], purpose.encode())
    except (InvalidTag, ValueError):
        raise IntegrityError(f"the sealed {purpose} does not open: changed, or sealed for another") from None
