"""Organisers' own metrics, installed as packages with an `arena.metrics` entry point."""

import sys

import numpy as np

import evaluators

PLUGIN = """
import numpy as np
from evaluators import mean, register_metric

def closeness(predictions, labels):
    return 1 - np.minimum(1, np.abs(np.asarray(predictions, float) - np.asarray(labels, float)))

@register_metric(name='closeness', higher_is_better=True, description='test plugin', aggregation=mean(closeness))
def score(predictions, labels):
    return float(np.mean(closeness(predictions, labels)))
"""


def install(tmp_path, monkeypatch):
    (tmp_path / "closeness_metric.py").write_text(PLUGIN)
    info = tmp_path / "closeness_metric-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: closeness-metric\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[arena.metrics]\ncloseness = closeness_metric\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    evaluators.load_plugins()
    return evaluators.get_metric("closeness")


def test_an_entry_point_metric_is_loaded_and_used(tmp_path, monkeypatch):
    metric = install(tmp_path, monkeypatch)
    assert metric.score([1, 2], [1.5, 2]) == 0.75
    assert metric.aggregation.kind == "mean"
    assert evaluators.load_plugins() == []  # loaded once
    sys.modules.pop("closeness_metric", None)


def test_a_plugin_metrics_ladder_and_kpi_use_its_declared_aggregation(tmp_path, monkeypatch):
    """Predictions that never equal a label but come closer: on exact-match misses (what plugins
    were compared on before) nothing changes; on the declared per-item scores it is a real gain."""
    metric = install(tmp_path, monkeypatch)
    rng = np.random.default_rng(2)
    gold = rng.normal(size=800)
    far, near = gold + 0.6 + rng.random(800) * 0.2, gold + 0.1 + rng.random(800) * 0.2
    best, new = evaluators.item_losses(metric, far, gold), evaluators.item_losses(metric, near, gold)
    assert np.allclose(-new, 1 - np.abs(near - gold))
    assert evaluators.ladder_improves(best, new) and not evaluators.ladder_improves(new, best)
    # The KPI test against a fixed baseline score: as rounds.py builds it, then as payout tests it.
    baseline = evaluators.loss_at_score(metric, 0.5)
    for losses, beats in ((new, True), (best, False)):
        found = evaluators.differences(np.full(len(losses), baseline) - losses)
        p = evaluators.p_value(found, seed=1, resamples=1000)
        assert (p < 0.05) is beats
    sys.modules.pop("closeness_metric", None)
