"""Conformalised quantile bands: the promise holds on exchangeable data, the calibration is online and never
sees an outcome after the origin, and the shrinkage is chosen by least squares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.model import intervals


def _quantile_forecasts(n: int, horizon: int, spread: float) -> np.ndarray:
    """Quantiles of N(0, spread) for every window and step: (n, horizon, 5)."""
    z = np.array([-1.96, -1.2816, 0.0, 1.2816, 1.96])
    return np.broadcast_to(z * spread, (n, horizon, 5)).astype(np.float64).copy()


def test_scores_are_zero_on_the_band_and_scale_with_the_models_spread():
    q = _quantile_forecasts(3, 1, spread=2.0)
    y = np.array([[q[0, 0, 3]], [0.0], [q[0, 0, 3] + 2.0]])
    scores = np.maximum(*intervals.scores(y, q, 80))  # the joint score: the larger end's
    assert scores[0, 0] == pytest.approx(0.0)
    assert scores[1, 0] < 0  # inside the raw band
    assert scores[2, 0] == pytest.approx(2.0 / (1.2816 * 2.0), rel=1e-4)  # in units of half the 10-90% width


def _online_bands(q: np.ndarray, y: np.ndarray, level: int, ends: str) -> tuple[np.ndarray, np.ndarray]:
    """One ticker's band at each day, calibrated with the outcomes known the day before (one step)."""
    dates = pd.bdate_range("2000-01-03", periods=len(y))
    scores = {
        name: values[:, 0]
        for lvl in (80, 95)
        for name, values in zip(intervals.score_columns(lvl), intervals.scores(y, q, lvl), strict=True)
    }
    known = pd.DataFrame({"ticker": "T", "step": 1, "target_date": dates, **scores})
    origins = pd.DataFrame({"ticker": "T", "origin_date": dates - pd.offsets.BDay(1)})
    corrections = intervals.rolling_corrections(known, origins, ends=ends)
    return intervals.calibrated_bands(q, corrections)[level]


@pytest.mark.parametrize("ends", intervals.ENDS_CHOICES)
@pytest.mark.parametrize("level", [80, 95])
def test_a_band_calibrated_on_past_scores_covers_its_level_when_the_model_is_too_narrow(level, ends):
    rng = np.random.default_rng(1)
    n = 4000
    q = _quantile_forecasts(n, 1, spread=0.5)  # the model thinks the spread is 0.5; it is 1
    y = rng.standard_normal((n, 1))
    lower, upper = _online_bands(q, y, level, ends)
    later = slice(500, None)  # once a window of scores is known
    covered = np.mean((y[later] >= lower[later]) & (y[later] <= upper[later]))
    raw_lo, raw_hi = (q[..., i] for i in intervals.BAND_INDEX[level])
    assert np.mean((y >= raw_lo) & (y <= raw_hi)) < level / 100 - 0.2  # the raw band misses badly
    assert covered == pytest.approx(level / 100, abs=0.025)


@pytest.mark.parametrize("level", [80, 95])
def test_per_end_calibration_moves_a_band_whose_forecast_drifts_so_each_end_misses_its_share(level):
    rng = np.random.default_rng(5)
    n = 4000
    q = _quantile_forecasts(n, 1, spread=1.0)  # the right spread, but the outcomes drift 0.8 above the median
    y = rng.standard_normal((n, 1)) + 0.8
    tail = (100 - level) / 200
    later = slice(500, None)
    lower, upper = _online_bands(q, y, level, "per_end")
    below, above = np.mean(y[later] < lower[later]), np.mean(y[later] > upper[later])
    assert below == pytest.approx(tail, abs=0.015) and above == pytest.approx(tail, abs=0.015)
    # One correction for both ends covers as much, but misses above far more often than below, and is wider.
    joint_lo, joint_hi = _online_bands(q, y, level, "joint")
    assert np.mean(y[later] > joint_hi[later]) > 2 * np.mean(y[later] < joint_lo[later])
    assert np.mean(joint_hi - joint_lo) > np.mean(upper - lower)


def test_an_interval_never_uses_an_outcome_dated_after_its_origin():
    """Change every outcome after an origin: that origin's correction stays exactly the same."""
    rng = np.random.default_rng(2)
    dates = pd.bdate_range("2010-01-04", periods=600)
    known = pd.DataFrame(
        {
            "ticker": "T",
            "step": 2,
            "target_date": dates,
            "score80": rng.normal(size=600),
            "score95": rng.normal(size=600),
        }
    )
    origin_day = dates[400]
    origins = pd.DataFrame({"ticker": ["T"], "origin_date": [origin_day]})
    before = intervals.rolling_corrections(known, origins)
    changed = known.copy()
    later = changed["target_date"] > origin_day
    changed.loc[later, ["score80", "score95"]] = 1e6  # a crash that has not happened yet on the origin's day
    after = intervals.rolling_corrections(changed, origins)
    for level in (80, 95):
        assert after[level][0, 1] == before[level][0, 1]
    changed.loc[changed["target_date"] == origin_day, "score80"] = 1e6  # known on the origin's day: it counts
    known_then = changed.loc[changed["target_date"] <= origin_day, "score80"].to_numpy()
    window = known_then[-intervals.CALIBRATION_WINDOW :]
    expected = np.sort(window)[intervals.conformal_rank(len(window), 80) - 1]
    assert expected != before[80][0, 1]  # the day's score moves the quantile: leaving it out would show
    assert intervals.rolling_corrections(changed, origins)[80][0, 1] == expected


def test_only_the_last_window_of_scores_counts():
    dates = pd.bdate_range("2010-01-04", periods=1000)
    old, recent = np.full(700, 5.0), np.full(300, 0.1)
    known = pd.DataFrame(
        {
            "ticker": "T",
            "step": 1,
            "target_date": dates,
            "score80": np.concatenate([old, recent]),
            "score95": np.concatenate([old, recent]),
        }
    )
    origins = pd.DataFrame({"ticker": ["T", "T"], "origin_date": [dates[699], dates[-1]]})
    corrections = intervals.rolling_corrections(known, origins, window=250)
    assert corrections[80][:, 0].tolist() == [5.0, 0.1]  # a calm year after a wild one: the band narrows


def test_too_few_known_scores_leave_the_raw_band():
    dates = pd.bdate_range("2010-01-04", periods=5)
    known = pd.DataFrame({"ticker": "T", "step": 1, "target_date": dates, "score80": 3.0, "score95": 3.0})
    origins = pd.DataFrame({"ticker": ["T"], "origin_date": [dates[-1]]})
    assert intervals.rolling_corrections(known, origins)[80][0, 0] == 0.0


def test_shrinkage_is_the_least_squares_factor_clipped_to_zero_and_one():
    median = np.array([[1.0, 1.0], [2.0, -1.0], [-1.0, 2.0]])
    y = np.column_stack([0.5 * median[:, 0], -median[:, 1]])
    assert intervals.shrinkage(y, median) == pytest.approx([0.5, 0.0])
    assert intervals.shrinkage(3 * median, median) == pytest.approx([1.0, 1.0])
