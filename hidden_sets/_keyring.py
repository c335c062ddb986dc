"""The master keyring: key-encryption keys with ids, from a file or an environment value.

File format (JSON, mode 0600): {"primary": "<id>", "keys": {"<id>": "<base64 32 bytes>"}}
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hidden_sets._errors import HiddenSetError, IntegrityError, KeyUnavailableError

WRAP_AAD_PREFIX = b"arena/data-key/v1|"


@dataclass
class Keyring:
    primary: str
    keys: dict[str, bytes] = field(repr=False)

    def wrap(self, data_key: bytes, *, data_key_id: str) -> tuple[str, bytes]:
        """Wrap `data_key` under the primary master key; returns (master key id, wrapped)."""
        nonce = secrets.token_bytes(12)
        aad = WRAP_AAD_PREFIX + data_key_id.encode()
        sealed = AESGCM(self.keys[self.primary]).encrypt(nonce, data_key, aad)
        return self.primary, nonce + sealed

    def unwrap(self, wrapped: bytes, *, master_key_id: str, data_key_id: str) -> bytes:
        key = self.keys.get(master_key_id)
        if key is None:
            raise KeyUnavailableError(
                f"master key {master_key_id!r} is not in the keyring; "
                "restore the keyring file that holds it (ARENA_MASTER_KEY_FILE)"
            )
        aad = WRAP_AAD_PREFIX + data_key_id.encode()
        try:
            return AESGCM(key).decrypt(wrapped[:12], wrapped[12:], aad)
        except Exception:
            raise IntegrityError(
                f"data key {data_key_id!r} does not open with master key {master_key_id!r}: "
                "the keyring holds a different key under that id, or the wrapped key was changed"
            ) from None

    def add_key(self) -> str:
        """Add a new random key and make it the primary one; returns its id."""
        key_id = "mk-" + secrets.token_hex(4)
        self.keys[key_id] = secrets.token_bytes(32)
        self.primary = key_id
        return key_id

    def to_json(self) -> str:
        keys = {kid: base64.b64encode(k).decode() for kid, k in self.keys.items()}
        return json.dumps({"primary": self.primary, "keys": keys}, indent=2)


def _parse(text: str, where: str) -> Keyring:
    try:
        doc = json.loads(text)
        keys = {kid: base64.b64decode(v, validate=True) for kid, v in doc["keys"].items()}
        primary = doc["primary"]
    except Exception:
        raise HiddenSetError(f"the master keyring in {where} is not valid keyring JSON") from None
    if primary not in keys or any(len(k) != 32 for k in keys.values()):
        raise HiddenSetError(f"the master keyring in {where} must hold 32-byte keys and its primary")
    return Keyring(primary=primary, keys=keys)


def load_keyring(*, path: Path | None = None, env_value: str | None = None) -> Keyring:
    """Load from an environment value (preferred when given) or from a file."""
    if env_value:
        return _parse(env_value, "ARENA_MASTER_KEY")
    if path is None or not path.exists():
        raise HiddenSetError(f"no master keyring at {path}; set ARENA_MASTER_KEY_FILE")
    return _parse(path.read_text(), str(path))


def save_keyring_file(path: Path, ring: Keyring) -> None:
    """Replace the keyring file atomically, readable by its owner only."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(ring.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)


def generate_keyring_file(path: Path) -> Keyring:
    """Create a new keyring file with one random key, readable by its owner only."""
    ring = Keyring(primary="mk-" + secrets.token_hex(4), keys={})
    ring.keys[ring.primary] = secrets.token_bytes(32)
    if not create_exclusive(path, ring.to_json().encode()):
        return load_keyring(path=path)  # another process, starting at the same time, made it first
    return ring


def create_exclusive(path: Path, data: bytes) -> bool:
    """Write `data` to `path` (mode 0600) only if no file is there, atomically: a complete file or
    none, even when several processes try at once. False when one was there already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temp, path)
        return True
    except FileExistsError:
        return False
    finally:
        temp.unlink(missing_ok=True)
