"""Agents in environments: one organiser's environment container per item, tools that act in it,
per-item limits, scoring on its final state, and the trajectory of every message and tool call.

The team's container is driven exactly as in protocol v2 (sandbox/_interactive_driver.py); what changes
is who answers its tool calls: an `ItemEnvironment`, through the runner's `exec_in`. The hidden
files that score an item (`score_files`) enter the environment only after the agent has finished
and every process it started there was killed, so no tool call can ever read them. Nothing here
knows about the platform; stdlib only.
"""

from __future__ import annotations

import base64
import json
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from sandbox._base import (
    CONTAINER_UID,
    TOOL_UID,
    EnvironmentSpec,
    ExecResult,
    Limits,
    Runner,
    SandboxError,
)

STAGE_DIR = "/arena/stage"
HIDDEN_DIR = "/arena/hidden"
MAX_WRITE_BYTES = 64 * 1024  # one write_file call's content (it travels as one argument)
MAX_SCORE_OUTPUT = 64 * 1024
MAX_TRAJECTORY_BYTES = 32 * 1024**2
MAX_ITEM_FILES = 1000
_TEXT = {"type": "string"}
_KILL_AGENT = ["sh", "-c", "kill -9 -1 2>/dev/null; kill -9 -1 2>/dev/null; exit 0"]
# What the agent's processes left in /tmp (only theirs: /tmp is sticky), so the score has room.
_CLEAR_TMP = ["sh", "-c", "rm -rf /tmp/* /tmp/.[!.]* 2>/dev/null; exit 0"]
# The final state of an item's working directory, as a gzipped tar on standard output (a node's run:
# it is scored centrally, where the score files are); and its restoring there.
_CAPTURE = ["sh", "-c", 'tar -C "$1" -czf - . 2>/dev/null', "sh"]
_RESTORE = ["tar", "--no-same-owner", "--warning=no-timestamp", "-xzf"]
FINAL_STATE = "final-state.tar.gz"


def _function(name: str, description: str, **properties: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": list(properties)},
        },
    }


TOOL_SPECS = {
    "bash": _function(
        "bash",
        "Run a bash command in the task's environment (working directory: the "
        "repository); returns its output (stdout and stderr) and exit code.",
        command=_TEXT,
    ),
    "python": _function("python", "Run Python 3 code in the task's environment; returns its output.", code=_TEXT),
    "read_file": _function(
        "read_file",
        "Read a text file of the environment (a path relative to the working directory, or absolute).",
        path=_TEXT,
    ),
    "write_file": _function(
        "write_file", "Write (create or replace) a text file of the environment.", path=_TEXT, content=_TEXT
    ),
}


@dataclass(frozen=True)
class AgentLimits:
    """Per-item limits of an agent challenge (see docs/agent-protocol.md)."""

    max_messages: int = 60  # messages in one item's conversation (user, assistant, tool)
    max_tool_calls: int = 30
    tool_time_s: float = 120.0  # all of one item's tool calls together
    tool_call_s: float = 30.0  # one tool call
    max_tool_output_bytes: int = 16 * 1024
    max_tokens: int = 200_000  # the model's usage.total_tokens summed, else request and answer bytes / 4
    score_time_s: float = 60.0
    workdir_mb: int = 64


@dataclass(frozen=True)
class EnvironmentConfig:
    image_id: str
    tools: tuple[str, ...]
    score_command: tuple[str, ...]
    workdir: str
    limits: Limits  # the environment container's own memory, CPUs, processes
    agent: AgentLimits = field(default_factory=AgentLimits)

    def tool_specs(self) -> list[dict[str, Any]]:
        return [TOOL_SPECS[name] for name in self.tools]


# -- item inputs ----------------------------------------------------------------------------------
def check_files(value: Any, key: str) -> str | None:
    """`files` / `score_files`: {relative path: asset path}, each path plain and relative."""
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > MAX_ITEM_FILES:
        return f"{key} must map at most {MAX_ITEM_FILES} relative paths to asset paths ('assets/...')"
    for path, source in value.items():
        if not isinstance(source, str) or not source.startswith("assets/"):
            return f"{key} must map each path to an asset path (a string starting with 'assets/')"
        if not _plain_relative(path):
            return f"{key} paths must be relative, without '..', empty parts or a leading '/'"
    return None


