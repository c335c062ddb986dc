"""The Slurm executor's bookkeeping with a fake Slurm at the command seam (the real one runs in
tests/end_to_end/test_slurm.py): dispatch, lease renewal, and what each end of a Slurm job means."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from test_queue import seed

from arena.errors import Unauthorized
from arena.evaluation.executors.slurm import SlurmExecutor
from arena.models import Job, NodeCredential, Submission
from arena.services import nodes
from arena.slurm import SlurmError


class FakeSlurm:
    def __init__(self):
        self.submitted, self.state, self.fail_submit = [], {}, False

    def submit(self, request):
        if self.fail_submit:
            raise SlurmError("sbatch: error: Batch job submission failed: Invalid account")
        self.submitted.append(request)
        job_id = str(100 + len(self.submitted))
        self.state[job_id] = "PENDING"
        return job_id

    def states(self, job_ids):
        return {j: self.state[j] for j in job_ids if j in self.state}

    def cancel(self, job_id):
        self.state[job_id] = "CANCELLED"


@pytest.fixture
def slurm(platform, tmp_path):
    seed(platform, tmp_path, {"Team": 1})
    fake = FakeSlurm()
    return SlurmExecutor(platform, name="d1", cli=fake), fake


def jobs(platform):
    with platform.sessions() as session:
        return session.scalars(select(Job).order_by(Job.attempt)).all()


def test_a_job_goes_to_sbatch_with_its_limits_and_a_credential_but_no_secret(slurm, platform):
    executor, fake = slurm
    assert executor.dispatch_one()
    [request] = fake.submitted
    assert (request.gpus, request.cpus, request.time_minutes) == (0, 1, 3)  # 30 s limit + 120 s margin
    assert "ARENA_NODE_TOKEN=arena_node_" in request.script and "MASTER" not in request.script
    [job] = jobs(platform)
    assert (job.executor, job.external_id, job.status) == ("slurm", "101", "running")


@pytest.mark.parametrize("end", ["CANCELLED", "NODE_FAIL", "PREEMPTED", "TIMEOUT", "COMPLETED", "FAILED"])
def test_a_slurm_job_that_ends_without_a_result_is_requeued_and_its_credential_revoked(slurm, platform, end):
    executor, fake = slurm
    executor.dispatch_one()
    fake.state["101"] = "RUNNING"
    assert executor.follow() == 0
    fake.state["101"] = end
    assert executor.follow() == 1
    first, second = jobs(platform)
    assert (first.status, first.outcome, second.status) == ("failed", "infrastructure", "queued")
    assert end in first.error
    with platform.sessions() as session:
        assert all(c.revoked_at for c in session.scalars(select(NodeCredential)))
        assert session.scalars(select(Submission)).one().status == "queued"


def test_sbatch_failing_is_the_platforms_failure_and_never_the_teams(slurm, platform):
    executor, fake = slurm
    fake.fail_submit = True
    for _ in range(3):
        executor.dispatch_one()
    with platform.sessions() as session:
        submission = session.scalars(select(Submission)).one()
    assert (submission.status, submission.failure_reason) == ("failed", "infrastructure")
    assert [j.error.startswith("sbatch failed") for j in jobs(platform)] == [True, True, True]


def test_a_credential_opens_only_its_own_job_and_only_while_it_runs(slurm, platform):
    executor, fake = slurm
    executor.dispatch_one()
    token = fake.submitted[0].script.split("ARENA_NODE_TOKEN=")[1].split()[0].strip("'")
    [job] = jobs(platform)
    assert nodes.ticket(platform, token=token, job_id=job.id).job_id == job.id
    with pytest.raises(Unauthorized, match="not valid"):
        nodes.ticket(platform, token=token, job_id="job-0000000000000000")
    with pytest.raises(Unauthorized, match="not valid"):
        nodes.ticket(platform, token=token.replace("arena_node_", "arena_node_x"), job_id=job.id)
    fake.state["101"] = "CANCELLED"
    executor.follow()
    with pytest.raises(Unauthorized, match="not valid"):
        nodes.ticket(platform, token=token, job_id=job.id)


def test_a_slurm_job_left_behind_by_a_lapsed_lease_is_cancelled(slurm, platform):
    executor, fake = slurm
    executor.dispatch_one()
    fake.state["101"] = "RUNNING"
    with platform.transaction() as session:
        job = session.scalars(select(Job)).one()
        job.lease_expires_at = job.started_at  # no dispatcher renewed it
    from arena.services import leases

    assert leases.recover_expired_jobs(platform) == 1
    assert executor.cancel_orphans() == 1
    assert fake.state["101"] == "CANCELLED"
    assert executor.cancel_orphans() == 0


def _node_token(request) -> str:
    import re

    return re.search(r"ARENA_NODE_TOKEN=(\S+)", request.script).group(1).strip("'")


def test_concurrent_result_posts_with_one_credential_record_one_verdict(slurm, platform, app):
    """The review's finding: posts racing with one credential recorded several verdicts and could
    end a scored submission as an infrastructure failure. The credential is spent atomically."""
    import io
    import json
    from concurrent.futures import ThreadPoolExecutor

    from arena.models import Result

    executor, fake = slurm
    executor.dispatch_one()
    [job] = jobs(platform)
    token = _node_token(fake.submitted[0])
    predictions = "".join(
        json.dumps({"id": f"i{i}", "prediction": "even" if i % 2 == 0 else "odd"}) + "\n" for i in range(6)
    ).encode()

    def post(_):
        return app.test_client().post(
            f"/api/node/jobs/{job.id}/result",
            headers={"Authorization": f"Bearer {token}"},
            data={
                "verdict": "exited",
                "exit_code": "0",
                "duration_s": "1",
                "predictions": (io.BytesIO(predictions), "predictions.jsonl"),
                "log": (io.BytesIO(b"ok"), "log"),
            },
        )

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    assert sum(1 for a in answers if not a.get_json().get("repeat")) == 1
    with platform.sessions() as session:
        submission = session.scalars(select(Submission)).one()
        assert submission.status == "scored" and submission.failure_reason is None
        assert sorted(session.scalars(select(Result.split))) == ["private", "public"]
    assert [j.status for j in jobs(platform)] == ["done"]
    again = post(0)  # a retry after the end changes nothing, and is told so
    assert again.status_code == 200 and again.get_json()["repeat"] is True
    assert [j.status for j in jobs(platform)] == ["done"]
