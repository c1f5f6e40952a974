"""The backtest's columns by hand: the model's scaled quantiles turned into prices, every forecast gathered, the
long frames' rows and dates (the days beyond the data on the exchange calendar)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.evaluate.backtest import (
    ModelOutputs,
    forecast_beyond,
    forecast_frame,
    model_prices,
    predictions_frame,
    price_forecasts,
)
from forecaster.evaluate.metrics import sort_series
from forecaster.prepare.windows import Windows

#: Per step, the scaled quantiles 2.5%, 10%, 50%, 90%, 97.5%: the 10-90% half-width (the spread) is 0.1 at
#: step 1 and 0.2 at step 2.
STEP_QUANTILES = np.array([[-0.2, -0.1, 0.05, 0.1, 0.2], [-0.4, -0.3, 0.1, 0.1, 0.5]])


def _windows(tickers=("B", "A"), origin_days=("2018-03-28", "2018-03-29")) -> Windows:
    """Two two-step windows (lookback 2, over prices 98, 100, 50): origin prices 100 and 50, target scales 2 and 1,
    the second window's second target past the data."""
    origin_date = pd.to_datetime(list(origin_days)).to_numpy()
    return Windows(
        values=np.zeros((3, 1), np.float32),
        starts=np.array([0, 1]),
        lookback=2,
        y=np.zeros((2, 2), np.float32),
        ticker=np.array(tickers),
        origin_date=origin_date,
        origin_price=np.array([100.0, 50.0]),
        target_date=np.array([["2018-03-29", "2018-04-02"], ["2018-04-02", "NaT"]], dtype="datetime64[ns]"),
        target_price=np.array([[101.0, 102.0], [51.0, np.nan]]),
        target_scale=np.array([2.0, 1.0]),
        prices=np.array([98.0, 100.0, 50.0]),
        origin_pos=np.array([5, 5]),
        first_price=np.array([90.0, 45.0]),
    )


def _outputs() -> ModelOutputs:
    return ModelOutputs(
        quantiles=np.broadcast_to(STEP_QUANTILES, (2, 2, 5)).copy(),
        shrink=np.array([[0.5, 1.0], [0.5, 1.0]]),
        corrections={80: np.full((2, 2), 1.0), 95: np.full((2, 2), 0.5)},
    )


def test_the_models_columns_are_its_shrunk_median_quantiles_and_calibrated_bands_in_prices():
    columns = model_prices(_windows(), _outputs())
    origin, scale = np.array([[100.0], [50.0]]), np.array([[2.0], [1.0]])

    def price(scaled_per_step):  # origin * exp(scaled log change * the window's scale), per window and step
        return origin * np.exp(np.asarray(scaled_per_step)[None, :] * scale)

    expected = {
        "lstm": price([0.5 * 0.05, 1.0 * 0.1]),  # the median times the step's shrinkage
        "lstm_q025": price([-0.2, -0.4]),
        "lstm_q10": price([-0.1, -0.3]),
        "lstm_q50": price([0.05, 0.1]),
        "lstm_q90": price([0.1, 0.1]),
        "lstm_q975": price([0.2, 0.5]),
        # the inner pair widened by c times the spread: c = 1 at 80% (10% / 90%), 0.5 at 95% (2.5% / 97.5%)
        "lstm_lo80": price([-0.1 - 0.1, -0.3 - 0.2]),
        "lstm_hi80": price([0.1 + 0.1, 0.1 + 0.2]),
        "lstm_lo95": price([-0.2 - 0.05, -0.4 - 0.1]),
        "lstm_hi95": price([0.2 + 0.05, 0.5 + 0.1]),
    }
    assert set(columns) == set(expected)
    for name, values in expected.items():
        assert columns[name] == pytest.approx(values, rel=1e-12), name


def test_price_forecasts_gather_the_model_every_baseline_the_naive_bands_and_garch_when_fitted():
    windows, outputs = _windows(), _outputs()
    quantiles = {"A": [[-0.02, -0.01, 0.01, 0.02]] * 2, "B": [[-0.04, -0.03, 0.03, 0.04]] * 2}
    garch = {"garch": np.full((2, 2), 7.0), "garch_lo80": np.full((2, 2), 6.0)}
    with_garch = price_forecasts(windows, outputs, 1, quantiles, garch)
    without = price_forecasts(windows, outputs, 1, quantiles)
    model = {"lstm", "lstm_q025", "lstm_q10", "lstm_q50", "lstm_q90", "lstm_q975"}
    model |= {f"lstm_{side}{level}" for side in ("lo", "hi") for level in (80, 95)}
    baselines = {"naive", "drift", "moving_average"} | {f"naive_{s}{level}" for s in ("lo", "hi") for level in (80, 95)}
    assert set(without) == model | baselines
    assert set(with_garch) == model | baselines | set(garch)
    assert with_garch["garch"].tolist() == [[7.0, 7.0], [7.0, 7.0]]
    # The one-day window asked for (the default, longer than the lookback, would give the means 99 and 75).
    assert without["moving_average"].tolist() == [[100.0, 100.0], [50.0, 50.0]]
    assert without["naive_hi95"][1].tolist() == pytest.approx(50 * np.exp([0.02, 0.02]), rel=1e-12)  # A's own


