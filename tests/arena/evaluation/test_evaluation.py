"""The evaluation pipeline with scripted runners at the sandbox seam."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta

import pytest
from helpers import make_bundle, make_image_tarball
from sqlalchemy import select, update

from arena import evaluation
from arena.models import Job, Result, Submission
from arena.services import leases
from arena.services.accounts import Principal
from arena.services.challenges import create_challenge
from arena.services.images import receive_image
from arena.services.submissions import create_submission, get_submission
from arena.timeutil import utcnow
from arena.worker import Worker
from sandbox import RunOutcome, SandboxError


class ScriptedRunner:
    """Runs `script(spec)` in place of a container and returns its outcome."""

    def __init__(self, script):
        self.script, self.seen_inputs = script, []

    def ensure_image(self, *, image_id, tarball):
        assert tarball.exists()

    def run(self, spec):
        self.seen_inputs.append(sorted(p.name for p in spec.input_dir.iterdir()))
        return self.script(spec) or RunOutcome("exited", 0, 0.1)

    def sweep(self, *, keep):
        return 0


def write(text: str):
    def script(spec):
        (spec.output_dir / "predictions.jsonl").write_text(text)

    return script


GOOD = "".join(f'{{"id": "i{i}", "prediction": "{"even" if i % 2 == 0 else "odd"}"}}\n' for i in range(4))


@pytest.fixture
def submit(platform, organiser_token, team_token, tmp_path):
    create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b", n=4))

    def make(salt: str = "") -> str:
        path = tmp_path / f"img{salt}.tar"
        make_image_tarball(path, salt=salt)
        with path.open("rb") as stream:
            image = receive_image(platform, stream=stream)
        return create_submission(platform, team_id=1, slug="toy", image_digest=image.digest)["id"]

    return make


def run_with(platform, script) -> ScriptedRunner:
    platform.runner = ScriptedRunner(script)
    Worker(platform, name="w1").drain()
    return platform.runner


def state(platform, submission_id: str) -> Submission:
    with platform.sessions() as session:
        return session.get(Submission, submission_id)


def test_a_good_run_is_scored_once_and_its_folder_wiped(platform, submit):
    sid = submit()
    runner = run_with(platform, write(GOOD))
    assert runner.seen_inputs == [["inputs.jsonl", "task.json"]]
    sub = state(platform, sid)
    assert (sub.status, sub.score) == ("scored", 1.0)
    with platform.sessions() as session:
        assert sorted(session.scalars(select(Result.split)).all()) == ["private", "public"]
    assert list(platform.settings.job_root.iterdir()) == []


@pytest.mark.parametrize(
    ("outcome", "reason", "detail"),
    [
        (RunOutcome("timeout", None, 30), "timeout", "time limit"),
        (RunOutcome("out_of_memory", 137, 3), "out_of_memory", "memory"),
        (RunOutcome("exited", 2, 1), "crashed", "exited with code 2"),
    ],
)
def test_model_failures_are_named(platform, submit, outcome, reason, detail):
    sid = submit()
    run_with(platform, lambda spec: outcome)
    sub = state(platform, sid)
    assert (sub.status, sub.failure_reason) == ("failed", reason)
    assert detail in sub.failure_detail


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        (None, "wrote no /output/predictions.jsonl"),
        ('{"id": "i0", "prediction": "even"}\n', "3 of 4 items have no prediction"),
        ("garbage\n", "line 1: not valid JSON"),
        (GOOD + '{"id": "i0", "prediction": "odd"}\n', "line 5: duplicate id"),
    ],
)
def test_invalid_output_is_explained_without_echoing_it(platform, submit, text, detail):
    sid = submit()
    run_with(platform, write(text) if text is not None else (lambda spec: None))
    sub = state(platform, sid)
    assert (sub.status, sub.failure_reason) == ("failed", "invalid_output")
    assert detail in sub.failure_detail and "garbage" not in sub.failure_detail


def test_a_symlinked_predictions_file_is_not_followed(platform, submit, tmp_path):
    secret = tmp_path / "host-secret"
    secret.write_text(GOOD)
    sid = submit()
    run_with(platform, lambda spec: os.symlink(secret, spec.output_dir / "predictions.jsonl"))
    sub = state(platform, sid)
    assert (sub.status, sub.failure_reason) == ("failed", "invalid_output")


def test_oversized_predictions_are_output_too_large(platform, submit):
    platform.settings = replace(platform.settings, max_predictions_bytes=10)
    sid = submit()
    run_with(platform, write(GOOD))
    assert state(platform, sid).failure_reason == "output_too_large"


def test_infrastructure_failures_are_retried_then_reported_and_not_counted(platform, submit):
    sid = submit()

    def broken(spec):
        raise SandboxError("engine went away")

    run_with(platform, broken)
    sub = state(platform, sid)
    assert (sub.status, sub.failure_reason) == ("failed", "infrastructure")
    assert "does not count against your quota" in sub.failure_detail
    with platform.sessions() as session:
        attempts = session.scalars(select(Job.attempt).where(Job.submission_id == sid)).all()
    assert sorted(attempts) == [1, 2, 3]
    assert list(platform.settings.job_root.iterdir()) == []


def test_a_transient_infrastructure_failure_is_retried_to_success(platform, submit):
    sid = submit()
    calls = []

    def flaky(spec):
        calls.append(1)
        if len(calls) == 1:
            raise SandboxError("hiccup")
        write(GOOD)(spec)

    run_with(platform, flaky)
    assert state(platform, sid).status == "scored"


def test_an_expired_lease_is_requeued_and_the_old_verdict_dropped(platform, submit):
    sid = submit()
    ticket = evaluation.claim_next_job(platform, worker="crashed-worker")
    with platform.transaction() as session:
        session.execute(
            update(Job).where(Job.id == ticket.job_id).values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    assert leases.recover_expired_jobs(platform) == 1
    assert state(platform, sid).status == "queued"
    late = evaluation.JobVerdict("scored", score=0.0)
    assert evaluation.record(platform, ticket, late) is False
    run_with(platform, write(GOOD))
    sub = state(platform, sid)
    assert (sub.status, sub.score) == ("scored", 1.0)


def test_worker_start_up_sweeps_leftover_job_folders(platform, submit):
    stale = platform.settings.job_root / "job-dead"
    (stale / "input").mkdir(parents=True)
    (stale / "input" / "inputs.jsonl").write_text("plaintext")
    Worker(platform).start_up()
    assert not stale.exists()


def test_a_damaged_hidden_set_fails_as_infrastructure_and_scores_nothing(platform, submit):
    sid = submit()
    with platform.sessions() as session:
        set_id = session.get(Submission, sid).hidden_set_id
    path = platform.hidden_sets.path(set_id, "inputs")
    blob = bytearray(path.read_bytes())
    blob[-3] ^= 1
    path.write_bytes(bytes(blob))
    runner = run_with(platform, write(GOOD))
    assert runner.seen_inputs == []
    sub = state(platform, sid)
    assert (sub.status, sub.failure_reason, sub.score) == ("failed", "infrastructure", None)
    assert list(platform.settings.job_root.iterdir()) == []
    organiser = Principal("organiser", 1, "Organiser")
    attempts = get_submission(platform, principal=organiser, submission_id=sid)["attempts"]
    assert [a["outcome"] for a in attempts] == ["infrastructure"] * 3
    assert "inputs file of hidden set" in attempts[0]["error"] and "failed authentication" in attempts[0]["error"]
    team_view = get_submission(platform, principal=Principal("team", 1, "Team A"), submission_id=sid)
    assert "attempts" not in team_view and "hidden set" not in team_view["failure_detail"]


def test_a_fifo_in_place_of_predictions_does_not_hang_the_worker(platform, submit):
    sid = submit()
    run_with(platform, lambda spec: os.mkfifo(spec.output_dir / "predictions.jsonl"))
    sub = state(platform, sid)
    assert (sub.failure_reason, sub.failure_detail) == ("invalid_output", "predictions.jsonl is not a regular file")


def test_a_flood_of_output_files_is_output_too_large(platform, submit):
    platform.settings = replace(platform.settings, max_predictions_bytes=1000)

    def flood(spec):
        write(GOOD)(spec)
        (spec.output_dir / "junk.bin").write_bytes(b"x" * 2000)

    sid = submit()
    run_with(platform, flood)
    assert state(platform, sid).failure_reason == "output_too_large"


def test_numbers_beyond_a_float_are_invalid_output_not_infrastructure(platform, submit):
    sid = submit()
    huge = "1" + "0" * 400
    run_with(platform, write(GOOD.replace('"even"}', f"{huge}}}", 1)))
    sub = state(platform, sid)
    assert sub.failure_reason == "invalid_output" and "line 1" in sub.failure_detail


def test_the_job_folder_is_a_tmpfs_when_running_as_root(platform, submit):
    if os.geteuid() != 0:
        pytest.skip("tmpfs job folders need root; elsewhere the job root is under /dev/shm")
    platform.settings = replace(platform.settings, job_tmpfs=True)
    seen = []

    def look(spec):
        seen.append(os.path.ismount(spec.input_dir.parent))
        write(GOOD)(spec)

    sid = submit()
    run_with(platform, look)
    assert seen == [True] and state(platform, sid).status == "scored"
    assert list(platform.settings.job_root.iterdir()) == []


def test_an_infinite_score_is_invalid_output(platform, organiser_token, team_token, tmp_path):
    create_challenge(
        platform,
        organiser_id=1,
        bundle_dir=make_bundle(tmp_path / "r", slug="reg", metric="rmse", n=3, labels=[1, 2, 3]),
    )
    make_image_tarball(tmp_path / "r.tar", salt="r")
    with (tmp_path / "r.tar").open("rb") as stream:
        digest = receive_image(platform, stream=stream).digest
    sid = create_submission(platform, team_id=1, slug="reg", image_digest=digest)["id"]
    run_with(platform, write("".join(f'{{"id": "i{i}", "prediction": 1e200}}\n' for i in range(3))))
    sub = state(platform, sid)
    assert (sub.status, sub.failure_reason) == ("failed", "invalid_output")
    assert "could not be scored with rmse" in sub.failure_detail


@pytest.mark.parametrize(("count_failures", "left"), [(True, 0), (False, 1)])
def test_model_failures_count_against_quota_unless_the_organiser_says_not(
    platform, organiser_token, team_token, tmp_path, count_failures, left
):
    from arena.errors import QuotaExceeded
    from arena.services.submissions import check_quota

    create_challenge(
        platform,
        organiser_id=1,
        bundle_dir=make_bundle(
            tmp_path / "q", slug="strict", extra={"daily_quota": 1, "count_failures": count_failures}
        ),
    )
    make_image_tarball(tmp_path / "q.tar", salt="q")
    with (tmp_path / "q.tar").open("rb") as stream:
        digest = receive_image(platform, stream=stream).digest
    create_submission(platform, team_id=1, slug="strict", image_digest=digest)
    run_with(platform, lambda spec: RunOutcome("exited", 1, 0.1))
    if left:
        check_quota(platform, team_id=1, slug="strict")
    else:
        with pytest.raises(QuotaExceeded):
            check_quota(platform, team_id=1, slug="strict")
