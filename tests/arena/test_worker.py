"""The worker runs jobs side by side up to its capacity, and never beyond it."""

from __future__ import annotations

import threading
import time

import pytest
from helpers import make_bundle, make_image_tarball
from sqlalchemy import select

from arena.models import Submission
from arena.services.challenges import create_challenge
from arena.services.images import receive_image
from arena.services.submissions import create_submission
from arena.worker import Capacity, Worker
from sandbox import FakeRunner


class SlowRunner(FakeRunner):
    """Answers like FakeRunner, slowly, counting how many runs overlap."""

    def __init__(self) -> None:
        super().__init__(predict=lambda item: "even")
        self.lock, self.running, self.peak = threading.Lock(), 0, 0

    def run(self, spec):
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(0.3)
        try:
            return super().run(spec)
        finally:
            with self.lock:
                self.running -= 1


def queue_submissions(platform, tmp_path, count: int) -> None:
    make_image_tarball(tmp_path / "i.tar")
    with (tmp_path / "i.tar").open("rb") as stream:
        digest = receive_image(platform, stream=stream).digest
    for _ in range(count):
        create_submission(platform, team_id=1, slug="toy", image_digest=digest)


def run_until_done(platform, capacity: Capacity, count: int) -> None:
    stop = threading.Event()
    worker = Worker(platform, capacity=capacity)
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            with platform.sessions() as session:
                done = session.scalars(select(Submission.status)).all()
            if done.count("scored") == count:
                break
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert done.count("scored") == count, done


@pytest.fixture
def slow(platform, organiser_token, team_token, tmp_path):
    create_challenge(
        platform,
        organiser_id=1,
        bundle_dir=make_bundle(
            tmp_path / "b", n=2, extra={"limits": {"cpus": 1, "memory_mb": 256}, "daily_quota": 100, "max_pending": 50}
        ),
    )
    platform.runner = SlowRunner()
    return platform.runner


def test_jobs_run_side_by_side_up_to_the_cpus(platform, slow, tmp_path):
    queue_submissions(platform, tmp_path, 6)
    run_until_done(platform, Capacity(cpus=2, memory_mb=100_000, gpus=0), 6)
    assert slow.peak == 2


def test_memory_is_never_oversubscribed(platform, slow, tmp_path):
    queue_submissions(platform, tmp_path, 3)
    run_until_done(platform, Capacity(cpus=8, memory_mb=300, gpus=0), 3)
    assert slow.peak == 1


def test_a_job_that_does_not_fit_stays_queued(platform, slow, tmp_path):
    queue_submissions(platform, tmp_path, 1)
    stop = threading.Event()
    thread = threading.Thread(
        target=Worker(platform, capacity=Capacity(cpus=0.5, memory_mb=100_000, gpus=0)).run_forever, args=(stop,)
    )
    thread.start()
    time.sleep(0.5)
    stop.set()
    thread.join(timeout=10)
    with platform.sessions() as session:
        assert session.scalars(select(Submission.status)).all() == ["queued"]
    assert slow.peak == 0