def test_the_forecast_frame_has_a_row_per_window_and_step_numbered_from_zero():
    windows = _windows()
    frame = forecast_frame(windows, {"naive": np.array([[100.0, 100.0], [50.0, 50.0]])})
    assert frame.index.tolist() == [0, 1, 2, 3]  # steps stacked, the index not repeated per step
    assert frame["ticker"].tolist() == ["B", "A", "B", "A"] and frame["step"].tolist() == [1, 1, 2, 2]
    assert frame["origin_date"].tolist() == list(pd.to_datetime(["2018-03-28", "2018-03-29"] * 2))
    assert frame["actual"].iloc[:3].tolist() == [101.0, 51.0, 102.0] and np.isnan(frame["actual"].iloc[3])


def test_predictions_keep_the_rows_with_an_actual_sorted_and_numbered_from_zero():
    frame = predictions_frame(_windows(), {"naive": np.array([[100.0, 100.0], [50.0, 50.0]])})
    assert frame.index.tolist() == [0, 1, 2]
    assert list(zip(frame["ticker"], frame["step"], frame["actual"], strict=True)) == [
        ("A", 1, 51.0),
        ("B", 1, 101.0),
        ("B", 2, 102.0),
    ]


def test_predictions_are_the_forecast_frames_known_rows_sorted_as_sort_series_sorts_them():
    """The order found on the arrays is the one ``sort_series`` gives the long frame, ties and gaps included."""
    rng = np.random.default_rng(5)
    n, horizon = 60, 3
    days = pd.bdate_range("2020-01-01", periods=40).to_numpy("datetime64[ns]")
    origin = rng.integers(0, 30, n)
    target_date = days[origin[:, None] + np.arange(1, horizon + 1)[None, :]]
    target_price = rng.uniform(50, 150, (n, horizon))
    target_price[rng.random((n, horizon)) < 0.2] = np.nan  # outcomes past the data
    windows = Windows(
        values=np.zeros((n + 1, 1), np.float32),
        starts=np.arange(n),
        lookback=2,
        y=np.zeros((n, horizon), np.float32),
        ticker=rng.choice(np.array(["MSFT", "A", "BRK-B", "ZZ"]), n),
        origin_date=days[origin],
        origin_price=rng.uniform(50, 150, n),
        target_date=target_date,
        target_price=target_price,
        target_scale=np.ones(n),
    )
    forecasts = {"naive": rng.normal(size=(n, horizon)), "lstm": rng.normal(size=(n, horizon))}
    frame = forecast_frame(windows, forecasts)
    expected = sort_series(frame[frame["actual"].notna()])[0]
    pd.testing.assert_frame_equal(predictions_frame(windows, forecasts), expected)


def test_forecasts_beyond_the_data_are_dated_on_the_exchange_calendar():
    # B's last day is Wednesday 28 March 2018, A's the Thursday before Good Friday, when the exchange is closed.
    frame = forecast_beyond(_windows(), {"naive": np.array([[100.0, 100.0], [50.0, 50.0]])})
    assert "actual" not in frame and frame.index.tolist() == [0, 1, 2, 3]
    rows = list(zip(frame["ticker"], frame["step"], frame["target_date"].dt.strftime("%Y-%m-%d"), strict=True))
    assert rows == [("A", 1, "2018-04-02"), ("A", 2, "2018-04-03"), ("B", 1, "2018-03-29"), ("B", 2, "2018-04-02")]
    assert frame["naive"].tolist() == [50.0, 50.0, 100.0, 100.0]


def test_forecasts_beyond_the_data_of_tickers_ending_on_one_day_share_its_sessions():
    frame = forecast_beyond(
        _windows(origin_days=("2018-03-29", "2018-03-29")), {"naive": np.array([[100.0, 100.0], [50.0, 50.0]])}
    )
    assert frame["target_date"].dt.strftime("%Y-%m-%d").tolist() == ["2018-04-02", "2018-04-03"] * 2
