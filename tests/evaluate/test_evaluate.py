"""Metrics, baselines, intervals and the report from hand-made numbers: no Spark, no Keras."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from forecaster.evaluate import metrics
from forecaster.evaluate import report as report_module
from forecaster.evaluate.backtest import predictions_frame
from forecaster.evaluate.baselines import all_baselines, drift, moving_average, naive, naive_band_quantiles, naive_bands
from forecaster.evaluate.report import build_report, format_report
from forecaster.prepare.windows import Windows
from tests.synthetic import hand_windows


def _windows() -> Windows:
    """Three one-step windows (lookback 2) over prices 9, 10, 11, 10.5, 12."""
    return hand_windows()


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


def test_a_step_whose_forecast_is_naive_is_reported_as_a_tie_never_a_loss():
    from dashboard.tables import verdict
    from forecaster.evaluate.significance import ticker_tests

    windows = _windows()
    forecasts = {**all_baselines(windows, 2)}
    forecasts["lstm"] = forecasts["naive"].copy()  # validation chose a shrinkage of 0: the forecast is naive's
    predictions = predictions_frame(windows, forecasts)
    report = build_report(predictions, {"T": 0.5}, tests=ticker_tests(predictions))
    assert report["summary"]["abstains"] == {"1": True}
    assert report["summary"]["share_beating_naive"] == {"1": None}  # not 0.00, as if it had lost everywhere
    assert report["summary"]["significance"]["1"]["abstains"] is True
    lstm = report["tickers"]["T"]["metrics"]["1"]["lstm"]
    assert lstm["vs_naive"] == "tie (abstains)" and lstm["dm_p_vs_naive"] is None
    table = format_report(report)
    assert "tie (abstains)" in table and "1: abstains (the forecast is naive's)" in table
    text, level = verdict(report, "T", 1, 3)
    assert level == "tie" and "so the forecast is naive's - a tie" in text


def test_the_report_computed_for_every_ticker_at_once_equals_each_series_own_metrics(published_run):
    from forecaster import artifacts
    from forecaster.columns import QUANTILES, quantile_column

    _, result = published_run
    predictions = artifacts.read_parquet(result.run_dir / artifacts.PREDICTIONS)
    scale = 0.0123
    report = build_report(predictions, {"AAPL": scale})
    for step, rows in predictions.groupby("step"):
        a, o = rows["actual"].to_numpy(), rows["origin_price"].to_numpy()
        naive_rmse = metrics.rmse(a, rows["naive"].to_numpy())
        for model, entry in report["tickers"]["AAPL"]["metrics"][str(step)].items():
            p = rows[model].to_numpy()
            expected = {
                "rmse": metrics.rmse(a, p),
                "mae": metrics.mae(a, p),
                "mape": metrics.mape(a, p),
                "smape": metrics.smape(a, p),
                "mase": metrics.mase(a, p, scale),
                "directional_accuracy": metrics.directional_accuracy(o, a, p),
                "rmse_ratio_vs_naive": metrics.rmse(a, p) / naive_rmse,
            }
            if model == "lstm":
                expected["lag1_share"] = metrics.lag1_share(o, a, p)
                expected["pinball"] = metrics.pinball(a, {q: rows[quantile_column(q)].to_numpy() for q in QUANTILES})
            if model in ("lstm", "naive", "garch"):
                for level in (80, 95):
                    lo, hi = rows[f"{model}_lo{level}"].to_numpy(), rows[f"{model}_hi{level}"].to_numpy()
                    expected |= {
                        f"coverage_{level}": metrics.coverage(a, lo, hi),
                        f"width_{level}": metrics.width(lo, hi),
                        f"interval_score_{level}": metrics.interval_score(a, lo, hi, level),
                    }
            fields = {k: v for k, v in entry.items() if k not in ("bands", "undefined")}
            assert set(fields) == set(expected), model
            for key, value in expected.items():
                assert fields[key] == (pytest.approx(value, rel=1e-12) if value is not None else None), (model, key)


def test_the_printed_report_of_a_large_universe_fits_a_screen():
    windows = _windows()
    one = predictions_frame(windows, {"lstm": windows.target_price + 0.1, **all_baselines(windows, 2)})
    frames = []
    for k in range(300):  # ticker k forecasts worse than ticker k - 1
        frames.append(one.assign(ticker=f"T{k:03d}", lstm=one["actual"] + 0.01 * (k + 1)))
    report = build_report(pd.concat(frames, ignore_index=True), {f"T{k:03d}": 0.5 for k in range(300)})
    table = format_report(report)
    lines = table.splitlines()
    assert len(lines) < 40 and lines[0].startswith("the 3 best and 3 worst of 300 tickers at each step")
    rows = [line.split()[0] for line in lines[2:8]]
    assert rows == ["T000", "T001", "T002", "T297", "T298", "T299"]
    assert len(format_report(report, "all").splitlines()) > 300


def test_the_report_made_in_blocks_of_tickers_equals_the_report_made_at_once(monkeypatch):
    windows = _windows()
    one = predictions_frame(windows, {"lstm": windows.target_price + 0.1, **all_baselines(windows, 2)})
    rng = np.random.default_rng(5)
    frames = [one.assign(ticker=f"T{k:02d}", lstm=one["actual"] + rng.normal(0, 1, len(one))) for k in range(12)]
    predictions = pd.concat(frames[::-1], ignore_index=True)  # not in ticker order
    scale = {f"T{k:02d}": 0.5 for k in range(12)}
    at_once = build_report(predictions, scale)
    monkeypatch.setattr(report_module, "BLOCK_ROWS", len(one) * 2 + 1)  # blocks of two and a bit tickers
    in_blocks = build_report(predictions, scale)
    assert json.dumps(in_blocks) == json.dumps(at_once)  # the same numbers, in the same order
    assert list(in_blocks["tickers"]) == sorted(scale)
