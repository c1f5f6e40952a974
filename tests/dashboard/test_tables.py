"""The written parts of the page: the verdict, the metrics table, the forecast panel, the Compare table."""

from __future__ import annotations

import pytest

from dashboard.reader import ArtifactReader
from dashboard.tables import compare_rows, fmt, forecast_rows, metrics_table, verdict


def _report(ratio: float, c80: float, c95: float) -> dict:
    return {
        "tickers": {
            "A": {"metrics": {"1": {"lstm": {"rmse_ratio_vs_naive": ratio, "coverage_80": c80, "coverage_95": c95}}}}
        }
    }


@pytest.mark.parametrize(
    ("ratio", "c80", "c95", "level", "words"),
    [
        (0.995, 0.79, 0.95, "good", "error 0.5% lower than naive's"),
        (1.02, 0.80, 0.95, "bad", "error 2.0% higher than naive's"),
        (0.99, 0.65, 0.95, "warn", "The 80% band is more than 5 points off its nominal 80%"),
        (1.0001, 0.80, 0.86, "warn", "the same as naive's"),
    ],
)
def test_the_verdict_says_in_words_whether_the_model_helps_and_the_bands_held(ratio, c80, c95, level, words):
    text, got = verdict(_report(ratio, c80, c95), "A", 1, 706)
    assert got == level and words in text and "over 706 test days" in text
    assert f"the 80% band held {c80:.0%} of days" in text


def test_metrics_table_has_models_as_columns_and_readable_metrics(published_run):
    _, result = published_run
    models, rows = metrics_table(result.report, "AAPL", [1])
    assert models == ["lstm", "naive", "drift", "moving_average", "garch"]
    by_name = {row["metric"]: row for row in rows}
    step1 = result.report["tickers"]["AAPL"]["metrics"]["1"]
    assert by_name["MAPE"]["values"]["lstm"] == step1["lstm"]["mape"] and by_name["MAPE"]["unit"] == "pct"
    assert by_name["80% band held"]["unit"] == "share" and by_name["RMSE"]["unit"] == "price"
    assert by_name["80% band held"]["values"]["drift"] is None  # drift has no band
    assert fmt(by_name["80% band held"]["values"]["lstm"], "share").endswith("%")
    assert "Naive" in by_name["MASE"]["help"] and "last close" in by_name["Lag-1 share"]["help"]
    rmse = {m: result.report["tickers"]["AAPL"]["metrics"]["1"][m]["rmse"] for m in models}
    assert by_name["RMSE"]["best"] == min(rmse, key=rmse.get)
    _, every_step = metrics_table(result.report, "AAPL", [1, 2, 3])
    assert {row["step"] for row in every_step} == {1, 2, 3}


def test_numbers_are_written_with_units_and_few_digits():
    assert fmt(0.7936, "share") == "79.4%" and fmt(1.23456, "pct") == "1.23%" and fmt(None, "price") == "–"
    assert fmt(1.0035199, "ratio") == "1.004" and fmt(0.2545207, "price") == "0.255"
    assert fmt(1234.567, "price") == "1,234.57" and fmt(-0.5, "price") == "-0.5" and fmt(float("nan"), "ratio") == "–"


def test_forecast_rows_and_the_compare_table_carry_the_forecast_files_numbers(published_run):
    data_dir, result = published_run
    view = ArtifactReader(data_dir).latest()
    forecast = view.rows(view.forecast, "AAPL").sort_values("step")
    rows = forecast_rows(forecast)
    assert [r["step"] for r in rows] == [1, 2, 3]
    first = forecast.iloc[0]
    # The forecast is the lstm column (the shrunk median), the number the command line prints: never lstm_q50.
    assert rows[0]["forecast"] == f"{first['lstm']:,.2f}"
    assert rows[0]["band_80"] == f"{first['lstm_lo80']:,.2f} – {first['lstm_hi80']:,.2f}"
    assert rows[0]["change"] == f"{first['lstm'] / first['origin_price'] - 1:+.2%}"
    (row,) = compare_rows(result.report, view.forecast, 1)
    assert row["ticker"] == "AAPL" and row["forecast"] == round(first["lstm"], 2)
    assert row["change"] == pytest.approx(first["lstm"] / first["origin_price"] - 1, abs=1e-6)
    lstm = result.report["tickers"]["AAPL"]["metrics"]["1"]["lstm"]
    assert row["rmse_ratio"] == round(lstm["rmse_ratio_vs_naive"], 4)


def test_the_model_card_names_the_tickers_left_out_and_why():
    from dashboard.layout import card_text
    from dashboard.reader import RunView

    skipped = {
        "ILLIQ100A": "its adjusted close never changes (a constant series)",
        "APTV": "only 0 usable days before the test start 2017-02-08",
    }
    card = {
        "created_at": "2026-11-30T22:00:00Z",
        "source": "csv",
        "tickers": ["AAPL"],
        "skipped_tickers": skipped,
        "failed_tickers": {},
        "data_range": {"AAPL": ["2013-02-08", "2018-02-07"]},
        "horizon": 5,
    }
    view = RunView(
        run_id="r",
        version=("r", 0.0),
        report={"tickers": {}, "summary": {}},
        card=card,
        predictions=None,
        prices=None,
        forecast=None,
    )
    lines = card_text(view).splitlines()
    assert lines[-3:] == [
        "skipped 2 tickers:",
        "  ILLIQ100A: its adjusted close never changes (a constant series)",
        "  APTV: only 0 usable days before the test start 2017-02-08",
    ]


def test_the_signal_menu_offers_the_ranking_score_only_where_the_run_trained_one():
    from dashboard.layout import _signal_options
    from dashboard.reader import RunView

    def offered(cross_section):
        report = {"tickers": {}, "summary": {"cross_section": cross_section}}
        view = RunView("r", ("r", 0.0), report, {}, None, None, None)
        return [option["value"] for option in _signal_options(view)]

    without = offered({"min_tickers": 30, "1": {"lstm": {}, "drift": {}, "reversal_1d": {}}})
    assert without == ["lstm", "drift", "reversal_1d"]
    assert "lstm_rank" in offered({"min_tickers": 30, "1": {"lstm": {}, "lstm_rank": {}}})
    assert "lstm_rank" in offered({"absent": "too few tickers"})  # nothing to chart: the tab says why
