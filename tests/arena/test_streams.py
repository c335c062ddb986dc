"""Tar streams of known length, streamed multipart bodies, and the careful unpacker."""

from __future__ import annotations

import io
import tarfile

import pytest
from werkzeug.formparser import parse_form_data

from arena.streams import Entry, UnpackError, UnpackLimits, multipart, tar_chunks, tar_length, unpack_assets

LOOSE = UnpackLimits(max_files=100, max_file_bytes=10**6, max_total_bytes=10**7)


def entries(*files: tuple[str, bytes]) -> list[Entry]:
    return [Entry(name, len(data), lambda data=data: [data[:7], data[7:]]) for name, data in files]


def test_a_tar_stream_has_the_length_it_announces_and_unpacks_to_the_same_files(tmp_path):
    files = [("assets/a.bin", b"x" * 1000), ("assets/deep/b.txt", b""), ("assets/" + "n" * 120 + ".bin", b"long")]
    body = b"".join(tar_chunks(entries(*files)))
    assert len(body) == tar_length(entries(*files))
    assert unpack_assets(io.BytesIO(body), tmp_path, limits=LOOSE) == 3
    assert {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == dict(
        files
    )


def test_a_file_that_changes_size_while_sent_stops_the_stream():
    grown = Entry("assets/a", 3, lambda: [b"abcd"])
    with pytest.raises(OSError, match="grew"):
        b"".join(tar_chunks([grown]))
    shrunk = Entry("assets/a", 3, lambda: [b"ab"])
    with pytest.raises(OSError, match="shrank"):
        b"".join(tar_chunks([shrunk]))


def test_a_multipart_body_streams_with_progress_and_parses_back():
    parts = [("inputs.jsonl", 5, lambda: [b"12345"]), ("assets.tar", 3, lambda: [b"a", b"bc"])]
    content_type, body = multipart(parts)
    seen = []
    body.progress = seen.append
    raw = b""
    while chunk := body.read(4):
        raw += chunk
    assert len(raw) == len(body) == sum(seen)
    _stream, _form, files = parse_form_data(
        {
            "wsgi.input": io.BytesIO(raw),
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(raw)),
            "REQUEST_METHOD": "POST",
        }
    )
    got = {name: f.read() for name, f in files.items()}
    for f in files.values():
        f.close()
    assert got == {"inputs.jsonl": b"12345", "assets.tar": b"abc"}


@pytest.mark.parametrize(
    "limits, files, message",
    [
        (
            UnpackLimits(2, 10**6, 10**7),
            [("assets/a", b"1"), ("assets/b", b"2"), ("assets/c", b"3")],
            "more than 2 asset files",
        ),
        (UnpackLimits(10, 3, 10**7), [("assets/a", b"1234")], "larger than 3 bytes"),
        (UnpackLimits(10, 10, 5), [("assets/a", b"123"), ("assets/b", b"456")], "total more than 5 bytes"),
    ],
)
def test_unpacking_keeps_to_the_limits(tmp_path, limits, files, message):
    body = b"".join(tar_chunks(entries(*files)))
    with pytest.raises(UnpackError, match=message):
        unpack_assets(io.BytesIO(body), tmp_path, limits=limits)


def test_hard_links_and_devices_are_refused(tmp_path):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for kind in (tarfile.LNKTYPE, tarfile.CHRTYPE):
            info = tarfile.TarInfo("assets/x")
            info.type, info.linkname = kind, "assets/y"
            archive.addfile(info)
    with pytest.raises(UnpackError, match="not a regular file"):
        unpack_assets(io.BytesIO(out.getvalue()), tmp_path, limits=LOOSE)
    assert list(tmp_path.iterdir()) == []


def test_the_client_follows_links_to_a_dataset_kept_elsewhere_and_stops_at_a_loop(tmp_path):
    from arena.client import _asset_files

    elsewhere = tmp_path / "datasets" / "scans"
    elsewhere.mkdir(parents=True)
    (elsewhere / "a.raw").write_bytes(b"a")
    assets = tmp_path / "bundle" / "assets"
    assets.mkdir(parents=True)
    (assets / "scans").symlink_to(elsewhere)
    (assets / "b.raw").symlink_to(elsewhere / "a.raw")
    (elsewhere / "loop").symlink_to(assets)
    assert [name for name, _path in _asset_files(assets)] == ["assets/b.raw", "assets/scans/a.raw"]
