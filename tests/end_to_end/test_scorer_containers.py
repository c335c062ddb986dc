"""Scoring containers through the real engine: a good scorer's per-item scores become a result
with an interval, and every kind of bad scorer (hangs, crashes, garbage, missing or extra items,
NaN, out of range, printing the labels) gets a clear reason for the organisers only; the team
sees `scorer_failed`, not counted against its quota, after one re-queue; the public log
records no result."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from conftest import BASE_IMAGE
from helpers import make_bundle, write_jsonl
from sqlalchemy import select

from arena import create_app, evaluation
from arena.db import upgrade
from arena.models import Image, Job, Submission, Upload
from arena.services import accounts, publiclog, submissions
from arena.services.accounts import Principal
from arena.services.challenges import create_challenge
from sandbox import build_image

pytestmark = pytest.mark.docker
N = 40

ECHO_MODEL = """
import json
with open("/input/inputs.jsonl") as src, open("/output/predictions.jsonl", "w") as out:
    for line in src:
        item = json.loads(line)
        out.write(json.dumps({"id": item["id"], "prediction": "even" if item["input"]["x"] % 4 else "odd"}) + "\\n")
print("echo model done")
"""

# One scorer; what it does is chosen by the labels it is given (the first label's "mode").
TEST_SCORER = """
import json, math, sys, time
labels = [json.loads(l) for l in open("/input/labels.jsonl")]
predictions = {p["id"]: p["prediction"] for p in map(json.loads, open("/input/predictions.jsonl"))}
assert sum(1 for _ in open("/input/inputs.jsonl")) == len(labels)
mode = labels[0]["label"]["mode"]
if mode == "hang":
    time.sleep(3600)
if mode == "crash":
    raise SystemExit(3)
rows = [{"id": l["id"], "score": float(predictions[l["id"]] == l["label"]["answer"]),
         "secondary": {"length": len(predictions[l["id"]])}} for l in labels]
if mode == "missing":
    rows = rows[:-1]
if mode == "extra":
    rows.append({"id": "not-an-item", "score": 1.0, "secondary": {"length": 1}})
if mode == "twice":
    rows.append(rows[0])
if mode == "nan":
    rows[3]["score"] = math.nan
if mode == "range":
    rows[3]["score"] = 2.0
if mode == "print_labels":
    print("LABELS:", json.dumps(labels)); sys.stderr.write("CANARY-" + labels[0]["label"]["canary"])
with open("/output/scores.jsonl", "w") as out:
    if mode == "garbage":
        out.write("this is not json\\n")
    for row in rows:
        out.write(json.dumps(row) + "\\n")
