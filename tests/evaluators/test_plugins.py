"""Organisers' own metrics, installed as packages with an `arena.metrics` entry point."""

import sys

import evaluators


def test_an_entry_point_metric_is_loaded_and_used(tmp_path, monkeypatch):
    (tmp_path / "halfway_metric.py").write_text(
        "from evaluators import register_metric\n"
        "@register_metric(name='always_half', higher_is_better=True, description='test plugin')\n"
        "def always_half(predictions, labels):\n    return 0.5\n")
    info = tmp_path / "halfway_metric-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: halfway-metric\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[arena.metrics]\nalways_half = halfway_metric\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "always_half" in evaluators.load_plugins()
    assert evaluators.get_metric("always_half").score([1, 2], [3, 4]) == 0.5
    assert evaluators.load_plugins() == []  # loaded once
    sys.modules.pop("halfway_metric", None)
