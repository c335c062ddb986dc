"""Scoring containers (container protocol v3).

scorer_overhead: a team's run plus the organiser's scoring container, against the same run scored
by a built-in metric (accuracy), on 1,000 items, through the real engine: claim, stage, run,
score, record (`evaluation.run_one`). The same trivial model and a trivial scorer image (score 1
where the prediction equals the label), alternating the two challenges; the figure is the added
time per job (median, seconds) and the ratio.

scorer_statistics: what Arena computes from a scorer's per-item scores, for 1,000,000 items and
1,000 resamples: the score and its 95% interval by the declared aggregation
(`evaluators.interval_from_values`), plus the Ladder's losses and the digest's values, for a
`mean` scorer (continuous scores, so binned) and a `ratio` scorer; against
`scipy.stats.bootstrap` of the mean of the same vector, which resamples item indices (timed at
SCIPY_RESAMPLES resamples and scaled linearly to 1,000, as in bench/metrics_bench.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import evaluators
from arena import evaluation
from arena.config import load_settings
from arena.db import upgrade
from arena.runtime import build_platform
from arena.services import accounts, uploads
from arena.services.challenges import create_challenge
from arena.services.images import receive_image
from arena.services.submissions import create_submission
from bench.run import trivial_image
from sandbox import build_image, export_image

N_ITEMS = 1000
N_SCORES = 1_000_000
RESAMPLES = 1000
SCIPY_RESAMPLES = 10
BASE = os.environ.get("ARENA_BASE_IMAGE", "arena/python-base:bookworm")
TRIVIAL_SCORER = """
import json
gold = {l["id"]: l["label"] for l in map(json.loads, open("/input/labels.jsonl"))}
with open("/input/predictions.jsonl") as src, open("/output/scores.jsonl", "w") as out:
    for p in map(json.loads, src):
        out.write(json.dumps({"id": p["id"], "score": float(p["prediction"] == gold[p["id"]])}) + "\\n")
"""


def _bundle(folder: Path, slug: str, scorer: bool) -> Path:
    folder.mkdir(parents=True)
    config = {
        "slug": slug,
        "title": slug,
        "daily_quota": 1000,
        "max_pending": 100,
        "limits": {"time_limit_seconds": 60, "memory_mb": 512, "cpus": 1, "pids": 64},
    }
    config.update(
        {"metric": "agreement", "scorer": {"image": "arena-bench/scorer"}} if scorer else {"metric": "accuracy"}
    )
    (folder / "challenge.yaml").write_text(json.dumps(config))
    with (folder / "inputs.jsonl").open("w") as inputs, (folder / "labels.jsonl").open("w") as labels:
        for i in range(N_ITEMS):
            inputs.write(json.dumps({"id": f"i{i}", "input": {"x": i}}) + "\n")
            labels.write(json.dumps({"id": f"i{i}", "label": "ok" if i % 3 else "fault"}) + "\n")
    return folder


def _upload_scorer(platform, work: Path, organiser_id: int) -> str:
    """The scorer image through the organisers' resumable intake, as `arena challenge create` sends it."""
    context = work / "scorer"
    context.mkdir()
    (context / "score.py").write_text(TRIVIAL_SCORER)
    (context / "Dockerfile").write_text(
        f'FROM {BASE}\nCOPY score.py /app/score.py\nENTRYPOINT ["python3", "/app/score.py"]\n'
    )
    image_id = build_image(context, tag="arena-bench/scorer:latest")
    tarball = work / "scorer.tar"
    _id, sha256, size = export_image(image_id, tarball)
    made = uploads.start(platform, team_id=None, organiser_id=organiser_id, size=size, sha256=sha256)
    with tarball.open("rb") as stream:
        uploads.append(platform, team_id=None, organiser_id=organiser_id, upload_id=made["id"], offset=0, stream=stream)
    return uploads.complete(platform, team_id=None, organiser_id=organiser_id, upload_id=made["id"])["image_digest"]


def _timed_run(platform, team_id: int, slug: str, digest: str) -> float:
    create_submission(platform, team_id=team_id, slug=slug, image_digest=digest)
    started = time.perf_counter()
    assert evaluation.run_one(platform, worker="bench")
    return time.perf_counter() - started


