"""Scoring a job's predictions where the labels are: checked strictly, then scored by the
challenge's built-in metric (`evaluators`) or by the organiser's scoring container
(arena/evaluation/scorer.py), into each split's score, interval, per-item values and slices."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

import evaluators
from arena.evaluation import scorer
from arena.evaluation.job import BOOTSTRAP_RESAMPLES, JobVerdict, SplitScore, Ticket, split_picks, split_seed
from arena.evaluation.staging import sample_file
from arena.runtime import Platform
from arena.services.scorers import challenge_metric
from arena.services.slices import slice_scores
from hidden_sets import DataKey
from sandbox import JobFolder, RunOutcome, answers_path


def prediction_lines(path: Path, max_bytes: int) -> Iterator[bytes]:
    """Open without following links (the container controls this folder) and cap the size."""
    # O_NONBLOCK: opening a FIFO the container left there must not hang the worker.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise evaluators.InvalidPredictions("predictions.jsonl is not a regular file")
    os.set_blocking(fd, True)
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > max_bytes:
            raise OverflowError
        yield from handle


def _label_lines(platform: Platform, ticket: Ticket, key: DataKey) -> Iterator[bytes]:
    if ticket.on_sample:
        with sample_file(platform, ticket, "labels.jsonl").open("rb") as handle:
            yield from handle
        return
    hidden = ticket.hidden_set
    yield from platform.hidden_sets.iter_lines(set_id=hidden.id, role="labels", data_key=key)


def labels_of(platform: Platform, ticket: Ticket, key: DataKey) -> tuple[dict[str, object], list[str | None]]:
    """The labels by item id, and each item's slice (None where it has none)."""
    labels: dict[str, object] = {}
    item_slices: list[str | None] = []
    for raw in _label_lines(platform, ticket, key):
        if raw.strip():
            item = json.loads(raw)
            labels[item["id"]] = item["label"]
            item_slices.append(item.get("slice"))
    return labels, item_slices


def score(platform: Platform, ticket: Ticket, folder: JobFolder, key: DataKey, outcome: RunOutcome) -> JobVerdict:
    """The verdict on a run's predictions: scored, or failed for what the predictions are."""
    metric = challenge_metric(metric=ticket.metric, scorer=ticket.scorer)
    labels, item_slices = labels_of(platform, ticket, key)
    predictions = read_predictions(platform, ticket, folder, list(labels), metric)
    if isinstance(predictions, JobVerdict):
        return replace_outcome(predictions, outcome)
    if ticket.scorer is not None:
        return scorer.score_with_container(
            platform, ticket, folder, key, outcome, ids=list(labels), item_slices=item_slices
        )
    try:
        splits = split_scores(ticket, metric, list(labels), predictions, list(labels.values()), key, item_slices)
    except (evaluators.MetricError, ValueError, OverflowError, TypeError):
        detail = f"the predictions could not be scored with {metric.name}"
        return JobVerdict("failed", reason="invalid_output", outcome=outcome, detail=detail)
    shown = splits["sample" if ticket.on_sample else "public"]
    return JobVerdict("scored", score=shown.score, outcome=outcome, splits=splits)


def replace_outcome(verdict: JobVerdict, outcome: RunOutcome) -> JobVerdict:
    return replace(verdict, outcome=outcome)


def read_predictions(platform: Platform, ticket: Ticket, folder: JobFolder, ids: list, metric) -> list | JobVerdict:
    """The predictions, checked against the items and the metric; or the failed verdict saying why."""
    path = answers_path(folder, ticket.protocol)
    if not path.exists() and not path.is_symlink():
        return _invalid("the container wrote no /output/predictions.jsonl")
    try:
        lines = prediction_lines(path, platform.settings.max_predictions_bytes)
        return evaluators.parse_predictions(lines, ids=ids, metric=metric)
    except evaluators.InvalidPredictions as exc:
        return _invalid(str(exc))
    except OverflowError:
        limit = platform.settings.max_predictions_bytes // 1024**2
        return JobVerdict("failed", reason="output_too_large", detail=f"predictions.jsonl is larger than {limit} MiB")
    except OSError:
        return _invalid("predictions.jsonl could not be opened as a regular file")


def _invalid(detail: str) -> JobVerdict:
    return JobVerdict("failed", reason="invalid_output", detail=detail)


def one_split(ticket: Ticket, metric, name: str, predictions: list, gold: list, names: list) -> SplitScore:
    seed = split_seed(ticket, name)
    found = evaluators.bootstrap_interval(metric, predictions, gold, seed=seed, resamples=BOOTSTRAP_RESAMPLES)
    low, high = (found.low, found.high) if np.isfinite([found.low, found.high]).all() else (None, None)
    by_slice = slice_scores(
        names,
        lambda picks: evaluators.bootstrap_interval(
            metric, [predictions[i] for i in picks], [gold[i] for i in picks], seed=seed, resamples=BOOTSTRAP_RESAMPLES
        ),
    )
    return SplitScore(
        found.score,
        low,
        high,
        len(gold),
        evaluators.item_scores(metric, predictions, gold),
        evaluators.item_losses(metric, predictions, gold),
        {name: secondary_score(name, predictions, gold, seed) for name in ticket.secondary_metrics},
        by_slice,
    )


def secondary_score(name: str, predictions: list, gold: list, seed: int) -> dict | None:
    """A secondary metric's score and interval; None when it cannot score these predictions (a
    model's answer fits the primary metric; a secondary one is shown, never a reason to fail)."""
    metric = evaluators.get_metric(name)
    if any(metric.validate_prediction(p) for p in predictions):
        return None
    try:
        found = evaluators.bootstrap_interval(metric, predictions, gold, seed=seed, resamples=BOOTSTRAP_RESAMPLES)
    except (evaluators.MetricError, ValueError, TypeError, OverflowError):
        return None
    finite = bool(np.isfinite([found.low, found.high]).all())
    return {"score": found.score, "ci_low": found.low if finite else None, "ci_high": found.high if finite else None}


def split_scores(
    ticket: Ticket, metric, ids: list, predictions: list, gold: list, key: DataKey, names: list
) -> dict[str, SplitScore]:
    """Each split's score (sample runs: one split; hidden runs: public and private)."""
    return {
        name: one_split(
            ticket, metric, name, [predictions[i] for i in picks], [gold[i] for i in picks], [names[i] for i in picks]
        )
        for name, picks in split_picks(ticket, ids, key)
    }
