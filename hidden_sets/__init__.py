"""Encryption and storage of secret hidden sets.

Knows nothing of the web, the database, or the sandbox. Plaintext labels are only ever returned
to the caller in memory; plaintext inputs are only ever written to a folder the caller names.
"""

from hidden_sets._assets import check_revealed_assets, name_problem as asset_name_problem, references
from hidden_sets._commitment import (
    RevealedItem,
    check_revealed,
    item_json,
    item_leaf,
)
from hidden_sets._derived import split_key
from hidden_sets._errors import HiddenSetError, IntegrityError, KeyUnavailableError
from hidden_sets._keyring import Keyring, generate_keyring_file, load_keyring, save_keyring_file
from hidden_sets._sealed import seal, unseal
from hidden_sets._merkle import TreeBuilder, inclusion_proofs, verify_inclusion
from hidden_sets._stream import SEGMENT_SIZE, decrypt_stream, encrypt_stream
from hidden_sets._store import ASSET_ROLE, DataKey, HiddenSetStore

__all__ = [
    "ASSET_ROLE",
    "SEGMENT_SIZE",
    "DataKey",
    "HiddenSetError",
    "HiddenSetStore",
    "IntegrityError",
    "KeyUnavailableError",
    "Keyring",
    "RevealedItem",
    "TreeBuilder",
    "asset_name_problem",
    "check_revealed_assets",
    "check_revealed",
    "decrypt_stream",
    "encrypt_stream",
    "generate_keyring_file",
    "inclusion_proofs",
    "item_json",
    "item_leaf",
    "references",
    "load_keyring",
    "save_keyring_file",
    "seal",
    "split_key",
    "unseal",
    "verify_inclusion",
]
