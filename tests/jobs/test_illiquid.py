"""Illiquid tickers (prices unchanged on most days) in a universe: skipped or scored with named reasons, never fatal."""

from __future__ import annotations

import pytest

from forecaster import artifacts
from forecaster.evaluate.report_files import read_report
from forecaster.jobs.run import RunOptions, run
from forecaster.left_out import card_lines
from tests.conftest import TINY_MODEL
from tests.synthetic import write_tickers

#: Ticker -> the share of days its price stands still.
UNIVERSE = {"LIQA": 0.0, "LIQB": 0.0, "LIQC": 0.0, "STILL60": 0.6, "STILL90": 0.9, "STILL100": 1.0}


@pytest.fixture(scope="module")
def illiquid_run(spark, tmp_path_factory):
    folder = tmp_path_factory.mktemp("illiquid")
    paths = write_tickers(folder / "csv", UNIVERSE, days=900, first="2016-01-04")
    result = run(
        RunOptions(
            source="csv",
            csv_paths=[str(p) for p in paths],
            model=TINY_MODEL,
            data_dir=folder / "data",
            verbose=0,
            test_start="2019-01-02",
            min_cross_section=2,
        )
    )
    return result, artifacts.read_json(result.run_dir / artifacts.MODEL_CARD)


@pytest.mark.slow
def test_tickers_that_cannot_be_scored_are_skipped_with_their_reason(illiquid_run):
    result, card = illiquid_run
    assert set(card["skipped_tickers"]) == {"STILL90", "STILL100"}
    assert card["skipped_tickers"]["STILL100"] == "its adjusted close never changes (a constant series)"
    assert "illiquid stock" in card["skipped_tickers"]["STILL90"]
    assert set(result.report["tickers"]) == {"LIQA", "LIQB", "LIQC", "STILL60"}
    assert card_lines(card)[0] == "skipped 2 tickers:"


@pytest.mark.slow
def test_a_ticker_still_on_most_days_is_scored_with_every_undefined_metric_named(illiquid_run):
    result, _ = illiquid_run
    text = (result.run_dir / artifacts.REPORT).read_text()
    assert "NaN" not in text and "Infinity" not in text
    report = read_report(result.run_dir)
    assert report == result.report
    for ticker, entry in report["tickers"].items():
        for by_model in entry["metrics"].values():
            for name, metrics in by_model.items():
                nulls = {k for k, v in metrics.items() if v is None}
                assert nulls == set(metrics.get("undefined", {})), (ticker, name)
    medians = result.report["summary"]["median_rmse_ratio_vs_naive"]
    assert all(value is not None and 0.5 < value < 2 for value in medians.values())
