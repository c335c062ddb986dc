"""The worker runs real containers side by side up to its capacity, and no further."""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path

import pytest
from conftest import BASE_IMAGE
from helpers import make_bundle
from sqlalchemy import select

from arena import create_app
from arena.db import upgrade
from arena.models import Image, Job, Submission
from arena.services import accounts
from arena.services.challenges import create_challenge
from arena.services.submissions import create_submission
from arena.worker import Capacity, Worker
from sandbox import build_image

pytestmark = pytest.mark.docker
SLEEPER = """
import json, time
time.sleep(1.5)
with open("/input/inputs.jsonl") as src, open("/output/predictions.jsonl", "w") as out:
    for line in src:
        out.write(json.dumps({"id": json.loads(line)["id"], "prediction": "even"}) + "\\n")
"""


def test_two_cpus_run_two_one_cpu_jobs_at_once(docker_engine, tmp_path):
    tag = secrets.token_hex(4)
    app = create_app(
        {
            "home": tmp_path / "home",
            "database_url": f"sqlite:///{tmp_path}/a.db",
            "master_key_file": tmp_path / "k",
            "job_root": Path(f"/dev/shm/arena-cap-{tag}"),
            "scratch_dir": Path(f"/dev/shm/arena-cap-{tag}-s"),
            "runner": "docker",
            "gpus": "none",
        }
    )
    platform = app.extensions["arena"]
    upgrade(platform.engine)
    create_challenge(
        platform,
        organiser_id=accounts.create_organiser(platform, name="Org")[0].id,
        bundle_dir=make_bundle(
            tmp_path / "b",
            extra={
                "limits": {"cpus": 1, "memory_mb": 128, "time_limit_seconds": 30},
                "max_pending": 10,
                "daily_quota": 10,
            },
        ),
    )
    team = accounts.create_team(platform, name="Sleepers", factories=[])[0]
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.py").write_text(SLEEPER)
    (tmp_path / "m" / "Dockerfile").write_text(
        f'FROM {BASE_IMAGE}\nCOPY model.py /app/model.py\nENTRYPOINT ["python3", "/app/model.py"]\n'
    )
    image_id = build_image(tmp_path / "m", tag="arena-test/sleeper:latest")
    with platform.transaction() as session:
        session.add(Image(digest=image_id, image_id=image_id, size_bytes=0))
    for _ in range(4):
        create_submission(platform, team_id=team.id, slug="toy", image_digest=image_id)

    stop = threading.Event()
    worker = Worker(platform, capacity=Capacity(cpus=2, memory_mb=100_000, gpus=0))
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with platform.sessions() as session:
                statuses = session.scalars(select(Submission.status)).all()
            if statuses.count("scored") == 4:
                break
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert statuses.count("scored") == 4
    with platform.sessions() as session:
        spans = session.execute(select(Job.started_at, Job.finished_at)).all()
    edges = sorted([(s, 1) for s, _ in spans] + [(f, -1) for _, f in spans])
    running, peak = 0, 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    assert peak == 2
    platform.engine.dispose()
