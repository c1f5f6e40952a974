"""The metrics' edges, by hand: missing values left out pair by pair, ties and bounds, a flat history, float32
inputs. (test_evaluate.py checks the metrics on clean numbers; these are the cases mutation testing found open.)"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecaster.evaluate import metrics

NAN = np.nan


def test_a_pair_with_either_value_missing_is_left_out_of_every_point_metric():
    # Kept pairs: (1, 1) and (2, 4). A pair is dropped when either side is missing, not only when both are.
    actual = np.array([1.0, NAN, 4.0, 2.0])
    predicted = np.array([1.0, 3.0, NAN, 4.0])
    origin = np.array([0.5, 0.5, 0.5, 3.0])
    assert metrics.rmse(actual, predicted) == pytest.approx(np.sqrt(2.0))
    assert metrics.mae(actual, predicted) == pytest.approx(1.0)
    assert metrics.mape(actual, predicted) == pytest.approx(50.0)  # (0 + 2 / 2) / 2
    assert metrics.smape(actual, predicted) == pytest.approx(100 / 3)  # (0 + 2 * 2 / 6) / 2
    assert metrics.mase(actual, predicted, scale=0.5) == pytest.approx(np.log(2.0))  # (0 + log 2) / 2 / 0.5
    # Up from 0.5 and called up; down from 3 to 2 but called up: one of two.
    assert metrics.directional_accuracy(origin, actual, predicted) == pytest.approx(0.5)
    # 1 sits on its actual (not closer to the origin); 4 is 1 from the origin and 2 from the actual.
    assert metrics.lag1_share(origin, actual, predicted) == pytest.approx(0.5)


def test_a_band_with_a_missing_value_is_left_out_of_width_coverage_and_interval_score():
    assert metrics.width(np.array([1.0, NAN, 2.0]), np.array([3.0, 5.0, NAN])) == pytest.approx(2.0)
    assert metrics.coverage(np.array([NAN, 1.0, 3.0]), np.zeros(3), np.full(3, 2.0)) == pytest.approx(0.5)
    # Only the first day has all three values: its score is the width, 2. Any one missing drops the day.
    actual = np.array([10.0, NAN, 13.0, 10.0])
    lower = np.array([9.0, 9.0, NAN, 9.0])
    upper = np.array([11.0, 11.0, 11.0, NAN])
    assert metrics.interval_score(actual, lower, upper, 80) == pytest.approx(2.0)


def test_pinball_leaves_out_missing_pairs_per_quantile_and_charges_one_minus_q_above():
    actual = np.array([10.0, NAN, 12.0])
    quantiles = {0.1: np.array([12.0, 8.0, NAN]), 0.9: np.array([11.0, 11.0, 11.0])}
    # q 0.1: one pair, 2 above the actual: (1 - 0.1) * 2 = 1.8.
    # q 0.9: 1 above (0.1 * 1) and 1 below (0.9 * 1): 0.5. The mean of the two: 1.15.
    assert metrics.pinball(actual, quantiles) == pytest.approx(1.15)


def test_a_value_on_a_bound_is_covered():
    assert metrics.coverage(np.array([1.0, 3.0]), np.array([1.0, 1.0]), np.array([3.0, 3.0])) == 1.0


def test_a_forecast_as_far_from_the_origin_as_from_the_actual_is_not_an_echo_of_the_origin():
    # 2 is 1 from the origin 1 and 1 from the actual 3: not "closer to yesterday".
    assert metrics.lag1_share(np.array([1.0]), np.array([3.0]), np.array([2.0])) == 0.0


def test_mase_of_a_history_that_never_moved_is_none():
    assert metrics.mase(np.array([110.0]), np.array([100.0]), scale=0.0) is None


def test_float32_bands_are_scored_in_float64():
    # 2**24 - 0.5 is not a float32: scored in float32 the width would round to 2**24.
    lower, upper = np.array([0.5], np.float32), np.array([2.0**24], np.float32)
    assert metrics.interval_scores(np.array([1.0], np.float32), lower, upper, 80).tolist() == [2.0**24 - 0.5]


def test_naive_scales_are_each_tickers_mean_absolute_one_day_log_change():
    # Rows interleaved across tickers, in date order within each; a category with no rows gets no scale.
    train = pd.DataFrame(
        {
            "ticker": pd.Categorical(["A", "B", "A", "B", "A", "B"], categories=["A", "B", "C"]),
            "adj_close": [100.0, 50.0, 110.0, 50.0, 99.0, 25.0],
        }
    )
    with warnings.catch_warnings():
        # pandas 2 warns that a categorical groupby's default changes in pandas 3: naive_scales states it.
        warnings.simplefilter("error")
        scales = metrics.naive_scales(train)
    assert list(scales) == ["A", "B"]
    assert scales["A"] == pytest.approx((np.log(1.1) + abs(np.log(0.9))) / 2)
    assert scales["B"] == pytest.approx(np.log(2.0) / 2)


@pytest.mark.parametrize("seed", range(4))
def test_sort_series_orders_days_within_each_series_and_keeps_rows_already_in_order(seed):
    rng = np.random.default_rng(seed)
    rows = pd.DataFrame(
        {
            "ticker": rng.choice(["A", "B", "C"], 60),
            "step": rng.integers(1, 3, 60),
            "target_date": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 20, 60), "D"),
            "value": np.arange(60.0),
        }
    )
    ordered, group, index = metrics.sort_series(rows)
    expected = rows.sort_values(["ticker", "step", "target_date"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(ordered, expected)
    assert np.all(np.diff(group) >= 0) and len(index) == group.max() + 1
    again, _, _ = metrics.sort_series(ordered)
    assert again is ordered  # in order already: the frame itself, no copy
    starts = metrics.series_starts(group, len(index))
    sums = metrics.sum_by_series(ordered["value"].to_numpy(), group, len(index), starts)
    np.testing.assert_allclose(sums, ordered.groupby(["ticker", "step"])["value"].sum().to_numpy())
