"""Scoring containers (container protocol v3): an organiser's own scorer, run in the sandbox.

A challenge with `scorer:` in its challenge.yaml is scored by the organiser's image (pinned by
digest, arena/services/scoring.py) instead of a built-in metric. After a team's run the scorer gets
the labels, the team's predictions, the inputs and the assets in the job's memory folder and
writes one line of per-item scores per item; Arena checks them strictly and computes every
statistic from them by the declared aggregation, exactly as for a built-in metric
(evaluators/_aggregation.py).

What the scorer prints is sealed for the organisers; a team sees `scorer_failed`, a platform
failure that never counts against its quota (the job is re-queued once, then failed).
"""

from __future__ import annotations

import shutil

import numpy as np

import evaluators
from arena.evaluation.job import BOOTSTRAP_RESAMPLES, JobVerdict, SplitScore, Ticket, split_picks, split_seed
from arena.evaluation.staging import sample_file
from arena.runtime import Platform
from arena.services import assets
from arena.services.images import image_path
from arena.services.slices import slice_scores
from hidden_sets import DataKey, seal
from sandbox import (
    JobFolder,
    Limits,
    RunOutcome,
    SandboxError,
    ScorerFolder,
    ScoresUnreadable,
    answers_path,
    limits_from,
    prepare_scorer_folder,
    publish_inputs,
    score_lines,
    scorer_spec,
)

SCORER_FAILED = "scorer_failed"
SCORER_ATTEMPTS = 2  # a bad scorer run re-queues the job once, then it is a platform failure
TEAM_DETAIL = (
    "the challenge's scorer could not score this submission; the organisers have been told, "
    "and it does not count against your quota"
)


def scorer_limits(scorer: dict) -> Limits:
    return limits_from(scorer["limits"])


def _stage(platform: Platform, ticket: Ticket, folder: JobFolder, key: DataKey) -> ScorerFolder:
    scorer = prepare_scorer_folder(folder.path)
    if ticket.on_sample:
        for name in ("inputs.jsonl", "labels.jsonl"):
            shutil.copyfile(sample_file(platform, ticket, name), scorer.input / name)
        assets.stage_sample(platform, ticket.challenge, scorer.input)
    else:
        for role in ("inputs", "labels"):
            platform.hidden_sets.decrypt_to(
                set_id=ticket.hidden_set.id, role=role, data_key=key, dest=scorer.input / f"{role}.jsonl"
            )
        assets.stage(platform, ticket.hidden_set, key, scorer.input)
    shutil.copyfile(answers_path(folder, ticket.protocol), scorer.input / "predictions.jsonl", follow_symlinks=False)
    publish_inputs(scorer)
    return scorer


def config_of(ticket: Ticket) -> dict:
    """The challenge's scorer, as pinned (only a challenge with a scorer reaches this module)."""
    if ticket.scorer is None:
        raise SandboxError("the challenge has no scoring container")
    return ticket.scorer


def _run(platform: Platform, ticket: Ticket, scorer: ScorerFolder) -> RunOutcome:
    config = config_of(ticket)
    platform.runner.ensure_image(image_id=config["image_id"], tarball=image_path(platform, config["image_digest"]))
    spec = scorer_spec(job_id=ticket.job_id, image_id=config["image_id"], folder=scorer, limits=scorer_limits(config))
    return platform.runner.run(spec)


def _problem(outcome: RunOutcome, config: dict) -> str | None:
    if outcome.verdict == "timeout":
        return f"the scorer ran past its time limit of {config['limits']['time_limit_seconds']} s and was stopped"
    if outcome.verdict == "out_of_memory":
        return f"the scorer used more than its {config['limits']['memory_mb']} MB of memory"
    if outcome.exit_code != 0:
        return f"the scorer exited with code {outcome.exit_code}"
    return None


def read_table(platform: Platform, ticket: Ticket, scorer: ScorerFolder, ids: list[str]) -> evaluators.ScoreTable:
    config = config_of(ticket)
    low, high = config["range"]
    rule = evaluators.ScoreRule(config["aggregation"], low, high, tuple(config["secondary"]))
    lines = score_lines(scorer, platform.settings.max_predictions_bytes)
    return evaluators.parse_scores(lines, ids=ids, rule=rule)


def score_with_container(
    platform: Platform,
    ticket: Ticket,
    folder: JobFolder,
    key: DataKey,
    outcome: RunOutcome,
    *,
    ids: list[str],
    item_slices: list[str | None],
) -> JobVerdict:
    """Run the scorer on a team's validated predictions; a scored verdict, or a retry with the
    organiser-facing reason (`scorer_failed`)."""
    scorer = _stage(platform, ticket, folder, key)
    ran = _run(platform, ticket, scorer)
    sealed = seal(key.key, purpose=f"scorer-log/{ticket.job_id}", data=ran.log_tail)
    problem = _problem(ran, config_of(ticket))
    if problem is None:
        try:
            table = read_table(platform, ticket, scorer, ids)
        except (ScoresUnreadable, evaluators.InvalidScores) as exc:
            problem = f"scores.jsonl: {exc}"
    if problem is not None:
        return JobVerdict("retry", reason=SCORER_FAILED, detail=problem[:300], outcome=outcome, scorer_log=sealed)
    splits = split_scores(ticket, table, ids, key, item_slices)
    shown = splits["sample" if ticket.on_sample else "public"]
    return JobVerdict("scored", score=shown.score, outcome=outcome, splits=splits, scorer_log=sealed)


def _interval(kind: str, values: np.ndarray, seed: int) -> evaluators.Interval:
    return evaluators.interval_from_values(kind, values, seed=seed, resamples=BOOTSTRAP_RESAMPLES)


def one_split(ticket: Ticket, name: str, table: evaluators.ScoreTable, names: list) -> SplitScore:
    """A split's score, interval, digest values and Ladder losses, from the declared rule."""
    seed = split_seed(ticket, name)
    found = _interval(table.kind, table.values, seed)
    low, high = (found.low, found.high) if np.isfinite([found.low, found.high]).all() else (None, None)
    secondary = {}
    for other, values in table.secondary.items():
        extra = _interval("mean", values, seed)
        secondary[other] = {"score": extra.score, "ci_low": extra.low, "ci_high": extra.high}
    higher = config_of(ticket)["higher_is_better"]
    return SplitScore(
        found.score,
        low,
        high,
        len(table.values),
        evaluators.fingerprint_values(table.kind, table.values),
        evaluators.losses_from_values(table.kind, table.values, higher_is_better=higher),
        secondary,
        slice_scores(names, lambda picks: _interval(table.kind, table.values[picks], seed)),
    )


def split_scores(ticket: Ticket, table: evaluators.ScoreTable, ids: list[str], key: DataKey, names: list) -> dict:
    """Each split's score (sample runs: one split; hidden runs: public and private)."""
    return {
        name: one_split(ticket, name, table.take(picks), [names[i] for i in picks])
        for name, picks in split_picks(ticket, ids, key)
    }
