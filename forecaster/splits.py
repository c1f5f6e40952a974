"""Where each ticker's history is cut into train / validation / test: pure arithmetic on positions.

Positions count a ticker's usable trading days from 0. For lookback ``L`` and
horizon ``H``, a window with origin ``t`` reads rows ``t-L+1 .. t`` and predicts rows
``t+1 .. t+H``. The splits are contiguous stretches::

    train:  rows 0 .. a_val-L-1          windows with all L+H rows inside
    val:    rows a_val-L .. a_test-L-1   the first L rows are inputs only; targets from a_val
    test:   rows a_test-L .. end         the first L rows are inputs only; targets from a_test

So no row serves windows of two splits, and the last train origin and the first
validation origin are ``L + H`` rows apart (the same between validation and test).
Spark labels rows with these bounds (``forecaster.preparation``); the numpy window
cutter (``forecaster.windows``) and the tests use the same functions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")


def compute_bounds(per_ticker: pd.DataFrame, lookback: int, horizon: int, val_share: float) -> pd.DataFrame:
    """Add ``a_val``, ``train_windows`` and ``val_windows`` to rows holding ``n`` and ``a_test``.

    ``a_test`` is the position of the first test target (the first day on or after
    the test start); ``n`` the ticker's number of rows.

    Example:
        >>> b = compute_bounds(pd.DataFrame({"n": [1000], "a_test": [800]}), 60, 5, 0.15)
        >>> int(b["a_val"][0]), int(b["train_windows"][0]), int(b["val_windows"][0])
        (632, 508, 107)
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
        raise ValueError("n_folds must be at least 1")
    folds = []
    test_targets = bounds["n"] - bounds["a_test"]
    for k in range(n_folds):
        fold = bounds[["ticker", "n"] if "ticker" in bounds else ["n"]].copy()
        fold["a_test"] = bounds["a_test"] + (test_targets * k // n_folds)
        fold["test_end"] = bounds["a_test"] + (test_targets * (k + 1) // n_folds)
        folds.append(fold)
    return folds
