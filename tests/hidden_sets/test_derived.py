"""Derived keys are pinned byte for byte: a changed derivation would move every set's split."""

from hidden_sets import split_key


def test_split_key_is_pinned_to_its_derivation():
    # HKDF-SHA256(data key, no salt, info="arena/split/v1|<set id>"), computed before the move
    assert split_key(bytes(range(32)), set_id="hs-1").hex() == (
        "3eb0c4d7584b45ad589e3b7cd5eeb857ba6c229a0a59f6747910a63b7e91b82a"
    )
    assert split_key(b"\x07" * 32, set_id="set-ä").hex() == (
        "f99f8f6d93925e3b87f6722823cc5dcaec336a367ec04ab4717c580e6b3979ee"
    )


def test_split_key_differs_by_set_and_by_data_key():
    key = bytes(range(32))
    assert split_key(key, set_id="a") != split_key(key, set_id="b")
    assert split_key(key, set_id="a") != split_key(b"\x01" * 32, set_id="a")
    assert len(split_key(key, set_id="a")) == 32
