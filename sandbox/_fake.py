"""A runner for tests that need no engine: it answers from the inputs, in-process."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox._base import EnvironmentSpec, ExecResult, RunOutcome, RunSpec, SandboxError


def _echo(item: Any) -> Any:
    return item


class FakeRunner:
    """Writes one prediction per input line, `predict(input)`; records the specs it ran."""

    def __init__(self, predict: Callable[[Any], Any] = _echo, exit_code: int = 0, log: bytes = b"") -> None:
        self.predict = predict
        self.exit_code = exit_code
        self.log = log
        self.runs: list[RunSpec] = []
        self.images: set[str] = set()
        self.stopped: list[str] = []

    def has_image(self, image_id: str) -> bool:
        return image_id in self.images

    def ensure_image(self, *, image_id: str, tarball: Path) -> None:
        self.images.add(image_id)

    def run(self, spec: RunSpec, during: Callable[[Callable[[], bool]], None] | None = None) -> RunOutcome:
        started = time.monotonic()
        self.runs.append(spec)
        if during is not None:  # the fake serves nothing: an interactive run sees a model that stopped
            during(lambda: False)
            return RunOutcome("exited", self.exit_code, time.monotonic() - started, self.log)
        lines = (spec.input_dir / "inputs.jsonl").read_text().splitlines()
        with (spec.output_dir / "predictions.jsonl").open("w") as out:
            for line in lines:
                item = json.loads(line)
                out.write(json.dumps({"id": item["id"], "prediction": self.predict(item["input"])}))
                out.write("\n")
        return RunOutcome("exited", self.exit_code, time.monotonic() - started, self.log)

    def stop(self, job_id: str) -> None:
        self.stopped.append(job_id)

    def start_environment(self, spec: EnvironmentSpec) -> str:
        raise SandboxError("the fake runner starts no environments; agent challenges need an engine")

    def exec_in(
        self, handle: str, argv: list[str], *, user: int, workdir: str, time_limit_s: float, max_output_bytes: int
    ) -> ExecResult:
        raise SandboxError("the fake runner has no environments")

    def stop_environment(self, handle: str) -> None:
        return None

    def sweep(self, *, keep: set[str]) -> int:
        return 0
