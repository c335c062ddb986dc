"""Binary assets in hidden sets: validation, encryption at rest, the commitment, staging into the
job folder (at the runner seam), the node's tar stream, and the API's assets.tar parts."""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import shutil
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import auth
from helpers import make_bundle, make_image_tarball, write_jsonl
from sqlalchemy import select

from arena import evaluation
from arena.cli.verify import asset_problems, verify_set
from arena.errors import BadRequest
from arena.models import HiddenSet, Job, Submission
from arena.services import assets, nodes
from arena.services.bundles import load_bundle
from arena.services.challenges import create_challenge
from arena.services.commitments import build_reveal
from arena.services.images import receive_image
from arena.services.submissions import create_submission
from arena.worker import Worker
from hidden_sets import HiddenSetError
from sandbox import RunOutcome

CANARY = b"ASSET-CANARY-" + secrets.token_hex(8).encode()


def asset_bundle(root: Path, *, n: int = 6, slug: str = "pics") -> Path:
    """Item i references assets/img/i.bin (bytes holding a canary); its label is the file's first
    byte's parity. Item 0 also references a shared asset."""
    make_bundle(root, slug=slug, n=n, sample=False)
    rows, gold = [], []
    for i in range(n):
        data = bytes([i]) + CANARY + secrets.token_bytes(3000 + i)
        (root / "assets" / "img").mkdir(parents=True, exist_ok=True)
        (root / "assets" / "img" / f"{i}.bin").write_bytes(data)
        refs = {"image": f"assets/img/{i}.bin"}
        if i == 0:
            refs["extra"] = ["assets/shared.txt"]
        rows.append({"id": f"i{i}", "input": refs})
        gold.append({"id": f"i{i}", "label": "even" if i % 2 == 0 else "odd"})
    (root / "assets" / "shared.txt").write_bytes(b"shared " + CANARY)
    write_jsonl(root / "inputs.jsonl", rows)
    write_jsonl(root / "labels.jsonl", gold)
    return root


class AssetReadingRunner:
    """Stands in for a container: reads /input/assets as the container would, predicts from the
    first byte, and records what it saw."""

    def __init__(self):
        self.seen: list[dict] = []

    def ensure_image(self, *, image_id, tarball):
        pass

    def run(self, spec, during=None):
        files = sorted(p.relative_to(spec.input_dir).as_posix() for p in spec.input_dir.rglob("*") if p.is_file())
        modes = {
            p.relative_to(spec.input_dir).as_posix(): p.stat().st_mode & 0o777
            for p in (spec.input_dir / "assets").rglob("*")
        }
        self.seen.append({"files": files, "modes": modes})
        with (spec.output_dir / "predictions.jsonl").open("w") as out:
            for line in (spec.input_dir / "inputs.jsonl").read_text().splitlines():
                item = json.loads(line)
                first = (spec.input_dir / item["input"]["image"]).read_bytes()[0]
                out.write(json.dumps({"id": item["id"], "prediction": "even" if first % 2 == 0 else "odd"}) + "\n")
        return RunOutcome("exited", 0, 0.1)

    def sweep(self, *, keep):
        return 0


@pytest.fixture
def made(platform, organiser_token, tmp_path):
    return create_challenge(platform, organiser_id=1, bundle_dir=asset_bundle(tmp_path / "bundle"))


def submit(platform, tmp_path, slug="pics") -> str:
    path = tmp_path / "img.tar"
    make_image_tarball(path, salt=secrets.token_hex(4))
    with path.open("rb") as stream:
        image = receive_image(platform, stream=stream)
    return create_submission(platform, team_id=1, slug=slug, image_digest=image.digest)["id"]


def hidden_set(platform, made) -> HiddenSet:
    with platform.sessions() as session:
        return session.get(HiddenSet, made.hidden_set_id)


def test_assets_are_encrypted_one_file_each_and_counted(platform, made):
    hidden = hidden_set(platform, made)
    assert (hidden.n_assets, hidden.assets_bytes) == (
        7,
        sum(3000 + i + 1 + len(CANARY) for i in range(6)) + len(b"shared ") + len(CANARY),
    )
    stored = sorted((platform.hidden_sets.root / hidden.id / "assets").iterdir())
    assert len(stored) == 7
    for path in platform.hidden_sets.root.rglob("*"):
        if path.is_file():
            assert CANARY not in path.read_bytes()
    assert hidden.commitment["n_assets"] == 7


