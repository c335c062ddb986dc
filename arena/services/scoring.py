"""Scoring containers (container protocol v3): an organiser's own scorer, run in the sandbox.

A challenge with `scorer:` in its challenge.yaml is scored by the organiser's image (pinned by
digest) instead of a built-in metric. After a team's run the scorer gets the labels, the team's
predictions, the inputs and the assets in the job's memory folder and writes one line of
per-item scores per item; Arena checks them strictly and computes every statistic from them by
the declared aggregation, exactly as for a built-in metric (evaluators/_aggregation.py).

What the scorer prints is sealed for the organisers; a team sees `scorer_failed`, a platform
failure that never counts against its quota (the job is re-queued once, then failed).
"""

from __future__ import annotations

import hashlib
import re
import shutil

import numpy as np
from sqlalchemy import select

import evaluators
from arena.errors import BadRequest
from arena.models import Image, Upload
from arena.platform import Platform
from arena.services import assets, audit, evaluation, publiclog, tenancy
from arena.services.images import image_path
from arena.services.scorers import challenge_metric
from arena.services.slices import slice_scores
from hidden_sets import DataKey, seal, split_key
from sandbox import (
    JobFolder,
    Limits,
    RunOutcome,
    ScorerFolder,
    ScoresUnreadable,
    prepare_scorer_folder,
    publish_inputs,
    score_lines,
    scorer_spec,
)

SCORER_FAILED = "scorer_failed"
SCORER_ATTEMPTS = 2  # a bad scorer run re-queues the job once, then it is a platform failure
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
TEAM_DETAIL = (
    "the challenge's scorer could not score this submission; the organisers have been told, "
    "and it does not count against your quota"
)


__all__ = ["SCORER_FAILED", "challenge_metric", "extra_bytes", "score_with_container", "set_scorer"]


# -- the image ------------------------------------------------------------------------------------
def pinned_image(session, *, organiser_id: int, image_digest: object) -> Image:
    """A scorer image this organiser uploaded (through the resumable uploads), by digest."""
    if not isinstance(image_digest, str) or not DIGEST_RE.fullmatch(image_digest):
        raise BadRequest(
            'send {"image_digest": "sha256:…"}: the digest (sha256: and 64 hex digits) of a scorer image you uploaded'
        )
    uploaded = session.scalar(
        select(Upload.id).where(Upload.organiser_id == organiser_id, Upload.image_digest == image_digest).limit(1)
    )
    image = session.get(Image, image_digest)
    if uploaded is None or image is None:
        raise BadRequest(
            "no scorer image with this digest was uploaded by you; upload it first "
            "(`arena challenge set-scorer` does both)"
        )
    return image


def pin(scorer: dict, image: Image) -> dict:
    return {**scorer, "image_digest": image.digest, "image_id": image.image_id}


def set_scorer(platform: Platform, *, organiser_id: int, slug: str, image_digest: object, actor=None) -> dict:
    """Pin a new scorer image for a challenge that has a scorer; logged, so `arena verify`
    knows which scorer produced each later result."""
    with platform.transaction() as session:
        challenge = tenancy.run_challenge(
            session, who=tenancy.acting(actor, organiser_id), slug=slug, what="set its scorer"
        )
        if challenge.scorer is None:
            raise BadRequest(
                f"challenge {slug!r} is scored by the built-in metric {challenge.metric}; "
                "a scorer is declared in challenge.yaml when the challenge is created"
            )
        image = pinned_image(session, organiser_id=organiser_id, image_digest=image_digest)
        challenge.scorer = pin(challenge.scorer, image)
        audit.record(
            session,
            actor=actor,
            action="challenge.set_scorer",
            target=f"challenge:{slug}",
            detail={"image_digest": image.digest},
        )
        publiclog.append(
            platform,
            session,
            kind="challenge.scorer",
            challenge=slug,
            data={"scorer_image": image.digest, "aggregation": challenge.scorer["aggregation"]},
        )
        return {"slug": slug, "scorer_image": image.digest}


# -- running ---------------------------------------------------------------------------------------
def scorer_limits(scorer: dict) -> Limits:
    return evaluation.limits_from(scorer["limits"])


def extra_bytes(platform: Platform, ticket) -> int:
    """Room the scorer's folders take in the job's memory folder: inputs and assets again,
    labels, a copy of the predictions, and its scores (capped like predictions)."""
    if ticket.scorer is None:
        return 0
    labels = platform.hidden_sets.path(ticket.hidden_set.id, "labels").stat().st_size
    return evaluation.staged_bytes(platform, ticket) + labels + 2 * platform.settings.max_predictions_bytes


