"""The Executor seam: one interface, chosen by configuration in one place (make_executor), and a
worker that drives whichever it is given the same way (tested here with the fake executor)."""

from __future__ import annotations

import ast
import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from helpers import make_bundle, make_image_tarball
from sqlalchemy import select

from arena import evaluation
from arena.evaluation.executors import Executor, make_executor
from arena.evaluation.executors.fake import FakeExecutor
from arena.evaluation.executors.local import Capacity, LocalExecutor
from arena.evaluation.executors.sites import SitesExecutor
from arena.evaluation.executors.slurm import SlurmExecutor
from arena.models import Job
from arena.services import accounts
from arena.services.challenges import create_challenge
from arena.services.images import receive_image
from arena.services.submissions import create_submission
from arena.timeutil import utcnow
from arena.worker import Worker

WORKER = Path(__file__).resolve().parents[3] / "arena" / "worker.py"


def configured(platform, monkeypatch, executor: str):
    monkeypatch.setattr(platform, "settings", replace(platform.settings, executor=executor))
    return platform


@pytest.mark.parametrize(
    ("name", "kind"), [("local", LocalExecutor), ("slurm", SlurmExecutor), ("sites", SitesExecutor)]
)
def test_the_configuration_chooses_the_executor(platform, monkeypatch, name, kind):
    executor = make_executor(configured(platform, monkeypatch, name), name="w1")
    assert type(executor) is kind
    assert executor.name == "w1"
    assert isinstance(executor, Executor)


def test_an_unknown_executor_is_a_clear_error(platform, monkeypatch):
    with pytest.raises(ValueError, match="ARENA_EXECUTOR='docker' is no executor; use one of local, slurm, sites"):
        make_executor(configured(platform, monkeypatch, "docker"), name="w1")


def test_the_worker_gets_its_executor_from_the_configuration(platform, monkeypatch):
    capacity = Capacity(cpus=3, memory_mb=1000, gpus=0)
    local = Worker(configured(platform, monkeypatch, "local"), name="w1", capacity=capacity).executor
    assert isinstance(local, LocalExecutor) and local.capacity is capacity
    assert isinstance(Worker(configured(platform, monkeypatch, "sites"), name="w2").executor, SitesExecutor)


def test_the_fake_and_every_executor_fit_the_interface():
    for kind in (FakeExecutor, LocalExecutor, SlurmExecutor, SitesExecutor):
        missing = [
            m
            for m in ("describe", "sweep", "run_once", "drain", "step", "wait", "close")
            if not callable(getattr(kind, m, None))
        ]
        assert not missing, f"{kind.__name__} lacks {missing}"


def test_the_worker_never_asks_which_executor_it_has():
    names = {node.value for node in ast.walk(ast.parse(WORKER.read_text())) if isinstance(node, ast.Constant)}
    assert not names & {"local", "slurm", "sites"}, "arena/worker.py branches on the executor"


def test_drain_runs_the_executors_jobs_and_start_up_sweeps(platform):
    fake = FakeExecutor(["a", "b", "c"])
    worker = Worker(platform, name="w1", executor=fake)
    worker.start_up()
    assert worker.drain() == 3
    assert fake.started == ["a", "b", "c"]
    assert fake.calls[:2] == ["sweep", "drain"]
    assert worker.run_once() is False  # none left


def test_run_forever_steps_while_jobs_start_waits_otherwise_and_closes_on_stop(platform):
    fake = FakeExecutor(["a", "b"])
    worker, stop = Worker(platform, name="w1", executor=fake), threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    thread.start()
    try:
        for _ in range(500):
            if fake.calls.count("wait") >= 2:
                break
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert fake.started == ["a", "b"]
    assert fake.calls[0] == "sweep" and fake.calls[-1] == "close"
    first_wait = fake.calls.index("wait")
    assert fake.calls[1:first_wait] == ["step", "step", "step"]  # two started, the third found none


def submit_one(platform, tmp_path) -> None:
    organiser, _ = accounts.create_organiser(platform, name="Org")
    create_challenge(platform, organiser_id=organiser.id, bundle_dir=make_bundle(tmp_path / "b", n=6))
    team, _ = accounts.create_team(platform, name="red", factories=["red"])
    make_image_tarball(tmp_path / "i.tar")
    with (tmp_path / "i.tar").open("rb") as stream:
        image = receive_image(platform, stream=stream)
    create_submission(platform, team_id=team.id, slug="toy", image_digest=image.digest, actor=team)


def test_the_sites_executor_runs_nothing_and_requeues_a_lost_agents_job(platform, tmp_path):
    submit_one(platform, tmp_path)
    ticket = evaluation.claim_next_job(platform, worker="site:lost")
    with platform.transaction() as session:
        session.get_one(Job, ticket.job_id).lease_expires_at = utcnow() - timedelta(seconds=1)
    executor = SitesExecutor(platform, name="w1")
    assert executor.step() is False
    assert executor.drain() == 0
    with platform.sessions() as session:
        statuses = session.scalars(select(Job.status).order_by(Job.attempt)).all()
    assert statuses == ["failed", "queued"]  # the lapsed attempt, and its re-queued successor
