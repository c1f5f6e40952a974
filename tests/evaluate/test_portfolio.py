"""The long-short portfolio's returns, turnover and costs, computed by hand on a small panel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.evaluate import portfolio

DAYS = pd.bdate_range("2020-01-01", periods=5)
TICKERS = [f"T{i}" for i in range(10)]


def _returns() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(rng.normal(0, 0.01, (5, 10)), index=DAYS, columns=TICKERS)


def test_one_day_tranches_hold_the_top_and_bottom_tenth_by_hand():
    returns = _returns()
    # Day 0: T9 highest, T0 lowest; day 1: the other way round.
    signal = pd.DataFrame([np.arange(10.0), -np.arange(10.0)], index=DAYS[:2], columns=TICKERS)
    daily = portfolio.long_short(signal, returns, horizon=1, cost_bps=10)
    assert list(daily.index) == list(DAYS[1:3])
    day1 = returns.loc[DAYS[1], "T9"] - returns.loc[DAYS[1], "T0"]
    day2 = returns.loc[DAYS[2], "T0"] - returns.loc[DAYS[2], "T9"]
    assert daily["gross"].tolist() == pytest.approx([day1, day2])
    # Turnover: 2 to open (1 long, 1 short), then 4 to turn both sides round.
    assert daily["turnover"].tolist() == pytest.approx([2.0, 4.0])
    assert daily["net"].tolist() == pytest.approx([day1 - 2 * 0.001, day2 - 4 * 0.001])


def test_tranches_overlap_over_the_horizon():
    returns = _returns()
    signal = pd.DataFrame([np.arange(10.0), -np.arange(10.0)], index=DAYS[:2], columns=TICKERS)
    daily = portfolio.long_short(signal, returns, horizon=2, cost_bps=0)
    # Day 1 holds half of tranche 0; day 2 half of each (they cancel); day 3 half of tranche 1.
    r = returns
    expected = [
        0.5 * (r.loc[DAYS[1], "T9"] - r.loc[DAYS[1], "T0"]),
        0.0,
        0.5 * (r.loc[DAYS[3], "T0"] - r.loc[DAYS[3], "T9"]),
    ]
    assert list(daily.index) == list(DAYS[1:4])
    assert daily["gross"].tolist() == pytest.approx(expected, abs=1e-15)
    assert daily["turnover"].tolist() == pytest.approx([1.0, 1.0, 1.0])


def test_a_signal_that_does_not_vary_holds_nothing_and_the_universe_holds_everything():
    returns = _returns()
    flat = pd.DataFrame([np.zeros(10)], index=DAYS[:1], columns=TICKERS)
    assert (portfolio.long_short(flat, returns, horizon=1)["gross"] == 0).all()
    held = portfolio.universe(returns, DAYS[0], DAYS[2])
    assert held["gross"].tolist() == pytest.approx(returns.loc[DAYS[1:3]].mean(axis=1).tolist())


def test_performance_is_the_annualised_figures_by_hand():
    daily = pd.DataFrame(
        {"gross": [0.01, -0.005, 0.002, 0.004], "net": [0.009, -0.006, 0.001, 0.003], "turnover": [2.0, 2.0, 2.0, 2.0]}
    )
    figures = portfolio.performance(daily)
    net = daily["net"].to_numpy()
    assert figures["annual_return_net"] == pytest.approx(np.prod(1 + net) ** (252 / 4) - 1)
    assert figures["ir_net"] == pytest.approx(net.mean() / net.std(ddof=1) * np.sqrt(252))
    assert figures["max_drawdown"] == pytest.approx((1.009 * 0.994) / 1.009 - 1)
    assert figures["hit_rate"] == 0.75 and figures["turnover"] == 2.0


def _first_ranks(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Each row's ranks, lowest first, ties in column order and missing values last: a stable sort."""
    order = np.argsort(np.where(present, values, np.inf), axis=1, kind="stable")
    ranks = np.empty(values.shape, np.int64)
    np.put_along_axis(ranks, order, np.arange(1, values.shape[1] + 1)[None, :], axis=1)
    return ranks


@pytest.mark.parametrize("levels", [None, 4, 1], ids=["distinct values", "ties", "all equal"])
def test_decile_weights_rank_ties_in_column_order_with_missing_values(levels):
    # Without a sort, the picks of a stable sort of each row: ties in column order, missing values never picked.
    rng = np.random.default_rng(5)
    values = rng.normal(size=(30, 40)) if levels is None else rng.integers(0, levels, (30, 40)).astype(float)
    values[rng.random((30, 40)) < 0.2] = np.nan
    values[3, :] = np.nan  # a day without a signal
    values[4, 1:] = np.nan  # and one with a single ticker
    signal = pd.DataFrame(values)
    present = ~np.isnan(values)
    k = np.maximum(1, np.floor(present.sum(axis=1) * portfolio.DECILE)).astype(int)[:, None]
    top = _first_ranks(-values, present) <= k
    bottom = _first_ranks(values, present) <= k
    if levels == 1:  # a day whose signal does not vary holds nothing, whichever it would pick
        top[:], bottom[:] = False, False
    expected = np.where(present, (top.astype(float) - bottom) / k, 0.0)
    np.testing.assert_array_equal(portfolio.decile_weights(signal).to_numpy(), expected)