def _stage(platform: Platform, ticket, folder: JobFolder, key: DataKey) -> ScorerFolder:
    scorer = prepare_scorer_folder(folder.path)
    if ticket.on_sample:
        for name in ("inputs.jsonl", "labels.jsonl"):
            shutil.copyfile(evaluation.sample_file(platform, ticket, name), scorer.input / name)
        assets.stage_sample(platform, ticket.challenge, scorer.input)
    else:
        for role in ("inputs", "labels"):
            platform.hidden_sets.decrypt_to(
                set_id=ticket.hidden_set.id, role=role, data_key=key, dest=scorer.input / f"{role}.jsonl"
            )
        assets.stage(platform, ticket.hidden_set, key, scorer.input)
    shutil.copyfile(
        evaluation.answers_path(folder, ticket.protocol), scorer.input / "predictions.jsonl", follow_symlinks=False
    )
    publish_inputs(scorer)
    return scorer


def _run(platform: Platform, ticket, scorer: ScorerFolder) -> RunOutcome:
    config = ticket.scorer
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


def read_table(platform: Platform, ticket, scorer: ScorerFolder, ids: list[str]) -> evaluators.ScoreTable:
    config = ticket.scorer
    low, high = config["range"]
    rule = evaluators.ScoreRule(config["aggregation"], low, high, tuple(config["secondary"]))
    lines = score_lines(scorer, platform.settings.max_predictions_bytes)
    return evaluators.parse_scores(lines, ids=ids, rule=rule)


def score_with_container(
    platform: Platform,
    ticket,
    folder: JobFolder,
    key: DataKey,
    outcome: RunOutcome,
    *,
    ids: list[str],
    item_slices: list[str | None],
) -> evaluation.Verdict:
    """Run the scorer on a team's validated predictions; a scored verdict, or a retry with the
    organiser-facing reason (`scorer_failed`)."""
    scorer = _stage(platform, ticket, folder, key)
    ran = _run(platform, ticket, scorer)
    sealed = seal(key.key, purpose=f"scorer-log/{ticket.job_id}", data=ran.log_tail)
    problem = _problem(ran, ticket.scorer)
    if problem is None:
        try:
            table = read_table(platform, ticket, scorer, ids)
        except (ScoresUnreadable, evaluators.InvalidScores) as exc:
            problem = f"scores.jsonl: {exc}"
    if problem is not None:
        return evaluation.Verdict(
            "retry", reason=SCORER_FAILED, detail=problem[:300], outcome=outcome, scorer_log=sealed
        )
    splits = split_scores(ticket, table, ids, key, item_slices)
    shown = splits["sample" if ticket.on_sample else "public"]
    return evaluation.Verdict("scored", score=shown.score, outcome=outcome, splits=splits, scorer_log=sealed)


# -- statistics -----------------------------------------------------------------------------------
def _seed(ticket, name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{ticket.submission_id}/{name}".encode()).digest()[:8], "big")


def _interval(kind: str, values: np.ndarray, seed: int) -> evaluators.Interval:
    return evaluators.interval_from_values(kind, values, seed=seed, resamples=evaluation.BOOTSTRAP_RESAMPLES)


def one_split(ticket, name: str, table: evaluators.ScoreTable, names: list) -> evaluation.SplitScore:
    """A split's score, interval, digest values and Ladder losses, from the declared rule."""
    seed = _seed(ticket, name)
    found = _interval(table.kind, table.values, seed)
    low, high = (found.low, found.high) if np.isfinite([found.low, found.high]).all() else (None, None)
    secondary = {}
    for other, values in table.secondary.items():
        extra = _interval("mean", values, seed)
        secondary[other] = {"score": extra.score, "ci_low": extra.low, "ci_high": extra.high}
    higher = ticket.scorer["higher_is_better"]
    return evaluation.SplitScore(
        found.score,
        low,
        high,
        len(table.values),
        evaluators.fingerprint_values(table.kind, table.values),
        evaluators.losses_from_values(table.kind, table.values, higher_is_better=higher),
        secondary,
        slice_scores(names, lambda picks: _interval(table.kind, table.values[picks], seed)),
    )


def split_scores(ticket, table: evaluators.ScoreTable, ids: list[str], key: DataKey, names: list) -> dict:
    """Sample runs: one split. Hidden runs: the public split (the board) and the private one."""
    if ticket.on_sample:
        return {"sample": one_split(ticket, "sample", table, names)}
    mask = evaluators.split_mask(
        ids, key=split_key(key.key, set_id=ticket.hidden_set.id), public_fraction=ticket.public_fraction
    )
    out = {}
    for name, chosen in (("public", mask), ("private", ~mask if len(ids) > 1 else mask)):
        picks = np.flatnonzero(chosen)
        out[name] = one_split(ticket, name, table.take(picks), [names[i] for i in picks])
    return out
