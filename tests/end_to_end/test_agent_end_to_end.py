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

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def images(docker_engine):
    tags = {}
    for name, folder in (
        ("env", "environments/repo-env"),
        ("agent", "models/repo-agent"),
        ("hostile", "models/hostile-agent"),
    ):
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
    made = json.loads(
        arena(env, "challenge", "set-environment", "repo-repair", images["env"], "--json", token=organiser).stdout
    )
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
    assert scores == {
        "r01": 1.0,
        "r02": 1.0,
        "r03": 1.0,
        "r04": 0.5,
        "r05": 0.0,
    }  # r04: one of its two tests passes as given
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


# -- through the Slurm executor: the agent and its environments on the node, the scoring here ------
@pytest.fixture(scope="module")
def slurm_served(images, slurm_cluster, tmp_path_factory):
    """`arena serve` dispatching with sbatch to the one-node cluster. A seam on the node: node-run
    runs this worktree's code with its job folders under a watched root, every path seen there
    (polled while it runs) written to `seen`."""
    from helpers import ARENA

    home = tmp_path_factory.mktemp("repo-slurm-home")
    node_root, seen = Path(f"/dev/shm/arena-node-watch-{home.name}"), home / "node-paths.txt"
    wrapper = home / "node-run.sh"
    wrapper.write_text(
        f"#!/bin/sh\nexport PYTHONPATH={ROOT} ARENA_NODE_JOB_ROOT={node_root}\n"
        f"( while :; do find {node_root} >> {seen} 2>/dev/null; sleep 0.1; done ) & watcher=$!\n"
        f'{ARENA} "$@"; status=$?\nkill $watcher\nexit $status\n'
    )
    bundle = shutil.copytree(ROOT / "examples/challenges/repo-repair", home / "bundle")
    config = yaml.safe_load((bundle / "challenge.yaml").read_text())
    config["environment"]["limits"].update(tool_time_limit_seconds=12, tool_call_time_limit_seconds=3)
    (bundle / "challenge.yaml").write_text(yaml.safe_dump(config))
    extra = {
        "ARENA_EXECUTOR": "slurm",
        "ARENA_SLURM_POLL_SECONDS": "1",
        "ARENA_SLURM_LOG_DIR": str(home),
        "ARENA_SLURM_MARGIN_SECONDS": "60",
        "ARENA_SLURM_NODE_COMMAND": f"sh {wrapper}",
    }
    with serve_arena(home, extra) as env:
        organiser = json.loads(arena(env, "admin", "create-organiser", "Slurm Agents", "--json").stdout)["token"]
        arena(env, "challenge", "create", str(bundle), token=organiser)
        team = json.loads(arena(env, "team", "create", "Node Fixers", "--json", token=organiser).stdout)["token"]
        arena(env, "challenge", "set-environment", "repo-repair", images["env"], token=organiser)
        yield env, organiser, team, seen
    shutil.rmtree(node_root, ignore_errors=True)


def attempts(env, token, submission_id) -> list[dict]:
    return json.loads(arena(env, "status", submission_id, "--json", token=token).stdout)["attempts"]


@pytest.mark.slurm
def test_through_slurm_the_node_runs_the_agent_and_the_hidden_tests_score_it_here(slurm_served, images):
    env, organiser, team, seen = slurm_served
    sample = submit(env, team, images["agent"], "--sample")
    assert (sample["status"], sample["score"]) == ("scored", 1.0), sample
    hidden = submit(env, team, images["agent"])
    assert hidden["status"] == "scored", hidden
    assert [a["executor"] for a in attempts(env, organiser, hidden["id"])] == ["slurm"]
    events = trajectory(env, organiser, hidden["id"])
    scores = {e["item"]: e["score"] for e in events if e["event"] == "score"}
    assert scores == {"r01": 1.0, "r02": 1.0, "r03": 1.0, "r04": 0.5, "r05": 0.0}  # as the local run's
    assert {e["item"] for e in events if e["event"] == "final_state" and e["captured"]} == set(scores)
    paths = set(seen.read_text().split())
    assert any(p.endswith("/environment-files/assets/r01/repo/calc/arith.py") for p in paths)  # the watch saw
    assert any("/final-states/item-" in p for p in paths)
    leaked = [p for p in paths if "/hidden/" in p and not p.endswith("/hidden")]
    assert leaked == [] and not [p for p in paths if "test_r0" in p]  # no score file ever on the node


@pytest.mark.slurm
def test_through_slurm_the_hostile_agent_is_contained_too(slurm_served, images):
    env, organiser, team, _seen = slurm_served
    result = submit(env, team, images["hostile"])
    assert result["status"] == "scored", result
    events = trajectory(env, organiser, result["id"])
    tools = [e for e in events if e["event"] == "tool" and e["item"] == "r01"]
    hidden_read, network, disk, _watcher, *_sleeps = (t["result"] for t in tools)
    assert "cat: '/arena/hidden/*': No such file or directory" in hidden_read
    assert "add(2, 3)" not in json.dumps([e for e in events if e["event"] != "score"])
    assert network.count("Network is unreachable") == 2 and "No space left on device" in disk
    scores = {e["item"]: e["score"] for e in events if e["event"] == "score"}
    assert scores == {"r01": 0.0, "r02": 0.0, "r03": 0.0, "r04": 0.5, "r05": 0.0}
