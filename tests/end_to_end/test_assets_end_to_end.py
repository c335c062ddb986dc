"""An image challenge with binary assets through the real engine, the real client and server:
the organiser's CLI streams assets/ up as a tar, the container reads them at /input/assets
(read-only), the run is scored, and a canary inside every asset never lands anywhere on disk in
plaintext, though the model prints the assets and copies them to /tmp and /output. Then a reveal
checks against the assets with `arena verify-set --assets`, and a changed asset fails it."""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import pytest
from conftest import BASE_IMAGE
from helpers import arena, make_bundle, serve_arena, write_jsonl
from test_canary import holding

from sandbox import build_image

pytestmark = pytest.mark.docker

IMAGE_MODEL = """
import json, os, shutil, sys
rows = [json.loads(l) for l in open("/input/inputs.jsonl")]
try:
    open("/input/assets/new", "w")
    sys.exit(3)  # /input must be read-only
except OSError:
    pass
with open("/output/predictions.jsonl", "w") as out:
    for row in rows:
        data = open("/input/" + row["input"]["image"], "rb").read()
        sys.stdout.write(data.decode("latin-1")); sys.stderr.write(data.decode("latin-1"))
        shutil.copy("/input/" + row["input"]["image"], "/tmp/" + row["id"])
        shutil.copy("/input/" + row["input"]["image"], "/output/" + row["id"])
        out.write(json.dumps({"id": row["id"], "prediction": "bright" if data[0] > 127 else "dark"}) + "\\n")
"""


def image_bundle(root: Path, canary: str, *, n: int = 24) -> Path:
    """Item i is a 'scan' assets/scans/i.raw whose first byte says bright or dark."""
    make_bundle(root, slug="scans", n=n, sample=False)
    rows, gold = [], []
    for i in range(n):
        first = 200 if i % 3 == 0 else 20
        data = bytes([first]) + f"{canary}-asset-{i}".encode() + secrets.token_bytes(20_000)
        path = root / "assets" / "scans" / f"{i:04d}.raw"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        rows.append({"id": f"s{i}", "input": {"image": f"assets/scans/{i:04d}.raw"}})
        gold.append({"id": f"s{i}", "label": "bright" if first > 127 else "dark"})
    write_jsonl(root / "inputs.jsonl", rows)
    write_jsonl(root / "labels.jsonl", gold)
    (root / "sample/assets").mkdir(parents=True)
    (root / "sample/assets/demo.raw").write_bytes(bytes([250]) + b"public sample")
    write_jsonl(root / "sample/inputs.jsonl", [{"id": "d0", "input": {"image": "assets/demo.raw"}}])
    write_jsonl(root / "sample/labels.jsonl", [{"id": "d0", "label": "bright"}])
    return root


@pytest.fixture(scope="module")
def image_model(docker_engine, tmp_path_factory):
    folder = tmp_path_factory.mktemp("image-model")
    (folder / "predict.py").write_text(IMAGE_MODEL)
    (folder / "Dockerfile").write_text(
        f'FROM {BASE_IMAGE}\nCOPY predict.py /app/predict.py\nENTRYPOINT ["python3", "/app/predict.py"]\n'
    )
    build_image(folder, tag="arena-test/image-model:latest")
    return "arena-test/image-model"


def test_assets_reach_the_container_and_no_plaintext_is_left(image_model, tmp_path_factory):
    canary = f"CANARY-{secrets.token_hex(8)}"
    work = tmp_path_factory.mktemp("assets")
    bundle = image_bundle(work / "bundle", canary)
    home = tmp_path_factory.mktemp("assets-home")
    with serve_arena(home) as env:
        organiser = json.loads(arena(env, "admin", "create-organiser", "Scans Org", "--json").stdout)
        made = json.loads(arena(env, "challenge", "create", str(bundle), "--json", token=organiser["token"]).stdout)
        assert made["n_items"] == 24
        shutil.rmtree(work)  # the organiser's own plaintext copy, outside the platform
        team = json.loads(arena(env, "team", "create", "Radiology", "--json", token=organiser["token"]).stdout)
        sample = json.loads(
            arena(env, "submit", "scans", image_model, "--sample", "--wait", "--json", token=team["token"]).stdout
        )
        assert (sample["status"], sample["score"]) == ("scored", 1.0)
        local = home / "sample-copy"
        arena(env, "challenge", "get-sample", "scans", str(local))
        assert (local / "assets/demo.raw").read_bytes() == bytes([250]) + b"public sample"
        assert sorted(p.name for p in local.iterdir()) == ["assets", "inputs.jsonl", "task.json"]  # never labels
        result = json.loads(arena(env, "submit", "scans", image_model, "--wait", "--json", token=team["token"]).stdout)
        assert result["status"] == "scored", result
        shown = json.loads(arena(env, "challenge", "list", "--json").stdout)
        scan_roots = [home, Path(env["ARENA_JOB_ROOT"]), Path(env["ARENA_SCRATCH_DIR"])]
    assert [c["slug"] for c in shown] == ["scans"]
    roots = scan_roots + [Path(p) for p in ("/tmp", "/var/tmp", "/dev/shm") if Path(p).exists()]
    assert holding(canary.encode(), roots) == []


def test_a_reveal_checks_against_the_assets_and_a_changed_asset_fails(image_model, tmp_path_factory):
    work = tmp_path_factory.mktemp("reveal-assets")
    bundle = image_bundle(work / "bundle", "public-now", n=6)
    home = tmp_path_factory.mktemp("reveal-home")
    with serve_arena(home) as env:
        organiser = json.loads(arena(env, "admin", "create-organiser", "Scans Org", "--json").stdout)
        made = json.loads(arena(env, "challenge", "create", str(bundle), "--json", token=organiser["token"]).stdout)
        arena(env, "challenge", "reveal", "scans", "--all", token=organiser["token"])
        arena(env, "challenge", "get-reveal", "scans", "--output", str(work / "reveal.json"))
    ok = arena(env, "verify-set", str(work / "reveal.json"), "--root", made["root"], "--assets", str(bundle))
    assert ok.stdout.startswith("OK: 6 of 6 items")
    scan = bundle / "assets/scans/0004.raw"
    data = scan.read_bytes()
    scan.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # one byte changed, whatever it was
    bad = arena(env, "verify-set", str(work / "reveal.json"), "--assets", str(bundle), check=False)
    assert bad.returncode == 1
    assert "item 's4': asset assets/scans/0004.raw does not match the committed hash" in bad.stdout
