"""The information coefficient on panels built to have a known correlation, and the anchors by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.evaluate import cross_section
from forecaster.evaluate.anchors import anchor_signals


def _panel(days: int, tickers: int, realised, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=(days, tickers))
    return pd.DataFrame(
        {
            "ticker": np.tile([f"T{i}" for i in range(tickers)], days),
            "step": 1,
            "origin_date": np.repeat(pd.bdate_range("2020-01-01", periods=days), tickers),
            "lstm": signal.ravel(),
            "realised": realised(signal, rng).ravel(),
        }
    )


def test_a_signal_that_is_the_outcome_has_an_ic_of_one_and_its_opposite_minus_one():
    exact = cross_section.daily_ic(_panel(20, 40, lambda s, _: s))
    assert exact["ic"].to_numpy() == pytest.approx(1.0) and exact["rank_ic"].to_numpy() == pytest.approx(1.0)
    opposite = cross_section.daily_ic(_panel(20, 40, lambda s, _: -3 * s))
    assert opposite["ic"].to_numpy() == pytest.approx(-1.0)
    # Spearman sees through any rising transform; Pearson does not.
    curved = cross_section.daily_ic(_panel(20, 40, lambda s, _: np.exp(3 * s)))
    assert curved["rank_ic"].to_numpy() == pytest.approx(1.0) and (curved["ic"] < 0.9).all()


def test_the_ic_of_a_noisy_signal_is_its_known_correlation():
    # realised = signal + noise of variance 3: the correlation is 1 / sqrt(1 + 3) = 0.5.
    daily = cross_section.daily_ic(_panel(400, 200, lambda s, rng: s + rng.normal(0, np.sqrt(3), s.shape)))
    assert daily["ic"].mean() == pytest.approx(0.5, abs=0.01)
    # Each day's IC by hand (numpy's correlation of the day's two columns).
    frame = _panel(400, 200, lambda s, rng: s + rng.normal(0, np.sqrt(3), s.shape))
    first = frame[frame["origin_date"] == frame["origin_date"].min()]
    assert daily["ic"].iloc[0] == pytest.approx(np.corrcoef(first["lstm"], first["realised"])[0, 1])
    ranks = first[["lstm", "realised"]].rank()
    assert daily["rank_ic"].iloc[0] == pytest.approx(np.corrcoef(ranks["lstm"], ranks["realised"])[0, 1])


def test_the_summary_is_the_daily_values_mean_std_and_t():
    daily = cross_section.daily_ic(_panel(60, 50, lambda s, rng: s + rng.normal(0, 3, s.shape)))
    ic = daily["ic"].to_numpy()
    stats = cross_section.summary(daily)["1"]["lstm"]["ic"]
    assert stats["mean"] == pytest.approx(ic.mean()) and stats["std"] == pytest.approx(ic.std(ddof=1))
    assert stats["icir"] == pytest.approx(ic.mean() / ic.std(ddof=1))
    assert stats["t"] == pytest.approx(ic.mean() / ic.std(ddof=1) * np.sqrt(60))
    assert stats["t_nw"] == pytest.approx(ic.mean() / np.sqrt(np.mean((ic - ic.mean()) ** 2) / 60))  # step 1: no lag
    assert stats["share_positive"] == pytest.approx(np.mean(ic > 0)) and stats["days"] == 60


def test_days_with_too_few_tickers_and_signals_that_abstain_have_no_ic():
    frame = _panel(10, 40, lambda s, _: s)
    few = cross_section.daily_ic(frame[frame["ticker"].isin(["T1", "T2", "T3"])], min_tickers=30)
    assert few.empty
    frame["drift"] = 0.0  # the same for every ticker: nothing ranked
    daily = cross_section.daily_ic(frame)
    assert daily[daily["signal"] == "drift"]["ic"].isna().all()
    assert cross_section.summary(daily)["1"]["drift"]["abstains"]


def test_the_anchors_are_past_returns_by_hand():
    close = [100.0, 102.0, 101.0, 99.0, 100.0, 103.0, 104.0] + [105.0] * 20
    prices = pd.DataFrame({"ticker": "A", "date": pd.bdate_range("2020-01-01", periods=len(close)), "close": close})
    anchors = anchor_signals(prices).set_index("origin_date")
    day = prices["date"].iloc[6]
    assert anchors.loc[day, "reversal_1d"] == pytest.approx(-(104 / 103 - 1))
    assert anchors.loc[day, "reversal_5d"] == pytest.approx(-(104 / 102 - 1))  # five days before: 102
    assert np.isnan(anchors.loc[day, "momentum_20d"])  # not 20 days of history yet
    assert anchors["momentum_20d"].iloc[-1] == pytest.approx(105 / close[-21] - 1)


@pytest.mark.parametrize("seed", range(3))
def test_ranks_within_each_day_are_pandas_ranks_with_ties_and_gaps(seed):
    # Days of different sizes, values drawn from a few levels (many ties), some missing or infinite.
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 7, 400)
    values = rng.integers(0, 12, 400).astype(float)
    values[rng.random(400) < 0.15] = np.nan
    values[rng.random(400) < 0.03] = np.inf
    other = rng.normal(size=400)  # a second column ranked in the same call, on its own
    other[rng.random(400) < 0.3] = np.nan
    got = cross_section.ranks_by_group(group, values, other)
    for column, ranks in zip((values, other), got, strict=True):
        expected = pd.Series(np.where(np.isfinite(column), column, np.nan)).groupby(group).rank().to_numpy()
        np.testing.assert_array_equal(ranks, expected)


def test_equal_values_on_two_days_are_ranked_on_each_day_alone():
    # Day 0's highest equals day 1's lowest, with no gap between them in the table of days.
    (ranks,) = cross_section.ranks_by_group(np.array([0, 0, 1, 1]), np.array([1.0, 2.0, 2.0, 3.0]))
    np.testing.assert_array_equal(ranks, [1.0, 2.0, 1.0, 2.0])


def _joined_by_merge(predictions: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """The signal frame as a pandas left join builds it: the reference for the positional one."""
    rows = predictions[["ticker", "origin_date", "step", "origin_price", "actual", "lstm", "drift"]].copy()
    rows["ticker"] = rows["ticker"].astype(str)
    rows["realised"] = rows["actual"] / rows["origin_price"] - 1
    for signal in ("lstm", "drift"):
        rows[signal] = rows[signal] / rows["origin_price"] - 1
    rows = rows.merge(anchor_signals(prices), on=["ticker", "origin_date"], how="left")
    return rows.drop(columns=["origin_price", "actual"])


def test_the_signal_frame_is_the_left_join_of_the_anchors_row_for_row():
    rng = np.random.default_rng(3)
    days = pd.bdate_range("2021-01-01", periods=40)
    prices = pd.DataFrame(
        [(t, d, 100 * np.exp(rng.normal(0, 0.02))) for t in "ABCD" for d in days], columns=["ticker", "date", "close"]
    )
    prices = prices[~((prices["ticker"] == "D") & (prices["date"] < days[30]))]  # D starts late: no anchors
    origins = days[25:35]
    predictions = pd.DataFrame(
        [(t, d, s) for t in "DBCAE" for s in (1, 2) for d in origins], columns=["ticker", "origin_date", "step"]
    )  # E has no prices at all; the rows in no particular order
    predictions = predictions.sample(frac=1.0, random_state=0).reset_index(drop=True)
    for column in ("origin_price", "actual", "lstm", "drift"):
        predictions[column] = rng.uniform(90, 110, len(predictions))
    ours = cross_section.signal_frame(predictions, prices)
    pd.testing.assert_frame_equal(ours, _joined_by_merge(predictions, prices))
    assert ours["momentum_20d"].isna().sum() > 0 and ours["reversal_1d"].notna().sum() > 0


def test_a_ticker_twice_on_one_day_in_the_prices_is_named_not_joined_twice():
    days = pd.bdate_range("2021-01-01", periods=5)
    prices = pd.DataFrame({"ticker": "A", "date": [*days, days[-1]], "close": 100.0})
    predictions = pd.DataFrame(
        {"ticker": ["A"], "origin_date": [days[-1]], "step": [1], "origin_price": 100.0, "actual": 101.0}
    )
    with pytest.raises(ValueError, match=f"the prices hold A twice on {days[-1]:%Y-%m-%d}"):
        cross_section.signal_frame(predictions, prices)
