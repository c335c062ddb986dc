"""The interactive protocol (v2) inside the evaluation pipeline, at the runner seam: the example
chat model's own server code serves the job's socket in-process, the trusted driver sends it every
item, and the answers are scored. The real-engine runs are in tests/end_to_end/test_interactive_end_to_end.py."""

from __future__ import annotations

import importlib.util
import json
import shutil
import threading
from pathlib import Path

import pytest
import yaml
from helpers import make_bundle, make_image_tarball

from arena import evaluation
from arena.errors import BadRequest
from arena.models import Submission
from arena.services import nodes
from arena.services.bundles import load_bundle
from arena.services.challenges import create_challenge, describe_challenge
from arena.services.images import receive_image
from arena.services.submissions import create_submission
from arena.worker import Worker
from sandbox import RunOutcome, SessionFailure

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "challenges" / "chat-basics"
SERVE = Path(__file__).resolve().parents[3] / "examples" / "models" / "chat" / "serve.py"


def example_model(mode: str = "good"):
    spec = importlib.util.spec_from_file_location(f"chat_serve_{mode}", SERVE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.MODE = mode
    return module


class ServingRunner:
    """Stands in for the engine: serves the example model on the job's socket while `during` runs."""

    def __init__(self, mode: str = "good"):
        self.model, self.seen = example_model(mode), []

    def ensure_image(self, *, image_id, tarball):
        pass

    def run(self, spec, during=None):
        assert during is not None, "an interactive challenge's run must be driven"
        self.seen.append(
            {
                "input": sorted(p.name for p in spec.input_dir.iterdir()),
                "task": json.loads((spec.input_dir / "task.json").read_text()),
                "env": dict(spec.environment),
                "run_dir": spec.run_dir,
            }
        )
        server = self.model.Server(str(spec.run_dir / "model.sock"), self.model.Handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            during(lambda: True)
        finally:
            server.shutdown()
            server.server_close()
        return RunOutcome("exited", None, 0.5)

    def sweep(self, *, keep):
        return 0


@pytest.fixture
def chat(platform, organiser_token, tmp_path):
    bundle = shutil.copytree(EXAMPLE, tmp_path / "bundle")
    return create_challenge(platform, organiser_id=1, bundle_dir=bundle)


def submit(platform, tmp_path, kind="hidden") -> str:
    path = tmp_path / f"img-{kind}.tar"
    make_image_tarball(path, salt=kind)
    with path.open("rb") as stream:
        image = receive_image(platform, stream=stream)
    return create_submission(platform, team_id=1, slug="chat-basics", image_digest=image.digest, kind=kind)["id"]


def status_of(platform, submission_id):
    with platform.sessions() as session:
        row = session.get(Submission, submission_id)
        return row.status, row.score, row.failure_reason, row.failure_detail


def test_the_example_model_is_driven_item_by_item_and_scored(client, platform, chat, team_token, tmp_path):
    platform.runner = ServingRunner()
    submission_id = submit(platform, tmp_path, kind="sample")
    Worker(platform, name="w1").drain()
    status, score, _reason, _detail = status_of(platform, submission_id)
    assert status == "scored" and 0.6 <= score <= 1.0
    seen = platform.runner.seen[0]
    assert seen["input"] == ["task.json"]  # the items go through the socket, never through /input
    assert seen["task"]["protocol"] == 2
    assert seen["env"]["ARENA_MODEL_SOCKET"] == "/run/arena/model.sock"
    assert describe_challenge(platform, slug="chat-basics")["protocol"] == "interactive"
    assert "interactive (container protocol v2)" in client.get("/challenges/chat-basics").get_data(as_text=True)


def test_a_garbage_answer_fails_the_run_without_quoting_it(platform, chat, team_token, tmp_path):
    platform.runner = ServingRunner("garbage")
    submission_id = submit(platform, tmp_path)
    Worker(platform, name="w1").drain()
    status, _score, reason, detail = status_of(platform, submission_id)
    assert (status, reason) == ("failed", "invalid_output")
    assert "not an OpenAI chat completion" in detail and "not JSON at all" not in detail


def test_a_model_that_never_serves_is_not_ready(platform, tmp_path, organiser_token, team_token):
    bundle = shutil.copytree(EXAMPLE, tmp_path / "bundle")
    config = yaml.safe_load((bundle / "challenge.yaml").read_text())
    config["limits"]["startup_time_limit_seconds"] = 1
    (bundle / "challenge.yaml").write_text(yaml.safe_dump(config))
    create_challenge(platform, organiser_id=1, bundle_dir=bundle)

    class Silent(ServingRunner):
        def run(self, spec, during=None):
            during(lambda: True)
            return RunOutcome("exited", None, 1.0)

    platform.runner = Silent()
    submission_id = submit(platform, tmp_path)
    Worker(platform, name="w1").drain()
    status, _score, reason, detail = status_of(platform, submission_id)
    assert (status, reason) == ("failed", "not_ready")
    assert "/run/arena/model.sock" in detail


def test_a_nodes_report_of_a_protocol_failure_is_checked_and_recorded(platform, chat, team_token, tmp_path):
    submission_id = submit(platform, tmp_path)
    ticket = evaluation.claim_next_job(platform, worker="node")
    assert nodes.spec(platform, ticket)["session"] == {
        "startup_s": 30.0,
        "request_s": 10.0,
        "max_answer_bytes": 65536,
        "concurrency": 4,
    }
    with pytest.raises(BadRequest, match="session_reason must be one of"):
        nodes.session_failure_from({"session_reason": "bored", "session_detail": "x"})
    failure = nodes.session_failure_from(
        {"session_reason": "timeout", "session_detail": "the model did not answer request 3 within 10 s"}
    )
    nodes.finish(
        platform,
        ticket,
        outcome=RunOutcome("exited", None, 12.0),
        output_too_large=False,
        log_tail=b"",
        save_predictions=lambda path: path.write_bytes(b""),
        failure=failure,
    )
    assert status_of(platform, submission_id)[2:] == ("timeout", "the model did not answer request 3 within 10 s")
    assert isinstance(failure, SessionFailure)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c, b: c.update(protocol="streaming"), "protocol must be 'batch'"),
        (lambda c, b: c["limits"].update(concurrency=0), "limits.concurrency must be between 1 and 64"),
        (lambda c, b: c.update(secondary_metrics=["mae"]), "answers are text, which metric mae cannot score"),
        (
            lambda c, b: (b / "inputs.jsonl").write_text('{"id": "c1", "input": {"prompt": "hi"}}\n'),
            "inputs.jsonl line 1: input must hold",
        ),
    ],
)
def test_bad_interactive_bundles_are_refused(tmp_path, change, message):
    bundle = shutil.copytree(EXAMPLE, tmp_path / "bundle")
    config = yaml.safe_load((bundle / "challenge.yaml").read_text())
    change(config, bundle)
    (bundle / "challenge.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(BadRequest, match=message):
        load_bundle(bundle)


def test_interactive_limits_belong_to_interactive_challenges(tmp_path):
    bundle = make_bundle(tmp_path / "b", extra={"limits": {"time_limit_seconds": 30, "concurrency": 4}})
    with pytest.raises(BadRequest, match="concurrency belong to 'protocol: interactive' challenges only"):
        load_bundle(bundle)


def test_answers_past_the_platforms_cap_fail_the_run(platform, chat, team_token, tmp_path):
    from dataclasses import replace

    platform.settings = replace(platform.settings, max_predictions_bytes=1500)
    platform.runner = ServingRunner()
    submission_id = submit(platform, tmp_path)
    Worker(platform, name="w1").drain()
    status, _score, reason, detail = status_of(platform, submission_id)
    assert (status, reason) == ("failed", "invalid_output")
    assert detail == "the answers total more than 1,500 bytes, the platform's cap on a run's predictions"


def test_what_the_model_writes_into_its_socket_folder_counts_towards_the_output_cap(
    platform, chat, team_token, tmp_path
):
    from dataclasses import replace

    class Hoarder(ServingRunner):
        def run(self, spec, during=None):
            (spec.run_dir / "hoard.bin").write_bytes(b"x" * 4096)
            return super().run(spec, during)

    platform.settings = replace(platform.settings, max_predictions_bytes=4000)
    platform.runner = Hoarder()
    submission_id = submit(platform, tmp_path)
    Worker(platform, name="w1").drain()
    assert status_of(platform, submission_id)[2] == "output_too_large"


def test_an_interactive_item_may_name_assets_for_the_model_to_read(platform, organiser_token, team_token, tmp_path):
    bundle = shutil.copytree(EXAMPLE, tmp_path / "bundle")
    lines = (bundle / "inputs.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["input"]["assets"] = ["assets/scan-1.png"]
    (bundle / "inputs.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    (bundle / "assets").mkdir()
    (bundle / "assets/scan-1.png").write_bytes(b"\x89PNG not really")
    assert load_bundle(bundle).assets == {"assets/scan-1.png": 15}
    create_challenge(platform, organiser_id=1, bundle_dir=bundle)
    platform.runner = ServingRunner()
    submission_id = submit(platform, tmp_path)
    Worker(platform, name="w1").drain()
    assert status_of(platform, submission_id)[0] == "scored"
    assert platform.runner.seen[0]["input"] == ["assets", "task.json"]