def test_a_job_gets_exactly_its_assets_read_only_and_is_scored(platform, made, team_token, tmp_path):
    platform.runner = AssetReadingRunner()
    submission_id = submit(platform, tmp_path)
    Worker(platform, name="w1").drain()
    seen = platform.runner.seen[0]
    assert seen["files"] == [
        "assets/img/0.bin",
        "assets/img/1.bin",
        "assets/img/2.bin",
        "assets/img/3.bin",
        "assets/img/4.bin",
        "assets/img/5.bin",
        "assets/shared.txt",
        "inputs.jsonl",
        "task.json",
    ]
    assert set(seen["modes"].values()) <= {0o644, 0o755}
    with platform.sessions() as session:
        assert session.get(Submission, submission_id).status == "scored"
    assert list(platform.settings.job_root.iterdir()) == []  # the memory folder is gone


def test_swapped_asset_files_at_rest_fail_the_run_as_the_platforms_fault(platform, made, team_token, tmp_path):
    hidden = hidden_set(platform, made)
    first, second = (platform.hidden_sets.path(hidden.id, f"asset/{i}") for i in (0, 1))
    a, b = first.read_bytes(), second.read_bytes()
    first.write_bytes(b), second.write_bytes(a)
    platform.runner = AssetReadingRunner()
    ticket_key = evaluation.open_key(platform, hidden)
    (tmp_path / "stage").mkdir()
    with pytest.raises(HiddenSetError, match="failed authentication|not the"):
        assets.stage(platform, hidden, ticket_key, tmp_path / "stage")
    submit(platform, tmp_path)
    Worker(platform, name="w1").drain()
    with platform.sessions() as session:
        jobs = session.scalars(select(Job)).all()
        assert {j.outcome for j in jobs} == {"infrastructure"}
    assert platform.runner.seen == []  # no container started on a set that fails its check


def test_the_commitment_covers_asset_bytes_and_verify_set_checks_them(
    client, platform, made, organiser_token, tmp_path
):
    hidden = hidden_set(platform, made)
    document = build_reveal(platform, hidden, None)
    first = json.loads(document["items"][0]["item"])
    expected = hashlib.sha256((tmp_path / "bundle/assets/img/0.bin").read_bytes()).hexdigest()
    assert first["assets"] == {
        "assets/img/0.bin": expected,
        "assets/shared.txt": hashlib.sha256(b"shared " + CANARY).hexdigest(),
    }
    path = tmp_path / "reveal.json"
    path.write_text(json.dumps(document))
    ok = CliRunner().invoke(verify_set, [str(path), "--assets", str(tmp_path / "bundle")])
    assert ok.exit_code == 0, ok.output
    changed = tmp_path / "bundle/assets/img/3.bin"
    data = changed.read_bytes()
    changed.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    bad = CliRunner().invoke(verify_set, [str(path), "--assets", str(tmp_path / "bundle")])
    assert bad.exit_code == 1
    assert "item 'i3': asset assets/img/3.bin does not match the committed hash" in bad.output
    (tmp_path / "bundle/assets/shared.txt").unlink()
    gone = CliRunner().invoke(verify_set, [str(path), "--assets", str(tmp_path / "bundle")])
    assert "assets/shared.txt is missing" in gone.output
    # An item whose committed map leaves out an asset its input references is named.
    short = dict(first, assets={"assets/img/0.bin": expected})
    assert asset_problems({"items": [{"item": json.dumps(short)}]}, tmp_path / "bundle") == [
        "item 'i0': its committed assets are not the assets its input references, each with a SHA-256 hash"
    ]
    # A forged item claiming other asset hashes no longer hashes into the root.
    forged = dict(first, assets={"assets/img/0.bin": "0" * 64, "assets/shared.txt": "0" * 64})
    document["items"][0]["item"] = json.dumps(forged, sort_keys=True, separators=(",", ":"))
    path.write_text(json.dumps(document))
    assert "does not hash to the committed root" in CliRunner().invoke(verify_set, [str(path)]).output