def bench_scorer_overhead(repeats: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="arena-bench-scorer-") as tmp:
        work = Path(tmp)
        settings = load_settings(
            overrides={
                "home": work / "home",
                "database_url": f"sqlite:///{work}/arena.db",
                "master_key_file": work / "home" / "master.key",
                "job_root": Path(f"/dev/shm/arena-bench-sc-{os.getpid()}"),
            }
        )
        platform = build_platform(settings)
        upgrade(platform.engine)
        organiser = accounts.create_organiser(platform, name="Bench")[0].id
        digest = _upload_scorer(platform, work, organiser)
        create_challenge(platform, organiser_id=organiser, bundle_dir=_bundle(work / "builtin", "builtin", False))
        create_challenge(
            platform, organiser_id=organiser, bundle_dir=_bundle(work / "scored", "scored", True), scorer_digest=digest
        )
        team = accounts.create_team(platform, name="Bench team", factories=[])[0].id
        export_image(trivial_image(work), work / "model.tar")
        with (work / "model.tar").open("rb") as stream:
            model = receive_image(platform, stream=stream).digest
        _timed_run(platform, team, "builtin", model), _timed_run(platform, team, "scored", model)  # warm-up
        builtin, scored = [], []
        for _ in range(repeats):
            builtin.append(_timed_run(platform, team, "builtin", model))
            scored.append(_timed_run(platform, team, "scored", model))
        shutil.rmtree(settings.job_root, ignore_errors=True)
        platform.engine.dispose()
    b, s = statistics.median(builtin), statistics.median(scored)
    return {
        "name": "scorer_overhead",
        "items": N_ITEMS,
        "repeats": repeats,
        "baseline": "built-in accuracy",
        "baseline_median_s": round(b, 3),
        "scorer_median_s": round(s, 3),
        "added_s": round(s - b, 3),
        "ratio": round(s / b, 2),
        "goal": "added <= 0.5 s per job",
    }


def _arena_statistics(kind: str, values: np.ndarray) -> float:
    started = time.perf_counter()
    found = evaluators.interval_from_values(kind, values, seed=1, resamples=RESAMPLES)
    losses = evaluators.losses_from_values(kind, values, higher_is_better=True)
    hashlib.sha256(evaluators.fingerprint_values(kind, values).astype("<f8").tobytes()).hexdigest()
    assert found.low <= found.score <= found.high and len(losses) == len(values)
    return time.perf_counter() - started


def _scipy_seconds(per_item: np.ndarray) -> float:
    from scipy import stats

    started = time.perf_counter()
    stats.bootstrap(
        (per_item,),
        np.mean,
        n_resamples=SCIPY_RESAMPLES,
        batch=2,
        method="percentile",
        vectorized=True,
        random_state=np.random.default_rng(0),
    )
    return (time.perf_counter() - started) * RESAMPLES / SCIPY_RESAMPLES


def bench_scorer_statistics() -> list[dict]:
    rng = np.random.default_rng(20261202)
    cases = {
        "mean": rng.beta(2, 5, N_SCORES),
        "ratio": np.stack([rng.integers(0, 20, N_SCORES), rng.integers(1, 21, N_SCORES)], axis=1).astype(float),
    }
    rows = []
    for kind, values in cases.items():
        arena = min(_arena_statistics(kind, values) for _ in range(3))
        scipy_s = _scipy_seconds(values if kind == "mean" else evaluators.paired_values(kind, values))
        rows.append(
            {
                "name": f"scorer_statistics/{kind}",
                "n": N_SCORES,
                "resamples": RESAMPLES,
                "arena_s": round(arena, 3),
                "scipy_bootstrap_s_extrapolated": round(scipy_s, 1),
                "speedup_vs_scipy": round(scipy_s / arena, 1),
                "goal": "< 0.5 s and >= 50x scipy",
            }
        )
    return rows


def bench_scorer(repeats: int) -> list[dict]:
    return [bench_scorer_overhead(repeats), *bench_scorer_statistics()]


def print_scorer(rows: list[dict]) -> None:
    overhead, *stats = rows
    print(
        f"scorer_overhead: a team's run + the scoring container vs the same run scored by accuracy, "
        f"{overhead['items']:,} items, median of {overhead['repeats']} each, alternating"
    )
    print(f"  built-in metric                {overhead['baseline_median_s']:.3f} s")
    print(f"  scoring container              {overhead['scorer_median_s']:.3f} s")
    print(
        f"  added per job                  {overhead['added_s']:.3f} s "
        f"({overhead['ratio']:.2f}x; goal {overhead['goal']})"
    )
    print(
        f"scorer_statistics: interval ({RESAMPLES} resamples), losses and digest values from {N_SCORES:,} "
        f"per-item scores (scipy timed at {SCIPY_RESAMPLES} resamples, scaled to {RESAMPLES})"
    )
    for r in stats:
        print(
            f"  {r['name'][18:]:<6} arena {r['arena_s']:.3f} s   scipy ~{r['scipy_bootstrap_s_extrapolated']:.0f} s "
            f"({r['speedup_vs_scipy']:.0f}x; goal {r['goal']})"
        )
