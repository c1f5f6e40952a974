"""Where each ticker's history is cut into train / validation / test: pure arithmetic on positions.

Positions count a ticker's usable trading days from 0. For lookback ``L`` and
horizon ``H``, a window with origin ``t`` reads rows ``t-L+1 .. t`` and predicts rows
``t+1 .. t+H``. The splits are contiguous stretches::

    train:  rows 0 .. a_val-L-1          windows with all L+H rows inside
    val:    rows a_val-L .. a_test-L-1   the first L rows are inputs only; targets from a_val
    test:   rows a_test-L .. end         the first L rows are inputs only; targets from a_test

So no row serves windows of two splits, and the last train origin and the first
validation origin are ``L + H`` rows apart (the same between validation and test).
Spark labels rows with these bounds (``forecaster.prepare.table``); the numpy window
cutter (``forecaster.prepare.windows``) and the tests use the same functions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from forecaster import left_out
from forecaster.config import DEFAULT_TEST_DAYS, MAX_TEST_SHARE
from forecaster.errors import ConfigError, DataError

log = logging.getLogger(__name__)

#: A ticker needs at least this many train windows and validation windows to be kept.
MIN_TRAIN_WINDOWS = 100
MIN_VAL_WINDOWS = 20


def compute_bounds(per_ticker: pd.DataFrame, lookback: int, horizon: int, val_share: float) -> pd.DataFrame:
    """Add ``a_val``, ``train_windows`` and ``val_windows`` to rows holding ``n`` and ``a_test``.

    ``a_test`` is the position of the first test target (the first day on or after
    the test start); ``n`` the ticker's number of rows.

    Example:
        >>> b = compute_bounds(pd.DataFrame({"n": [1000], "a_test": [800]}), 60, 5, 0.15)
        >>> int(b["a_val"][0]), int(b["train_windows"][0]), int(b["val_windows"][0])
        (629, 505, 107)
    """
    bounds = per_ticker.copy()
    pre_test = bounds["a_test"] - lookback  # rows left for train and validation
    n_val_targets = (pre_test * val_share).round()
    bounds["a_val"] = pre_test - n_val_targets
    bounds["train_windows"] = bounds["a_val"] - lookback - (lookback + horizon - 1)
    bounds["val_windows"] = n_val_targets - horizon + 1
    return bounds


def label_positions(pos: np.ndarray, a_val: int, a_test: int, lookback: int) -> np.ndarray:
    """The split of each position (numpy twin of the Spark expression in preparation)."""
    return np.where(pos >= a_test - lookback, "test", np.where(pos >= a_val - lookback, "val", "train"))


def walk_forward_folds(bounds: pd.DataFrame, n_folds: int) -> list[pd.DataFrame]:
    """Expanding-window folds over each ticker's test stretch.

    Fold ``k`` tests on the k-th of ``n_folds`` equal parts of the test targets
    (``a_test`` .. ``test_end``, end exclusive) and trains and validates on everything
    before it, with the same split rules; later test targets are left unused.

    Example:
        >>> folds = walk_forward_folds(pd.DataFrame({"n": [1000], "a_test": [800]}), 4)
        >>> [(int(f["a_test"][0]), int(f["test_end"][0])) for f in folds]
        [(800, 850), (850, 900), (900, 950), (950, 1000)]
    """
    if n_folds < 1:
        raise ConfigError(f"--folds must be at least 1, got {n_folds}")
    folds = []
    test_targets = bounds["n"] - bounds["a_test"]
    for k in range(n_folds):
        fold = bounds[["ticker", "n"] if "ticker" in bounds else ["n"]].copy()
        fold["a_test"] = bounds["a_test"] + (test_targets * k // n_folds)
        fold["test_end"] = bounds["a_test"] + (test_targets * (k + 1) // n_folds)
        folds.append(fold)
    return folds


def min_history(lookback: int, horizon: int, val_share: float) -> int:
    """The fewest usable days before the test start that give a ticker ``MIN_TRAIN_WINDOWS`` train and
    ``MIN_VAL_WINDOWS`` validation windows (``compute_bounds`` is monotone in the days, so the first that
    suffices is found by bisection).

    Example:
        >>> min_history(20, 5, 0.15)
        189
    """

    def enough(days: int) -> bool:
        bounds = compute_bounds(pd.DataFrame({"n": [days + 1], "a_test": [days]}), lookback, horizon, val_share)
        return bool(bounds["train_windows"][0] >= MIN_TRAIN_WINDOWS and bounds["val_windows"][0] >= MIN_VAL_WINDOWS)

    low, high = 1, 16
    while not enough(high):
        low, high = high, high * 2
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle + 1, high)
    return low


def default_test_start(dates: list[date]) -> str:
    """The first of the last year of trading days (``DEFAULT_TEST_DAYS``), at most ``MAX_TEST_SHARE`` of them:
    ``dates`` are every distinct trading day, sorted.

    Example:
        >>> default_test_start([date(2020, 1, d) for d in range(1, 11)])
        '2020-01-09'
    """
    test_days = max(1, min(DEFAULT_TEST_DAYS, int(len(dates) * MAX_TEST_SHARE)))
    return f"{dates[-test_days]:%Y-%m-%d}"


def check_test_start(test_start: str, first: date, last: date) -> None:
    """DataError unless ``first < test_start <= last``: a test period needs history before it and a day in it."""
    try:
        day = date.fromisoformat(test_start)
    except ValueError:
        raise DataError(f"--test-start {test_start!r} is not a date in the form YYYY-MM-DD") from None
    if not first < day <= last:
        raise DataError(f"--test-start {test_start} is outside the data, which runs {first} .. {last}")


def skip_reasons(
    bounds: pd.DataFrame, test_start: str, lookback: int, horizon: int, vanished: Sequence[str] = (), warn: bool = True
) -> dict[str, str]:
    """Say why each unusable ticker is left out (logged unless ``warn`` is off); raise DataError if none is
    usable.

    ``bounds`` holds ``compute_bounds``' columns and ``last_date``; ``vanished`` are tickers with prices but
    no row left once features need their history.
    """
    skipped: dict[str, str] = {
        t: "too few days for the features (moving averages need their full window)" for t in vanished
    }
    bounds = bounds[~bounds["ticker"].isin(vanished)]
    for row in bounds.itertuples():
        if pd.isna(row.a_test):
            skipped[row.ticker] = f"no trading days on or after the test start {test_start} (last day {row.last_date})"
        elif row.train_windows < MIN_TRAIN_WINDOWS or row.val_windows < MIN_VAL_WINDOWS:
            skipped[row.ticker] = (
                f"only {int(row.a_test)} usable days before the test start {test_start}: lookback {lookback} and "
                f"horizon {horizon} leave {max(int(row.train_windows), 0)} train and "
                f"{max(int(row.val_windows), 0)} validation windows (needs {MIN_TRAIN_WINDOWS} and {MIN_VAL_WINDOWS})"
            )
    if warn:
        left_out.warn(log, "skipping", skipped)
    if len(skipped) == len(bounds) + len(vanished):
        details = "; ".join(f"{t}: {why}" for t, why in skipped.items())
        raise DataError(f"no ticker has enough history to train and test on: {details}")
    return skipped
