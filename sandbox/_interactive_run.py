"""One run of an interactive (protocol v2) container: start it as a server, drive every item
through its socket with the trusted driver, stop it. Used by local workers and GPU nodes alike."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from sandbox._agent import EnvironmentConfig, ItemEnvironment, Trajectory, split_agent_input
from sandbox._base import Runner, RunOutcome, RunSpec
from sandbox._interactive import SessionFailure, SessionLimits, drive

SOCKET_NAME = "model.sock"


def _items(source: BinaryIO) -> Iterator[tuple[str, Any]]:
    for raw in source:
        if raw.strip():
            row = json.loads(raw)
            yield row["id"], row["input"]


class _CappedSink:
    """The answers file, refusing to grow past the platform's cap on a run's predictions."""

    def __init__(self, handle: BinaryIO, cap: int) -> None:
        self.handle, self.cap, self.written = handle, cap, 0

    def write(self, data: bytes) -> int:
        self.written += len(data)
        if self.written > self.cap:
            raise SessionFailure("invalid_answer", f"the answers total more than {self.cap:,} bytes, "
                                                   "the platform's cap on a run's predictions")
        return self.handle.write(data)


def run_interactive(runner: Runner, spec: RunSpec, *, items: Path, answers: Path, limits: SessionLimits,
                    max_answers_bytes: int, environment=None) -> tuple[RunOutcome, SessionFailure | None]:
    """Run the container in `spec` (its run_dir is where the socket appears) and drive the items of
    `items` (JSON lines of id and input, never mounted into the container); the answers go to
    `answers` as predictions lines, at most `max_answers_bytes` in all. Returns the container's
    outcome and the model's failure, if it broke the protocol. The job's time limit covers
    start-up and every item."""
    if spec.run_dir is None:
        raise ValueError("an interactive run needs a run_dir for the model's socket")
    failures: list[SessionFailure] = []

    def during(alive) -> None:
        deadline = time.monotonic() + spec.limits.time_limit_s
        with items.open("rb") as source, answers.open("wb") as sink:
            try:
                drive(socket_path=spec.run_dir / SOCKET_NAME, items=_items(source), limits=limits,
                      deadline=deadline, alive=alive, sink=_CappedSink(sink, max_answers_bytes),
                      environment=environment)
            except SessionFailure as exc:
                failures.append(exc)

    outcome = runner.run(spec, during=during)
    return outcome, (failures[0] if failures else None)


def run_agent(runner: Runner, spec: RunSpec, *, items: Path, answers: Path, limits: SessionLimits,
              max_answers_bytes: int, config: EnvironmentConfig, files_root: Path, work_root: Path,
              trajectory: Path) -> tuple[RunOutcome, SessionFailure | None]:
    """An agent challenge's run: as run_interactive, with one environment per item (its files from
    `files_root`, the decrypted assets; its folders under `work_root`), its tools answering the
    model's calls; each answers line holds the item's score. Every message and tool call goes to
    `trajectory` (JSON lines)."""
    with trajectory.open("wb") as sink:
        record = Trajectory(sink)

        def environment(number: int, item_id, value: dict) -> ItemEnvironment:
            _rest, files, score_files = split_agent_input(value)
            return ItemEnvironment(runner=runner, config=config, job_id=spec.job_id, number=number,
                                   item_id=item_id, files=files, score_files=score_files,
                                   files_root=files_root, work_root=work_root, trajectory=record)

        return run_interactive(runner, spec, items=items, answers=answers, limits=limits,
                               max_answers_bytes=max_answers_bytes, environment=environment)
