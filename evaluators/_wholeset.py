"""Resampling rules and pseudo-values of the built-in whole-set metrics.

A pseudo-value vector v has mean(v) equal to the metric, and v_i - metric is item i's linearised
influence (the delta method), so a paired comparison of two submissions on v compares the metrics.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from evaluators._aggregation import mean_draws


def rmse_values(squared: np.ndarray) -> np.ndarray:
    """sqrt(mean(e²)) linearised: rmse + (e_i² - mse) / (2 rmse)."""
    mse = squared.mean()
    rmse = np.sqrt(mse)
    if rmse == 0:
        return np.zeros_like(squared)
    values: np.ndarray = rmse + (squared - mse) / (2 * rmse)
    return values


def rmse_draws(squared: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    draws: np.ndarray = np.sqrt(mean_draws(squared, resamples, rng))
    return draws


def r2_values(prediction: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """1 - A/B linearised, with A = mean residual², B = mean (y - ȳ)²."""
    residual = (gold - prediction) ** 2
    spread = (gold - gold.mean()) ** 2
    a, b = residual.mean(), spread.mean()
    if b == 0:
        return np.full(len(gold), 1.0 if a == 0 else 0.0)
    values: np.ndarray = (1 - a / b) - (residual - a) / b + a * (spread - b) / b**2
    return values


def macro_f1_values(pred: np.ndarray, gold: np.ndarray, k: int) -> np.ndarray:
    """Macro F1 linearised in the confusion cells: M + n dM/d(count of the item's cell). Each
    class's F1 = 2tp / (2tp + fp + fn) is unchanged by scaling the counts, so these average to M."""
    matrix = np.bincount(gold * k + pred, minlength=k * k).reshape(k, k).astype(np.float64)
    tp = np.diag(matrix)
    fp, fn = matrix.sum(axis=0) - tp, matrix.sum(axis=1) - tp
    denominator = 2 * tp + fp + fn
    present = denominator > 0
    safe = np.where(present, denominator, 1.0)
    f1 = np.where(present, 2 * tp / safe, 0.0)
    macro = f1[present].mean()
    d_tp = np.where(present, 2 * (fp + fn) / safe**2, 0.0)  # d F1_c / d tp_c
    d_miss = np.where(present, -2 * tp / safe**2, 0.0)  # d F1_c / d fp_c, and / d fn_c
    hit = pred == gold
    gradient = np.where(hit, d_tp[gold], d_miss[gold] + d_miss[pred])
    values: np.ndarray = macro + len(gold) * gradient / present.sum()
    return values


def confusion_draws(
    matrix: np.ndarray, resamples: int, rng: np.random.Generator, f1: Callable[..., float]
) -> np.ndarray:
    """Macro F1 on each resample: a multinomial draw over the confusion matrix's cells."""
    k, n = matrix.shape[0], int(matrix.sum())
    counts = rng.multinomial(n, matrix.ravel() / n, size=resamples).reshape(resamples, k, k)
    return np.array([f1(c, average="macro") for c in counts])


def placements(score: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """DeLong's placement values: for a positive, the share of negatives it outscores; for a
    negative, the share of positives that outscore it (ties count half). Their mean over all
    items is the AUROC, so AUROC comparisons can be made item by item."""
    from evaluators._registry import MetricError

    gold = gold.astype(bool)
    positives, negatives = np.sort(score[gold]), np.sort(score[~gold])
    if len(positives) == 0 or len(negatives) == 0:
        raise MetricError("auroc needs both positive and negative labels")
    out = np.empty(len(score))
    below = np.searchsorted(negatives, score[gold], side="left")
    equal = np.searchsorted(negatives, score[gold], side="right") - below
    out[gold] = (below + 0.5 * equal) / len(negatives)
    right = np.searchsorted(positives, score[~gold], side="right")
    equal = right - np.searchsorted(positives, score[~gold], side="left")
    out[~gold] = (len(positives) - right + 0.5 * equal) / len(positives)
    return out


def delong_draws(score: np.ndarray, gold: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """AUROC on each resample, from DeLong's linearisation: the positives' and the negatives'
    placements are each resampled (multinomially, within their class); AUROC* = mean of the
    positives' + mean of the negatives' - AUROC. Its variance is DeLong's V10/m + V01/n."""
    values = placements(score, gold)
    gold = gold.astype(bool)
    auc = values[gold].mean()
    draws: np.ndarray = mean_draws(values[gold], resamples, rng) + mean_draws(values[~gold], resamples, rng) - auc
    return draws
