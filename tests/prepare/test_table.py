"""Spark preparation on real prices: splits, scaling from train rows only, and no leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecaster import artifacts
from forecaster.columns import feature_column
from forecaster.data import cache
from forecaster.data.sources import load_prices
from forecaster.errors import DataError
from forecaster.prepare.table import prepare
from forecaster.prepare.windows import make_windows, read_prepared
from tests.conftest import AAPL_CSV

LOOKBACK, HORIZON = 30, 5
FEATURES = ("log_return", "open_rel", "high_rel", "low_rel", "log_volume")


@pytest.fixture(scope="module")
def prepared(spark, tmp_path_factory, shared_data):
    """AAPL (real) and IBM, MSFT (sample) prepared with the book's test start."""
    data_dir = tmp_path_factory.mktemp("prep")
    prices = pd.concat([load_prices("csv", csv_paths=[str(AAPL_CSV)]), load_prices("sample", ["IBM", "MSFT"])])
    paths = cache.write_prices(data_dir, prices, "test", "test")
    result = prepare(
        spark,
        paths,
        data_dir / "prepared",
        lookback=LOOKBACK,
        horizon=HORIZON,
        test_start="2012-06-01",
        features=FEATURES,
    )
    return result, read_prepared(result.table_path, FEATURES), prices


def _rows_touched(windows, table):
    """(ticker, date) of every input and target row of every window."""
    touched = set()
    by_ticker = {t: g.reset_index(drop=True) for t, g in table.groupby("ticker", observed=True)}
    for ticker, origin, targets in zip(windows.ticker, windows.origin_date, windows.target_date, strict=True):
        rows = by_ticker[ticker]
        end = int(np.flatnonzero(rows["date"].to_numpy() == origin)[0])
        touched.update((ticker, d) for d in rows["date"].iloc[end - LOOKBACK + 1 : end + 1])
        touched.update((ticker, d) for d in targets if not pd.isna(d))
    return touched


def test_splits_are_contiguous_in_order_and_start_at_test_start(prepared):
    result, table, _ = prepared
    for ticker, rows in table.groupby("ticker", observed=True):
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
    expected = aapl.loc[end - LOOKBACK + 1 : end, list(map(feature_column, FEATURES))].to_numpy(np.float32)
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


SP_TICKERS = ["AAPL", "AMZN", "APTV", "BHF", "CSRA", "GOOGL", "JPM", "MSFT", "XOM", "FTV"]


@pytest.fixture(scope="module")
def sp_cache(tmp_path_factory, shared_data):
    """Ten real S&P 500 tickers, short histories among them, in a cache."""
    from forecaster.data.ingest import import_csv
    from tests.conftest import SP500_CSV

    data_dir = tmp_path_factory.mktemp("sp")
    import_csv([SP500_CSV], data_dir, tickers=SP_TICKERS, on_bad_rows="drop", progress=False)
    return data_dir


def test_spark_preparation_equals_the_pandas_reference(spark, sp_cache, tmp_path):
    from forecaster.prepare.table import AVAILABLE_FEATURES
    from tests.reference_preparation import prepare_pandas

    paths = [cache.prices_path(sp_cache, t) for t in SP_TICKERS]
    result = prepare(
        spark, paths, tmp_path, lookback=LOOKBACK, horizon=HORIZON, test_start="2017-02-08", features=AVAILABLE_FEATURES
    )
    spark_table = read_prepared(result.table_path, AVAILABLE_FEATURES)
    prices = cache.load_cached(sp_cache, SP_TICKERS)
    table, stats, bounds, skipped = prepare_pandas(
        prices, lookback=LOOKBACK, horizon=HORIZON, test_start="2017-02-08", val_share=0.15, features=AVAILABLE_FEATURES
    )
    assert sorted(result.skipped) == sorted(skipped) == ["APTV", "BHF", "FTV"]
    assert "too few days for the features" in result.skipped["APTV"]
    assert result.bounds["ticker"].tolist() == bounds["ticker"].tolist()
    table = table.sort_values(["ticker", "pos"], ignore_index=True)
    assert spark_table["split"].tolist() == table["split"].tolist()
    assert spark_table["date"].tolist() == table["date"].tolist()
    for column in ["adj_close", "target_scale", *map(feature_column, AVAILABLE_FEATURES)]:
        np.testing.assert_allclose(spark_table[column], table[column], rtol=1e-9, atol=1e-12, err_msg=column)
    # ma_gap_50 needs 50 days: the first usable row of each ticker is its 50th day.
    for ticker, first in spark_table.groupby("ticker", observed=True)["date"].min().items():
        assert first == prices.loc[prices["ticker"] == ticker, "date"].sort_values().iloc[49], ticker


