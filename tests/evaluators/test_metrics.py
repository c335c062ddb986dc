import math

import pytest

import evaluators
from evaluators import InvalidPredictions, MetricError, get_metric, parse_predictions, register_metric


def test_accuracy_counts_exact_json_equality():
    metric = get_metric("accuracy")
    assert metric.higher_is_better
    assert metric.score(["a", "b", 1, True], ["a", "c", 1.0, True]) == pytest.approx(0.75)


def test_mae_and_rmse():
    assert get_metric("mae").score([1, 2, 4], [1, 3, 2]) == pytest.approx(1.0)
    assert get_metric("rmse").score([1, 2, 4], [1, 3, 2]) == pytest.approx(math.sqrt(5 / 3))
    assert not get_metric("rmse").higher_is_better


def test_unknown_metric_names_the_known_ones():
    with pytest.raises(MetricError, match="known metrics: accuracy"):
        get_metric("f2")


def test_registry_refuses_a_duplicate_name():
    with pytest.raises(ValueError, match="registered already"):
        register_metric(
            name="accuracy",
            higher_is_better=True,
            description="again",
            aggregation=evaluators.mean(lambda p, g: [0.0] * len(g)),
        )(lambda p, g: 0.0)


def test_score_refuses_mismatched_or_empty_input():
    with pytest.raises(MetricError):
        get_metric("accuracy").score([1], [1, 2])
    with pytest.raises(MetricError):
        get_metric("accuracy").score([], [])


def test_metric_names_lists_builtins():
    assert {"accuracy", "mae", "rmse"} <= set(evaluators.metric_names())


def lines(*rows: str) -> list[bytes]:
    return [r.encode() + b"\n" for r in rows]


def test_predictions_come_back_in_label_order():
    got = parse_predictions(
        lines('{"id": "b", "prediction": 2}', '{"id": "a", "prediction": 1}'), ids=["a", "b"], metric=get_metric("mae")
    )
    assert got == [1, 2]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (['{"id": "a", "prediction": 1', '{"id": "b", "prediction": 2}'], "line 1: not valid JSON"),
        (['{"id": "a", "prediction": NaN}', '{"id": "b", "prediction": 2}'], "line 1: not valid JSON"),
        (['{"id": "a", "prediction": 1}', '{"id": "a", "prediction": 2}'], "line 2: duplicate id"),
        (['{"id": "a", "prediction": 1}', '{"id": "zz", "prediction": 2}'], "line 2: unknown id"),
        (['{"id": "a", "prediction": 1}'], "1 of 2 items have no prediction"),
        (['{"id": "a", "pred": 1}'], "line 1: must be an object"),
        (['{"id": 3, "prediction": 1}'], "line 1: 'id' must be a string"),
        (['{"id": "a", "prediction": "x"}'], "line 1: prediction must be a number"),
    ],
)
def test_bad_predictions_name_the_line_not_the_content(rows, message):
    with pytest.raises(InvalidPredictions) as caught:
        parse_predictions(lines(*rows), ids=["a", "b"], metric=get_metric("mae"))
    assert message in str(caught.value)
    assert "zz" not in str(caught.value)