def _plain_relative(path: Any) -> bool:
    if not isinstance(path, str) or not path or len(path) > 255 or "\x00" in path or "\\" in path:
        return False
    parts = PurePosixPath(path).parts
    return not path.startswith("/") and all(p not in ("", ".", "..") for p in parts) and "//" not in path


def split_agent_input(value: Any) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """(conversation part, files, score_files) of an agent item's input."""
    rest = {k: v for k, v in value.items() if k not in ("files", "score_files")}
    return rest, value.get("files") or {}, value.get("score_files") or {}


def parse_score(output: bytes) -> float | None:
    """The score in the last non-empty line of the score command's output: a number in [0, 1]."""
    lines = [line.strip() for line in output.decode("utf-8", "replace").splitlines() if line.strip()]
    try:
        score = float(lines[-1]) if lines else None
    except ValueError:
        return None
    return score if score is not None and 0.0 <= score <= 1.0 else None


# -- the trajectory -------------------------------------------------------------------------------
class Trajectory:
    """Every message and tool call of a run, as JSON lines, thread-safe, capped in size."""

    def __init__(self, sink: BinaryIO, cap: int = MAX_TRAJECTORY_BYTES) -> None:
        self._sink, self._cap, self._written, self._full = sink, cap, 0, False
        self._lock = threading.Lock()

    def add(self, item: Any, event: str, **data: Any) -> None:
        line = (json.dumps({"item": item, "event": event, **data}) + "\n").encode()
        with self._lock:
            if self._full:
                return
            if self._written + len(line) > self._cap:
                self._full = True
                line = (json.dumps({"event": "truncated", "cap_bytes": self._cap}) + "\n").encode()
            self._sink.write(line)
            self._written += len(line)


def _cut(text: str, limit: int = 4096) -> str:
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more characters]"


