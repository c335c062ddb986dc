"""Master-key rotation: a new key-encryption key, every data key re-wrapped, no data re-encrypted."""

from __future__ import annotations

from sqlalchemy import func, select

from arena.errors import BadRequest, Conflict
from arena.models import HiddenSet
from arena.runtime import Platform
from arena.services import audit
from hidden_sets import save_keyring_file


def _file_keyring_only(platform: Platform) -> None:
    if platform.settings.master_key_env:
        raise BadRequest(
            "the keyring comes from ARENA_MASTER_KEY, which Arena cannot rewrite; point "
            "ARENA_MASTER_KEY_FILE at a keyring file to rotate, or rotate in your secret store"
        )


def list_keys(platform: Platform) -> list[dict]:
    ring = platform.hidden_sets.keyring
    with platform.sessions() as session:
        used = dict(
            session.execute(select(HiddenSet.master_key_id, func.count()).group_by(HiddenSet.master_key_id)).all()
        )
    return [{"id": key_id, "primary": key_id == ring.primary, "data_keys": used.get(key_id, 0)} for key_id in ring.keys]


def rotate(platform: Platform) -> dict:
    """Add a primary master key, then re-wrap every data key under it in one transaction.

    The keyring file is written first with both keys, so a crash in between loses nothing: data
    keys not yet re-wrapped still open with the old key, which stays until it is retired.
    """
    _file_keyring_only(platform)
    store = platform.hidden_sets
    ring = store.keyring
    new_id = ring.add_key()
    save_keyring_file(platform.settings.master_key_file, ring)
    with platform.transaction() as session:
        hidden_sets = session.scalars(select(HiddenSet)).all()
        for hidden in hidden_sets:
            key = store.open_data_key(
                key_id=hidden.data_key_id, master_key_id=hidden.master_key_id, wrapped=hidden.wrapped_key
            )
            hidden.master_key_id, hidden.wrapped_key = ring.wrap(key.key, data_key_id=key.id)
        audit.record(
            session,
            actor=None,
            action="keys.rotate",
            target=f"master-key:{new_id}",
            detail={"rewrapped": len(hidden_sets)},
        )
    return {"primary": new_id, "rewrapped": len(hidden_sets)}


def retire(platform: Platform, *, key_id: str) -> dict:
    """Remove a master key from the keyring; refused while anything is wrapped by it."""
    _file_keyring_only(platform)
    ring = platform.hidden_sets.keyring
    if key_id not in ring.keys:
        raise BadRequest(f"there is no master key {key_id!r}; `arena keys list` shows them")
    if key_id == ring.primary:
        raise Conflict(f"{key_id} is the primary key; run `arena keys rotate` first")
    with platform.sessions() as session:
        in_use = session.scalar(select(func.count()).where(HiddenSet.master_key_id == key_id))
    if in_use:
        raise Conflict(
            f"{in_use} data key(s) are still wrapped by {key_id}; "
            "run `arena keys rotate` to re-wrap them, then retire it"
        )
    del ring.keys[key_id]
    save_keyring_file(platform.settings.master_key_file, ring)
    with platform.transaction() as session:
        audit.record(session, actor=None, action="keys.retire", target=f"master-key:{key_id}")
    return {"retired": key_id, "primary": ring.primary}