@st.composite
def _series_cases(draw):
    n = draw(st.integers(400, 700))
    lookback = draw(st.integers(2, 30))
    horizon = draw(st.integers(1, 8))
    test_at = draw(st.integers(300, n - 5))
    seed = draw(st.integers(0, 10_000))
    return n, lookback, horizon, test_at, seed


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(_series_cases())
def test_spark_splits_respect_the_guards_on_random_series(spark, tmp_path, case):
    n, lookback, horizon, test_at, seed = case
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2010-01-04", periods=n)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    prices = pd.DataFrame(
        {
            "ticker": "RND",
            "date": dates,
            "open": close * rng.uniform(0.98, 1.02, n),
            "close": close,
            "adj_close": close,
            "volume": rng.integers(1_000, 9_000, n).astype(float),
        }
    )
    prices["high"] = prices[["open", "close"]].max(axis=1) * 1.01
    prices["low"] = prices[["open", "close"]].min(axis=1) * 0.99
    out = tmp_path / f"case-{seed}-{n}-{lookback}-{horizon}-{test_at}"
    paths = cache.write_prices(out, prices, "synthetic", "none")
    test_start = f"{dates[test_at]:%Y-%m-%d}"
    result = prepare(
        spark, paths, out / "prep", lookback=lookback, horizon=horizon, test_start=test_start, features=FEATURES
    )
    table = read_prepared(result.table_path, FEATURES)
    windows = {s: make_windows(table, s, FEATURES, lookback, horizon) for s in ("train", "val", "test")}
    for w in windows.values():
        assert (w.origin_date < w.target_date[:, 0]).all()
    first_input = {s: table.loc[table["split"] == s, "date"].min() for s in ("val", "test")}
    assert np.nanmax(windows["train"].target_date) < first_input["val"]
    assert np.nanmax(windows["val"].target_date) < first_input["test"]
    assert windows["test"].target_date[0, 0] == dates[test_at]
    stats = artifacts.read_parquet(result.scaling_path).iloc[0]
    log_return = np.log(prices["adj_close"] / prices["adj_close"].shift(1))
    train_days = prices["date"].isin(table.loc[table["split"] == "train", "date"])
    assert stats["log_return_mean"] == pytest.approx(log_return[train_days].mean(), rel=1e-9, abs=1e-15)
    assert stats["log_return_std"] == pytest.approx(log_return[train_days].std(ddof=0), rel=1e-9)


def test_forward_fill_policy_carries_the_previous_day(spark, tmp_path):
    prices = load_prices("sample", ["IBM"])
    path = cache.write_prices(tmp_path, prices, "test", "test")[0]
    frame = artifacts.read_parquet(path)
    frame.loc[100, ["close", "adj_close"]] = None
    holey = tmp_path / "holey.parquet"
    artifacts.write_parquet(holey, frame)
    dropped = prepare(spark, [holey], tmp_path / "drop", lookback=LOOKBACK, horizon=HORIZON, missing="drop")
    filled = prepare(spark, [holey], tmp_path / "ffill", lookback=LOOKBACK, horizon=HORIZON, missing="ffill")
    assert int(filled.bounds["n"][0]) == int(dropped.bounds["n"][0]) + 1
    day = pd.Timestamp(frame.loc[100, "date"])
    kept = read_prepared(filled.table_path, filled.features)
    row = kept[pd.to_datetime(kept["date"]) == day]
    assert row["adj_close"].tolist() == [frame.loc[99, "adj_close"]]  # the day before's price, carried
    assert day not in set(pd.to_datetime(read_prepared(dropped.table_path, dropped.features)["date"]))


def test_walk_forward_fold_trains_before_its_test_part(spark, tmp_path):
    paths = cache.write_prices(tmp_path, load_prices("sample", ["IBM"]), "test", "test")
    whole = prepare(spark, paths, tmp_path / "whole", lookback=LOOKBACK, horizon=HORIZON, test_start="2011-03-01")
    second = prepare(
        spark, paths, tmp_path / "fold", lookback=LOOKBACK, horizon=HORIZON, test_start="2011-03-01", n_folds=3, fold=1
    )
    n, a_test = int(whole.bounds["n"][0]), int(whole.bounds["a_test"][0])
    part = (n - a_test) // 3
    assert int(second.bounds["a_test"][0]) == a_test + part
    table = read_prepared(second.table_path, FEATURES)
    test = make_windows(table, "test", FEATURES, LOOKBACK, HORIZON)
    assert len(test) == part  # one step-1 target per day of the fold's part
    assert table["pos"].max() == a_test + 2 * part - 1
    assert table.loc[table["split"] == "train", "pos"].max() < a_test + part - LOOKBACK
