"""The GARCH(1,1)-t baseline: fitted on train returns only, filtered forward without seeing later prices, and
bands that cover their level on a series that really is GARCH."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster.evaluate import garch

PARAMS = {"mu": 0.05, "omega": 0.02, "alpha[1]": 0.08, "beta[1]": 0.9, "nu": 6.0}


def _simulated_prices(n: int, seed: int = 0) -> np.ndarray:
    returns = _simulate(n, seed)
    return 100 * np.exp(np.concatenate([[0.0], np.cumsum(returns / garch.RETURN_SCALE)]))


def _simulate(n: int, seed: int) -> np.ndarray:
    """Percent returns of GARCH(1,1) with standardised t errors and ``PARAMS``."""
    rng = np.random.default_rng(seed)
    nu = PARAMS["nu"]
    shocks = rng.standard_t(nu, n + 500) * np.sqrt((nu - 2) / nu)
    variance = PARAMS["omega"] / (1 - PARAMS["alpha[1]"] - PARAMS["beta[1]"])
    out = np.empty(n + 500)
    for t in range(n + 500):
        out[t] = PARAMS["mu"] + np.sqrt(variance) * shocks[t]
        variance = PARAMS["omega"] + PARAMS["alpha[1]"] * (out[t] - PARAMS["mu"]) ** 2 + PARAMS["beta[1]"] * variance
    return out[500:]


def test_the_fit_recovers_the_process_from_train_prices():
    prices = _simulated_prices(3000)
    params = garch.fit(prices, n_train=3000)
    assert params["alpha[1]"] + params["beta[1]"] == pytest.approx(0.98, abs=0.03)
    assert params["nu"] == pytest.approx(6.0, abs=2.5)


def test_an_origins_forecast_never_sees_a_later_price():
    prices = _simulated_prices(1200, seed=1)
    before = garch.variances(prices, PARAMS, 5, first_origin=800)
    changed = prices.copy()
    changed[1001:] *= 3  # a crash after origin 1000
    after = garch.variances(changed, PARAMS, 5, first_origin=800)
    assert before.shape == (len(prices) - 800, 5)  # origins 800 .. the last price
    np.testing.assert_array_equal(before[:201], after[:201])  # origins 800 .. 1000
    assert not np.allclose(before[202:], after[202:])


@pytest.mark.parametrize("level", [80, 95])
def test_bands_cover_their_level_on_a_garch_series(level):
    prices = _simulated_prices(6000, seed=2)
    params = garch.fit(prices, n_train=3000)
    horizon, first = 3, 3000
    variance = garch.variances(prices, params, horizon, first)
    origins = np.arange(first, len(prices) - horizon)
    columns = garch.forecasts(prices[origins], variance[: len(origins)], np.full(len(origins), "T"), {"T": params})
    for step in (1, 3):
        actual = prices[origins + step]
        covered = np.mean(
            (actual >= columns[f"garch_lo{level}"][:, step - 1]) & (actual <= columns[f"garch_hi{level}"][:, step - 1])
        )
        assert covered == pytest.approx(level / 100, abs=0.03)


def test_a_ticker_without_a_fit_gets_no_forecast():
    per_origin = pd.DataFrame({"ticker": ["A"], "pos": [5], "variance": [np.ones(2)]})

    class Windows:
        y = np.zeros((2, 2))
        ticker = np.array(["A", "B"])
        origin_pos = np.array([5, 5])
        origin_price = np.array([10.0, 20.0])

    columns = garch.for_windows(per_origin, {"A": PARAMS}, Windows())
    assert np.isfinite(columns["garch"][0]).all() and np.isnan(columns["garch"][1]).all()
    assert (columns["garch_lo95"][0] < columns["garch_lo80"][0]).all()
