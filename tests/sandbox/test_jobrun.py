"""The one run of a job (sandbox.run_job): laid out in its folder, run, and classified into the
model's failure, as the central worker and `arena node-run` both use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox import (
    FakeRunner,
    JobFolder,
    JobRun,
    Limits,
    RunOutcome,
    SessionLimits,
    answers_path,
    items_path,
    run_job,
    write_task,
)

LIMITS = Limits(time_limit_s=30, memory_mb=256, cpus=1, pids=64, gpus=0)
SESSION = SessionLimits(startup_s=1, request_s=1, max_answer_bytes=1000, concurrency=1)


@pytest.fixture
def folder(tmp_path):
    made = JobFolder.create(root=tmp_path / "jobs", job_id="j1", size_bytes=2**20, use_tmpfs=False)
    yield made
    made.wipe()


def staged(folder: JobFolder, protocol: str) -> JobFolder:
    items = items_path(folder, protocol)
    items.write_text("".join(json.dumps({"id": f"i{n}", "input": n}) + "\n" for n in range(3)))
    write_task(folder.input, challenge="toy", metric="accuracy", n_items=3, protocol=protocol)
    return folder


def job(protocol: str = "batch", max_output: int = 10_000) -> JobRun:
    session = SESSION if protocol != "batch" else None
    return JobRun("j1", "sha256:img", protocol, LIMITS, max_output, session_limits=session)


def test_a_batch_run_that_writes_its_predictions_has_no_failure(folder):
    ran = run_job(FakeRunner(), job(), staged(folder, "batch"))
    assert ran.failure is None and ran.session_failure is None
    assert len(answers_path(folder, "batch").read_text().splitlines()) == 3
    assert json.loads((folder.input / "task.json").read_text())["protocol"] == 1


def test_a_crash_is_the_models_failure(folder):
    ran = run_job(FakeRunner(exit_code=3), job(), staged(folder, "batch"))
    assert (ran.failure.reason, ran.failure.detail) == ("crashed", "the container exited with code 3")


def test_output_past_the_cap_is_too_large(folder):
    ran = run_job(FakeRunner(), job(max_output=10), staged(folder, "batch"))
    assert ran.failure.reason == "output_too_large"
    assert ran.failure.detail.endswith("to /output")


def test_a_driven_model_that_never_answers_fails_in_the_teams_words(folder):
    ran = run_job(FakeRunner(), job("interactive"), staged(folder, "interactive"))
    assert ran.session_failure.reason == "model_stopped"  # the driver's word
    assert ran.failure.reason == "crashed"  # the team's
    assert json.loads((folder.input / "task.json").read_text())["protocol"] == 2


class FullFolder(FakeRunner):
    """A driven run whose answers cannot be written: the job folder is full."""

    def __init__(self, wrote: int) -> None:
        super().__init__()
        self.wrote = wrote

    def run(self, spec, during=None) -> RunOutcome:
        (spec.output_dir / "junk").write_bytes(b"x" * self.wrote)
        raise OSError(28, "No space left on device")


def test_a_full_folder_is_the_models_doing_only_when_it_wrote_past_the_cap(folder):
    ran = run_job(FullFolder(wrote=2000), job("interactive", max_output=1000), staged(folder, "interactive"))
    assert ran.failure.reason == "output_too_large"
    assert ran.failure.detail.endswith("to /output and /run/arena")
    (folder.output / "junk").unlink()
    with pytest.raises(OSError):  # within the cap: the platform's failure, for the caller to retry
        run_job(FullFolder(wrote=10), job("interactive", max_output=1000), staged(folder, "interactive"))


def test_an_agent_run_needs_its_environment(folder):
    from sandbox import SandboxError

    with pytest.raises(SandboxError, match="environment image is not set"):
        run_job(FakeRunner(), job("agent"), staged(folder, "agent"))


def test_the_layout_keeps_the_driven_items_out_of_the_containers_folders(folder):
    assert items_path(folder, "batch") == folder.input / "inputs.jsonl"
    assert items_path(folder, "interactive").parent == folder.path
    assert answers_path(folder, "agent").parent == folder.path
    assert Path(answers_path(folder, "batch")).parent == folder.output
