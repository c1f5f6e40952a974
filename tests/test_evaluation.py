"""Metrics and the report from hand-made predictions: no Spark, no Keras."""

from __future__ import annotations

import numpy as np
import pytest

from forecaster import metrics
from forecaster.evaluation import build_report, format_report, predictions_frame
from forecaster.windows import Windows


def _windows() -> Windows:
    dates = np.array(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-06"], dtype="datetime64[ns]")
    prices = np.array([10.0, 11.0, 10.5, 12.0])
    return Windows(
        values=np.zeros((4, 1), np.float32), starts=np.array([0, 1, 2]), lookback=1,
        y=np.zeros((3, 1), np.float32), ticker=np.array(["T"] * 3),
        origin_date=dates[:3], origin_price=prices[:3], target_date=dates[1:, None], target_price=prices[1:, None],
        target_scale=np.ones(3),
    )


def test_metrics_by_hand():
    actual, predicted = np.array([1.0, 2.0, 4.0]), np.array([1.0, 3.0, 2.0])
    assert metrics.rmse(actual, predicted) == pytest.approx(np.sqrt(5 / 3))
    assert metrics.mae(actual, predicted) == pytest.approx(1.0)
    assert metrics.mape(actual, predicted) == pytest.approx((0 + 50 + 50) / 3)
    assert metrics.directional_accuracy(np.array([1.5, 1.5, 3.0]), actual, predicted) == pytest.approx(2 / 3)
    assert metrics.directional_accuracy(actual, actual * 2, actual) is None


def test_report_puts_the_model_beside_naive_on_the_same_days():
    windows = _windows()
    model = np.array([[10.8], [11.2], [11.0]])  # right, wrong, right direction
    report = build_report(predictions_frame(windows, model))
    entry = report["tickers"]["T"]
    assert (entry["test_start"], entry["test_end"], entry["n_test"]) == ("2020-01-02", "2020-01-06", 3)
    naive = entry["metrics"]["1"]["naive"]
    assert naive["rmse"] == pytest.approx(np.sqrt((1 + 0.25 + 2.25) / 3))
    assert naive["directional_accuracy"] is None
    lstm = entry["metrics"]["1"]["lstm"]
    assert lstm["directional_accuracy"] == pytest.approx(2 / 3)
    ratio = report["summary"]["median_rmse_ratio_vs_naive"]["1"]
    assert ratio == pytest.approx(lstm["rmse"] / naive["rmse"])
    assert "median RMSE ratio" in format_report(report)
