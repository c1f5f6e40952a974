"""Spark preparation on real prices: splits, scaling from train rows only, and no leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster import artifacts, cache
from forecaster.errors import DataError
from forecaster.preparation import feature_column, prepare
from forecaster.sources import load_prices
from forecaster.windows import make_windows, read_prepared
from tests.conftest import AAPL_CSV

LOOKBACK, HORIZON = 30, 5
FEATURES = ("log_return", "open_rel", "high_rel", "low_rel", "log_volume")


@pytest.fixture(scope="module")
def prepared(spark, tmp_path_factory):
    """AAPL (real) and IBM, MSFT (sample) prepared with the book's test start."""
    data_dir = tmp_path_factory.mktemp("prep")
    prices = pd.concat([load_prices("csv", csv_paths=[str(AAPL_CSV)]), load_prices("sample", ["IBM", "MSFT"])])
    paths = cache.write_prices(data_dir, prices, "test", "test")
    result = prepare(spark, paths, data_dir / "prepared", lookback=LOOKBACK, horizon=HORIZON,
                     test_start="2012-06-01", features=FEATURES)
    return result, read_prepared(result.table_path, FEATURES), prices


def _rows_touched(windows, table):
    """(ticker, date) of every input and target row of every window."""
    touched = set()
    by_ticker = {t: g.reset_index(drop=True) for t, g in table.groupby("ticker")}
    for ticker, origin, targets in zip(windows.ticker, windows.origin_date, windows.target_date, strict=True):
        rows = by_ticker[ticker]
        end = int(np.flatnonzero(rows["date"].to_numpy() == origin)[0])
        touched.update((ticker, d) for d in rows["date"].iloc[end - LOOKBACK + 1:end + 1])
        touched.update((ticker, d) for d in targets if not pd.isna(d))
    return touched


def test_splits_are_contiguous_in_order_and_start_at_test_start(prepared):
    result, table, _ = prepared
    for ticker, rows in table.groupby("ticker"):
        order = rows.sort_values("pos")["split"].tolist()
        assert order == sorted(order, key=["train", "val", "test"].index), ticker
        test_rows = rows[rows["split"] == "test"].sort_values("pos")
        # The first LOOKBACK test rows are lead-in inputs; targets start on the first day >= test start.
        assert test_rows["date"].iloc[LOOKBACK] == rows.loc[rows["date"] >= "2012-06-01", "date"].min()
        assert test_rows["date"].iloc[LOOKBACK - 1] < pd.Timestamp("2012-06-01")


def test_no_window_sees_its_target_and_splits_share_no_row(prepared):
    _, table, _ = prepared
    windows = {s: make_windows(table, s, FEATURES, LOOKBACK, HORIZON) for s in ("train", "val", "test")}
    for split, w in windows.items():
        first_target = w.target_date[:, 0]
        assert (w.origin_date < first_target).all(), split
        assert (np.diff(w.target_date.astype("int64"), axis=1)[~np.isnat(w.target_date[:, 1:])] > 0).all()
    train, val, test = (_rows_touched(windows[s], table) for s in ("train", "val", "test"))
    assert not train & test
    assert not train & val
    assert not val & test
    assert pd.Timestamp("2012-06-01") > max(d for _, d in train)


def test_window_inputs_are_the_rows_before_the_origin(prepared):
    _, table, _ = prepared
    test = make_windows(table, "test", FEATURES, LOOKBACK, HORIZON)
    aapl = table[table["ticker"] == "AAPL"].reset_index(drop=True)
    i = 17
    end = int(np.flatnonzero(aapl["date"].to_numpy() == test.origin_date[i])[0])
    expected = aapl.loc[end - LOOKBACK + 1:end, list(map(feature_column, FEATURES))].to_numpy(np.float32)
    assert np.array_equal(test.x[i], expected)
    assert test.target_price[i, 0] == aapl.loc[end + 1, "adj_close"]


def test_scaler_statistics_come_from_train_rows_only(prepared):
    result, table, prices = prepared
    stats = artifacts.read_parquet(result.scaling_path).set_index("ticker")
    for ticker in ("AAPL", "IBM"):
        rows = prices[prices["ticker"] == ticker].sort_values("date").reset_index(drop=True)
        log_return = np.log(rows["adj_close"] / rows["adj_close"].shift(1)).iloc[1:]
        train_dates = set(table.loc[(table["ticker"] == ticker) & (table["split"] == "train"), "date"])
        in_train = rows["date"].iloc[1:].isin(train_dates).to_numpy()
        assert stats.loc[ticker, "log_return_mean"] == pytest.approx(log_return[in_train].mean(), rel=1e-9)
        assert stats.loc[ticker, "log_return_std"] == pytest.approx(log_return[in_train].std(ddof=0), rel=1e-9)
        assert max(train_dates) < pd.Timestamp("2012-06-01")


def test_too_short_ticker_is_skipped_with_its_reason(spark, tmp_path):
    prices = load_prices("sample", ["FB", "IBM"])  # FB has 196 days
    paths = cache.write_prices(tmp_path, prices, "test", "test")
    result = prepare(spark, paths, tmp_path / "out", lookback=LOOKBACK, horizon=HORIZON, test_start="2012-12-01")
    assert result.bounds["ticker"].tolist() == ["IBM"]
    assert "FB" in result.skipped and "days before the test start" in result.skipped["FB"]


@pytest.mark.parametrize("test_start", ["1990-01-01", "2030-01-01"])
def test_test_start_outside_the_data_is_refused(spark, tmp_path, test_start):
    paths = cache.write_prices(tmp_path, load_prices("sample", ["IBM"]), "test", "test")
    with pytest.raises(DataError, match="outside the data"):
        prepare(spark, paths, tmp_path / "out", lookback=LOOKBACK, horizon=HORIZON, test_start=test_start)
