"""The baselines' edges by hand: drift without a history, the moving average's window passed through, each of the
naive band's four quantiles in its own place (test_evaluate.py checks the baselines on clean numbers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.errors import DataError
from forecaster.evaluate.baselines import BAND_CHUNK, all_baselines, drift, naive, naive_band_quantiles, naive_bands
from forecaster.prepare.windows import Windows
from tests.synthetic import hand_windows

#: One-day log changes 0, 0.001, ..., 0.040 (41 of them, shuffled): numpy's default (linear) quantile at q sits at
#: position 40 q of the sorted changes, so the 2.5%, 10%, 90% and 97.5% quantiles are 0.001, 0.004, 0.036, 0.039.
RAMP = np.random.default_rng(0).permutation(np.arange(41) / 1000)
RAMP_QUANTILES = [0.001, 0.004, 0.036, 0.039]


def _windows(origin_pos: np.ndarray | None = None, first_price: np.ndarray | None = None) -> Windows:
    """Three one-step windows (lookback 2) over prices 9, 10, 11, 10.5, 12, tickers T, U, T."""
    return hand_windows(("T", "U", "T"), origin_pos, first_price)


@pytest.mark.parametrize("missing", ["origin_pos", "first_price"])
def test_drift_without_positions_or_first_prices_asks_for_the_data_to_be_prepared_again(missing):
    windows = _windows()
    setattr(windows, missing, None)  # either one alone is enough to make the slope unknowable
    with pytest.raises(
        DataError,
        match="^the random walk with drift needs each window's position and its ticker's first price: "
        "prepare the data again with this version$",
    ):
        drift(windows)


def test_drift_at_a_tickers_first_day_is_naive():
    # Position 0: no daily change is known yet, so the slope is 0, not a default step of 1.
    windows = _windows(origin_pos=np.array([0, 0, 0]), first_price=np.array([10.0, 11.0, 10.5]))
    assert drift(windows).tolist() == naive(windows).tolist() == [[10.0], [11.0], [10.5]]


def test_all_baselines_use_the_moving_average_window_they_are_given():
    # A one-day moving average is the origin's price; the default window (more than the lookback) would be 2 days.
    assert all_baselines(_windows(), 1)["moving_average"].tolist() == [[10.0], [11.0], [10.5]]


def test_naive_band_quantiles_are_the_four_band_quantiles_per_step_in_ticker_order():
    prices = 100 * np.exp(np.concatenate([[0.0], np.cumsum(RAMP)]))
    train = pd.DataFrame({"ticker": ["U"] * 42 + ["T"] * 42, "adj_close": np.concatenate([prices, prices / 2])})
    quantiles = naive_band_quantiles(train, horizon=2)
    assert list(quantiles) == ["T", "U"]  # sorted, whatever the order of the rows
    for ticker in ("T", "U"):
        assert len(quantiles[ticker]) == 2  # one row per step, no more
        assert quantiles[ticker][0] == pytest.approx(RAMP_QUANTILES, abs=1e-12)


def test_naive_band_quantiles_are_numpys_quantiles_for_tickers_of_any_length():
    """The padded, row-sorted table gives what ``np.quantile`` gives ticker by ticker (to NumPy's log's last
    bit); across more tickers than one chunk, rows out of ticker order, and a ticker too short for the longer
    steps."""
    rng = np.random.default_rng(0)
    lengths = [int(n) for n in rng.integers(4, 400, BAND_CHUNK + 5)] + [2]
    frames = [
        pd.DataFrame({"ticker": f"T{k:03d}", "adj_close": 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))})
        for k, n in enumerate(lengths)
    ]
    train = pd.concat(frames[::-1], ignore_index=True)
    found = naive_band_quantiles(train, horizon=3)
    assert list(found) == sorted(f"T{k:03d}" for k in range(len(lengths)))
    for k in (0, 7, BAND_CHUNK + 1):
        log_price = np.log(frames[k]["adj_close"].to_numpy())
        for h in (1, 3):
            expected = np.quantile(log_price[h:] - log_price[:-h], [0.025, 0.1, 0.9, 0.975])
            assert found[f"T{k:03d}"][h - 1] == pytest.approx(expected.tolist(), rel=1e-13, abs=0)
    short = found[f"T{len(lengths) - 1:03d}"]  # two prices: one 1-day change, no 3-day one
    assert short[0] == [short[0][0]] * 4 and np.isnan(short[2]).all()


def test_naive_band_quantiles_read_float32_prices_in_float64():
    prices = (100 * np.exp(np.concatenate([[0.0], np.cumsum(RAMP)]))).astype(np.float32)
    train = pd.DataFrame({"ticker": "T", "adj_close": prices})
    log_price = np.log(prices.astype(np.float64))
    expected = np.quantile(log_price[1:] - log_price[:-1], [0.025, 0.1, 0.9, 0.975])
    # The float32 prices themselves, but their logs in float64: float32 logs are off by about 1e-7.
    assert naive_band_quantiles(train, horizon=1)["T"][0] == pytest.approx(expected, rel=1e-12, abs=0)


def test_naive_band_quantiles_skip_a_ticker_category_without_rows():
    prices = 100 * np.exp(np.concatenate([[0.0], np.cumsum(RAMP)]))
    train = pd.DataFrame({"ticker": pd.Categorical(["T"] * 42, categories=["S", "T"]), "adj_close": prices})
    assert list(naive_band_quantiles(train, horizon=1)) == ["T"]


def test_each_naive_band_is_its_own_quantile_around_the_origin():
    lo95, lo80, hi80, hi95 = -0.2, -0.1, 0.1, 0.3
    bands = naive_bands(_windows(), {"T": [[lo95, lo80, hi80, hi95]], "U": [[-0.02, -0.01, 0.01, 0.03]]})
    assert set(bands) == {"naive_lo95", "naive_lo80", "naive_hi80", "naive_hi95"}
    t_origins = np.array([10.0, 10.5])  # windows 0 and 2 are T's
    for name, change in (("naive_lo95", lo95), ("naive_lo80", lo80), ("naive_hi80", hi80), ("naive_hi95", hi95)):
        assert bands[name][[0, 2], 0] == pytest.approx(t_origins * np.exp(change), rel=1e-12), name
    assert bands["naive_hi95"][1, 0] == pytest.approx(11.0 * np.exp(0.03), rel=1e-12)  # U's own quantiles


def test_a_ticker_without_quantiles_has_no_naive_band():
    bands = naive_bands(_windows(), {"T": [[-0.2, -0.1, 0.1, 0.3]]})
    assert np.isnan(bands["naive_lo80"][1, 0]) and not np.isnan(bands["naive_lo80"][[0, 2], 0]).any()
