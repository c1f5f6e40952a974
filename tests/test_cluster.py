"""A real Spark cluster on this machine: a standalone master, two one-core workers and a Spark Connect
server (tests/cluster.py), all on 127.0.0.1. The same commands as in local mode, by configuration only."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from forecaster import artifacts, cli
from forecaster.integrity import check_data_dir
from tests.cluster import LocalCluster
from tests.conftest import SP500_CSV
from tests.killing import Watched, new_file

TICKERS = ["AAPL", "MSFT", "IBM", "GE", "F", "XOM", "JPM", "T", "PFE", "KO",
           "PEP", "WMT", "INTC", "CSCO", "ORCL", "MRK", "CVX", "BA", "MMM", "HD"]
TINY = ["--epochs", "1", "--units", "8", "--lookback", "20", "--horizon", "3", "--ma-window", "5", "--quiet"]
# Per-ticker tests train one model per ticker: a few are enough to spread tasks over both workers.
FEW = TICKERS[:6]
# The global model trains on the driver in every mode, preparation is deterministic, and the executors score
# every window in batches of one fixed shape, so the metrics agree exactly; the tolerance only allows for the
# last bits of float arithmetic.
REL_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(workers=2, cores=1, connect=True) as running:
        yield running


@pytest.fixture(scope="module")
def sp20(tmp_path_factory):
    """A data dir with 20 real S&P tickers imported."""
    data_dir = tmp_path_factory.mktemp("sp20")
    assert cli.main(["import", "--csv", str(SP500_CSV), "--tickers", *TICKERS, "--on-bad-rows", "drop",
                     "--data-dir", str(data_dir), "--no-progress"]) == 0
    return data_dir


def _run(data_dir, report, *extra: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "forecaster", "run", "--source", "cache", "--data-dir", str(data_dir),
               "--report", str(report), *TINY, *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done


def _metrics(report_path) -> dict[tuple, float]:
    report = json.loads(report_path.read_text())
    return {(t, step, model, name): value for t, entry in report["tickers"].items()
            for step, models in entry["metrics"].items() for model, values in models.items()
            for name, value in values.items() if isinstance(value, int | float)}


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and len(a) > 1000
    for key, value in a.items():
        assert b[key] == pytest.approx(value, rel=REL_TOLERANCE, abs=1e-12), key


def test_master_and_remote_give_the_metrics_of_local_mode(cluster, sp20, tmp_path):
    _run(sp20, tmp_path / "local.json")
    _run(sp20, tmp_path / "master.json", "--master", cluster.master_url)
    _run(sp20, tmp_path / "remote.json", "--remote", cluster.connect_url)
    local = _metrics(tmp_path / "local.json")
    _assert_same(local, _metrics(tmp_path / "master.json"))
    _assert_same(local, _metrics(tmp_path / "remote.json"))


def test_per_ticker_models_train_on_the_executors_through_spark_connect(cluster, sp20, tmp_path):
    _run(sp20, tmp_path / "report.json", "--per-ticker", "--tickers", *FEW, "--remote", cluster.connect_url)
    run_dir = artifacts.latest_run_dir(sp20)
    card = artifacts.read_json(run_dir / artifacts.MODEL_CARD)
    assert card["per_ticker"] and card["failed_tickers"] == {}
    assert card["models"] == {t: f"models/{t}.keras" for t in sorted(FEW)}
    for ticker in FEW:
        assert (run_dir / "models" / f"{ticker}.keras").is_file()
        assert artifacts.read_json(run_dir / "models" / f"{ticker}.json")["ticker"] == ticker
    scores = artifacts.read_parquet(run_dir / "scores")  # scored on the executors, each by its own model
    assert sorted(scores["ticker"].unique()) == sorted(FEW)
    assert check_data_dir(sp20).ok
    before = artifacts.read_parquet(run_dir / artifacts.FORECAST)
    done = subprocess.run([sys.executable, "-m", "forecaster", "forecast", "--data-dir", str(sp20),
                           "--remote", cluster.connect_url], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    after = artifacts.read_parquet(run_dir / artifacts.FORECAST)
    pd.testing.assert_frame_equal(before, after)  # the same windows and models: the run's own forecast


def test_a_worker_killed_mid_job_does_not_lose_the_job(cluster, sp20, tmp_path):
    command = ["-m", "forecaster", "run", "--source", "cache", "--data-dir", str(sp20), *TINY, "--per-ticker",
               "--tickers", *FEW, "--master", cluster.master_url]
    watched = Watched(command, new_file(sp20, "runs/*/models/*.keras"))
    watched.wait_for_marker(600)  # the first model is written: training runs on both workers
    cluster.kill_worker(0)
    code, output = watched.finish(600)
    cluster.start_worker(0)
    assert code == 0, output[-4000:]
    run_dir = artifacts.latest_run_dir(sp20)
    models = [p.stem for p in (run_dir / "models").glob("*.keras") if not p.name.startswith(".")]
    assert sorted(models) == sorted(FEW)
    found = check_data_dir(sp20)
    assert found.ok, found.problems
