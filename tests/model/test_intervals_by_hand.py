"""The interval arithmetic by hand and against a plain loop: spreads, scores, ranks, bands, the rolling
corrections of many tickers and steps at once, the shrinkage's edges, prices and per-window settings
(test_intervals.py checks the calibration's promises on simulated data)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecaster.columns import GLOBAL
from forecaster.model import intervals

#: One window, two steps: quantiles 2.5%, 10%, 50%, 90%, 97.5%; the second step's 10% and 90% cross (spread 0).
QUANTILES = np.array([[[-0.5, -0.2, 0.0, 0.4, 0.9], [-0.1, 0.3, 0.3, 0.3, 0.6]]])


def test_the_spread_is_half_the_10_to_90_width_and_never_zero():
    assert intervals.spread(QUANTILES)[0].tolist() == pytest.approx([0.3, 1e-6], rel=1e-12)


def _joint(y: np.ndarray, level: int) -> np.ndarray:
    return np.maximum(*intervals.scores(y, QUANTILES, level))


def test_scores_are_the_distance_outside_each_end_of_the_levels_inner_pair_in_spreads():
    y = np.array([[1.0, 0.3]])
    # 80%: the 10-90% pair; 1.0 is 0.6 above 0.4, in spreads of 0.3: 2 above the upper end, and 1.2 / 0.3 = 4
    # inside the lower end (-4). 95%: the 2.5-97.5% pair, 0.1 above 0.9.
    lower, upper = intervals.scores(y, QUANTILES, 80)
    assert (lower[0, 0], upper[0, 0]) == pytest.approx((-4.0, 2.0))
    assert _joint(y, 80)[0, 0] == pytest.approx(2.0)
    assert _joint(y, 95)[0, 0] == pytest.approx(0.1 / 0.3)
    # Below the band: lo - y. 95% at step 2: 0.3 is 0.3 above -0.1 and 0.3 below 0.6: -0.3 / 1e-6.
    assert intervals.scores(np.array([[-0.8, 0.3]]), QUANTILES, 80)[0][0, 0] == pytest.approx(0.6 / 0.3)
    assert _joint(y, 95)[0, 1] == pytest.approx(-0.3 / 1e-6)


def test_the_conformal_rank_is_the_ceiling_of_n_plus_one_times_the_level_at_most_n():
    assert intervals.conformal_rank(20, 95) == 20  # ceil(21 * 0.95) = 20
    assert intervals.conformal_rank(3, 80) == 3  # ceil(3.2) = 4, capped at 3
    assert intervals.conformal_rank(250, 80) == 201  # ceil(200.8)
    assert intervals.conformal_rank(4, 80) == 4  # ceil(4.0) exactly: no rounding up past it
    assert type(intervals.conformal_rank(250, 95)) is int  # a count indexes a Python list as well
    assert intervals.conformal_rank(np.array([3, 4, 250]), 80).tolist() == [3, 4, 201]


def test_calibrated_bands_widen_each_inner_pair_by_c_spreads():
    corrections = {80: np.array([[1.0, 2.0]]), 95: np.array([[0.5, -1.0]])}
    bands = intervals.calibrated_bands(QUANTILES, corrections)
    assert bands[80][0][0].tolist() == pytest.approx([-0.2 - 0.3, 0.3 - 2e-6], rel=1e-12)
    assert bands[80][1][0].tolist() == pytest.approx([0.4 + 0.3, 0.3 + 2e-6], rel=1e-12)
    assert bands[95][0][0].tolist() == pytest.approx([-0.5 - 0.15, -0.1 + 1e-6], rel=1e-12)
    assert bands[95][1][0].tolist() == pytest.approx([0.9 + 0.15, 0.6 - 1e-6], rel=1e-12)


def test_calibrated_bands_move_each_end_by_its_own_correction():
    # Per end (n, horizon, 2): the lower end 1 spread down, the upper end 1 spread in (a band moved down).
    corrections = {80: np.array([[[1.0, -1.0], [0.0, 0.0]]])}
    lower, upper = intervals.calibrated_bands(QUANTILES, corrections)[80]
    assert lower[0, 0] == pytest.approx(-0.2 - 0.3) and upper[0, 0] == pytest.approx(0.4 - 0.3)


def _reference_corrections(known: pd.DataFrame, origins: pd.DataFrame, window: int, ends: str) -> dict[int, np.ndarray]:
    """The corrections written as the docstrings say, one origin and step at a time: per end, each end's scores
    at (100 + level) / 2 %; joint, the larger end's score at level %."""
    horizon = int(known["step"].max())
    per_end = ends == "per_end"
    out = {level: np.zeros((len(origins), horizon, 2) if per_end else (len(origins), horizon)) for level in (80, 95)}
    groups = {key: rows.sort_values("target_date") for key, rows in known.groupby(["ticker", "step"])}
    for i, (ticker, day) in enumerate(zip(origins["ticker"], origins["origin_date"], strict=True)):
        for step in range(1, horizon + 1):
            if (ticker, step) not in groups:
                continue
            mine = groups[ticker, step]
            mine = mine[mine["target_date"] <= day]
            if len(mine) < 20:
                continue
            for level in (80, 95):
                lo, hi = mine[f"score{level}_lo"].to_numpy(), mine[f"score{level}_hi"].to_numpy()
                half = (100 + level) / 2
                columns = [(lo, half), (hi, half)] if per_end else [(np.maximum(lo, hi), level)]
                found = []
                for values, coverage in columns:
                    last = values[-window:]
                    rank = min(len(last), math.ceil((len(last) + 1) * coverage / 100))
                    found.append(np.sort(last)[rank - 1])
                out[level][i, step - 1] = found if per_end else found[0]
    return out


