"""Experiment tracking: a published run logged to MLflow, against a local file store."""

from __future__ import annotations

import os

import pytest

from forecaster import artifacts
from forecaster.jobs import tracking


def test_a_run_is_logged_with_its_settings_metrics_card_report_and_model(sample_run, tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow", reason="pip install -r requirements-mlflow.txt")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps the file store for local use
    _, result = sample_run
    card = artifacts.read_json(result.run_dir / artifacts.MODEL_CARD)
    uri = f"file://{tmp_path / 'mlruns'}"
    mlflow_run_id = tracking.log_run(uri, result.run_dir, result.report, card)
    assert mlflow_run_id is not None

    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    logged = client.get_run(mlflow_run_id)
    assert logged.data.tags["forecaster.run_id"] == result.run_dir.name
    assert logged.data.params["lookback"] == str(card["lookback"]) and logged.data.params["n_tickers"] == "2"
    summary = result.report["summary"]
    assert logged.data.metrics["median_rmse_ratio_vs_naive_step1"] == pytest.approx(
        summary["median_rmse_ratio_vs_naive"]["1"]
    )
    assert logged.data.metrics["garch_median_rmse_ratio_vs_naive_step3"] == pytest.approx(
        summary["baselines_median_rmse_ratio_vs_naive"]["garch"]["3"]
    )
    names = {a.path for a in client.list_artifacts(mlflow_run_id)}
    assert {"model_card.json", "report.json", "model"} <= names
    # The quantile network and the ranking model (the sample run ranks its two tickers).
    assert [a.path for a in client.list_artifacts(mlflow_run_id, "model")] == [
        "model/model.keras",
        "model/rank_model.keras",
    ]


def test_an_unreachable_tracking_server_leaves_the_run_published(sample_run, caplog, monkeypatch):
    pytest.importorskip("mlflow", reason="pip install -r requirements-mlflow.txt")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # MLflow retries for minutes by default
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    _, result = sample_run
    card = artifacts.read_json(result.run_dir / artifacts.MODEL_CARD)
    assert tracking.log_run("http://127.0.0.1:9", result.run_dir, result.report, card) is None
    assert "was not logged to MLflow" in caplog.text
    assert (result.run_dir / artifacts.REPORT).is_file()
    # Nothing leaks into the environment of later commands (MLflow's set_tracking_uri would set this).
    assert "MLFLOW_TRACKING_URI" not in os.environ
