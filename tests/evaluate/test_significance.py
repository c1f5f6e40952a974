"""The tests of a difference from naive, pinned against statsmodels and arch called directly, and by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.diagnostic import pesaran_timmermann
from statsmodels.tsa.stattools import diebold_mariano_test

from forecaster.evaluate import significance


def _ticker(rng: np.random.Generator, days: int = 250, skill: float = 0.0, steps: int = 2) -> pd.DataFrame:
    """One ticker's backtest rows: a random walk; the model sees ``skill`` of the next change."""
    price = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, days + steps)))
    rows = []
    for step in range(1, steps + 1):
        origin, actual = price[:days], price[step : days + step]
        change = actual - origin
        rows.append(
            pd.DataFrame(
                {
                    "ticker": "A",
                    "step": step,
                    "target_date": pd.bdate_range("2020-01-01", periods=days),
                    "origin_price": origin,
                    "actual": actual,
                    "naive": origin,
                    "lstm": origin + skill * change + (1 - skill) * rng.normal(0, 0.5, days),
                    "drift": origin * 1.0001,
                    "moving_average": origin * 0.999,
                    "garch": origin * 1.00005,
                    "lstm_lo80": origin - 2,
                    "lstm_hi80": origin + 2,
                    "naive_lo80": origin - 3,
                    "naive_hi80": origin + 3,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_the_diebold_mariano_p_value_is_statsmodels_on_the_same_losses():
    rng = np.random.default_rng(3)
    rows = _ticker(rng, skill=0.3)
    at = rows[rows["step"] == 2]
    stat, p = significance.diebold_mariano((at["actual"] - at["lstm"]) ** 2, (at["actual"] - at["naive"]) ** 2, 2)
    direct = diebold_mariano_test(at["actual"], at["lstm"], at["naive"], harvey_adj=True, horizon=2)
    assert (stat, p) == pytest.approx((direct.statistic, direct.pvalue))
    tests = significance.ticker_tests(rows).set_index(["step", "model"])
    assert tests.loc[(2, "lstm"), "dm_p_vs_naive"] == pytest.approx(direct.pvalue)
    assert tests.loc[(2, "lstm"), "dm_stat"] < 0 and tests.loc[(2, "lstm"), "in_mcs_90"]
    assert pd.isna(tests.loc[(2, "naive"), "dm_stat"])  # naive is not tested against itself
    pt = pesaran_timmermann(at["actual"] - at["origin_price"], at["lstm"] - at["origin_price"]).pvalue
    assert tests.loc[(2, "lstm"), "pt_p"] == pytest.approx(pt)


def test_a_forecast_equal_to_naive_abstains_and_is_a_tie_never_a_loss():
    rng = np.random.default_rng(4)
    rows = _ticker(rng)
    rows["lstm"] = rows["naive"]  # a shrinkage of 0
    tests = significance.ticker_tests(rows)
    lstm = tests[tests["model"] == "lstm"]
    assert lstm["abstains"].all() and lstm["dm_p_vs_naive"].isna().all() and lstm["pt_p"].isna().all()
    by_step = significance.summary(tests)
    assert by_step["1"]["abstains"] and by_step["1"]["share_worse"] == 0 and by_step["1"]["share_better"] == 0
    assert significance.verdict_vs_naive(None, None, True) == "tie (abstains)"


def test_benjamini_hochberg_by_hand():
    # Sorted 0.01, 0.03, 0.04, 0.2 times 4/rank: 0.04, 0.06, 0.0533, 0.2; then each the least of itself and those
    # ranked after it.
    adjusted = significance.benjamini_hochberg([0.01, 0.04, 0.03, 0.2, None])
    assert adjusted[:4] == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.2]) and adjusted[4] is None


def test_the_summary_counts_tickers_better_and_worse_after_the_correction():
    tests = pd.DataFrame(
        {
            "ticker": list("ABCDE"),
            "step": 1,
            "model": "lstm",
            "dm_stat": [-3.0, -2.0, 2.5, 0.1, None],
            "dm_p_vs_naive": [0.001, 0.04, 0.004, 0.9, None],
            "in_mcs_90": [True, True, False, True, True],
            "abstains": [False] * 4 + [True],
        }
    )
    # BH over the four defined p-values: 0.004, 0.008, 0.0533, 0.9: A and C stay below 5%, B does not.
    step1 = significance.summary(tests)["1"]
    assert step1 == {
        "tickers": 5,
        "share_better": 0.2,
        "share_worse": 0.2,
        "share_abstains": 0.2,
        "abstains": False,
        "share_in_mcs_90": 0.8,
    }


def test_the_model_confidence_set_is_arch_s():
    from arch.bootstrap import MCS

    rng = np.random.default_rng(5)
    losses = pd.DataFrame(
        {"a": rng.normal(1.0, 0.3, 250) ** 2, "b": rng.normal(1.0, 0.3, 250) ** 2, "c": rng.normal(1.6, 0.3, 250) ** 2}
    )
    direct = MCS(losses.to_numpy(), size=0.1, reps=significance.MCS_REPS, seed=significance.MCS_SEED)
    direct.compute()
    assert significance.mcs_members(losses) == {losses.columns[i] for i in direct.included} == {"a", "b"}


def _universe(rng: np.random.Generator) -> pd.DataFrame:
    """Tickers as a universe holds them: most with a year of days, some with a short history, one whose forecast
    abstains (it is naive's), one without GARCH on one step, one too short for the MCS, one with real skill."""
    frames = []
    for k in range(40):
        days = 250 if k < 30 else (120 if k < 38 else 8)
        frame = _ticker(rng, days=days, skill=0.6 if k == 3 else 0.0, steps=3).assign(ticker=f"T{k:02d}")
        width = rng.uniform(1.5, 3.5, len(frame))  # bands that breathe, as real ones do
        frame["garch_lo80"], frame["garch_hi80"] = frame["garch"] - width, frame["garch"] + width
        frame["lstm_lo80"], frame["lstm_hi80"] = frame["lstm"] - 0.8 * width, frame["lstm"] + 0.8 * width
        frames.append(frame)
    frames[5]["lstm"] = frames[5]["naive"]  # abstains
    frames[6].loc[frames[6]["step"] == 2, "garch"] = np.nan  # GARCH failed at one step: no row, no MCS member
    return pd.concat(frames, ignore_index=True)


def test_every_ticker_at_once_gives_each_ticker_s_own_tests():
    """The arrays of ``every_ticker_tests`` against statsmodels' and arch's functions called ticker by ticker."""
    predictions = _universe(np.random.default_rng(3))
    # Rows, not a concat of frames: a ticker whose tests are all NaN would set off pandas' all-NA dtype warning.
    one_by_one = pd.DataFrame(
        [row for _, rows in predictions.groupby("ticker") for row in significance.ticker_tests(rows).to_dict("records")]
    )
    at_once = significance.every_ticker_tests(predictions)
    keys = ["ticker", "step", "model"]
    assert at_once[keys].values.tolist() == one_by_one[keys].values.tolist()
    for field in ("dm_stat", "dm_p_vs_naive", "dm_is80_p_vs_naive", "pt_p"):
        expected = one_by_one[field].astype(float).to_numpy()
        got = at_once[field].astype(float).to_numpy()
        assert np.array_equal(np.isnan(expected), np.isnan(got)), field
        assert got[~np.isnan(got)] == pytest.approx(expected[~np.isnan(expected)], rel=1e-9, abs=1e-12), field
    for field in ("in_mcs_90", "abstains"):
        assert at_once[field].tolist() == one_by_one[field].tolist(), field
    assert not at_once.loc[at_once["ticker"] == "T03", "in_mcs_90"].all()  # naive leaves the set of the skilled one
