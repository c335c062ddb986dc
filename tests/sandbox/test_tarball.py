import io
import json
import tarfile

import pytest
from helpers import make_image_tarball

from sandbox import ImageError, inspect_image_tarball


def test_a_good_tarball_gives_the_config_digest(tmp_path):
    path = tmp_path / "image.tar"
    image_id = make_image_tarball(path)
    assert inspect_image_tarball(path).image_id == image_id


def test_two_images_are_refused(tmp_path):
    path = tmp_path / "image.tar"
    make_image_tarball(path, images=2)
    with pytest.raises(ImageError, match="exactly one image"):
        inspect_image_tarball(path)


def test_a_foreign_architecture_is_refused(tmp_path):
    path = tmp_path / "image.tar"
    make_image_tarball(path, arch="arm64")
    with pytest.raises(ImageError, match="arm64; build it for amd64"):
        inspect_image_tarball(path)


def test_not_a_tarball(tmp_path):
    path = tmp_path / "image.tar"
    path.write_bytes(b"hello" * 1000)
    with pytest.raises(ImageError, match="not a `docker save` tarball"):
        inspect_image_tarball(path)


def _tar_with(path, name: str, data: bytes = b"x", kind=tarfile.REGTYPE, link: str = "") -> None:
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.size = kind, link, len(data) if kind == tarfile.REGTYPE else 0
        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
        manifest = json.dumps([{"Config": "c.json"}]).encode()
        meta = tarfile.TarInfo("manifest.json")
        meta.size = len(manifest)
        tar.addfile(meta, io.BytesIO(manifest))


@pytest.mark.parametrize(
    ("name", "kind", "link"),
    [
        ("../evil", tarfile.REGTYPE, ""),
        ("/etc/evil", tarfile.REGTYPE, ""),
        ("link", tarfile.SYMTYPE, "../../etc/passwd"),
        ("dev", tarfile.CHRTYPE, ""),
    ],
)
def test_paths_links_and_devices_that_leave_the_archive_are_refused(tmp_path, name, kind, link):
    path = tmp_path / "image.tar"
    _tar_with(path, name, kind=kind, link=link)
    with pytest.raises(ImageError, match="leave"):
        inspect_image_tarball(path)


def test_config_that_does_not_match_its_digest(tmp_path):
    path = tmp_path / "image.tar"
    digest = "0" * 64
    with tarfile.open(path, "w") as tar:
        for name, data in (
            (f"blobs/sha256/{digest}", b"{}"),
            ("manifest.json", json.dumps([{"Config": f"blobs/sha256/{digest}"}]).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ImageError, match="does not match its digest"):
        inspect_image_tarball(path)


@pytest.mark.parametrize(
    ("run", "message"),
    [
        ({"WorkingDir": "/proc/self"}, "WORKDIR /proc/self is under /proc"),
        ({"WorkingDir": "/sys"}, "WORKDIR /sys"),
        ({"Env": ["PATH=/usr/bin", "LD_PRELOAD=/evil.so"]}, "sets LD_PRELOAD"),
        ({"Env": ["LD_AUDIT=/a.so"]}, "sets LD_AUDIT"),
        ({"Volumes": {"/data": {}}}, "declares VOLUMEs"),
    ],
)
def test_image_settings_aimed_at_the_platform_are_refused(tmp_path, run, message):
    path = tmp_path / "image.tar"
    make_image_tarball(path, run=run)
    with pytest.raises(ImageError, match=message):
        inspect_image_tarball(path)


def test_ordinary_settings_pass(tmp_path):
    path = tmp_path / "image.tar"
    make_image_tarball(path, run={"WorkingDir": "/app", "Env": ["PATH=/usr/bin", "LANG=C.UTF-8"]})
    assert inspect_image_tarball(path).architecture == "amd64"


def _image(
    path,
    *,
    config: bytes | None = None,
    entry: dict | None = None,
    layers: dict | None = None,
    manifest: bytes | None = None,
) -> None:
    """A tarball with the given config bytes, manifest entry fields and layer files."""
    import hashlib

    config = config if config is not None else json.dumps({"architecture": "amd64", "config": {}}).encode()
    digest = hashlib.sha256(config).hexdigest()
    fields = {"Config": f"blobs/sha256/{digest}", "Layers": [], **(entry or {})}
    with tarfile.open(path, "w") as tar:
        for name, data in {
            f"blobs/sha256/{digest}": config,
            **(layers or {}),
            "manifest.json": manifest or json.dumps([fields]).encode(),
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"entry": {"Config": 5}},
        {"entry": {"Config": None}},
        {"entry": {"Layers": "blobs/sha256/x"}},
        {"entry": {"Layers": [5]}},
        {"entry": {"Layers": ["../../etc/passwd"]}},
        {"entry": {"Layers": ["/etc/passwd"]}},
        {"entry": {"Layers": ["blobs/sha256/missing"]}},
        {"config": b"not json"},
        {"config": b"[1, 2]"},
        {"config": b'{"architecture": "amd64", "config": []}'},
        {"config": b'{"architecture": "amd64", "config": {"Env": 5}}'},
        {"config": b'{"architecture": "amd64", "config": {"WorkingDir": 5}}'},
        {"config": b'{"architecture": ["amd64"], "config": {}}'},
        {"config": b"\xff\xfe"},
        {"manifest": b"[5]"},
        {"manifest": b'{"Config": "x"}'},
    ],
)
def test_malformed_images_are_refused_with_a_reason(tmp_path, kwargs):
    """The review's finding: some malformed tarballs gave a 500, and layer paths were not checked
    to stay inside the archive."""
    _image(tmp_path / "i.tar", **kwargs)
    with pytest.raises(ImageError):
        inspect_image_tarball(tmp_path / "i.tar")


def test_layers_inside_the_archive_pass(tmp_path):
    _image(tmp_path / "i.tar", entry={"Layers": ["blobs/sha256/layer"]}, layers={"blobs/sha256/layer": b"l"})
    assert inspect_image_tarball(tmp_path / "i.tar").layers == 1


def test_truncated_tarballs_are_refused(tmp_path):
    _image(tmp_path / "i.tar", entry={"Layers": ["blobs/sha256/layer"]}, layers={"blobs/sha256/layer": b"l" * 5000})
    whole = (tmp_path / "i.tar").read_bytes()
    for cut in (100, 600, 2000, 4000, 7000):
        (tmp_path / "t.tar").write_bytes(whole[:cut])
        with pytest.raises(ImageError):
            inspect_image_tarball(tmp_path / "t.tar")


def test_a_tarball_cut_inside_a_layer_after_its_manifest_is_refused(tmp_path):
    import hashlib

    config = json.dumps({"architecture": "amd64", "config": {}}).encode()
    digest = hashlib.sha256(config).hexdigest()
    manifest = json.dumps([{"Config": f"blobs/sha256/{digest}", "Layers": ["layer.tar"]}]).encode()
    with tarfile.open(tmp_path / "i.tar", "w") as tar:
        for name, data in (
            ("manifest.json", manifest),
            (f"blobs/sha256/{digest}", config),
            ("layer.tar", b"l" * 50_000),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (tmp_path / "t.tar").write_bytes((tmp_path / "i.tar").read_bytes()[:20_000])
    with pytest.raises(ImageError, match="cut short|unreadable"):
        inspect_image_tarball(tmp_path / "t.tar")