"""


def _image(folder: Path, name: str, source: str, tag: str) -> str:
    folder.mkdir()
    (folder / name).write_text(source)
    (folder / "Dockerfile").write_text(
        f'FROM {BASE_IMAGE}\nCOPY {name} /app/{name}\nENTRYPOINT ["python3", "/app/{name}"]\n'
    )
    return build_image(folder, tag=tag)


@pytest.fixture(scope="module")
def images(docker_engine, tmp_path_factory):
    root = tmp_path_factory.mktemp("scorer-images")
    return {
        "model": _image(root / "model", "model.py", ECHO_MODEL, "arena-test/echo-model:latest"),
        "scorer": _image(root / "scorer", "score.py", TEST_SCORER, "arena-test/mode-scorer:latest"),
    }


def _world(tmp_path: Path, images: dict, mode: str, canary: str = "none"):
    tag = secrets.token_hex(4)
    app = create_app(
        {
            "home": tmp_path / "home",
            "database_url": f"sqlite:///{tmp_path}/a.db",
            "master_key_file": tmp_path / "k",
            "job_root": Path(f"/dev/shm/arena-sc-{tag}"),
            "scratch_dir": Path(f"/dev/shm/arena-sc-{tag}-s"),
            "runner": "docker",
            "gpus": "none",
        }
    )
    platform = app.extensions["arena"]
    upgrade(platform.engine)
    organiser = accounts.create_organiser(platform, name="Org")[0]
    with platform.transaction() as session:  # as if uploaded through /api/uploads (tested by the CLI's end to end)
        for image_id in images.values():
            session.add(Image(digest=image_id, image_id=image_id, size_bytes=0))
        session.add(
            Upload(
                id="up-scorer",
                organiser_id=organiser.id,
                size=1,
                sha256="0" * 64,
                received=1,
                image_digest=images["scorer"],
            )
        )
    bundle = make_bundle(
        tmp_path / "b",
        n=N,
        sample=False,
        extra={
            "metric": "agreement",
            "max_pending": 10,
            "daily_quota": 1,
            "limits": {"time_limit_seconds": 30, "memory_mb": 256},
            "scorer": {
                "image": "arena-test/mode-scorer",
                "secondary": ["length"],
                "range": [0, 1],
                "limits": {"time_limit_seconds": 8},
            },
        },
    )
    write_jsonl(
        bundle / "labels.jsonl",
        [
            {"id": f"i{i}", "label": {"mode": mode, "canary": canary, "answer": "even" if i % 2 == 0 else "odd"}}
            for i in range(N)
        ],
    )
    create_challenge(platform, organiser_id=organiser.id, bundle_dir=bundle, scorer_digest=images["scorer"])
    team = accounts.create_team(platform, name="Echo", factories=[])[0]
    made = submissions.create_submission(platform, team_id=team.id, slug="toy", image_digest=images["model"])
    return platform, team, made["id"]


def _logged(platform, kind: str) -> list[dict]:
    return [e["body"]["data"] for e in publiclog.entries(platform, challenge="toy") if e["body"]["kind"] == kind]


def _run_until_done(platform, submission_id: str) -> Submission:
    for _ in range(4):
        if not evaluation.run_one(platform, worker="test-worker"):
            break
    with platform.sessions() as session:
        return session.get(Submission, submission_id)


def test_a_good_scorer_gives_a_result_with_an_interval(images, tmp_path):
    platform, team, sub_id = _world(tmp_path, images, "good")
    done = _run_until_done(platform, sub_id)
    assert done.status == "scored", (done.failure_reason, done.failure_detail)
    data = _logged(platform, "result")[0]
    assert data["metric"] == "agreement" and data["scorer_image"] == images["scorer"]
    assert data["released"]  # a team's first result is always released
    assert data["ci_low"] <= data["score"] <= data["ci_high"] and data["ci_low"] < data["ci_high"]
    assert set(data["secondary"]) == {"length"}
    assert _logged(platform, "challenge.open")[0]["scorer"]["image"] == images["scorer"]
    platform.engine.dispose()


BAD = [
    ("hang", "the scorer ran past its time limit of 8 s"),
    ("crash", "the scorer exited with code 3"),
    ("garbage", "scores.jsonl: line 1: not valid JSON"),
    ("missing", "scores.jsonl: 1 of 40 items have no score"),
    ("extra", "scores.jsonl: line 41: an id that is not one of the items"),
    ("twice", "scores.jsonl: line 41: an item scored twice"),
    ("nan", "scores.jsonl: line 4: not valid JSON (NaN and Infinity are refused)"),
    ("range", "scores.jsonl: line 4: 'score' is outside the declared range [0, 1]"),
]


@pytest.mark.parametrize("mode, reason", BAD, ids=[m for m, _ in BAD])
def test_a_bad_scorer_fails_as_the_platforms_with_a_reason_for_the_organiser(images, tmp_path, mode, reason):
    platform, team, sub_id = _world(tmp_path, images, mode)
    done = _run_until_done(platform, sub_id)
    assert (done.status, done.failure_reason) == ("failed", "scorer_failed")
    assert "scorer" in done.failure_detail and "does not count against your quota" in done.failure_detail
    assert reason not in done.failure_detail
    with platform.sessions() as session:
        jobs = session.scalars(select(Job).where(Job.submission_id == sub_id).order_by(Job.attempt)).all()
    assert [j.attempt for j in jobs] == [1, 2]  # re-queued once, then failed
    assert all(j.error.startswith(reason) and j.outcome == "scorer_failed" for j in jobs), [j.error for j in jobs]
    assert _logged(platform, "result") == []
    # The quota (1 a day) is not used up by a platform failure: the team may submit again.
    submissions.create_submission(platform, team_id=team.id, slug="toy", image_digest=images["model"])
    platform.engine.dispose()


def test_a_scorer_printing_the_labels_reaches_only_the_organisers(images, tmp_path):
    canary = f"LABEL-{secrets.token_hex(6)}"
    platform, team, sub_id = _world(tmp_path, images, "print_labels", canary=canary)
    done = _run_until_done(platform, sub_id)
    assert done.status == "scored"
    organiser = Principal("organiser", 1, "Org")
    seen = submissions.read_hidden_log(
        platform, principal=organiser, submission_id=sub_id, reason="checking what the scorer printed"
    )
    assert canary in seen["scorer_log"] and canary not in (seen["log"] or "")
    assert "echo model done" in seen["log"]
    shown = json.dumps(submissions.get_submission(platform, principal=team, submission_id=sub_id))
    assert canary not in shown and canary not in json.dumps(publiclog.entries(platform, challenge="toy"))
    with platform.sessions() as session:
        job = session.scalars(select(Job).where(Job.submission_id == sub_id)).one()
    assert canary.encode() not in job.scorer_log and canary.encode() not in (job.log or b"")
    platform.engine.dispose()
