"""Encryption and storage of secret hidden sets.

Knows nothing of the web, the database, or the sandbox. Plaintext labels are only ever returned
to the caller in memory; plaintext inputs are only ever written to a folder the caller names.
"""

from hidden_sets._assets import check_revealed_assets, references
from hidden_sets._assets import name_problem as asset_name_problem
from hidden_sets._commitment import (
    RevealedItem,
    canonical_json,
    check_revealed,
    item_json,
    item_leaf,
)
from hidden_sets._derived import split_key
from hidden_sets._errors import HiddenSetError, IntegrityError, KeyUnavailableError
from hidden_sets._keyring import Keyring, create_exclusive, generate_keyring_file, load_keyring, save_keyring_file
from hidden_sets._merkle import (
    TreeBuilder,
    inclusion_proofs,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from hidden_sets._sealed import seal, unseal
from hidden_sets._store import ASSET_ROLE, DataKey, HiddenSetStore
from hidden_sets._stream import SEGMENT_SIZE, decrypt_stream, encrypt_stream

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
    "canonical_json",
    "check_revealed",
    "check_revealed_assets",
    "create_exclusive",
    "decrypt_stream",
    "encrypt_stream",
    "generate_keyring_file",
    "inclusion_proofs",
    "item_json",
    "item_leaf",
    "leaf_hash",
    "load_keyring",
    "node_hash",
    "references",
    "root_of",
    "save_keyring_file",
    "seal",
    "split_key",
    "unseal",
    "verify_consistency",
    "verify_inclusion",
]
