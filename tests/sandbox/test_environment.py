"""Agents' environments on the real engine: the sandbox, the tools, limits, scoring, trajectories."""

from __future__ import annotations

import io
import json
import secrets
from pathlib import Path

import pytest
from conftest import BASE_IMAGE

from sandbox import AgentLimits, EnvironmentConfig, Limits, SandboxError, build_image, parse_score
from sandbox._agent import ItemEnvironment, Trajectory
from sandbox._docker import DockerRunner

pytestmark = pytest.mark.docker
SCORE = (
    "import pathlib; t = pathlib.Path('/arena/hidden/expected.txt'); "
    "print(1.0 if t.exists() and pathlib.Path('answer.txt').read_text().strip() == t.read_text().strip() else 0.0)"
)


@pytest.fixture(scope="session")
def env_image(docker_engine, tmp_path_factory):
    context = tmp_path_factory.mktemp("env")
    (context / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\n")
    return build_image(context, tag="arena-test/environment:latest")


def environment(env_image, tmp_path: Path, *, trajectory=None, item: dict | None = None, **agent) -> ItemEnvironment:
    (tmp_path / "files" / "assets").mkdir(parents=True, exist_ok=True)
    (tmp_path / "files" / "assets" / "question.txt").write_text("what is 6 * 7?\n")
    (tmp_path / "files" / "assets" / "expected.txt").write_text("42\n")
    config = EnvironmentConfig(
        image_id=env_image,
        tools=("bash", "python", "read_file", "write_file"),
        score_command=("python3", "-c", SCORE),
        workdir="/work",
        limits=Limits(memory_mb=128, pids=32, tmp_mb=8),
        agent=AgentLimits(
            **{"tool_call_s": 3, "tool_time_s": 8, "workdir_mb": 4, "max_tool_output_bytes": 2048, **agent}
        ),
    )
    given = {
        "files": {"question.txt": "assets/question.txt"},
        "score_files": {"expected.txt": "assets/expected.txt"},
        **(item or {}),
    }
    return ItemEnvironment(
        runner=DockerRunner(),
        config=config,
        job_id="job-env-" + secrets.token_hex(4),
        number=1,
        item_id="q1",
        files_root=tmp_path / "files",
        work_root=tmp_path / "work",
        trajectory=trajectory or Trajectory(io.BytesIO()),
        **given,
    )


def bash(env: ItemEnvironment, command: str) -> str:
    return env.call({"id": "c", "function": {"name": "bash", "arguments": json.dumps({"command": command})}})


def tool(env: ItemEnvironment, name: str, **arguments) -> str:
    return env.call({"id": "c", "function": {"name": name, "arguments": json.dumps(arguments)}})


def test_tools_act_in_the_item_environment_and_the_final_state_is_scored(env_image, tmp_path):
    sink = io.BytesIO()
    with environment(env_image, tmp_path, trajectory=Trajectory(sink)) as env:
        assert tool(env, "read_file", path="question.txt") == "what is 6 * 7?\n"
        assert "wrote 3 bytes" in tool(env, "write_file", path="answer.txt", content="42\n")
        assert bash(env, "cat answer.txt; id -u") == "42\n65533\n"
        assert tool(env, "python", code="print(6 * 7)") == "42\n"
        assert env.score() == 1.0
    events = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["environment", "tool", "tool", "tool", "tool", "score"]
    assert events[-1]["score"] == 1.0


def test_the_hidden_files_appear_only_after_the_agent_and_its_processes_are_gone(env_image, tmp_path):
    with environment(env_image, tmp_path) as env:
        assert "No such file" in bash(env, "cat /arena/hidden/expected.txt")
        assert "watching" in bash(
            env,
            "setsid sh -c 'while true; do cat /arena/hidden/* >> /work/stolen 2>/dev/null; "
            "sleep 0.05; done' >/dev/null 2>&1 </dev/null & echo watching",
        )
        bash(env, "echo 41 > answer.txt")
        assert env.score() == 0.0
        leftover = env._exec(
            [
                "sh",
                "-c",
                "cat /work/stolen 2>/dev/null | wc -c; "
                "for p in /proc/[0-9]*; do stat -c %u $p; done 2>/dev/null | grep -c 65533",
            ],
            user=0,
            limit=5,
        ).output.split()
    assert leftover == [b"0", b"0"]  # the watcher was killed before the hidden file was staged


def test_no_network_no_root_a_small_disk_and_killed_commands(env_image, tmp_path):
    with environment(env_image, tmp_path) as env:
        net = tool(
            env,
            "python",
            code="import socket\ntry:\n socket.create_connection(('10.0.0.1', 80), 2)\nexcept OSError as e: print(e)",
        )
        assert "unreachable" in net
        assert "Read-only file system" in bash(env, "touch /etc/x")
        assert "No space left on device" in bash(env, "dd if=/dev/zero of=fill bs=1M count=50")
        slow = bash(env, "sleep 30")
        assert "[killed: the command ran past 3.0 s]" in slow
        assert "[output cut at 2048 bytes]" in bash(env, "yes")
        assert env.tool_time < 8.5


def test_per_item_limits_stop_the_agent(env_image, tmp_path):
    with environment(env_image, tmp_path, max_tool_calls=2) as env:
        bash(env, "true")
        bash(env, "true")
        assert "limit of 2 tool calls" in bash(env, "true")
        assert env.stopped == "max_tool_calls"
    with environment(env_image, tmp_path / "b", tool_time_s=2) as env:
        assert "killed" in bash(env, "sleep 10")
        assert "tool time are used up" in bash(env, "true")
        assert env.stopped == "tool_time"
    with environment(env_image, tmp_path / "c", max_tokens=1000) as env:
        env.account(tokens=1001, messages=3)
        assert env.stopped == "max_tokens"


def test_score_lines():
    assert parse_score(b"3 of 4 passed\n0.75\n") == 0.75
    assert parse_score(b"1.5\n") is None
    assert parse_score(b"passed\n") is None
    assert parse_score(b"") is None


def test_files_larger_than_the_working_directory_are_the_platforms_failure(env_image, tmp_path):
    env = environment(env_image, tmp_path, workdir_mb=1)
    (tmp_path / "files" / "assets" / "question.txt").write_bytes(b"x" * 2 * 1024**2)
    with pytest.raises(SandboxError, match="larger than workdir_mb"):
        with env:
            pass
    assert not (tmp_path / "work" / "item-1").exists()  # its folders are wiped, its container removed


def test_a_final_state_captured_without_score_files_scores_elsewhere_as_in_place(env_image, tmp_path):
    """A GPU node's item: no score files, its final state captured; the central scoring restores
    it in a fresh environment, stages the score files there and scores it as a local run would."""
    state, sink = tmp_path / "states" / "item-1.tar.gz", io.BytesIO()
    state.parent.mkdir()
    with environment(
        env_image, tmp_path, trajectory=Trajectory(sink), item={"score_files": {}, "capture_to": state}
    ) as node:
        assert "wrote 3 bytes" in tool(node, "write_file", path="answer.txt", content="42\n")
        assert bash(node, "ls /arena/hidden | wc -l") == "0\n"
        assert node.finish() == "item-1.tar.gz"
    with environment(env_image, tmp_path, trajectory=Trajectory(sink), item={"files": {}, "restore": state}) as central:
        assert central.score() == 1.0
    events = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["environment", "tool", "tool", "final_state", "score"]
    assert events[3]["captured"] is True and events[-1]["score"] == 1.0


def test_a_final_state_that_cannot_be_captured_or_restored_scores_0(env_image, tmp_path):
    state, sink = tmp_path / "item-1.tar.gz", io.BytesIO()
    with environment(
        env_image, tmp_path, trajectory=Trajectory(sink), item={"score_files": {}, "capture_to": state}
    ) as node:
        bash(node, "echo 42 > answer.txt; chmod 000 answer.txt")  # unreadable: tar fails
        assert node.finish() is None and not state.exists()
    state.write_bytes(b"not a tar")
    with environment(env_image, tmp_path, trajectory=Trajectory(sink), item={"files": {}, "restore": state}) as central:
        assert central.score() == 0.0
    events = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert events[-3]["event"] == "final_state" and events[-3]["captured"] is False
    assert events[-2] == {**events[-2], "event": "final_state", "restored": False}
    assert events[-1]["score"] is None
