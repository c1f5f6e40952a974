"""The cross-sectional and long-horizon features: what each day's row may see, and the fills of short histories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.columns import CROSS_SECTIONAL
from forecaster.data.sources.csv_files import YAHOO_COLUMNS
from forecaster.prepare.table import add_features
from tests.synthetic import price_frame

LONG = ("return_60", "return_250", "high_52w_gap", "drift_250")
NEW = (*LONG, *CROSS_SECTIONAL)


def _prices(days: int = 300, tickers: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=days)
    frames = [
        price_frame(dates, 50 * np.exp(np.cumsum(rng.normal(0, 0.02, days))), rng)
        .rename(columns=YAHOO_COLUMNS)
        .assign(ticker=f"T{k}", date=dates.date)
        for k in range(tickers)
    ]
    return pd.concat(frames, ignore_index=True)


def _features(spark, prices: pd.DataFrame, features: tuple[str, ...] = NEW) -> pd.DataFrame:
    table = add_features(spark.createDataFrame(prices), features).toPandas()
    return table.sort_values(["ticker", "date"], ignore_index=True)


def test_no_feature_of_a_day_changes_when_any_ticker_s_later_rows_change(spark):
    prices = _prices()
    cut = prices["date"].unique()[200]
    later = prices["date"] > cut
    changed = prices.copy()
    rng = np.random.default_rng(1)
    for column in ("open", "high", "low", "close", "adj_close"):  # every ticker's later prices, moved at random
        changed.loc[later, column] *= np.exp(rng.normal(0, 0.05, int(later.sum())))
    changed.loc[later, "high"] = changed.loc[later, ["open", "high", "low", "close"]].max(axis=1)
    changed.loc[later, "low"] = changed.loc[later, ["open", "high", "low", "close"]].min(axis=1)
    before, after = _features(spark, prices), _features(spark, changed)
    upto = before["date"] <= cut
    for name in NEW:
        np.testing.assert_allclose(after.loc[upto, name], before.loc[upto, name], rtol=0, atol=0, err_msg=name)
        assert not np.allclose(after.loc[~upto, name], before.loc[~upto, name], equal_nan=True), name


def test_the_cross_section_of_a_day_is_its_tickers(spark):
    prices = _prices(days=40, tickers=5)
    table = _features(spark, prices)
    returns = np.log(prices["adj_close"] / prices.groupby("ticker")["adj_close"].shift(1))
    day = table["date"] == prices["date"].iloc[30]
    mine = returns[(prices["date"] == prices["date"].iloc[30])].to_numpy()
    assert table.loc[day, "market_return"].to_numpy() == pytest.approx(np.full(5, mine.mean()), rel=1e-12)
    assert table.loc[day, "relative_return"].to_numpy() == pytest.approx(mine - mine.mean(), abs=1e-15)
    ranks = table.loc[day, "return_rank"].to_numpy()
    assert sorted(ranks) == [0.0, 0.25, 0.5, 0.75, 1.0]  # lowest 0, highest 1
    assert ranks[np.argmax(mine)] == 1.0
    first = table["date"] == table["date"].min()  # no return yet: no rank, no relative return
    assert table.loc[first, ["return_rank", "relative_return"]].isna().all().all()


def test_one_ticker_alone_is_its_own_market(spark):
    table = _features(spark, _prices(days=40, tickers=1)).iloc[1:]
    assert np.allclose(table["relative_return"], 0.0)
    assert (table["return_rank"] == 0.5).all()
    assert np.allclose(table["volatility_relative"], 0.0)


def test_a_short_history_gets_the_change_over_the_days_there_are(spark):
    prices = _prices(days=30, tickers=2)
    table = _features(spark, prices)
    one = table[table["ticker"] == "T0"].reset_index(drop=True)
    adj = prices.loc[prices["ticker"] == "T0", "adj_close"].to_numpy()
    # 30 days, fewer than 60 and 250: the change since the first day, the highest so far, the returns so far.
    np.testing.assert_allclose(one["return_60"], np.log(adj / adj[0]), rtol=1e-12)
    np.testing.assert_allclose(one["return_250"], np.log(adj / adj[0]), rtol=1e-12)
    np.testing.assert_allclose(one["high_52w_gap"], np.log(adj / np.maximum.accumulate(adj)), rtol=1e-12, atol=1e-15)
    returns = np.diff(np.log(adj))
    np.testing.assert_allclose(one["drift_250"].iloc[1:], np.cumsum(returns) / np.arange(1, 30), rtol=1e-9)
    # The long features take no day from a short history: every day after the first is usable.
    assert one["usable"].tolist() == [False] + [True] * 29


def test_a_price_that_stands_still_has_a_finite_relative_volatility(spark):
    prices = _prices(days=60, tickers=3)
    still = prices["ticker"] == "T1"
    prices.loc[still, ["open", "high", "low", "close", "adj_close"]] = 20.0
    table = _features(spark, prices)
    still_rows = table[(table["ticker"] == "T1") & table["usable"]]
    assert np.isfinite(still_rows["volatility_relative"]).all()
    assert (still_rows["volatility_relative"] < -5).all()  # far below the market's: the floor, not -infinity
