"""The fair queue: one job to one worker under racing workers, per-team caps, fair order."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from helpers import make_bundle, make_image_tarball
from sqlalchemy import select

from arena import create_app, evaluation
from arena.cli.verify import verify_log_document
from arena.db import upgrade
from arena.models import Job, Submission
from arena.services import accounts, logexport, queue
from arena.services.challenges import create_challenge
from arena.services.images import receive_image
from arena.services.submissions import create_submission
from arena.worker import Worker
from sandbox import FakeRunner

T0 = datetime(2026, 1, 1)


def test_the_team_with_fewest_running_then_the_longest_waiting_job_goes_first():
    candidates = [
        ("a1", 1, T0, {}),
        ("a2", 1, T0.replace(second=1), {}),
        ("b1", 2, T0.replace(second=3), {}),
        ("c1", 3, T0.replace(second=2), {}),
    ]
    assert [c[0] for c in queue.order(candidates, {1: 1})] == ["c1", "b1", "a1", "a2"]
    assert [c[0] for c in queue.order(candidates, {})] == ["a1", "a2", "c1", "b1"]


def seed(platform, tmp_path, teams: dict[str, int]) -> dict[str, list[str]]:
    organiser, _ = accounts.create_organiser(platform, name="Org")
    create_challenge(
        platform,
        organiser_id=organiser.id,
        bundle_dir=make_bundle(tmp_path / "b", n=6, extra={"max_pending": 100, "daily_quota": 1000}),
    )
    made: dict[str, list[str]] = {}
    for name, count in teams.items():
        team, _ = accounts.create_team(platform, name=name, factories=[name])
        for i in range(count):
            path = tmp_path / f"{name}{i}.tar"
            make_image_tarball(path, salt=f"{name}{i}")
            with path.open("rb") as stream:
                image = receive_image(platform, stream=stream)
            made.setdefault(name, []).append(
                create_submission(platform, team_id=team.id, slug="toy", image_digest=image.digest, actor=team)["id"]
            )
    return made


def _team_of(platform, job_id):
    with platform.sessions() as session:
        job = session.get(Job, job_id)
        return session.get(Submission, job.submission_id).team.name


def test_a_burst_from_one_team_does_not_starve_another_and_caps_hold(platform, tmp_path):
    seed(platform, tmp_path, {"Burst": 5, "Single": 1})
    taken = []
    while (ticket := evaluation.claim_next_job(platform, worker="w")) is not None:
        taken.append(_team_of(platform, ticket.job_id))
    # Burst arrived first, but Single starts second; Burst never has more than 2 running.
    assert taken == ["Burst", "Single", "Burst"]


@pytest.mark.postgres
def test_racing_workers_on_postgresql_take_each_job_once(postgres_database, tmp_path, job_root):
    runner = FakeRunner(predict=lambda item: "even" if item["x"] % 2 == 0 else "odd")
    app = create_app(
        {
            "TESTING": True,
            "home": tmp_path / "home",
            "database_url": postgres_database,
            "master_key_file": tmp_path / "home" / "master.key",
            "job_root": job_root,
            "scratch_dir": job_root.parent / f"{job_root.name}-scratch",
            "RUNNER": runner,
            "team_max_running": 100,
        }
    )
    platform = app.extensions["arena"]
    upgrade(platform.engine)
    made = seed(platform, tmp_path, {f"team-{i}": 8 for i in range(5)})
    start = threading.Barrier(6)
    errors = []

    def work(index: int) -> None:
        worker = Worker(platform, name=f"racer-{index}")
        try:
            start.wait()
            worker.drain()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    ran = [spec.job_id for spec in runner.runs]
    assert len(ran) == len(set(ran)) == 40
    with platform.sessions() as session:
        jobs = session.scalars(select(Job)).all()
        assert {(j.status, j.attempt) for j in jobs} == {("done", 1)}
        assert len({j.worker for j in jobs}) > 1  # they really raced
        statuses = {s.status for s in session.scalars(select(Submission))}
    assert statuses == {"scored"} and sum(len(v) for v in made.values()) == 40
    document = logexport.document(platform, challenge="toy")
    assert verify_log_document(document) == []  # concurrent appends: one chain, no gaps
    platform.engine.dispose()
