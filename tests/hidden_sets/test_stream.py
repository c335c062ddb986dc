import io
import secrets

import pytest

from hidden_sets import SEGMENT_SIZE, IntegrityError, decrypt_stream, encrypt_stream
from hidden_sets._stream import TAG_SIZE

KEY = secrets.token_bytes(32)
ARGS = {"data_key": KEY, "key_id": "dk-1", "role": "labels", "set_id": "hs-1"}


def encrypt(data: bytes, **override) -> bytes:
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(data), out, **{**ARGS, **override})
    return out.getvalue()


def decrypt(blob: bytes, **override) -> bytes:
    out = io.BytesIO()
    decrypt_stream(io.BytesIO(blob), out, **{**ARGS, **override})
    return out.getvalue()


@pytest.mark.parametrize("size", [0, 1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 3 * SEGMENT_SIZE + 5])
def test_round_trip_at_segment_boundaries(size):
    data = secrets.token_bytes(size)
    blob = encrypt(data)
    assert size < 64 or data[:64] not in blob
    assert decrypt(blob) == data


def _header_len(blob: bytes) -> int:
    return 7 + int.from_bytes(blob[5:7], "big")


def test_a_flipped_byte_is_detected():
    blob = bytearray(encrypt(b"x" * 5000))
    blob[-100] ^= 1
    with pytest.raises(IntegrityError, match="segment 0"):
        decrypt(bytes(blob))


def test_a_changed_header_is_detected():
    blob = encrypt(b"secret")
    changed = blob.replace(b'"segment_size"', b'"segment_sizf"')
    with pytest.raises(IntegrityError):
        decrypt(changed)


def test_truncation_at_a_segment_boundary_is_detected():
    blob = encrypt(secrets.token_bytes(2 * SEGMENT_SIZE + 10))
    cut = _header_len(blob) + 2 * (SEGMENT_SIZE + TAG_SIZE)
    with pytest.raises(IntegrityError):
        decrypt(blob[:cut])


def test_truncation_inside_a_segment_is_detected():
    blob = encrypt(secrets.token_bytes(1000))
    with pytest.raises(IntegrityError):
        decrypt(blob[:-5])


def test_reordered_segments_are_detected():
    blob = encrypt(secrets.token_bytes(3 * SEGMENT_SIZE))
    head, seg = _header_len(blob), SEGMENT_SIZE + TAG_SIZE
    s0, s1 = blob[head : head + seg], blob[head + seg : head + 2 * seg]
    swapped = blob[:head] + s1 + s0 + blob[head + 2 * seg :]
    with pytest.raises(IntegrityError):
        decrypt(swapped)


def test_appended_data_is_detected():
    blob = encrypt(b"abc")
    with pytest.raises(IntegrityError):
        decrypt(blob + blob[-20:])


@pytest.mark.parametrize("field", [{"role": "inputs"}, {"set_id": "hs-2"}, {"key_id": "dk-2"}])
def test_a_file_of_another_role_set_or_key_is_refused(field):
    blob = encrypt(b"labels of set 1")
    with pytest.raises(IntegrityError):
        decrypt(blob, **field)


def test_a_wrong_data_key_is_refused():
    blob = encrypt(b"labels")
    with pytest.raises(IntegrityError, match="failed authentication"):
        decrypt(blob, data_key=secrets.token_bytes(32))


def test_garbage_is_not_a_hidden_set_file():
    with pytest.raises(IntegrityError, match="bad magic"):
        decrypt(b"hello world")


class Trickle(io.RawIOBase):
    """A source whose reads return at most 1000 bytes, as raw reads may."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self.inner.read(min(len(buffer), 1000))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_short_reads_do_not_break_segment_framing():
    data = secrets.token_bytes(2 * SEGMENT_SIZE + 77)
    blob = encrypt(data)
    out = io.BytesIO()
    decrypt_stream(Trickle(blob), out, **ARGS)
    assert out.getvalue() == data
