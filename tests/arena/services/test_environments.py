"""Agent challenges without an engine: the bundle's environment, the image pinned by digest, and
who may read a trajectory (the organiser, audited; the team for sample runs only)."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from helpers import make_image_tarball
from sqlalchemy import select

from arena import evaluation
from arena.errors import BadRequest, Forbidden, NotFound
from arena.models import AuditEvent, Job
from arena.services import accounts, environments
from arena.services.bundles import load_bundle
from arena.services.challenges import create_challenge
from arena.services.images import receive_image
from arena.services.submissions import create_submission
from hidden_sets import seal
from sandbox import RunOutcome, SandboxError, check_agent_input

EXAMPLE = Path(__file__).resolve().parents[3] / "examples/challenges/repo-repair"


def bundle_with(tmp_path: Path, change) -> Path:
    bundle = shutil.copytree(EXAMPLE, tmp_path / "bundle")
    config = yaml.safe_load((bundle / "challenge.yaml").read_text())
    change(config)
    (bundle / "challenge.yaml").write_text(yaml.safe_dump(config))
    return bundle


def test_the_example_bundle_declares_its_environment():
    bundle = load_bundle(EXAMPLE)
    assert bundle.protocol == "agent" and bundle.n_items == 5 and bundle.n_sample_items == 1
    assert bundle.environment["tools"] == ["bash", "python", "read_file", "write_file"]
    assert bundle.environment["limits"]["max_tool_calls"] == 12


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda c: c["environment"].update(network={"allow": ["pypi.org"]}), "an allow-list is refused because"),
        (lambda c: c.update(metric="exact_match"), "metric must be environment_score"),
        (lambda c: c["environment"].update(tools=["bash", "curl"]), "environment.tools must list tools among"),
        (lambda c: c["environment"].update(workdir="/arena/x"), "environment.workdir must be an absolute path"),
        (lambda c: c["environment"].update(score_command="pytest"), "score_command must be a command as a list"),
        (lambda c: c["environment"]["limits"].update(max_tool_calls=0), "max_tool_calls must be a whole number"),
        (lambda c: c["environment"].update(secrets=1), "environment has unknown key(s) secrets"),
        (lambda c: c.pop("environment"), "an agent challenge needs 'environment'"),
        (
            lambda c: c.update(protocol="interactive", metric="exact_match"),
            "'environment' belongs to 'protocol: agent'",
        ),
    ],
)
def test_bad_environments_are_refused_with_a_reason(tmp_path, change, words):
    with pytest.raises(BadRequest) as refused:
        load_bundle(bundle_with(tmp_path, change))
    assert words in str(refused.value)


@pytest.mark.parametrize(
    "value, words",
    [
        ({"messages": [{"role": "user", "content": "x"}], "tools": []}, "take no tools"),
        ({"messages": [{"role": "user", "content": "x"}], "files": {"../x": "assets/a"}}, "paths must be relative"),
        ({"messages": [{"role": "user", "content": "x"}], "files": {"/etc/x": "assets/a"}}, "paths must be relative"),
        ({"messages": [{"role": "user", "content": "x"}], "score_files": {"t.py": "/etc/passwd"}}, "asset path"),
        ({"turns": []}, "turns must be a non-empty list"),
    ],
)
def test_bad_agent_items_are_refused(value, words):
    assert words in check_agent_input(value)


def test_a_good_agent_item_passes():
    assert (
        check_agent_input(
            {"turns": ["fix it"], "files": {"a/b.py": "assets/x/b.py"}, "score_files": {"test_b.py": "assets/x/t.py"}}
        )
        is None
    )


@pytest.fixture
def repo(platform, organiser_token, team_token, tmp_path):
    create_challenge(platform, organiser_id=1, bundle_dir=shutil.copytree(EXAMPLE, tmp_path / "b"))
    path = tmp_path / "env.tar"
    make_image_tarball(path, salt="environment")
    with path.open("rb") as stream:
        image = receive_image(platform, stream=stream)
    return image.digest


def test_only_the_owner_pins_the_environment_and_submissions_wait_for_it(platform, repo, tmp_path):
    with pytest.raises(Exception, match="environment image its organiser has not uploaded yet"):
        create_submission(platform, team_id=1, slug="repo-repair", image_digest=repo)
    other = accounts.create_organiser(platform, name="Other")[0]
    with pytest.raises(Forbidden):
        environments.set_image(platform, organiser_id=other.id, slug="repo-repair", image_digest=repo)
    made = environments.set_image(platform, organiser_id=1, slug="repo-repair", image_digest=repo)
    assert made == {"slug": "repo-repair", "image_digest": repo}
    with pytest.raises(NotFound):
        environments.set_image(platform, organiser_id=1, slug="repo-repair", image_digest="sha256:" + "0" * 64)


def run_recorded(platform, repo, kind: str, trajectory: bytes) -> str:
    """A submission whose job recorded `trajectory` as the driver leaves it (sealed when hidden)."""
    environments.set_image(platform, organiser_id=1, slug="repo-repair", image_digest=repo)
    submission = create_submission(platform, team_id=1, slug="repo-repair", image_digest=repo, kind=kind)["id"]
    ticket = evaluation.claim_next_job(platform, worker="w")
    assert ticket.environment.tools == ("bash", "python", "read_file", "write_file")
    key = evaluation.open_key(platform, ticket.hidden_set)
    kept = trajectory if kind == "sample" else seal(key.key, purpose=f"trajectory/{ticket.job_id}", data=trajectory)
    verdict = evaluation.JobVerdict(
        "failed", reason="timeout", detail="d", outcome=RunOutcome("exited", None, 1.0), trajectory=kept
    )
    assert evaluation.record(platform, ticket, verdict)
    return submission


def test_a_hidden_runs_trajectory_is_sealed_and_the_organisers_alone(platform, repo):
    line = json.dumps({"item": "r01", "event": "tool", "result": "secret"}).encode() + b"\n"
    submission = run_recorded(platform, repo, "hidden", line)
    with platform.sessions() as session:
        stored = session.scalars(select(Job.trajectory).where(Job.submission_id == submission)).one()
    assert b"secret" not in stored  # sealed under the set's key
    organiser = accounts.Principal("organiser", 1, "Organiser")
    assert environments.read_trajectory(platform, principal=organiser, submission_id=submission) == line
    with platform.sessions() as session:
        assert session.scalars(select(AuditEvent.action).where(AuditEvent.action == "trajectory.read")).all()
    with pytest.raises(Forbidden, match="never shown to teams"):
        environments.read_trajectory(
            platform, principal=accounts.Principal("team", 1, "Team A"), submission_id=submission
        )
    stranger = accounts.create_organiser(platform, name="Stranger")[0]
    with pytest.raises(NotFound):
        environments.read_trajectory(platform, principal=stranger, submission_id=submission)


def test_a_sample_runs_trajectory_is_the_teams(platform, repo):
    line = b'{"item": "s01", "event": "score", "score": 1.0}\n'
    submission = run_recorded(platform, repo, "sample", line)
    team = accounts.Principal("team", 1, "Team A")
    assert environments.read_trajectory(platform, principal=team, submission_id=submission) == line


def test_the_slurm_executor_sends_agent_jobs_to_a_node_with_room_for_their_environments(platform, repo):
    from test_slurm_executor import FakeSlurm

    from arena.evaluation.executors.slurm import SlurmExecutor

    environments.set_image(platform, organiser_id=1, slug="repo-repair", image_digest=repo)
    create_submission(platform, team_id=1, slug="repo-repair", image_digest=repo)
    fake = FakeSlurm()
    assert SlurmExecutor(platform, name="d1", cli=fake).dispatch_one() is True
    (request,) = fake.submitted
    # the model (256) and node-run (512), two environments at once (256 MiB and a 16 MiB workdir
    # each), and the five items' final states (16 MiB each, at most), besides the staged assets
    assert request.memory_mb >= 256 + 512 + 2 * (256 + 16) + 5 * 16
    with platform.sessions() as session:
        assert [(j.status, j.executor) for j in session.scalars(select(Job))] == [("running", "slurm")]


def test_a_node_gets_the_environment_but_never_an_items_score_files(platform, repo):
    from arena.services import nodes
    from arena.streams import unpack_assets
    from sandbox import ASSET_LIMITS

    environments.set_image(platform, organiser_id=1, slug="repo-repair", image_digest=repo)
    create_submission(platform, team_id=1, slug="repo-repair", image_digest=repo)
    ticket = evaluation.claim_next_job(platform, worker="slurm:d1")
    spec = nodes.spec(platform, ticket)
    assert spec["environment"]["tools"] == ["bash", "python", "read_file", "write_file"]
    assert "score_command" not in spec["environment"]  # the node never scores
    assert nodes.environment_image_file(platform, ticket).is_file()
    items = [json.loads(line) for line in nodes.input_lines(platform, ticket) if line.strip()]
    assert len(items) == 5 and all("score_files" not in item["input"] and item["input"]["files"] for item in items)
    _length, chunks = nodes.asset_stream(platform, ticket)
    target = Path(platform.settings.job_root) / "unpacked"
    unpack_assets(io.BytesIO(b"".join(chunks)), target, limits=ASSET_LIMITS)
    sent = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    assert "assets/r01/repo/calc/arith.py" in sent and not [name for name in sent if "/hidden/" in name]


def test_a_job_that_is_no_agent_job_has_no_environment_image(platform, repo):
    from arena.errors import NotFound as Missing
    from arena.services import nodes

    environments.set_image(platform, organiser_id=1, slug="repo-repair", image_digest=repo)
    create_submission(platform, team_id=1, slug="repo-repair", image_digest=repo)
    ticket = evaluation.claim_next_job(platform, worker="slurm:d1")
    with pytest.raises(Missing, match="no environment image"):
        nodes.environment_image_file(platform, replace(ticket, protocol="interactive"))


def test_a_node_result_names_its_final_states_plainly():
    from arena.services import nodes

    class Upload:
        def __init__(self, filename):
            self.filename = filename

    assert [name for name, _ in nodes.final_states_from([Upload("item-1.tar.gz"), Upload("item-2.tar.gz")])] == [
        "item-1.tar.gz",
        "item-2.tar.gz",
    ]
    for bad in (["../item-1.tar.gz"], ["item-1.tar.gz", "item-1.tar.gz"], ["labels.jsonl"], [None]):
        with pytest.raises(BadRequest, match="item-N.tar.gz"):
            nodes.final_states_from([Upload(name) for name in bad])


def test_central_scoring_gives_0_to_an_item_without_a_final_state_and_refuses_strange_answers(tmp_path):
    from sandbox import FakeRunner, score_final_states

    items, answers, trajectory = tmp_path / "items.jsonl", tmp_path / "answers.jsonl", tmp_path / "t.jsonl"
    items.write_text(
        json.dumps({"id": "r01", "input": {"turns": ["x"], "score_files": {"t.py": "assets/t.py"}}}) + "\n"
    )
    config = environments.environment_config(load_bundle(EXAMPLE).environment, "sha256:env")
    common = dict(
        job_id="j",
        config=config,
        items=items,
        answers=answers,
        states=tmp_path,
        files_root=tmp_path,
        work_root=tmp_path / "work",
        trajectory=trajectory,
    )
    for given in (None, "../labels.tar.gz", "item-9.tar.gz"):  # not captured, not a state's name, not sent
        answers.write_text(json.dumps({"id": "r01", "prediction": given}) + "\n")
        score_final_states(FakeRunner(), **common)  # no environment is started for any of them
        assert json.loads(answers.read_text()) == {"id": "r01", "prediction": 0.0}
    assert [json.loads(line)["score"] for line in trajectory.read_text().splitlines()] == [None, None, None]
    answers.write_text(json.dumps({"id": "r99", "prediction": "item-1.tar.gz"}) + "\n")
    with pytest.raises(SandboxError, match="not the job's"):
        score_final_states(FakeRunner(), **common)
