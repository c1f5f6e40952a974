"""The split arithmetic by hand: bounds, labels, walk-forward folds, the shortest usable history, the default test
start, and the reasons a ticker is left out (test_splits_and_windows.py checks the windows cut from them)."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from forecaster.errors import ConfigError, DataError
from forecaster.prepare.splits import (
    check_test_start,
    compute_bounds,
    default_test_start,
    label_positions,
    min_history,
    skip_reasons,
    walk_forward_folds,
)


def test_compute_bounds_by_hand_for_each_ticker_leaving_its_input_alone():
    per_ticker = pd.DataFrame({"ticker": ["A", "B"], "n": [500, 300], "a_test": [400, 250]})
    bounds = compute_bounds(per_ticker, lookback=20, horizon=3, val_share=0.2)
    # A: 380 rows before the test inputs, 76 of them validation targets; train windows 304 - 20 - 22.
    # B: 230 rows, 46 validation targets; train windows 184 - 20 - 22.
    assert bounds["a_val"].tolist() == [304, 184]
    assert bounds["train_windows"].tolist() == [262, 142]
    assert bounds["val_windows"].tolist() == [74, 44]
    assert bounds[["ticker", "n", "a_test"]].equals(per_ticker)
    assert list(per_ticker) == ["ticker", "n", "a_test"]  # the caller's frame gains no column


def test_compute_bounds_rounds_the_validation_targets_to_the_nearest_count():
    # 47 rows before the test inputs, 10%: 4.7 validation targets round to 5 (not truncated to 4).
    bounds = compute_bounds(pd.DataFrame({"n": [100], "a_test": [57]}), lookback=10, horizon=1, val_share=0.1)
    assert (int(bounds["a_val"][0]), int(bounds["val_windows"][0])) == (42, 5)


def test_label_positions_at_each_bound():
    # lookback 2: validation from a_val - 2 = 3, test from a_test - 2 = 6.
    labels = label_positions(np.arange(10), a_val=5, a_test=8, lookback=2)
    assert labels.tolist() == ["train"] * 3 + ["val"] * 3 + ["test"] * 4


def test_walk_forward_folds_by_hand_keep_each_ticker():
    bounds = pd.DataFrame({"ticker": ["A", "B"], "n": [1000, 110], "a_test": [800, 100]})
    folds = walk_forward_folds(bounds, 3)
    # 200 and 10 test targets, cut at floor(k * targets / 3).
    assert [f["a_test"].tolist() for f in folds] == [[800, 100], [866, 103], [933, 106]]
    assert [f["test_end"].tolist() for f in folds] == [[866, 103], [933, 106], [1000, 110]]
    assert all(list(f) == ["ticker", "n", "a_test", "test_end"] and f["ticker"].tolist() == ["A", "B"] for f in folds)
    assert folds[0]["n"].tolist() == [1000, 110]


def test_one_fold_is_the_whole_test_period_and_none_is_refused():
    (fold,) = walk_forward_folds(pd.DataFrame({"n": [1000], "a_test": [800]}), 1)
    assert (int(fold["a_test"][0]), int(fold["test_end"][0])) == (800, 1000) and list(fold) == [
        "n",
        "a_test",
        "test_end",
    ]
    with pytest.raises(ConfigError, match="^--folds must be at least 1, got 0$"):
        walk_forward_folds(pd.DataFrame({"n": [1000], "a_test": [800]}), 0)


def _enough_by_hand(days: int, lookback: int, horizon: int, val_share: float) -> bool:
    """The split rules of the module docstring, written out: enough train and validation windows."""
    val_targets = round((days - lookback) * val_share)
    a_val = days - lookback - val_targets
    return a_val - lookback - (lookback + horizon - 1) >= 100 and val_targets - horizon + 1 >= 20


@pytest.mark.parametrize(
    "lookback,horizon,val_share",
    [
        (20, 5, 0.15),
        (1, 1, 0.2),
        (60, 5, 0.15),
        (250, 10, 0.4),
        (1, 1, 0.05),  # the validation windows bind: exactly 20 of them at the answer, 391 days
    ],
)
def test_min_history_is_the_first_number_of_days_that_is_enough(lookback, horizon, val_share):
    first = next(d for d in range(1, 10_000) if _enough_by_hand(d, lookback, horizon, val_share))
    assert min_history(lookback, horizon, val_share) == first


@pytest.mark.parametrize(
    "days,expected",
    [
        (3, 2),  # a fifth of 3 days is 0: still one test day, the last
        (5, 4),  # a fifth: one day
        (12, 10),  # a fifth of 12 is 2.4: two days
        (2000, 1748),  # a year of trading days, 252, less than a fifth
    ],
)
def test_default_test_start_is_the_last_year_at_most_a_fifth_of_the_days(days, expected):
    dates = [date(2000, 1, 1) + timedelta(days=k) for k in range(days)]
    assert default_test_start(dates) == f"{dates[expected]:%Y-%m-%d}"


def test_a_test_start_needs_history_before_it_and_a_day_in_it():
    first, last = date(2020, 1, 2), date(2020, 12, 31)
    check_test_start("2020-01-03", first, last)
    check_test_start("2020-12-31", first, last)  # the last day alone is a test period
    for outside in ("2020-01-02", "2021-01-01"):
        with pytest.raises(
            DataError, match=f"^--test-start {outside} is outside the data, which runs 2020-01-02 .. 2020-12-31$"
        ):
            check_test_start(outside, first, last)
    with pytest.raises(DataError, match="^--test-start '2020-13-01' is not a date in the form YYYY-MM-DD$") as caught:
        check_test_start("2020-13-01", first, last)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no ValueError chained under it


def _bounds() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticker": ["OK", "EDGE", "NOTEST", "FEWTRAIN", "FEWVAL", "GONE"],
            "a_test": [900, 300, np.nan, 150, 400, 500],
            "train_windows": [700, 100, np.nan, -5, 250, 300],
            "val_windows": [120, 20, np.nan, 30, 19, 60],
            "last_date": ["2020-12-31", "2020-12-31", "2019-06-28", "2020-12-31", "2020-12-31", "2020-12-31"],
        }
    )


def test_skip_reasons_name_each_unusable_ticker_and_why(caplog):
    with caplog.at_level(logging.WARNING, logger="forecaster.prepare.splits"):
        skipped = skip_reasons(_bounds(), "2020-01-02", 60, 5, vanished=["GONE"])
    assert skipped == {
        "GONE": "too few days for the features (moving averages need their full window)",
        "NOTEST": "no trading days on or after the test start 2020-01-02 (last day 2019-06-28)",
        "FEWTRAIN": "only 150 usable days before the test start 2020-01-02: lookback 60 and horizon 5 leave 0 train "
        "and 30 validation windows (needs 100 and 20)",
        "FEWVAL": "only 400 usable days before the test start 2020-01-02: lookback 60 and horizon 5 leave 250 train "
        "and 19 validation windows (needs 100 and 20)",
    }  # EDGE, with exactly 100 train and 20 validation windows, is kept
    assert [r.getMessage() for r in caplog.records] == [f"skipping {t}: {why}" for t, why in skipped.items()]


def test_a_negative_count_of_windows_reads_as_none():
    bounds = pd.DataFrame(
        {"ticker": ["OK", "SHORT"], "a_test": [900, 70], "train_windows": [700, -60], "val_windows": [120, -3]}
    ).assign(last_date="2020-12-31")
    assert skip_reasons(bounds, "2020-01-02", 60, 5, warn=False)["SHORT"] == (
        "only 70 usable days before the test start 2020-01-02: lookback 60 and horizon 5 leave 0 train and "
        "0 validation windows (needs 100 and 20)"
    )


def test_skip_reasons_can_stay_silent(caplog):
    with caplog.at_level(logging.DEBUG, logger="forecaster.prepare.splits"):
        assert len(skip_reasons(_bounds(), "2020-01-02", 60, 5, warn=False)) == 3
    assert not caplog.records


def test_no_usable_ticker_is_an_error_that_says_why_for_each():
    bounds = _bounds().iloc[2:4]
    with pytest.raises(DataError) as caught:
        skip_reasons(bounds, "2020-01-02", 60, 5, vanished=["GONE"], warn=False)
    message = str(caught.value)
    assert message.startswith(
        "no ticker has enough history to train and test on: GONE: too few days for the features (moving averages "
        "need their full window); NOTEST: no trading days on or after the test start 2020-01-02 (last day "
        "2019-06-28); FEWTRAIN: only 150"
    )


def test_one_usable_ticker_is_enough():
    assert list(skip_reasons(_bounds().iloc[:3], "2020-01-02", 60, 5, warn=False)) == ["NOTEST"]
