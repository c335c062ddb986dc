"""`arena try`: a sample run on the team's own machine, before any upload.

The public sample's inputs (and assets) are laid out as a job's /input, with its task.json; the
image runs under the same sandbox and limits as on the platform (the `DockerRunner`, the
challenge's limits from the API); the predictions are checked by Arena's own checker and scored
with the challenge's metric against the sample's labels, which stay in this process's memory
and never enter the container's folders. An interactive challenge's model is driven by the same
driver as on the platform.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import evaluators
from arena import evaluation
from arena.config import Settings
from sandbox import (
    JobFolder,
    JobRun,
    Runner,
    RunOutcome,
    answers_path,
    count_items,
    driven,
    items_path,
    limits_from,
    run_job,
    session_limits_from,
    write_task,
)

MAX_PREDICTIONS_BYTES = Settings.max_predictions_bytes  # the platform's default cap
SEED = 0  # the local run's bootstrap seed: any fixed one; the platform seeds by submission


@dataclass
class Sample:
    """A challenge as `arena try` needs it: what the API publishes, and the sample's files."""

    slug: str
    metric: str
    limits: dict
    protocol: str
    secondary_metrics: list[str]
    write_inputs: Callable[[Path], object]  # the sample's inputs.jsonl into path
    unpack_assets: Callable[[Path], object] | None  # its assets/ into folder, or None
    labels: bytes = field(repr=False, default=b"")


@dataclass
class TrialResult:
    challenge: str
    image: str
    status: str  # "scored" or "failed", as a sample run on the platform would end
    n_items: int
    score: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    secondary: dict | None = None
    failure_reason: str | None = None
    failure_detail: str | None = None
    exit_code: int | None = None
    duration_s: float = 0.0
    log: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _labels(raw: bytes) -> dict[str, object]:
    found = {}
    for line in raw.splitlines():
        if line.strip():
            item = json.loads(line)
            found[item["id"]] = item["label"]
    return found


def _stage(sample: Sample, folder: JobFolder) -> int:
    target = items_path(folder, sample.protocol)
    sample.write_inputs(target)
    if sample.unpack_assets is not None:
        sample.unpack_assets(folder.input)
    n_items = count_items(target)
    write_task(folder.input, challenge=sample.slug, metric=sample.metric, n_items=n_items, protocol=sample.protocol)
    return n_items


def _run(
    runner: Runner, sample: Sample, folder: JobFolder, image_id: str, job_id: str
) -> tuple[RunOutcome, dict | None]:
    """Run the container as the platform would (`sandbox.run_job`); its outcome and its failure."""
    job = JobRun(
        job_id=job_id,
        image_id=image_id,
        protocol=sample.protocol,
        limits=limits_from(sample.limits),
        max_output_bytes=MAX_PREDICTIONS_BYTES,
        session_limits=session_limits_from(sample.limits) if driven(sample.protocol) else None,
    )
    result = run_job(runner, job, folder)
    return result.outcome, _failure(result.failure)


def _failure(verdict) -> dict | None:
    return None if verdict is None else {"failure_reason": verdict.reason, "failure_detail": verdict.detail}


def _lines(path: Path) -> Iterator[bytes]:
    if not path.exists() and not path.is_symlink():
        raise evaluators.InvalidPredictions("the container wrote no /output/predictions.jsonl")
    try:
        yield from evaluation.prediction_lines(path, MAX_PREDICTIONS_BYTES)
    except OSError:
        raise evaluators.InvalidPredictions("predictions.jsonl could not be opened as a regular file") from None


def _score(sample: Sample, folder: JobFolder) -> dict:
    """Check the predictions with Arena's checker and score them as a sample run is scored."""
    metric = evaluators.get_metric(sample.metric)
    gold = _labels(sample.labels)
    try:
        predictions = evaluators.parse_predictions(
            _lines(answers_path(folder, sample.protocol)), ids=list(gold), metric=metric
        )
    except evaluators.InvalidPredictions as exc:
        return {"status": "failed", "failure_reason": "invalid_output", "failure_detail": str(exc)}
    except OverflowError:
        return {
            "status": "failed",
            "failure_reason": "output_too_large",
            "failure_detail": f"predictions.jsonl is larger than {MAX_PREDICTIONS_BYTES // 1024**2} MiB",
        }
    try:
        found = evaluators.bootstrap_interval(
            metric, predictions, list(gold.values()), seed=SEED, resamples=evaluation.BOOTSTRAP_RESAMPLES
        )
    except (evaluators.MetricError, ValueError, OverflowError, TypeError):
        return {
            "status": "failed",
            "failure_reason": "invalid_output",
            "failure_detail": f"the predictions could not be scored with {metric.name}",
        }
    secondary = {
        name: evaluation.secondary_score(name, predictions, list(gold.values()), SEED)
        for name in sample.secondary_metrics
    }
    finite = all(x == x and abs(x) != float("inf") for x in (found.low, found.high))
    return {
        "status": "scored",
        "score": found.score,
        "ci_low": found.low if finite else None,
        "ci_high": found.high if finite else None,
        "secondary": secondary or None,
    }


def try_image(runner: Runner, sample: Sample, *, image: str, image_id: str, keep: Path | None = None) -> TrialResult:
    """Run `image_id` on the sample in a fresh job folder (removed afterwards; with `keep`, the
    folder's input/ and output/ are copied there first), and score it."""
    root = Path(tempfile.mkdtemp(prefix="arena-try-"))
    job_id = "try-" + secrets.token_hex(6)
    try:
        folder = JobFolder.create(root=root, job_id=job_id, size_bytes=0, use_tmpfs=False)
        n_items = _stage(sample, folder)
        outcome, failed = _run(runner, sample, folder, image_id, job_id)
        result = TrialResult(
            challenge=sample.slug,
            image=image,
            status="failed",
            n_items=n_items,
            exit_code=outcome.exit_code,
            duration_s=round(outcome.duration_s, 3),
            log=outcome.log_tail.decode("utf-8", errors="replace"),
        )
        for key, value in ({"status": "failed", **failed} if failed else _score(sample, folder)).items():
            setattr(result, key, value)
        if keep is not None:
            _keep(folder, keep)
        return result
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _keep(folder: JobFolder, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name in ("input", "output"):
        shutil.rmtree(target / name, ignore_errors=True)
        shutil.copytree(getattr(folder, name), target / name, symlinks=True)
