"""An interactive challenge (protocol v2) end to end with the real engine, server and client: the
example chat model serves its API on /run/arena/model.sock inside a container with no network,
Arena's driver sends it every item and scores the answers. Then the three ways a model can break
the protocol: it hangs, it answers garbage, it never opens the socket."""

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
MODES = ("good", "hang", "garbage", "silent")


@pytest.fixture(scope="module")
def chat_images(docker_engine):
    for mode in MODES:
        build_image(
            ROOT / "examples/models/chat",
            tag=f"arena-test/chat-{mode}:latest",
            buildargs={"BASE": BASE_IMAGE, "MODE": mode},
        )
    return {mode: f"arena-test/chat-{mode}" for mode in MODES}


@pytest.fixture(scope="module")
def served(chat_images, tmp_path_factory):
    bundle = shutil.copytree(ROOT / "examples/challenges/chat-basics", tmp_path_factory.mktemp("chat") / "bundle")
    config = yaml.safe_load((bundle / "challenge.yaml").read_text())
    config["limits"].update(startup_time_limit_seconds=5, request_time_limit_seconds=3, time_limit_seconds=60)
    (bundle / "challenge.yaml").write_text(yaml.safe_dump(config))
    home = tmp_path_factory.mktemp("chat-home")
    with serve_arena(home) as env:
        organiser = json.loads(arena(env, "admin", "create-organiser", "Chat Org", "--json").stdout)
        arena(env, "challenge", "create", str(bundle), token=organiser["token"])
        team = json.loads(arena(env, "team", "create", "Talkers", "--json", token=organiser["token"]).stdout)
        yield env, team["token"]


def submit(env, token, image, *extra):
    """`arena submit --wait` (which exits 1 when the submission failed)."""
    done = arena(env, "submit", "chat-basics", image, "--wait", "--json", *extra, token=token, check=False)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def test_the_example_model_answers_every_item_and_is_scored(served, chat_images):
    env, token = served
    sample = submit(env, token, chat_images["good"], "--sample")
    assert (sample["status"], sample["score"]) == ("scored", 1.0)
    logs = arena(env, "logs", sample["id"], token=token).stdout
    assert "serving on /run/arena/model.sock" in logs  # a sample run's log is the team's to read
    hidden = submit(env, token, chat_images["good"])
    assert hidden["status"] == "scored", hidden
    board = json.loads(arena(env, "leaderboard", "chat-basics", "--json").stdout)
    row = board["entries"][0]
    assert row["team"] == "Talkers" and 0.8 <= row["score"] <= 1.0
    assert "token_f1" in row["secondary"]
    exported = Path(env["ARENA_HOME"]) / "chat-log.json"
    arena(env, "log", "export", "chat-basics", "-o", str(exported))
    assert arena(env, "verify", str(exported)).stdout.startswith("OK:")  # the public can check this board too


@pytest.mark.parametrize(
    "mode, reason, words",
    [
        ("hang", "timeout", "did not answer request"),
        ("garbage", "invalid_output", "not an OpenAI chat completion"),
        ("silent", "not_ready", "never created /run/arena/model.sock within 5 s"),
    ],
)
def test_a_model_that_breaks_the_protocol_fails_with_a_clear_reason(served, chat_images, mode, reason, words):
    env, token = served
    result = submit(env, token, chat_images[mode])
    assert (result["status"], result["failure_reason"]) == ("failed", reason), result
    assert words in result["failure_detail"]
    assert "not JSON at all" not in json.dumps(result)  # nothing the model printed reaches the team
