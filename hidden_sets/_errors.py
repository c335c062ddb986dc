class HiddenSetError(Exception):
    """Base class. Messages never contain key material or plaintext."""


class KeyUnavailableError(HiddenSetError):
    """The master key a data key is wrapped with is not in the keyring."""


class IntegrityError(HiddenSetError):
    """Ciphertext was changed, truncated, reordered, or belongs to another file."""
