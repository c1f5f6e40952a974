"""Metrics, baselines, intervals and the report from hand-made numbers: no Spark, no Keras."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.evaluate import metrics
from forecaster.evaluate.backtest import predictions_frame
from forecaster.evaluate.baselines import all_baselines, drift, moving_average, naive, naive_band_quantiles, naive_bands
from forecaster.evaluate.report import build_report, format_report
from forecaster.prepare.windows import Windows


def _windows() -> Windows:
    """Three one-step windows (lookback 2) over prices 9, 10, 11, 10.5, 12."""
    dates = np.array(["2019-12-31", "2020-01-01", "2020-01-02", "2020-01-03", "2020-01-06"], dtype="datetime64[ns]")
    prices = np.array([9.0, 10.0, 11.0, 10.5, 12.0])
    origins = np.array([1, 2, 3])
    return Windows(
        values=np.zeros((5, 1), np.float32), starts=origins - 1, lookback=2, y=np.zeros((3, 1), np.float32),
        ticker=np.array(["T"] * 3), origin_date=dates[origins], origin_price=prices[origins],
        target_date=dates[origins + 1, None], target_price=prices[origins + 1, None], target_scale=np.ones(3),
        prices=prices, origin_pos=origins, first_price=np.full(3, 9.0),
    )


def test_metrics_by_hand():
    actual, predicted = np.array([1.0, 2.0, 4.0]), np.array([1.0, 3.0, 2.0])
    assert metrics.rmse(actual, predicted) == pytest.approx(np.sqrt(5 / 3))
    assert metrics.mae(actual, predicted) == pytest.approx(1.0)
    assert metrics.mape(actual, predicted) == pytest.approx((0 + 50 + 50) / 3)
    assert metrics.smape(actual, predicted) == pytest.approx((0 + 2 * 1 / 5 + 2 * 2 / 6) / 3 * 100)
    # MASE on log prices: the mean absolute log error over the scale.
    log_error = np.mean(np.abs(np.log(actual / predicted)))
    assert metrics.mase(actual, predicted, scale=0.5) == pytest.approx(log_error / 0.5)
    assert metrics.directional_accuracy(np.array([1.5, 1.5, 3.0]), actual, predicted) == pytest.approx(2 / 3)
    assert metrics.directional_accuracy(actual, actual * 2, actual) is None
    # A forecast equal to the previous price is "closer to yesterday" every time.
    assert metrics.lag1_share(np.array([1.0, 2.0]), np.array([2.0, 3.0]), np.array([1.0, 2.0])) == 1.0
    assert metrics.coverage(np.array([1.0, 2.0, 5.0]), np.zeros(3), np.full(3, 3.0)) == pytest.approx(2 / 3)


def test_baselines_by_hand():
    windows = _windows()
    assert naive(windows)[:, 0].tolist() == [10.0, 11.0, 10.5]
    # random walk with drift: origin + (origin - first price) / days since the first price
    assert drift(windows)[:, 0].tolist() == pytest.approx([11.0, 12.0, 11.0])
    assert moving_average(windows, 2)[:, 0].tolist() == pytest.approx([9.5, 10.5, 10.75])
    assert set(all_baselines(windows, 2)) == {"naive", "drift", "moving_average"}


def test_interval_metrics_by_hand():
    actual = np.array([10.0, 13.0, 7.0])
    lower, upper = np.array([9.0, 9.0, 9.0]), np.array([11.0, 11.0, 11.0])
    assert metrics.width(lower, upper) == pytest.approx(2.0)
    assert metrics.coverage(actual, lower, upper) == pytest.approx(1 / 3)
    # 80%: alpha 0.2, each miss costs 2 / 0.2 = 10 times its distance outside the band.
    assert metrics.interval_score(actual, lower, upper, 80) == pytest.approx((2 + (2 + 20) + (2 + 20)) / 3)
    assert metrics.pinball(np.array([10.0]), {0.5: np.array([10.0])}) == 0.0


def test_naive_bands_are_the_train_periods_own_moves_around_each_origin():
    train = pd.DataFrame({"ticker": "T", "adj_close": 100 * np.exp(np.cumsum(np.tile([0.01, -0.01], 200)))})
    quantiles = naive_band_quantiles(train, horizon=2)
    lo95, lo80, hi80, hi95 = quantiles["T"][0]
    assert lo95 == pytest.approx(-0.01) and hi95 == pytest.approx(0.01)  # one-day moves are exactly +-1%
    assert quantiles["T"][1] == pytest.approx([0.0] * 4, abs=1e-9)  # two-day moves cancel
    bands = naive_bands(_windows(), quantiles)
    assert bands["naive_hi95"][:, 0] == pytest.approx(_windows().origin_price * np.exp(0.01))


def test_report_puts_every_forecast_on_the_same_days():
    windows = _windows()
    model = np.array([[10.8], [11.2], [11.0]])  # right, wrong, right direction
    forecasts = {"lstm": model, "lstm_lo80": model - 1, "lstm_hi80": model + 0.5, **all_baselines(windows, 2)}
    report = build_report(predictions_frame(windows, forecasts), {"T": 0.5})
    entry = report["tickers"]["T"]
    assert (entry["test_start"], entry["test_end"], entry["n_test"]) == ("2020-01-02", "2020-01-06", 3)
    naive_entry = entry["metrics"]["1"]["naive"]
    assert naive_entry["rmse"] == pytest.approx(np.sqrt((1 + 0.25 + 2.25) / 3))
    assert naive_entry["directional_accuracy"] is None
    actual = np.array([11.0, 10.5, 12.0])
    assert naive_entry["mase"] == pytest.approx(np.mean(np.abs(np.log(actual / naive(windows)[:, 0]))) / 0.5)
    lstm = entry["metrics"]["1"]["lstm"]
    assert lstm["directional_accuracy"] == pytest.approx(2 / 3)
    assert lstm["coverage_80"] == pytest.approx(2 / 3)  # 12.0 is above 11.0 + 0.5
    ratio = report["summary"]["median_rmse_ratio_vs_naive"]["1"]
    assert ratio == pytest.approx(lstm["rmse"] / naive_entry["rmse"]) == pytest.approx(lstm["rmse_ratio_vs_naive"])
    assert "median ratio by step" in format_report(report)


def test_a_price_that_never_moves_has_no_ratio_and_does_not_crash():
    windows = _windows()
    windows.target_price[:] = windows.origin_price[:, None]  # every target equals its origin: naive is perfect
    forecasts = {"lstm": windows.target_price + 0.1, **all_baselines(windows, 2)}
    report = build_report(predictions_frame(windows, forecasts), {"T": 0.5})
    assert report["tickers"]["T"]["metrics"]["1"]["lstm"]["rmse_ratio_vs_naive"] is None
    assert report["summary"]["share_beating_naive"]["1"] is None
    assert "n/a" in format_report(report)
