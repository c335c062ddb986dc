"""Keys derived from a hidden set's data key for purposes other than its files.

split key = HKDF-SHA256(data key, no salt, info="arena/split/v1|<set id>")
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def split_key(data_key: bytes, *, set_id: str) -> bytes:
    """The 32-byte secret key of a set's public/private split, derived from its data key (which is
    only ever stored wrapped), so the split is as secret as the set and needs no key of its own."""
    info = f"arena/split/v1|{set_id}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(data_key)
