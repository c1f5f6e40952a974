"""Tickers that cannot be modelled or scored are found before Spark starts, with a reason a person understands."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.data.sources.csv_files import read_csv_prices
from forecaster.left_out import summary_lines
from forecaster.prepare.screen import MIN_MOVES, reason, screen
from tests.synthetic import illiquid_close

DAYS = pd.bdate_range("2015-01-02", periods=1500)
TEST_START = "2019-06-03"


def _still(share: float, seed: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"date": DAYS, "adj_close": illiquid_close(len(DAYS), share, np.random.default_rng(seed))})


def test_a_price_unchanged_on_60_percent_of_days_is_kept():
    assert reason(_still(0.6), TEST_START, 5, 0.15) is None


def test_a_price_unchanged_on_85_percent_of_days_has_a_naive_band_without_width():
    why = reason(_still(0.85), TEST_START, 5, 0.15)
    assert why is not None and why.startswith(
        "its naive 80% band has no width at step 1: the price is unchanged over 1 day on 8"
    )


def test_a_price_unchanged_on_90_percent_of_days_is_left_out():
    why = reason(_still(0.9), TEST_START, 5, 0.15)
    assert why == (
        "its adjusted close changes on only 11 of 173 validation days (it needs 20, or 50% of them: an illiquid stock)"
    )


def test_a_constant_series_is_named_as_such():
    assert reason(_still(1.0), TEST_START, 5, 0.15) == "its adjusted close never changes (a constant series)"


def test_too_few_moves_in_one_stretch_is_named_with_the_stretch():
    frame = _still(0.0)
    frame.loc[frame["date"] >= TEST_START, "adj_close"] = 20.0  # halted on the test start: no move in the test
    why = reason(frame, TEST_START, 5, 0.15)
    assert why is not None and "changes on only 1 of" in why and "test days" in why and f"needs {MIN_MOVES}" in why


def test_no_real_ticker_is_left_out(shared_data):
    """The S&P 500 members and AAPL move every week: the screen must leave none of them out."""
    sp500 = read_csv_prices(shared_data / "all_stocks_5yr.csv", on_bad_rows="drop")
    series = {t: rows[["date", "adj_close"]].reset_index(drop=True) for t, rows in sp500.groupby("ticker")}
    aapl = read_csv_prices(shared_data / "AAPL.csv")
    series["AAPL-YAHOO"] = aapl[["date", "adj_close"]]
    assert len(series) == 506
    assert screen(series, "2017-02-08", 5, 0.15) == {}


@pytest.mark.parametrize("count", [3, 40])
def test_left_out_tickers_fit_a_screen(count):
    reasons = {f"L{k:02d}": reason(_still(0.9 if k % 2 else 1.0, k), TEST_START, 5, 0.15) for k in range(count)}
    lines = summary_lines(reasons)
    if count <= 10:
        assert lines == [f"{t}: {why}" for t, why in reasons.items()]
    else:  # one line per kind of reason, counted, with a few names
        counts = [int(line.split(" ticker")[0]) for line in lines]
        assert sum(counts) == 40 and len(lines) <= 3
        assert lines[0] == (
            "20 tickers (L00, L02, L04, L06, L08, L10, L12, L14, …), e.g. L00: its adjusted close "
            "never changes (a constant series)"
        )
