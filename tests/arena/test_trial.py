"""`arena try`'s core at the runner seam: the sample staged as /input with task.json and no labels,
the predictions checked by Arena's checker and scored by the challenge's metrics."""

from __future__ import annotations

import json
from pathlib import Path

from arena.trial import Sample, try_image
from sandbox import FakeRunner

LIMITS = {"time_limit_seconds": 30, "memory_mb": 256, "cpus": 1, "pids": 64, "gpus": 0}
ITEMS = [{"id": f"s{i}", "input": {"x": i}} for i in range(6)]
LABELS = [{"id": f"s{i}", "label": "even" if i % 2 == 0 else "odd"} for i in range(6)]


def sample(**changes) -> Sample:
    def write_inputs(path: Path) -> None:
        path.write_text("".join(json.dumps(i) + "\n" for i in ITEMS))

    fields = dict(
        slug="toy",
        metric="accuracy",
        limits=LIMITS,
        protocol="batch",
        secondary_metrics=["macro_f1"],
        write_inputs=write_inputs,
        unpack_assets=None,
        labels="".join(json.dumps(label) + "\n" for label in LABELS).encode(),
    )
    return Sample(**{**fields, **changes})


class Recording(FakeRunner):
    """Remembers what the container's /input held."""

    def run(self, spec, during=None):
        self.seen = sorted(p.name for p in spec.input_dir.iterdir())
        self.task = json.loads((spec.input_dir / "task.json").read_text())
        return super().run(spec, during)


def test_a_right_model_scores_with_its_secondary_metric_and_sees_no_labels(tmp_path):
    runner = Recording(predict=lambda x: "even" if x["x"] % 2 == 0 else "odd", log=b"hello\n")
    found = try_image(runner, sample(), image="my-model", image_id="sha256:abc", keep=tmp_path / "kept")
    assert (found.status, found.score, found.n_items, found.log) == ("scored", 1.0, 6, "hello\n")
    assert found.secondary == {"macro_f1": {"score": 1.0, "ci_low": 1.0, "ci_high": 1.0}}
    assert runner.seen == ["inputs.jsonl", "task.json"]
    assert runner.task == {"protocol": 1, "challenge": "toy", "metric": "accuracy", "n_items": 6}
    assert runner.runs[0].limits.pids == 64 and runner.runs[0].limits.memory_mb == 256
    assert (tmp_path / "kept" / "output" / "predictions.jsonl").is_file()


def test_predictions_that_break_the_protocol_fail_as_on_the_platform():
    numbers = "".join(json.dumps({"id": f"s{i}", "label": i}) + "\n" for i in range(6)).encode()
    found = try_image(
        FakeRunner(predict=lambda x: "seven"),
        sample(metric="mae", secondary_metrics=[], labels=numbers),
        image="m",
        image_id="sha256:abc",
    )
    assert (found.status, found.failure_reason, found.failure_detail) == (
        "failed",
        "invalid_output",
        "line 1: prediction must be a number",
    )
    crashed = try_image(FakeRunner(exit_code=2), sample(), image="m", image_id="sha256:abc")
    assert (crashed.status, crashed.failure_reason, crashed.failure_detail) == (
        "failed",
        "crashed",
        "the container exited with code 2",
    )
