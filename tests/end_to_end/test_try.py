"""`arena try`: an image run on the public sample on the team's own machine, with the platform's
sandbox, checker and metric, against the real engine; it shows what a sample run would show."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import BASE_IMAGE
from helpers import arena, serve_arena

from sandbox import build_image

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "challenges"


@pytest.fixture(scope="module")
def silent_crash(docker_engine, tmp_path_factory):
    """A model that prints nothing and exits 3."""
    folder = tmp_path_factory.mktemp("silent")
    (folder / "Dockerfile").write_text(f'FROM {BASE_IMAGE}\nENTRYPOINT ["python3", "-c", "raise SystemExit(3)"]\n')
    build_image(folder, tag="arena-test/silent-crash:latest")
    return "arena-test/silent-crash"


def big_sample(folder: Path) -> Path:
    """The quickstart bundle with 150 sample items: arena-example/broken stops after 100."""
    shutil.copytree(EXAMPLES / "quickstart", folder)
    config = yaml.safe_load((folder / "challenge.yaml").read_text())
    for key in ("rounds", "kpi", "rewards"):
        config.pop(key)
    config["slug"] = "big-sample"
    (folder / "challenge.yaml").write_text(yaml.safe_dump(config))
    for name in ("inputs.jsonl", "labels.jsonl"):
        lines = (folder / name).read_text().splitlines()[:150]
        (folder / "sample" / name).write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="module")
def server(docker_engine, tmp_path_factory):
    home = tmp_path_factory.mktemp("try-home")
    with serve_arena(home) as env:
        organiser = json.loads(arena(env, "admin", "create-organiser", "Try Org", "--json").stdout)["token"]
        arena(env, "challenge", "create", str(big_sample(home / "bundle")), token=organiser)
        arena(env, "challenge", "create", str(EXAMPLES / "chat-basics"), token=organiser)
        team = json.loads(arena(env, "team", "create", "Try Team", "--json", token=organiser).stdout)["token"]
        yield {**env, "team": team, "home": home}


def try_json(env, *args, check=True):
    done = arena(env, "try", *args, "--json", check=check)
    return json.loads(done.stdout), done.returncode


def test_a_good_image_scores_as_its_sample_run_does(server, tmp_path):
    found, code = try_json(server, "big-sample", "arena-example/good", "--keep", str(tmp_path / "kept"))
    assert code == 0 and found["status"] == "scored" and found["n_items"] == 150
    assert set(found["secondary"]) == {"macro_f1"} and found["secondary"]["macro_f1"]["score"] > 0.5
    on_platform = json.loads(
        arena(
            server, "submit", "big-sample", "arena-example/good", "--sample", "--wait", "--json", token=server["team"]
        ).stdout
    )
    assert on_platform["score"] == pytest.approx(found["score"])
    assert on_platform["secondary"]["macro_f1"]["score"] == pytest.approx(found["secondary"]["macro_f1"]["score"])
    task = json.loads((tmp_path / "kept" / "input" / "task.json").read_text())
    assert task == {"protocol": 1, "challenge": "big-sample", "metric": "accuracy", "n_items": 150}
    assert sorted(p.name for p in (tmp_path / "kept" / "input").iterdir()) == ["inputs.jsonl", "task.json"]
    assert (tmp_path / "kept" / "output" / "predictions.jsonl").is_file()


def test_a_broken_image_fails_with_the_platforms_reason(server):
    found, code = try_json(server, "big-sample", "arena-example/broken", check=False)
    assert code == 1 and found["status"] == "failed"
    assert (found["failure_reason"], found["failure_detail"]) == (
        "invalid_output",
        "50 of 150 items have no prediction",
    )
    shown = arena(server, "try", "big-sample", "arena-example/broken", check=False)
    assert "failed  invalid_output: 50 of 150 items have no prediction" in shown.stdout
    assert "broken model: stopped after 100 items" in shown.stdout


def test_a_silent_crash_says_so(server, silent_crash):
    shown = arena(server, "try", "big-sample", silent_crash, check=False)
    assert shown.returncode == 1
    assert "failed  crashed: the container exited with code 3" in shown.stdout
    assert "the container printed nothing" in shown.stdout


def test_an_interactive_model_is_driven_by_arenas_driver(server):
    found, code = try_json(server, "chat-basics", "arena-example/chat")
    assert code == 0 and found["status"] == "scored" and found["score"] == 1.0
    assert "serving on /run/arena/model.sock" in found["log"]


def test_what_cannot_be_tried_is_refused_clearly(server, tmp_path):
    missing = arena(server, "try", "big-sample", "arena-test/no-such-image", check=False)
    assert missing.returncode == 1 and "is not in the local Docker engine" in missing.stderr
    unknown = arena(server, "try", "no-such-challenge", "arena-example/good", check=False)
    assert unknown.returncode == 1 and "no challenge 'no-such-challenge'" in unknown.stderr
    assert "Traceback" not in missing.stderr + unknown.stderr
