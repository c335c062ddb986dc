"""One run of an interactive (protocol v2) container: start it as a server, drive every item
through its socket with the trusted driver, stop it. Used by local workers and GPU nodes alike."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from sandbox._agent import EnvironmentConfig, ItemEnvironment, Trajectory, split_agent_input
from sandbox._base import Runner, RunOutcome, RunSpec, SandboxError
from sandbox._interactive_driver import SessionFailure, SessionLimits, drive

SOCKET_NAME = "model.sock"
EnvironmentFactory = Callable[[int, Any, dict[str, Any]], ItemEnvironment]  # (number, id, input)


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
            raise SessionFailure(
                "invalid_answer",
                f"the answers total more than {self.cap:,} bytes, the platform's cap on a run's predictions",
            )
        return self.handle.write(data)


def run_interactive(
    runner: Runner,
    spec: RunSpec,
    *,
    items: Path,
    answers: Path,
    limits: SessionLimits,
    max_answers_bytes: int,
    environment: EnvironmentFactory | None = None,
) -> tuple[RunOutcome, SessionFailure | None]:
    """Run the container in `spec` (its run_dir is where the socket appears) and drive the items of
    `items` (JSON lines of id and input, never mounted into the container); the answers go to
    `answers` as predictions lines, at most `max_answers_bytes` in all. Returns the container's
    outcome and the model's failure, if it broke the protocol. The job's time limit covers
    start-up and every item."""
    if spec.run_dir is None:
        raise ValueError("an interactive run needs a run_dir for the model's socket")
    socket_path = spec.run_dir / SOCKET_NAME
    failures: list[SessionFailure] = []

    def during(alive: Callable[[], bool]) -> None:
        deadline = time.monotonic() + spec.limits.time_limit_s
        with items.open("rb") as source, answers.open("wb") as sink:
            try:
                drive(
                    socket_path=socket_path,
                    items=_items(source),
                    limits=limits,
                    deadline=deadline,
                    alive=alive,
                    sink=_CappedSink(sink, max_answers_bytes),
                    environment=environment,
                )
            except SessionFailure as exc:
                failures.append(exc)

    outcome = runner.run(spec, during=during)
    return outcome, (failures[0] if failures else None)


def run_agent(
    runner: Runner,
    spec: RunSpec,
    *,
    items: Path,
    answers: Path,
    limits: SessionLimits,
    max_answers_bytes: int,
    config: EnvironmentConfig,
    files_root: Path,
    work_root: Path,
    trajectory: Path,
    capture_root: Path | None = None,
) -> tuple[RunOutcome, SessionFailure | None]:
    """An agent challenge's run: as run_interactive, with one environment per item (its files from
    `files_root`, the decrypted assets; its folders under `work_root`), its tools answering the
    model's calls; each answers line holds the item's score. Every message and tool call goes to
    `trajectory` (JSON lines). With `capture_root` (a GPU node, which never holds score files),
    each item's final state is captured there instead, and its answers line holds that file's
    name (None when it could not be captured): `score_final_states` scores them centrally."""
    with trajectory.open("wb") as sink:
        record = Trajectory(sink)

        def environment(number: int, item_id: Any, value: dict[str, Any]) -> ItemEnvironment:
            _rest, files, score_files = split_agent_input(value)
            capture = None if capture_root is None else capture_root / f"item-{number}.tar.gz"
            return ItemEnvironment(
                runner=runner,
                config=config,
                job_id=spec.job_id,
                number=number,
                item_id=item_id,
                files=files,
                score_files=score_files if capture is None else {},
                files_root=files_root,
                work_root=work_root,
                trajectory=record,
                capture_to=capture,
            )

        return run_interactive(
            runner,
            spec,
            items=items,
            answers=answers,
            limits=limits,
            max_answers_bytes=max_answers_bytes,
            environment=environment,
        )


STATE_NAME = re.compile(r"item-[0-9]{1,7}\.tar\.gz")


def score_final_states(
    runner: Runner,
    *,
    job_id: str,
    config: EnvironmentConfig,
    items: Path,
    answers: Path,
    states: Path,
    files_root: Path,
    work_root: Path,
    trajectory: Path,
) -> None:
    """Score a GPU node's agent run where the score files are: for each answered item, its
    environment is started from the final state the node captured (in `states`), the item's
    `score_files` (from `files_root`) are staged and the score command run, exactly as at the end of
    a local run (ItemEnvironment.score). `answers` is rewritten with the scores; each item's score
    event is appended to `trajectory`. A state that is missing or was not captured scores 0."""
    score_files = {item_id: split_agent_input(value)[2] for item_id, value in _items_of(items)}
    rows = []
    with answers.open("rb") as source:
        for raw in source:
            if raw.strip():
                row = json.loads(raw)
                rows.append((row["id"], row["prediction"]))
    if len({item_id for item_id, _ in rows}) != len(rows) or not {i for i, _ in rows} <= set(score_files):
        raise SandboxError("the node's answers name items twice, or items that are not the job's")
    with trajectory.open("ab") as sink:
        record = Trajectory(sink)
        scores = [
            (
                item_id,
                _score_state(
                    runner,
                    job_id=job_id,
                    config=config,
                    number=number,
                    item_id=item_id,
                    state=state,
                    states=states,
                    score_files=score_files[item_id],
                    files_root=files_root,
                    work_root=work_root,
                    record=record,
                ),
            )
            for number, (item_id, state) in enumerate(rows, start=1)
        ]
    with answers.open("wb") as sink:
        for item_id, score in scores:
            sink.write((json.dumps({"id": item_id, "prediction": score}) + "\n").encode())


def _items_of(items: Path) -> Iterator[tuple[str, Any]]:
    with items.open("rb") as source:
        yield from _items(source)


def _score_state(
    runner: Runner,
    *,
    job_id: str,
    config: EnvironmentConfig,
    number: int,
    item_id: Any,
    state: Any,
    states: Path,
    score_files: dict[str, str],
    files_root: Path,
    work_root: Path,
    record: Trajectory,
) -> float:
    path = states / state if isinstance(state, str) and STATE_NAME.fullmatch(state) else None
    if path is None or not path.is_file() or path.is_symlink():
        record.add(
            item_id,
            "score",
            score=None,
            exit_code=None,
            timed_out=False,
            output="no final state of this item came back from the node",
        )
        return 0.0
    with ItemEnvironment(
        runner=runner,
        config=config,
        job_id=job_id,
        number=number,
        item_id=item_id,
        files={},
        score_files=score_files,
        files_root=files_root,
        work_root=work_root,
        trajectory=record,
        restore=path,
    ) as env:
        return env.score()
