import json
import stat

import pytest

from hidden_sets import (
    HiddenSetError,
    HiddenSetStore,
    IntegrityError,
    KeyUnavailableError,
    generate_keyring_file,
    load_keyring,
)


def test_generated_keyring_is_private_and_loads_back(tmp_path):
    path = tmp_path / "master.key"
    ring = generate_keyring_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(path=path).keys == ring.keys


def test_keyring_from_environment_value_wins(tmp_path):
    ring = generate_keyring_file(tmp_path / "k")
    assert load_keyring(path=tmp_path / "missing", env_value=ring.to_json()).primary == ring.primary


def test_a_damaged_keyring_is_a_clear_error(tmp_path):
    path = tmp_path / "k"
    path.write_text("{not json")
    with pytest.raises(HiddenSetError, match="not valid keyring JSON"):
        load_keyring(path=path)


def test_unwrap_names_a_missing_master_key(tmp_path):
    ring = generate_keyring_file(tmp_path / "k")
    master, wrapped = ring.wrap(b"k" * 32, data_key_id="dk-1")
    with pytest.raises(KeyUnavailableError, match="mk-gone"):
        ring.unwrap(wrapped, master_key_id="mk-gone", data_key_id="dk-1")


def test_unwrap_with_a_different_key_under_the_same_id_fails(tmp_path):
    ring = generate_keyring_file(tmp_path / "k")
    other = generate_keyring_file(tmp_path / "other")
    master, wrapped = ring.wrap(b"k" * 32, data_key_id="dk-1")
    other.keys[master] = other.keys[other.primary]
    with pytest.raises(IntegrityError, match="does not open"):
        other.unwrap(wrapped, master_key_id=master, data_key_id="dk-1")


@pytest.fixture
def store(tmp_path):
    return HiddenSetStore(root=tmp_path / "sets", keyring=generate_keyring_file(tmp_path / "k"))


def test_store_round_trip_and_lines(store, tmp_path):
    source = tmp_path / "labels.jsonl"
    rows = [json.dumps({"id": str(i), "label": i}) for i in range(1000)]
    source.write_text("\n".join(rows) + "\n")
    key = store.new_data_key()
    store.put(set_id="hs-1", role="labels", source=source, data_key=key)
    assert b'"label"' not in store.path("hs-1", "labels").read_bytes()
    reopened = store.open_data_key(key_id=key.id, master_key_id=key.master_key_id, wrapped=key.wrapped)
    got = [line.decode() for line in store.iter_lines(set_id="hs-1", role="labels", data_key=reopened)]
    assert got == rows


def test_decrypt_to_leaves_nothing_behind_on_tampering(store, tmp_path):
    source = tmp_path / "inputs.jsonl"
    source.write_bytes(b"x" * 3_000_000)
    key = store.new_data_key()
    store.put(set_id="hs-1", role="inputs", source=source, data_key=key)
    path = store.path("hs-1", "inputs")
    blob = bytearray(path.read_bytes())
    blob[-10] ^= 0xFF
    path.write_bytes(bytes(blob))
    dest = tmp_path / "job" / "inputs.jsonl"
    dest.parent.mkdir()
    with pytest.raises(IntegrityError):
        store.decrypt_to(set_id="hs-1", role="inputs", data_key=key, dest=dest)
    assert not dest.exists()


def test_files_swapped_between_roles_are_refused(store, tmp_path):
    source = tmp_path / "f"
    source.write_text("{}\n")
    key = store.new_data_key()
    store.put(set_id="hs-1", role="inputs", source=source, data_key=key)
    store.put(set_id="hs-1", role="labels", source=source, data_key=key)
    store.path("hs-1", "inputs").replace(store.path("hs-1", "labels"))
    with pytest.raises(IntegrityError, match="not the labels file"):
        list(store.iter_lines(set_id="hs-1", role="labels", data_key=key))


def test_processes_starting_at_once_agree_on_one_keyring_and_one_signing_key(tmp_path):
    """Several processes (gunicorn workers, `arena worker`s) may start together on a fresh
    ARENA_HOME: exactly one key is made, complete, and all of them use it."""
    from concurrent.futures import ThreadPoolExecutor

    from arena.signing import load_or_create_signer
    from hidden_sets._keyring import generate_keyring_file

    with ThreadPoolExecutor(8) as pool:
        rings = list(pool.map(lambda _: generate_keyring_file(tmp_path / "master.key"), range(8)))
        signers = list(pool.map(lambda _: load_or_create_signer(tmp_path / "signing.key"), range(8)))
    assert len({r.primary for r in rings}) == 1
    assert len({s.public_key for s in signers}) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key", "signing.key"]  # no temp files left
    assert oct((tmp_path / "master.key").stat().st_mode & 0o777) == "0o600"
