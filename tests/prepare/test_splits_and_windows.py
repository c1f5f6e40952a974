"""Leakage guards as properties: random series, lookbacks, horizons and split dates (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecaster.columns import feature_column
from forecaster.errors import DataError
from forecaster.prepare.splits import compute_bounds, label_positions, walk_forward_folds
from forecaster.prepare.windows import make_windows, window_dataset


def _synthetic_table(n: int, a_test: int, lookback: int, horizon: int, val_share: float, tickers: int = 2):
    """A prepared-looking table for ``tickers`` tickers of ``n`` days, labelled with the real functions."""
    frames = []
    for k in range(tickers):
        bounds = compute_bounds(pd.DataFrame({"n": [n], "a_test": [a_test]}), lookback, horizon, val_share)
        pos = np.arange(n)
        frames.append(
            pd.DataFrame(
                {
                    "ticker": f"T{k}",
                    "date": pd.bdate_range("2000-01-03", periods=n),
                    "pos": pos,
                    "split": label_positions(pos, int(bounds["a_val"][0]), a_test, lookback),
                    "adj_close": 100 * np.exp(np.cumsum(np.random.default_rng(k).normal(0, 0.01, n))),
                    "target_scale": 0.01,
                    feature_column("log_return"): pos.astype(np.float32) + 1000 * k,
                }
            )
        )
    return pd.concat(frames, ignore_index=True), bounds


@st.composite
def split_cases(draw):
    lookback = draw(st.integers(1, 40))
    horizon = draw(st.integers(1, 10))
    n = draw(st.integers(4 * (lookback + horizon) + 20, 600))
    a_test = draw(st.integers(3 * (lookback + horizon) + 10, n - 2))
    val_share = draw(st.floats(0.1, 0.4))
    return n, a_test, lookback, horizon, val_share


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(split_cases())
def test_windows_never_see_their_targets_and_splits_never_share_a_row(case):
    n, a_test, lookback, horizon, val_share = case
    table, bounds = _synthetic_table(n, a_test, lookback, horizon, val_share)
    features = ("log_return",)
    touched: dict[str, set[tuple[str, int]]] = {}
    origins: dict[str, np.ndarray] = {}
    for split in ("train", "val", "test"):
        # A window needs lookback input rows and its targets inside the split (one, in the test split, whose
        # later steps may run past the data): counted from the labels, per ticker.
        rows_per_ticker = table[table["split"] == split].groupby("ticker").size()
        expected = int(np.maximum(0, rows_per_ticker - lookback - (1 if split == "test" else horizon) + 1).sum())
        if expected == 0:
            with pytest.raises(DataError, match=f"no {split} windows"):
                make_windows(table, split, features, lookback, horizon)
            continue
        windows = make_windows(table, split, features, lookback, horizon)
        assert len(windows) == expected
        # Inputs end on the origin day, strictly before the first target day.
        assert (windows.origin_date < windows.target_date[:, 0]).all()
        # The feature holds the row's position: the last input row is the origin day itself.
        last_input = windows.batch(np.arange(len(windows)))[:, -1, 0]
        origin_pos = np.busday_count(np.datetime64("2000-01-03"), windows.origin_date.astype("datetime64[D]"))
        assert np.array_equal(last_input % 1000, origin_pos)
        rows = set()
        for origin, ticker, targets in zip(origin_pos, windows.ticker, windows.target_date, strict=True):
            last = origin + int((~np.isnat(targets)).sum())
            rows.update((ticker, p) for p in range(origin - lookback + 1, last + 1))
        touched[split] = rows
        origins[split] = windows.origin_date
    assert "test" in touched  # the strategy always leaves test windows: the checks above ran
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        if a in touched and b in touched:
            assert not touched[a] & touched[b], f"{a} and {b} windows share rows"
    if "train" in origins and "val" in origins:
        gap = np.busday_count(
            origins["train"].max().astype("datetime64[D]"), origins["val"].min().astype("datetime64[D]")
        )
        assert gap >= lookback + horizon


@settings(max_examples=100, deadline=None)
@given(st.integers(200, 3000), st.integers(1, 12), st.floats(0.5, 0.95))
def test_walk_forward_folds_partition_the_test_period_and_expand(n, n_folds, test_at):
    a_test = int(n * test_at)
    bounds = pd.DataFrame({"ticker": ["T"], "n": [n], "a_test": [a_test]})
    folds = walk_forward_folds(bounds, n_folds)
    covered = np.concatenate([np.arange(f["a_test"][0], f["test_end"][0]) for f in folds])
    assert np.array_equal(covered, np.arange(a_test, n))  # every test target once, in order
    starts = [int(f["a_test"][0]) for f in folds]
    assert starts == sorted(starts)  # each fold trains on at least as much history as the one before


def test_feeder_batches_equal_the_materialised_windows_and_copy_only_a_batch():
    table, _ = _synthetic_table(400, 300, 20, 3, 0.2, tickers=3)
    windows = make_windows(table, "train", ("log_return",), 20, 3)
    full = windows.x
    assert full.shape == (len(windows), 20, 1)
    dataset = window_dataset(windows, batch_size=32, shuffle=True, seed=7)
    seen = []
    for i in range(len(dataset)):
        x, y = dataset[i]
        assert x.shape[0] <= 32 and x.nbytes <= 32 * 20 * 4
        seen.append(y)
    assert sum(len(y) for y in seen) == len(windows)
    order = dataset._order
    batch = dataset[0][0]
    assert np.array_equal(batch, full[order[:32]])
    assert not np.shares_memory(batch, windows.values)  # a copy of the batch, not a view Keras could mutate
    # The windows keep each feature row once, never an array of whole windows (n, lookback, features).
    assert windows.values.shape == ((table["split"] == "train").sum(), 1)
    assert all(a.ndim < 3 for a in vars(windows).values() if isinstance(a, np.ndarray))


def test_targets_never_come_from_the_next_ticker():
    table, _ = _synthetic_table(400, 300, 20, 5, 0.2, tickers=2)
    test = make_windows(table, "test", ("log_return",), 20, 5)
    last_of_first = test.ticker == "T0"
    assert np.isnan(test.target_price[last_of_first][-1, 1:]).all()
    dated = ~np.isnat(test.target_date[:, 0])
    assert (test.target_date[dated, 0] > test.origin_date[dated]).all()


def test_windows_cut_without_targets_have_the_same_inputs_and_scaled_changes():
    table, _ = _synthetic_table(400, 300, 20, 5, 0.2, tickers=3)
    full = make_windows(table, "train", ("log_return",), 20, 5)
    bare = make_windows(table, "train", ("log_return",), 20, 5, targets=False)
    assert np.array_equal(bare.starts, full.starts) and np.array_equal(bare.y, full.y, equal_nan=True)
    assert bare.target_date is None and bare.target_price is None
    with pytest.raises(DataError, match="without their target dates and prices"):
        bare.targets()
    assert len(bare.subset(bare.ticker == "T1")) == (full.ticker == "T1").sum()


def test_windows_come_in_ticker_order_whatever_the_order_of_the_tickers_rows():
    table, _ = _synthetic_table(400, 300, 20, 5, 0.2, tickers=3)
    reversed_tickers = pd.concat([table[table["ticker"] == t] for t in ("T2", "T0", "T1")], ignore_index=True)
    ordered, shuffled = (make_windows(t, "train", ("log_return",), 20, 5) for t in (table, reversed_tickers))
    assert list(pd.unique(shuffled.ticker)) == ["T0", "T1", "T2"]
    assert np.array_equal(ordered.batch(slice(None)), shuffled.batch(slice(None)))
    assert np.array_equal(ordered.y, shuffled.y) and np.array_equal(ordered.origin_date, shuffled.origin_date)
    apart = pd.concat([table.iloc[:100], table.iloc[500:], table.iloc[100:500]], ignore_index=True)
    with pytest.raises(DataError, match="rows are not together"):
        make_windows(apart, "train", ("log_return",), 20, 5)


@pytest.mark.parametrize("lookback,horizon,train_windows,val_windows", [(1, 1, 1442, 255), (60, 5, 1270, 242)])
def test_compute_bounds_keeps_origins_lookback_plus_horizon_apart(lookback, horizon, train_windows, val_windows):
    """The windows cut from the labels of ``compute_bounds``: as many as it says, counted by hand (2,000 days,
    the test from day 1,700, 15% of the days before it less a lookback for validation: 255 and 246 validation
    targets), and the last train origin exactly lookback + horizon days before the first validation origin (the
    train targets end where the validation inputs begin: nothing shared, nothing wasted)."""
    table, bounds = _synthetic_table(2000, 1700, lookback, horizon, 0.15, tickers=1)
    assert (int(bounds["train_windows"][0]), int(bounds["val_windows"][0])) == (train_windows, val_windows)
    cut = {split: make_windows(table, split, ("log_return",), lookback, horizon) for split in ("train", "val")}
    assert (len(cut["train"]), len(cut["val"])) == (train_windows, val_windows)
    origin = {
        split: np.busday_count(np.datetime64("2000-01-03"), w.origin_date.astype("datetime64[D]"))
        for split, w in cut.items()
    }
    assert origin["val"].min() - origin["train"].max() == lookback + horizon
