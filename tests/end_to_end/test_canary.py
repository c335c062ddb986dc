"""A full evaluation with a canary in every hidden input and label, then a scan of every place
plaintext could have been left: ARENA_HOME (database, blobs, logs), the job and scratch folders,
/tmp, /var/tmp and /dev/shm. The model prints its inputs to stdout and stderr and copies them to
/tmp and /output, so logs and container writes are covered too. Nothing may be found."""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path

import pytest
from conftest import BASE_IMAGE
from helpers import arena, make_bundle, serve_arena

from arena.config import load_settings
from sandbox import build_image

pytestmark = pytest.mark.docker

LEAKY_MODEL = """
import json, shutil, sys
lines = open("/input/inputs.jsonl").read().splitlines()
print("\\n".join(lines)); print("\\n".join(lines), file=sys.stderr)
shutil.copy("/input/inputs.jsonl", "/tmp/copy.jsonl")
shutil.copy("/input/inputs.jsonl", "/output/copy.jsonl")
with open("/output/predictions.jsonl", "w") as out:
    for line in lines:
        out.write(json.dumps({"id": json.loads(line)["id"], "prediction": "nothing"}) + "\\n")
"""
SCAN_LIMIT = 512 * 1024**2


def files_under(root: Path):
    for parent, _dirs, names in os.walk(root, followlinks=False):
        for name in names:
            path = Path(parent) / name
            try:
                if path.is_file() and not path.is_symlink() and path.stat().st_size <= SCAN_LIMIT:
                    yield path
            except OSError:
                continue


def holding(canary: bytes, roots: list[Path]) -> list[str]:
    found = []
    for root in roots:
        for path in files_under(root):
            try:
                with path.open("rb") as handle:
                    tail = b""
                    while chunk := handle.read(1 << 20):
                        if canary in tail + chunk:
                            found.append(str(path))
                            break
                        tail = chunk[-len(canary) :]
            except OSError:
                continue
    return found


def test_no_plaintext_is_left_anywhere(docker_engine, tmp_path_factory):
    canary = f"CANARY-{secrets.token_hex(8)}"
    work = tmp_path_factory.mktemp("canary")
    labels = [f"{canary}-label-{i}" for i in range(40)]
    bundle = make_bundle(work / "bundle", slug="canary", n=40, labels=labels, sample=False)
    rows = [{"id": f"i{i}", "input": {"text": f"{canary}-input-{i}"}} for i in range(40)]
    (bundle / "inputs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (work / "model").mkdir()
    (work / "model" / "predict.py").write_text(LEAKY_MODEL)
    (work / "model" / "Dockerfile").write_text(
        f'FROM {BASE_IMAGE}\nCOPY predict.py /app/predict.py\nENTRYPOINT ["python3", "/app/predict.py"]\n'
    )
    build_image(work / "model", tag="arena-test/leaky:latest")

    home = tmp_path_factory.mktemp("canary-home")
    with serve_arena(home) as env:
        organiser = json.loads(arena(env, "admin", "create-organiser", "Canary Org", "--json").stdout)
        arena(env, "challenge", "create", str(bundle), token=organiser["token"])
        shutil.rmtree(work)  # the organiser's own plaintext copy, outside the platform
        team = json.loads(arena(env, "team", "create", "Leaky", "--json", token=organiser["token"]).stdout)
        result = json.loads(
            arena(env, "submit", "canary", "arena-test/leaky", "--wait", "--json", token=team["token"]).stdout
        )
        assert (result["status"], result["score"]) == ("scored", 0.0)
        scan_roots = [home, Path(env["ARENA_JOB_ROOT"]), Path(env["ARENA_SCRATCH_DIR"])]
        mine = f"arena.instance={load_settings(environ=env).instance_id}"
    roots = scan_roots + [Path(p) for p in ("/tmp", "/var/tmp", "/dev/shm") if Path(p).exists()]
    assert holding(canary.encode(), roots) == []
    assert docker_engine.containers.list(all=True, filters={"label": mine}) == []