def _known_and_origins(seed: int, days: int, every: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores of tickers A and B at steps 1-3 and C at step 1 only, each on its own random part of ``days``
    business days (rows shuffled); origins on every ``every``-th day for A, B, C and D (D has no score)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2015-01-05", periods=days)
    parts = []
    for ticker, steps in (("A", (1, 2, 3)), ("B", (1, 2, 3)), ("C", (1,))):
        for step in steps:
            on = dates[rng.random(days) < rng.uniform(0.4, 0.9)]
            parts.append(
                pd.DataFrame(
                    {
                        "ticker": ticker,
                        "step": step,
                        "target_date": on,
                        **{
                            f"score{level}_{end}": rng.normal(size=len(on))
                            for level in (80, 95)
                            for end in ("lo", "hi")
                        },
                    }
                )
            )
    known = pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    origin_days = dates[::every]
    origins = pd.DataFrame(
        {
            "ticker": np.repeat(["B", "A", "D", "C"], len(origin_days)),
            "origin_date": np.tile(origin_days, 4),
        }
    )
    return known, origins


@pytest.mark.parametrize("ends", intervals.ENDS_CHOICES)
@pytest.mark.parametrize("rolling_share", [0.0, math.inf], ids=["rolling", "partial-sorts"])
@pytest.mark.parametrize(("batch_rows", "ticker_block"), [(intervals.BATCH_ROWS, intervals.TICKER_BLOCK), (7, 1)])
def test_rolling_corrections_of_many_tickers_and_steps_equal_a_plain_loop(
    monkeypatch, batch_rows, ticker_block, rolling_share, ends
):
    # Windows of 30 scores, so origins come with fewer than a window, a whole window and more; small batches, so
    # the search runs over many batches of both kinds; whole windows by the rolling order statistic of every
    # score and by a partial sort of each window; one ticker a block, so blocks run in both threads and one of
    # them (D's) has origins but no scores.
    monkeypatch.setattr(intervals, "BATCH_ROWS", batch_rows)
    monkeypatch.setattr(intervals, "TICKER_BLOCK", ticker_block)
    monkeypatch.setattr(intervals, "ROLLING_SHARE", rolling_share)
    known, origins = _known_and_origins(seed=3, days=160)
    got = intervals.rolling_corrections(known, origins, window=30, ends=ends)
    expected = _reference_corrections(known, origins, window=30, ends=ends)
    for level in (80, 95):
        assert got[level].shape == ((len(origins), 3, 2) if ends == "per_end" else (len(origins), 3))
        np.testing.assert_array_equal(got[level], expected[level])
    assert (got[80] != 0).any(axis=0).all() and (got[80] == 0).any()  # both calibrated and raw bands were checked


@pytest.mark.parametrize("ends", intervals.ENDS_CHOICES)
@pytest.mark.parametrize("rolling_share", [0.0, math.inf], ids=["rolling", "partial-sorts"])
def test_rolling_corrections_with_the_default_window_equal_a_plain_loop(monkeypatch, rolling_share, ends):
    monkeypatch.setattr(intervals, "ROLLING_SHARE", rolling_share)
    known, origins = _known_and_origins(seed=4, days=420, every=11)
    got = intervals.rolling_corrections(known, origins, ends=ends)
    expected = _reference_corrections(known, origins, window=intervals.CALIBRATION_WINDOW, ends=ends)
    for level in (80, 95):
        np.testing.assert_array_equal(got[level], expected[level])


def test_exactly_min_scores_known_calibrates_the_band():
    dates = pd.bdate_range("2010-01-04", periods=intervals.MIN_SCORES)
    # 1 .. 20, in date order 2 .. 19, 1, 20: the last day's score is the largest, the day before's the smallest.
    scores = np.r_[np.arange(2.0, 20.0), 1.0, 20.0]
    known = pd.DataFrame({"ticker": "T", "step": 1, "target_date": dates, "score80": scores, "score95": -scores})
    origins = pd.DataFrame({"ticker": ["T", "T"], "origin_date": [dates[-1], dates[-2]]})
    corrections = intervals.rolling_corrections(known, origins)
    # 20 scores: the 80% rank is ceil(21 * 0.8) = 17, the 95% rank 20 of the negated scores -20 .. -1; one day
    # earlier only 19 are known: the raw band.
    assert corrections[80][:, 0].tolist() == [17.0, 0.0]
    assert corrections[95][:, 0].tolist() == [-1.0, 0.0]


def test_joint_scores_calibrate_both_ends_alike_whatever_is_asked():
    known, origins = _known_and_origins(seed=6, days=160)
    joint = known.assign(
        **{f"score{level}": np.maximum(known[f"score{level}_lo"], known[f"score{level}_hi"]) for level in (80, 95)}
    ).drop(columns=[f"score{level}_{end}" for level in (80, 95) for end in ("lo", "hi")])
    assert not intervals.has_end_scores(joint) and intervals.has_end_scores(known)
    from_joint = intervals.rolling_corrections(joint, origins, window=30)  # per end asked, one score a band known
    np.testing.assert_array_equal(
        from_joint[80], intervals.rolling_corrections(known, origins, window=30, ends="joint")[80]
    )
    with pytest.raises(ValueError, match="ends must be one of"):
        intervals.rolling_corrections(known, origins, ends="both")


def test_no_scores_or_no_origins_give_empty_corrections():
    known, origins = _known_and_origins(seed=5, days=40)
    empty = intervals.rolling_corrections(known.iloc[:0], origins)
    assert set(empty) == {80, 95} and all(empty[level].shape == (len(origins), 0) for level in (80, 95))
    none = intervals.rolling_corrections(known, origins.iloc[:0], ends="joint")
    assert none[80].shape == (0, 3) and none[95].shape == (0, 3)
    none = intervals.rolling_corrections(known, origins.iloc[:0], ends="per_end")
    assert none[80].shape == (0, 3, 2) and none[95].shape == (0, 3, 2)


def test_shrinkage_leaves_out_missing_pairs_and_is_zero_without_a_median():
    median = np.array([[1.0, 0.0], [2.0, 0.0], [np.nan, 0.0], [4.0, 0.0]])
    y = np.array([[0.5, 1.0], [1.0, 2.0], [5.0, 3.0], [np.nan, 4.0]])
    # Step 1: the pairs (1, 0.5) and (2, 1): (0.5 + 2) / (1 + 4) = 0.5. Step 2: a median of 0 is naive's, 0.
    assert intervals.shrinkage(y, median) == [0.5, 0.0]


def test_shrinkage_of_small_medians_is_still_least_squares():
    # Scaled log changes are small: sum m^2 = 0.05, below 1, is still a median to shrink, not naive's 0.
    median = np.array([[0.1], [0.2]])
    assert intervals.shrinkage(0.5 * median, median) == pytest.approx([0.5])


def test_shrinkage_is_clipped_at_zero_and_one_not_beyond():
    median = np.array([[1.0, 1.0], [1.0, 1.0]])
    assert intervals.shrinkage(np.array([[3.0, -2.0], [3.0, -2.0]]), median) == [1.0, 0.0]


def test_interval_prices_are_the_origin_times_the_scaled_change():
    prices = intervals.interval_prices(
        np.array([100.0, 50.0]), np.array([[0.1, -0.2], [0.3, 0.0]]), np.array([2.0, 1.0])
    )
    assert prices == pytest.approx(np.array([[100 * np.exp(0.2), 100 * np.exp(-0.4)], [50 * np.exp(0.3), 50.0]]))


def test_per_window_spreads_a_global_setting_or_each_tickers_own():
    tickers = np.array(["B", "Z", "A"], dtype=object)
    assert intervals.per_window({GLOBAL: [0.5, 0.25]}, tickers, 2).tolist() == [[0.5, 0.25]] * 3
    per_ticker = intervals.per_window({"A": [0.1, 0.2], "B": [0.3, 0.4]}, tickers, 2)
    assert per_ticker[[0, 2]].tolist() == [[0.3, 0.4], [0.1, 0.2]]
    assert np.isnan(per_ticker[1]).all()  # Z has no model