# -- one item's environment -----------------------------------------------------------------------
class ItemEnvironment:
    """Start, act in, score and remove one item's environment; keeps its per-item limits."""

    def __init__(
        self,
        *,
        runner: Runner,
        config: EnvironmentConfig,
        job_id: str,
        number: int,
        item_id: Any,
        files: dict[str, str],
        score_files: dict[str, str],
        files_root: Path,
        work_root: Path,
        trajectory: Trajectory,
        capture_to: Path | None = None,
        restore: Path | None = None,
    ) -> None:
        """`capture_to` (a GPU node's run): the item ends with its final state captured there
        instead of scored, and `score_files` must be empty. `restore` (the central scoring of a
        node's run): the environment starts from that captured final state, not from `files`."""
        if capture_to is not None and score_files:
            raise ValueError("an item whose final state is captured for central scoring has no score files here")
        self._runner, self._config, self._job_id, self._number = runner, config, job_id, number
        self.item_id, self._files, self._score_files = item_id, files, score_files
        self._files_root, self._root, self.trajectory = files_root, work_root / f"item-{number}", trajectory
        self._capture_to, self._restore = capture_to, restore
        self.restored = True
        self._handle: str | None = None
        self.calls = self.tokens = self.messages = 0
        self.tool_time = 0.0
        self.stopped: str | None = None  # the limit that stopped the item, if one did

    def tool_specs(self) -> list[dict[str, Any]]:
        return self._config.tool_specs()

    # -- lifecycle
    def start(self) -> None:
        stage, hidden = self._root / "stage", self._root / "hidden"
        for folder in (stage, hidden):
            folder.mkdir(parents=True, mode=0o755)
            folder.chmod(0o755)
        if self._restore is None:
            _copy_files(self._files, self._files_root, stage)
        else:
            shutil.copyfile(self._restore, stage / FINAL_STATE, follow_symlinks=False)
            (stage / FINAL_STATE).chmod(0o644)
        spec = EnvironmentSpec(
            job_id=self._job_id,
            name=f"{self._job_id}-{self._number}",
            image_id=self._config.image_id,
            stage_dir=stage,
            hidden_dir=hidden,
            workdir=self._config.workdir,
            workdir_mb=self._config.agent.workdir_mb,
            limits=self._config.limits,
        )
        started = time.monotonic()
        self._handle = self._runner.start_environment(spec)
        if self._restore is None:
            copied = self._exec(["cp", "-R", f"{STAGE_DIR}/.", self._config.workdir], user=TOOL_UID, limit=60)
            if copied.exit_code != 0:
                raise SandboxError(
                    "an item's files could not be copied into its environment's working "
                    "directory (larger than workdir_mb, or the image lacks cp)"
                )
            self.trajectory.add(self.item_id, "environment", started_s=round(time.monotonic() - started, 3))
        else:
            self.restored = self._restore_state()

    def _restore_state(self) -> bool:
        """Unpack the captured final state into the working directory (as the agent's user: what it
        wrote, it may write again). False, with the reason in the trajectory, when it does not fit."""
        done = self._exec(
            [*_RESTORE, f"{STAGE_DIR}/{FINAL_STATE}", "-C", self._config.workdir], user=TOOL_UID, limit=60, cap=2000
        )
        ok = done.exit_code == 0
        if not ok:
            self.trajectory.add(
                self.item_id,
                "final_state",
                restored=False,
                detail=_cut(done.output.decode("utf-8", "replace"), 500) or "timed out",
            )
        return ok

    def close(self) -> None:
        if self._handle is not None:
            self._runner.stop_environment(self._handle)
            self._handle = None
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> ItemEnvironment:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _exec(self, argv: list[str], *, user: int, limit: float, cap: int = 4096) -> ExecResult:
        assert self._handle is not None, "the environment is started (start() sets the handle)"
        return self._runner.exec_in(
            self._handle, argv, user=user, workdir=self._config.workdir, time_limit_s=limit, max_output_bytes=cap
        )

    # -- limits
    def account(self, *, tokens: int, messages: int) -> None:
        self.tokens += tokens
        self.messages = messages
        agent = self._config.agent
        if self.tokens > agent.max_tokens:
            self._stop("max_tokens", f"the item's {agent.max_tokens} tokens are used up")
        elif messages >= agent.max_messages:
            self._stop("max_messages", f"the item's conversation reached {agent.max_messages} messages")

    def _stop(self, limit: str, why: str) -> None:
        if self.stopped is None:
            self.stopped = limit
            self.trajectory.add(self.item_id, "limit", limit=limit, detail=why)

    # -- tools
    def call(self, call: dict[str, Any]) -> str:
        """Execute one tool call in the environment; its result, as the model will read it."""
        name, raw = call["function"]["name"], call["function"]["arguments"]
        result, took = self._call(name, raw)
        self.trajectory.add(
            self.item_id,
            "tool",
            name=_cut(name, 100),
            arguments=_cut(raw),
            result=_cut(result, self._config.agent.max_tool_output_bytes + 200),
            seconds=round(took, 3),
        )
        return result

    def _call(self, name: str, raw: str) -> tuple[str, float]:
        agent = self._config.agent
        if self.calls >= agent.max_tool_calls:
            self._stop("max_tool_calls", f"the item's {agent.max_tool_calls} tool calls are used up")
            return f"error: this task's limit of {agent.max_tool_calls} tool calls is reached", 0.0
        left = agent.tool_time_s - self.tool_time
        if left <= 0.05:
            self._stop("tool_time", f"the item's {agent.tool_time_s:g} s of tool time are used up")
            return f"error: this task's {agent.tool_time_s:g} s of tool time are used up", 0.0
        self.calls += 1
        if name not in self._config.tools:
            return f"error: there is no tool {name[:64]!r}; the tools are {', '.join(self._config.tools)}", 0.0
        argv = _tool_argv(name, raw)
        if isinstance(argv, str):
            return argv, 0.0
        started = time.monotonic()
        done = self._exec(argv, user=TOOL_UID, limit=min(agent.tool_call_s, left), cap=agent.max_tool_output_bytes)
        took = time.monotonic() - started
        self.tool_time += took
        return _tool_text(done, min(agent.tool_call_s, left)), took

    # -- scoring
    def finish(self) -> float | str | None:
        """The item's end: its score (a local run); on a GPU node, the name of its captured final
        state (None when it could not be captured), to be scored centrally (score_final_states)."""
        if self._capture_to is None:
            return self.score()
        return self._capture_to.name if self.capture() else None

    def _quiesce(self) -> None:
        """Kill every process the agent started and remove its files from /tmp."""
        self._exec(_KILL_AGENT, user=TOOL_UID, limit=5)
        self._exec(_CLEAR_TMP, user=TOOL_UID, limit=10)

    def capture(self) -> bool:
        """Write the working directory's final state (a gzipped tar, at most workdir_mb) to
        `capture_to`, once the agent's processes are gone; False when it is larger or unreadable."""
        assert self._capture_to is not None
        self._quiesce()
        cap = self._config.agent.workdir_mb * 1024**2
        done = self._exec(
            [*_CAPTURE, self._config.workdir], user=TOOL_UID, limit=self._config.agent.score_time_s, cap=cap
        )
        ok = done.exit_code in (0, 1) and not done.truncated and not done.timed_out and bool(done.output)
        if ok:
            self._capture_to.write_bytes(done.output)
        self.trajectory.add(
            self.item_id,
            "final_state",
            captured=ok,
            bytes=len(done.output) if ok else None,
            **(
                {}
                if ok
                else {
                    "detail": f"the working directory could not be captured (its "
                    f"gzipped tar is over {self._config.agent.workdir_mb} MiB, it timed "
                    "out, or files in it are unreadable): the item scores 0"
                }
            ),
        )
        return ok

    def score(self) -> float:
        """Kill every process the agent started (and remove its files from /tmp), stage the hidden
        score files, run the score command as the environment's own user; the score of the final
        state (0 when the command gives no number in [0, 1], or a restored state did not fit)."""
        if self._restore is not None and not self.restored:
            self.trajectory.add(
                self.item_id,
                "score",
                score=None,
                exit_code=None,
                timed_out=False,
                output="the final state could not be restored",
            )
            return 0.0
        self._quiesce()
        hidden = self._root / "hidden"
        _copy_files(self._score_files, self._files_root, hidden)
        done = self._exec(
            list(self._config.score_command),
            user=CONTAINER_UID,
            limit=self._config.agent.score_time_s,
            cap=MAX_SCORE_OUTPUT,
        )
        score = None if done.timed_out else parse_score(done.output)
        self.trajectory.add(
            self.item_id,
            "score",
            score=score,
            exit_code=done.exit_code,
            timed_out=done.timed_out,
            output=_cut(done.output.decode("utf-8", "replace")),
        )
        return 0.0 if score is None else score


