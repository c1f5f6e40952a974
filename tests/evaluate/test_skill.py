"""The cross-sectional skill of a real run: present with enough tickers a day, absent (and why) with too few."""

from __future__ import annotations

import pytest

from forecaster import artifacts
from forecaster.evaluate import skill


def test_a_run_with_enough_tickers_keeps_its_daily_skill(sample_run):
    data_dir, result = sample_run
    run_dir = result.run_dir
    daily_ic = artifacts.read_parquet(run_dir / artifacts.CROSS_SECTION)
    daily = artifacts.read_parquet(run_dir / artifacts.PORTFOLIO)
    summary = result.report["summary"]
    assert summary["cross_section"]["min_tickers"] == 2
    # Two tickers: each day's Rank IC is +1 or -1 (or undefined when a signal ties), and its mean is the summary's.
    lstm = daily_ic[(daily_ic["step"] == 1) & (daily_ic["signal"] == "lstm")]["rank_ic"].dropna()
    assert set(lstm.round(9)) <= {-1.0, 1.0}
    assert summary["cross_section"]["1"]["lstm"]["rank_ic"]["mean"] == pytest.approx(lstm.mean())
    steps = {str(s) for s in daily["step"].unique()}
    assert steps == set(result.report["tickers"]["IBM"]["metrics"])
    universe = daily[(daily["step"] == 1) & (daily["signal"] == "universe")]
    assert summary["portfolio"]["1"]["universe"]["days"] == len(universe)
    assert summary["portfolio"]["cost_bps"] == 5.0


def test_too_few_tickers_say_why_the_cross_section_is_absent(sample_run):
    _, result = sample_run
    predictions = artifacts.read_parquet(result.run_dir / artifacts.PREDICTIONS)
    prices = artifacts.read_parquet(result.run_dir / artifacts.PRICES_SNAPSHOT)
    assessed = skill.assess(predictions, prices, min_tickers=30, cost_bps=5.0)
    assert assessed.daily_ic is None and assessed.daily_returns is None
    assert assessed.cross_section == {
        "absent": "at most 2 tickers on a day; the cross-sectional tests and the "
        "portfolio need 30 (--min-cross-section)"
    }
