"""The band backtests, against the published tables (Kupiec via Jorion; the Basel Committee) and by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forecaster.evaluate import band_backtest as bb


@pytest.mark.parametrize(
    ("days", "p", "lowest", "highest"),
    [
        # Jorion, Value at Risk (3rd ed.), table 6-2, after Kupiec (1995): the exception counts not rejected at 95%.
        (255, 0.025, 3, 11),
        (510, 0.025, 7, 20),
        (1000, 0.025, 16, 35),
        (255, 0.05, 7, 20),
        (510, 0.05, 17, 35),
        (1000, 0.05, 38, 64),
        (255, 0.10, 17, 35),
        (510, 0.10, 39, 64),
        (1000, 0.10, 82, 119),
        (510, 0.01, 2, 10),
        (1000, 0.01, 5, 16),
    ],
)
def test_kupiec_accepts_the_counts_of_the_published_table(days, p, lowest, highest):
    accepted = [x for x in range(days // 2) if bb.kupiec_pof(x, days, p) > 0.05]
    assert (min(accepted), max(accepted)) == (lowest, highest)


def test_the_traffic_light_is_the_basel_committees():
    # Basel Committee (1996), table 2: 250 days of 99% value-at-risk.
    zones = [bb.traffic_light(x, 250, 0.01) for x in range(12)]
    assert zones == ["green"] * 5 + ["yellow"] * 5 + ["red"] * 2


def test_christoffersen_by_hand():
    hits = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0])
    n00, n01, n10, n11 = bb.transitions(hits)
    assert (n00, n01, n10, n11) == (10, 3, 3, 3)  # counted by hand over the 19 pairs of days
    pi0, pi1, pi = 3 / 13, 3 / 6, 6 / 19
    lr_ind = -2 * (
        (10 + 3) * math.log(1 - pi)
        + 6 * math.log(pi)
        - (10 * math.log(1 - pi0) + 3 * math.log(pi0) + 3 * math.log(1 - pi1) + 3 * math.log(pi1))
    )
    x, n, p = 6, 20, 0.1
    lr_pof = -2 * ((n - x) * math.log(1 - p) + x * math.log(p) - (n - x) * math.log(1 - x / n) - x * math.log(x / n))
    p_ind, p_cc = bb.christoffersen(hits, p)
    assert p_ind == pytest.approx(_chi2_sf(lr_ind, 1))
    assert p_cc == pytest.approx(_chi2_sf(lr_pof + lr_ind, 2))


def _chi2_sf(x: float, df: int) -> float:
    """The chi-squared survival function for 1 or 2 degrees of freedom, written out."""
    return math.erfc(math.sqrt(x / 2)) if df == 1 else math.exp(-x / 2)


def test_a_tail_counts_its_own_exceptions():
    actual = np.array([10.0, 8.0, 12.0, 10.0, 7.0])
    lower = bb.backtest(actual, np.full(5, 9.0), "lo", 80)
    upper = bb.backtest(actual, np.full(5, 11.0), "hi", 80)
    assert (lower["exceptions"], upper["exceptions"], lower["days"], lower["expected"]) == (2, 1, 5, 0.5)
    assert lower["zone"] == bb.traffic_light(2, 5, 0.1)


def test_the_whole_backtest_at_once_gives_each_series_own_numbers():
    import pandas as pd

    rng = np.random.default_rng(2)
    frames = []
    for ticker in ("A", "B"):
        for step in (1, 2):
            actual = 100 + rng.normal(0, 1, 60)
            frames.append(
                pd.DataFrame(
                    {
                        "ticker": ticker,
                        "step": step,
                        "actual": actual,
                        "target_date": pd.bdate_range("2020-01-01", periods=60)[::-1],
                        "lstm_lo80": np.full(60, 99.0),
                        "lstm_hi80": np.full(60, 101.5),
                        "lstm_lo95": np.full(60, 98.0),
                        "lstm_hi95": np.full(60, 102.0),
                    }
                )
            )
    table = bb.backtests(pd.concat(frames, ignore_index=True))
    assert len(table) == 2 * 2 * 4  # tickers x steps x tails of the one banded model
    for frame in frames:
        rows = frame.sort_values("target_date")
        ticker, step = frame["ticker"].iloc[0], int(frame["step"].iloc[0])
        for tail, (level, side) in bb.TAILS.items():
            one = bb.backtest(rows["actual"].to_numpy(), rows[f"lstm_{tail}"].to_numpy(), side, level)
            row = table[(table["ticker"] == ticker) & (table["step"] == step) & (table["tail"] == tail)].iloc[0]
            for field in bb.FIELDS:
                assert row[field] == pytest.approx(one[field]) if field != "zone" else row[field] == one[field]