def test_the_node_gets_the_assets_as_a_tar_decrypted_as_it_streams(platform, made, team_token, tmp_path):
    submission_id = submit(platform, tmp_path)
    ticket = evaluation.claim_next_job(platform, worker="node-test")
    assert ticket.submission_id == submission_id
    length, chunks = nodes.asset_stream(platform, ticket)
    body = b"".join(chunks)
    assert len(body) == length
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        got = {m.name: archive.extractfile(m).read() for m in archive if m.isreg()}
    bundle = tmp_path / "bundle"
    assert got == {
        p.relative_to(bundle).as_posix(): p.read_bytes() for p in (bundle / "assets").rglob("*") if p.is_file()
    }
    spec = nodes.spec(platform, ticket)
    assert spec["assets"] is True and spec["staged_bytes"] > hidden_set(platform, made).assets_bytes


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda b: (b / "assets/img/9.bin").write_bytes(b"x"), "referenced by no item"),
        (lambda b: (b / "assets/img/2.bin").unlink(), "references 'assets/img/2.bin', which is not a file"),
        (lambda b: (b / "assets/img/.hidden").write_bytes(b"x"), "an asset name must be made of"),
        (lambda b: (b / "assets/link").symlink_to(b / "assets/shared.txt"), "not a regular file"),
        (lambda b: shutil.rmtree(b / "assets"), "references 'assets/img/0.bin', which is not a file"),
        (lambda b: (b / "sample/assets").mkdir(parents=True), "sample/assets needs sample/inputs.jsonl"),
    ],
)
def test_bad_assets_are_refused_naming_the_problem(tmp_path, change, message):
    bundle = asset_bundle(tmp_path / "bundle")
    change(bundle)
    with pytest.raises(BadRequest, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_bundle(bundle)


def _tar(members: list[tuple[str, bytes | None, str]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                archive.addfile(info)
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
    return out.getvalue()


def _upload(client, token, bundle: Path, assets_tar: bytes):
    parts = {
        name: (io.BytesIO((bundle / name).read_bytes()), name)
        for name in ("challenge.yaml", "inputs.jsonl", "labels.jsonl")
    }
    parts["assets.tar"] = (io.BytesIO(assets_tar), "assets.tar")
    return client.post("/api/challenges", data=parts, headers=auth(token), content_type="multipart/form-data")


def test_the_api_takes_assets_as_one_tar_part(client, platform, organiser_token, tmp_path):
    bundle = asset_bundle(tmp_path / "bundle")
    members = [
        (p.relative_to(bundle).as_posix(), p.read_bytes(), "file")
        for p in sorted((bundle / "assets").rglob("*"))
        if p.is_file()
    ]
    made = _upload(client, organiser_token, bundle, _tar([("assets", None, "dir"), *members]))
    assert made.status_code == 201, made.json
    assert (made.json["n_assets"], made.json["n_sample_assets"]) == (7, 0)
    shown = client.get("/api/challenges/pics").json
    assert (shown["n_assets"], shown["protocol"]) == (7, "batch")
    assert "6 hidden items with 7 binary asset files" in client.get("/challenges/pics").get_data(as_text=True)


@pytest.mark.parametrize(
    "members, message",
    [
        ([("assets/../../etc/x", b"x", "file")], "must be made of"),
        (["/abs"], None),
        ([("assets/a", None, "symlink")], "not a regular file"),
        ([("elsewhere/a.bin", b"x", "file")], "must start with 'assets/'"),
        ([("assets/a.bin", b"x", "file"), ("assets/a.bin", b"y", "file")], "appears twice"),
    ],
)
def test_hostile_asset_tars_are_refused_and_leave_nothing(
    client, platform, organiser_token, tmp_path, members, message
):
    bundle = asset_bundle(tmp_path / "bundle")
    if members == ["/abs"]:
        members, message = [("/assets/a.bin", b"x", "file")], "must start with 'assets/'"
    refused = _upload(client, organiser_token, bundle, _tar(members))
    assert refused.status_code == 400
    assert message in refused.json["error"]["message"]
    assert not (tmp_path / "etc").exists()
    assert list(platform.settings.scratch_dir.iterdir()) == []
    assert client.get("/api/challenges/pics").status_code == 404
    garbage = _upload(client, organiser_token, bundle, b"not a tar at all" * 100)
    assert "not a valid uncompressed tar" in garbage.json["error"]["message"]


def test_the_console_takes_assets_as_a_tar_file(client, platform, organiser_token, tmp_path):
    from conftest import csrf_of, web_sign_in

    bundle = asset_bundle(tmp_path / "bundle")
    members = [
        (p.relative_to(bundle).as_posix(), p.read_bytes(), "file")
        for p in sorted((bundle / "assets").rglob("*"))
        if p.is_file()
    ]
    web_sign_in(client, organiser_token, role="organiser")
    made = client.post(
        "/console/challenges/new",
        content_type="multipart/form-data",
        data={
            "csrf": csrf_of(client, "/console/challenges/new"),
            **{
                field: (io.BytesIO((bundle / name).read_bytes()), name)
                for field, name in (
                    ("challenge_yaml", "challenge.yaml"),
                    ("inputs", "inputs.jsonl"),
                    ("labels", "labels.jsonl"),
                )
            },
            "assets": (io.BytesIO(_tar(members)), "assets.tar"),
        },
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    assert client.get("/api/challenges/pics").json["n_assets"] == 7


def test_teams_download_the_sample_assets_as_a_tar(client, platform, organiser_token, tmp_path):
    bundle = asset_bundle(tmp_path / "bundle")
    (bundle / "sample/assets/demo").mkdir(parents=True)
    (bundle / "sample/assets/demo/a.bin").write_bytes(b"\x01public")
    write_jsonl(bundle / "sample/inputs.jsonl", [{"id": "s0", "input": {"image": "assets/demo/a.bin"}}])
    write_jsonl(bundle / "sample/labels.jsonl", [{"id": "s0", "label": "odd"}])
    create_challenge(platform, organiser_id=1, bundle_dir=bundle)
    assert client.get("/api/challenges/pics").json["n_sample_assets"] == 1
    assert "/api/challenges/pics/sample/assets.tar" in client.get("/challenges/pics").get_data(as_text=True)
    got = client.get("/api/challenges/pics/sample/assets.tar")
    assert got.status_code == 200 and got.headers["Content-Length"] == str(len(got.data))
    with tarfile.open(fileobj=io.BytesIO(got.data)) as archive:
        assert {m.name: archive.extractfile(m).read() for m in archive} == {"assets/demo/a.bin": b"\x01public"}
    plain = make_bundle(tmp_path / "plain", slug="plain")
    create_challenge(platform, organiser_id=1, bundle_dir=plain)
    assert client.get("/api/challenges/plain/sample/assets.tar").status_code == 404


def _raw_multipart(parts: list[tuple[str, bytes]], *, end: bool = True, field: bool = False) -> tuple[str, bytes]:
    boundary = "b0undary"
    body = b""
    for name, data in parts:
        disposition = f'form-data; name="{name}"' + ("" if field else f'; filename="{name}"')
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    if end:
        body += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


@pytest.mark.parametrize(
    "shape, message",
    [
        ("twice", "inputs.jsonl was sent twice"),
        ("field", "unexpected form field 'challenge.yaml'; send files only"),
        ("truncated", "the upload ended before its last part"),
        ("not multipart", "send the bundle as multipart/form-data"),
    ],
)
def test_a_malformed_upload_is_refused_and_leaves_nothing(client, platform, organiser_token, tmp_path, shape, message):
    bundle = asset_bundle(tmp_path / "bundle")
    files = [(name, (bundle / name).read_bytes()) for name in ("challenge.yaml", "inputs.jsonl", "labels.jsonl")]
    members = [
        (p.relative_to(bundle).as_posix(), p.read_bytes(), "file")
        for p in sorted((bundle / "assets").rglob("*"))
        if p.is_file()
    ]
    parts = [("assets.tar", _tar(members)), *files]
    content_type, body = {
        "twice": lambda: _raw_multipart([*parts, files[1]]),
        "field": lambda: _raw_multipart([files[0]], field=True),
        "truncated": lambda: _raw_multipart(parts, end=False),
        "not multipart": lambda: ("application/octet-stream", b"x"),
    }[shape]()
    refused = client.post("/api/challenges", data=body, headers={**auth(organiser_token), "Content-Type": content_type})
    assert refused.status_code == 400 and message in refused.json["error"]["message"]
    assert list(platform.settings.scratch_dir.iterdir()) == []
    good_type, good = _raw_multipart(parts)
    made = client.post("/api/challenges", data=good, headers={**auth(organiser_token), "Content-Type": good_type})
    assert made.status_code == 201, made.json


def test_a_new_version_brings_its_own_assets(client, platform, made, organiser_token, tmp_path):
    version = asset_bundle(tmp_path / "v2", n=4)
    members = [
        (p.relative_to(version).as_posix(), p.read_bytes(), "file")
        for p in sorted((version / "assets").rglob("*"))
        if p.is_file()
    ]
    content_type, body = _raw_multipart(
        [
            ("inputs.jsonl", (version / "inputs.jsonl").read_bytes()),
            ("labels.jsonl", (version / "labels.jsonl").read_bytes()),
            ("assets.tar", _tar(members)),
        ]
    )
    added = client.post(
        "/api/challenges/pics/versions", data=body, headers={**auth(organiser_token), "Content-Type": content_type}
    )
    assert added.status_code == 201, added.json
    assert (added.json["version"], added.json["n_assets"], added.json["n_items"]) == (2, 5, 4)
    with platform.sessions() as session:
        second = session.get(HiddenSet, added.json["hidden_set"])
        assert (
            assets.hashes(platform, second, evaluation.open_key(platform, second))["assets/img/3.bin"]
            == hashlib.sha256((version / "assets/img/3.bin").read_bytes()).hexdigest()
        )


def test_a_jobs_staged_assets_count_in_a_workers_memory_and_a_slurm_jobs(
    platform, team_token, organiser_token, tmp_path
):
    from test_slurm_executor import FakeSlurm

    from arena.evaluation.executors.slurm import SlurmExecutor
    from arena.worker import Capacity

    bundle = asset_bundle(tmp_path / "bundle")
    big = bundle / "assets" / "shared.txt"
    big.write_bytes(big.read_bytes() + b"\0" * (3 * 2**20))  # the set now takes 4 MiB when staged
    create_challenge(platform, organiser_id=1, bundle_dir=bundle)
    submit(platform, tmp_path)
    memory = 256  # the challenge's memory_mb (helpers.make_bundle)
    assert (
        evaluation.claim_next_job(platform, worker="w", fits=Capacity(cpus=4, memory_mb=memory + 3, gpus=0).fits)
        is None
    )
    ticket = evaluation.claim_next_job(platform, worker="w", fits=Capacity(cpus=4, memory_mb=memory + 4, gpus=0).fits)
    assert ticket.limits.folder_mb == 4
    evaluation.record(platform, ticket, evaluation.JobVerdict("retry", reason="infrastructure", detail="test"))
    fake = FakeSlurm()
    assert SlurmExecutor(platform, name="d1", cli=fake).dispatch_one()
    assert fake.submitted[0].memory_mb == memory + 512 + 4


def test_node_run_says_so_when_the_assets_arrive_cut_short(tmp_path):
    from contextlib import contextmanager

    import click

    from arena.cli.node_cmds import _stage
    from arena.streams import Entry, tar_chunks
    from sandbox import JobFolder

    whole = b"".join(tar_chunks([Entry("assets/a.bin", 5000, lambda: [b"x" * 5000])]))

    class CutShort:
        def download(self, path, target):
            target.write_text('{"id": "a", "input": {"image": "assets/a.bin"}}\n')

        @contextmanager
        def stream(self, path):
            yield io.BytesIO(whole[:1500])

    folder = JobFolder.create(root=tmp_path / "jobs", job_id="j1", size_bytes=2**20, use_tmpfs=False)
    spec = {"protocol": "batch", "assets": True, "challenge": "pics", "metric": "accuracy"}
    with pytest.raises(click.ClickException, match="the job's assets did not arrive whole"):
        _stage(CutShort(), spec, folder)
    folder.wipe()
