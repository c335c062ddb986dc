"""An agent challenge end to end with the real engine, server and client: the organiser creates
the repo-repair example and uploads its environment image; the example agent repairs the bugs it
knows through tools that act in a fresh environment per item, and the hidden tests, staged only
after it has finished, score the final state; the board shows the result. The hostile agent tries
to read the hidden tests, reach the network, fill the disk and outlive its limits, and each
attempt is contained, as its trajectory (the organiser's to read) shows."""

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

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def images(docker_engine):
    tags = {}
    for name, folder in (("env", "environments/repo-env"), ("agent", "models/repo-agent"),
                         ("hostile", "models/hostile-agent")):
        tags[name] = f"arena-test/repo-{name}:latest"
        build_image(ROOT / "examples" / folder, tag=tags[name], buildargs={"BASE": BASE_IMAGE})
    return tags


@pytest.fixture(scope="module")
def served(images, tmp_path_factory):
    bundle = shutil.copytree(ROOT / "examples/challenges/repo-repair", tmp_path_factory.mktemp("repo") / "bundle")
    config = yaml.safe_load((bundle / "challenge.yaml").read_text())
    config["environment"]["limits"].update(tool_time_limit_seconds=12, tool_call_time_limit_seconds=3)
    (bundle / "challenge.yaml").write_text(yaml.safe_dump(config))
    with serve_arena(tmp_path_factory.mktemp("repo-home")) as env:
        organiser = json.loads(arena(env, "admin", "create-organiser", "Agent Org", "--json").stdout)["token"]
        arena(env, "challenge", "create", str(bundle), token=organiser)
        team = json.loads(arena(env, "team", "create", "Fixers", "--json", token=organiser).stdout)["token"]
        yield env, organiser, team


@pytest.fixture(scope="module")
def pinned(served, images):
    env, organiser, _team = served
    made = json.loads(arena(env, "challenge", "set-environment", "repo-repair", images["env"], "--json",
                            token=organiser).stdout)
    assert made["image_digest"].startswith("sha256:")
    return made


def submit(env, token, image, *extra):
    done = arena(env, "submit", "repo-repair", image, "--wait", "--json", *extra, token=token, check=False)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def trajectory(env, token, submission_id) -> list[dict]:
    return json.loads(arena(env, "trajectory", submission_id, "--json", token=token).stdout)


def test_no_submission_before_the_environment_image_is_set(served):
    env, _organiser, team = served
    done = arena(env, "submit", "repo-repair", "arena-test/repo-agent", "--json", token=team, check=False)
    assert done.returncode == 1 and "environment image" in done.stderr


def test_the_example_agent_repairs_what_it_can_and_is_scored_on_the_final_state(served, images, pinned):
    env, organiser, team = served
    sample = submit(env, team, images["agent"], "--sample")
    assert (sample["status"], sample["score"]) == ("scored", 1.0), sample
    steps = trajectory(env, team, sample["id"])  # a sample run's trajectory is the team's to read
    assert [s["event"] for s in steps if s["event"] == "tool"] and steps[-1]["score"] == 1.0

    hidden = submit(env, team, images["agent"])
    assert hidden["status"] == "scored", hidden
    refused = arena(env, "trajectory", hidden["id"], token=team, check=False)
    assert refused.returncode == 1 and "never shown to teams" in refused.stderr
    events = trajectory(env, organiser, hidden["id"])
    scores = {e["item"]: e["score"] for e in events if e["event"] == "score"}
    assert scores == {"r01": 1.0, "r02": 1.0, "r03": 1.0, "r04": 0.5, "r05": 0.0}  # r04: one of its two tests passes as given
    board = json.loads(arena(env, "leaderboard", "repo-repair", "--json").stdout)
    assert board["metric"] == "environment_score" and board["entries"][0]["team"] == "Fixers"


def test_the_hostile_agent_is_contained_with_clear_reasons(served, images, pinned):
    env, organiser, team = served
    result = submit(env, team, images["hostile"])
    assert result["status"] == "scored", result  # its attempts are contained, not a crash of the run
    events = trajectory(env, organiser, result["id"])
    tools = [e for e in events if e["event"] == "tool" and e["item"] == "r01"]
    hidden_read, network, disk, watcher, *sleeps = (t["result"] for t in tools)
    assert "cat: '/arena/hidden/*': No such file or directory" in hidden_read  # nothing hidden to read yet
    assert "add(2, 3)" not in json.dumps([e for e in events if e["event"] != "score"])
    assert network.count("Network is unreachable") == 2 and "dns ->" in network
    assert "No space left on device" in disk
    assert "watcher started" in watcher
    assert sleeps and all("[killed: the command ran past" in s or "tool time are used up" in s for s in sleeps)
    limits = {e["item"]: e["limit"] for e in events if e["event"] == "limit"}
    assert set(limits.values()) <= {"tool_time", "max_tool_calls"} and len(limits) == 5
    scores = {e["item"]: e["score"] for e in events if e["event"] == "score"}
    assert scores == {"r01": 0.0, "r02": 0.0, "r03": 0.0, "r04": 0.5, "r05": 0.0}  # as the repositories were given