def _copy_files(files: dict[str, str], files_root: Path, dest: Path) -> None:
    """Copy the item's declared asset files (decrypted in the job folder) into a fresh folder that
    only the platform writes; readable by the environment's users."""
    for relative, source in files.items():
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        shutil.copyfile(files_root / source, target, follow_symlinks=False)
        target.chmod(0o644)
    for folder in dest.rglob("*"):
        if folder.is_dir():
            folder.chmod(0o755)


def _arguments(raw: str, keys: tuple[str, ...]) -> dict[str, Any] | str:
    try:
        given = json.loads(raw)
    except (ValueError, RecursionError):
        return "error: the arguments are not JSON"
    if not isinstance(given, dict) or not all(isinstance(given.get(k), str) for k in keys):
        return f"error: the arguments must be an object with the string(s) {', '.join(keys)}"
    return given


def _tool_argv(name: str, raw: str) -> list[str] | str:
    """The command that carries out one tool call, or an error for the model."""
    keys = {"bash": ("command",), "python": ("code",), "read_file": ("path",), "write_file": ("path", "content")}[name]
    given = _arguments(raw, keys)
    if isinstance(given, str):
        return given
    if name == "bash":
        return ["bash", "-c", given["command"]]
    if name == "python":
        return ["python3", "-c", given["code"]]
    if name == "read_file":
        return ["cat", "--", given["path"]]
    content = given["content"].encode("utf-8", "replace")
    if len(content) > MAX_WRITE_BYTES:
        return f"error: write_file takes at most {MAX_WRITE_BYTES} bytes at once"
    return [
        "sh",
        "-c",
        'printf %s "$1" | base64 -d > "$2" && echo "wrote $(wc -c < "$2") bytes"',
        "sh",
        base64.b64encode(content).decode(),
        given["path"],
    ]


def _tool_text(done: ExecResult, limit: float) -> str:
    text = done.output.decode("utf-8", "replace")
    if done.truncated:
        text += f"\n[output cut at {len(done.output)} bytes]"
    if done.timed_out:
        text += f"\n[killed: the command ran past {limit:.1f} s]"
    elif done.exit_code:
        text += f"\n[exit code {done.exit_code}]"
    return text
