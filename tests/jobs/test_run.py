"""The main job end to end on the real AAPL file, and the report contract other tools rely on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecaster import artifacts
from forecaster.cli import main
from forecaster.evaluate.report_files import read_report
from forecaster.model.network import load_model
from tests.conftest import AAPL_CSV, TINY_MODEL


def test_report_follows_the_contract(published_run):
    _, result = published_run
    report = result.report
    aapl = report["tickers"]["AAPL"]
    assert (aapl["test_start"], aapl["test_end"], aapl["n_test"]) == ("2017-01-03", "2018-04-30", 333)
    assert list(aapl["metrics"]) == [str(s) for s in range(1, TINY_MODEL.horizon + 1)]
    common = {
        "rmse",
        "mae",
        "mape",
        "smape",
        "mase",
        "directional_accuracy",
        "rmse_ratio_vs_naive",
        "dm_stat",
        "dm_p_vs_naive",
        "dm_is80_p_vs_naive",
        "pt_p",
        "in_mcs_90",
    }
    banded = {f"{name}_{level}" for name in ("coverage", "width", "interval_score") for level in (80, 95)} | {"bands"}
    for by_model in aapl["metrics"].values():
        assert set(by_model) == {"lstm", "naive", "drift", "moving_average", "garch"}
        for name, entry in by_model.items():
            extra = {"lstm": banded | {"lag1_share", "pinball"}, "naive": banded, "garch": banded}.get(name, set())
            assert set(entry) - {"undefined"} == common | extra | ({"vs_naive"} if name != "naive" else set()), name
            # Every null has its reason beside it.
            assert {k for k, v in entry.items() if v is None} == set(entry.get("undefined", {})), name
        for name in ("lstm", "naive", "garch"):
            entry = by_model[name]
            assert 0 <= entry["coverage_80"] <= entry["coverage_95"] <= 1, name
            assert 0 < entry["width_80"] < entry["width_95"] <= entry["interval_score_95"], name
            assert set(entry["bands"]) == {"lo80", "hi80", "lo95", "hi95"}
            assert entry["bands"]["lo80"]["days"] > 330 and entry["bands"]["lo80"]["zone"] in ("green", "yellow", "red")
        assert by_model["lstm"]["vs_naive"] in ("better", "worse", "no significant difference", "tie (abstains)")
        assert by_model["naive"]["dm_p_vs_naive"] is None and isinstance(by_model["lstm"]["in_mcs_90"], bool)
    summary = report["summary"]
    for key in ("median_rmse_ratio_vs_naive", "share_beating_naive", "median_coverage_80", "median_coverage_95"):
        assert set(summary[key]) == set(aapl["metrics"]), key
    for key in ("median_interval_score_ratio_vs_naive", "share_interval_score_beating_naive"):
        assert set(summary[key]) == {"lstm", "garch"}
        assert set(summary[key]["lstm"]) == set(aapl["metrics"])
        assert set(summary[key]["garch"]["1"]) == {"80", "95"}
    assert set(summary["significance"]) == set(aapl["metrics"]) == set(summary["abstains"])
    assert set(summary["significance"]["1"]) == {
        "tickers",
        "share_better",
        "share_worse",
        "share_abstains",
        "abstains",
        "share_in_mcs_90",
    }
    assert set(summary["band_zones"]) == {"lstm", "naive", "garch"}
    # One ticker: nothing to rank across, and the report says why.
    assert "--min-cross-section" in summary["cross_section"]["absent"] and "absent" in summary["portfolio"]


def test_naive_rmse_matches_an_independent_computation(published_run):
    _, result = published_run
    raw = pd.read_csv(AAPL_CSV, parse_dates=["Date"])
    change = raw["Adj Close"].diff()
    in_test = raw["Date"] >= "2017-01-01"
    expected = float(np.sqrt(np.mean(change[in_test] ** 2)))
    assert result.report["tickers"]["AAPL"]["metrics"]["1"]["naive"]["rmse"] == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(2.00, abs=0.01)  # the book's chapter quotes about $2.00


def test_run_publishes_complete_artifacts(published_run):
    data_dir, result = published_run
    assert artifacts.latest_run_dir(data_dir) == result.run_dir
    for name in (artifacts.MODEL, artifacts.MODEL_CARD, artifacts.PREDICTIONS, artifacts.REPORT):
        assert (result.run_dir / name).is_file(), name
    assert read_report(result.run_dir) == result.report  # report.json, metrics.parquet and bands.parquet
    card = artifacts.read_json(result.run_dir / artifacts.MODEL_CARD)
    assert card["lookback"] == TINY_MODEL.lookback and card["tickers"] == ["AAPL"]
    assert card["versions"]["keras_backend"] == "jax"
    assert (data_dir / "prices" / "AAPL.parquet").is_file()
    assert not list(data_dir.rglob("*.tmp*"))


def test_saved_model_loads_safely_and_reproduces_the_predictions(published_run):
    from forecaster.prepare.windows import make_windows, read_prepared

    data_dir, result = published_run
    model = load_model(result.run_dir / artifacts.MODEL)
    card = artifacts.read_json(result.run_dir / artifacts.MODEL_CARD)
    table = read_prepared(result.run_dir / artifacts.PREPARED_TABLE, tuple(card["features"]))
    test = make_windows(table, "test", tuple(card["features"]), card["lookback"], card["horizon"])
    quantiles = model.predict(test.x, verbose=0)
    shrink = card["intervals"]["shrink"]["global"]
    prices = test.to_prices(quantiles[..., 2] * np.asarray(shrink)[None, :])  # the shrunk median
    saved = artifacts.read_parquet(result.run_dir / artifacts.PREDICTIONS)
    step1 = saved[saved["step"] == 1].sort_values("origin_date")
    assert prices[:, 0] == pytest.approx(step1["lstm"].to_numpy(), rel=1e-5)
    assert test.to_prices(quantiles[..., 4])[:, 0] == pytest.approx(step1["lstm_q975"].to_numpy(), rel=1e-5)


def test_predictions_are_beside_naive_on_the_same_dates(published_run):
    _, result = published_run
    saved = artifacts.read_parquet(result.run_dir / artifacts.PREDICTIONS)
    assert {
        "ticker",
        "origin_date",
        "target_date",
        "step",
        "actual",
        "lstm",
        "naive",
        "drift",
        "moving_average",
        "lstm_lo80",
        "lstm_hi80",
        "lstm_lo95",
        "lstm_hi95",
        "garch",
        "lstm_q025",
        "lstm_q10",
        "lstm_q50",
        "lstm_q90",
        "lstm_q975",
        *(f"{m}_{side}{level}" for m in ("naive", "garch") for side in ("lo", "hi") for level in (80, 95)),
    } <= set(saved.columns)
    ordered = saved[["lstm_lo95", "lstm_lo80", "lstm_hi80", "lstm_hi95"]].to_numpy()
    assert (np.diff(ordered, axis=1) >= 0).all()
    assert (saved["naive_lo80"] < saved["naive"]).all() and (saved["garch_lo95"] < saved["garch_lo80"]).all()
    assert (saved["naive"] == saved["origin_price"]).all()
    assert saved[["lstm", "naive", "actual"]].notna().all().all()
    assert (pd.to_datetime(saved["origin_date"]) < pd.to_datetime(saved["target_date"])).all()


def test_run_from_the_cache_needs_no_source(spark, tmp_path, shared_data):
    from forecaster.data.ingest import import_csv

    import_csv([AAPL_CSV], tmp_path, progress=False)
    code = main(
        [
            "run",
            "--source",
            "cache",
            "--tickers",
            "AAPL",
            "--test-start",
            "2017-01-01",
            "--lookback",
            "20",
            "--horizon",
            "1",
            "--epochs",
            "1",
            "--units",
            "4",
            "--layers",
            "1",
            "--quiet",
            "--data-dir",
            str(tmp_path),
        ]
    )
    assert code == 0
    card = artifacts.read_json(artifacts.latest_run_dir(tmp_path) / artifacts.MODEL_CARD)
    assert card["source"] == "cache" and card["data"]["AAPL"]["source"] == "csv:AAPL.csv"
