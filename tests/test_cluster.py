"""A real Spark cluster on this machine: a standalone master, two one-core workers and a Spark Connect
server (tests/cluster.py), all on 127.0.0.1. The same commands as in local mode, by configuration only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from forecaster import artifacts, cli, config
from forecaster.jobs.check import check_data_dir
from tests.cluster import LocalCluster
from tests.conftest import SP500_CSV
from tests.killing import Watched, new_file

pytestmark = [pytest.mark.cluster, pytest.mark.spark]

#: Real S&P tickers: enough to spread every job's tasks over both workers, few enough to train in seconds.
TICKERS = ["AAPL", "MSFT", "IBM", "GE"]
TINY = [
    "--epochs",
    "1",
    "--units",
    "8",
    "--members",
    "1",
    "--lookback",
    "20",
    "--horizon",
    "3",
    "--ma-window",
    "5",
    "--quiet",
]
# Per-ticker tests train one model per ticker: a few are enough to spread tasks over both workers.
FEW = TICKERS
# The global model trains on the driver in every mode, preparation is deterministic, and the executors score
# every window in batches of one fixed shape, so the metrics agree exactly; the tolerance only allows for the
# last bits of float arithmetic.
REL_TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def cluster():
    # Every JVM with the local driver's options (C1 only): these jobs are seconds long, and a cluster's five
    # JVMs compiling with C2 beside the other tests' work cost more than they gain. Eight shuffle partitions, as
    # the Connect server has, for every application: Spark's 200 are 200 tasks a stage for four tickers.
    with (
        LocalCluster(
            workers=2,
            cores=1,
            connect=True,
            jvm_options=config.DEFAULT_SPARK_JAVA_OPTIONS,
            spark_defaults={"spark.sql.shuffle.partitions": "8"},
        ) as running,
        pytest.MonkeyPatch.context() as env,
    ):
        for key, value in running.client_env.items():  # the test's own runs and spark-submit start JVMs too
            env.setenv(key, value)
        yield running


@pytest.fixture(scope="module")
def sp_data(tmp_path_factory, shared_data):
    """A data dir with the real S&P tickers imported."""
    data_dir = tmp_path_factory.mktemp("sp_data")
    assert (
        cli.main(
            [
                "import",
                "--csv",
                str(SP500_CSV),
                "--tickers",
                *TICKERS,
                "--on-bad-rows",
                "drop",
                "--data-dir",
                str(data_dir),
                "--no-progress",
            ]
        )
        == 0
    )
    return data_dir


def _run(data_dir, report, *extra: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "forecaster",
        "run",
        "--source",
        "cache",
        "--data-dir",
        str(data_dir),
        "--report",
        str(report),
        *TINY,
        *extra,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done


def _metrics(report_path) -> dict[tuple, float]:
    report = json.loads(report_path.read_text())
    return {
        (t, step, model, name): value
        for t, entry in report["tickers"].items()
        for step, models in entry["metrics"].items()
        for model, values in models.items()
        for name, value in values.items()
        if isinstance(value, int | float)
    }


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys() and len(a) > 500
    for key, value in a.items():
        assert b[key] == pytest.approx(value, rel=REL_TOLERANCE, abs=1e-12), key


@pytest.fixture(scope="module")
def local_metrics(sp_data, tmp_path_factory) -> dict[tuple, float]:
    """The metrics of the same run in local mode: what every cluster mode must reproduce."""
    report = tmp_path_factory.mktemp("local") / "local.json"
    _run(sp_data, report)
    return _metrics(report)


def test_remote_gives_the_metrics_of_local_mode(cluster, sp_data, local_metrics, tmp_path):
    _run(sp_data, tmp_path / "remote.json", "--remote", cluster.connect_url)
    _assert_same(local_metrics, _metrics(tmp_path / "remote.json"))


def test_per_ticker_models_train_on_the_executors_and_survive_a_killed_worker(cluster, sp_data, tmp_path):
    """``--per-ticker`` with ``--master``: one model per ticker trained on the executors, and a worker killed
    once the first model is written (training runs on both workers then) does not lose the job: Spark runs its
    tasks again on the other. Then ``forecast`` through Spark Connect scores with those models and reproduces
    the run's own forecast."""
    command = [
        "-m",
        "forecaster",
        "run",
        "--source",
        "cache",
        "--data-dir",
        str(sp_data),
        *TINY,
        "--per-ticker",
        "--tickers",
        *FEW,
        "--master",
        cluster.master_url,
    ]
    watched = Watched(command, new_file(sp_data, "runs/*/models/*.keras"))
    watched.wait_for_marker(600)
    # The first model is written and the run is still training (the wait also ends when the process does).
    assert watched.marker() and watched.process.poll() is None, "the run ended before a worker could be killed"
    cluster.kill_worker(0)
    assert watched.process.poll() is None  # it was killed under a running job
    code, output = watched.finish(600)
    cluster.start_worker(0)
    assert code == 0, output[-4000:]
    run_dir = artifacts.latest_run_dir(sp_data)
    card = artifacts.read_json(run_dir / artifacts.MODEL_CARD)
    assert card["per_ticker"] and card["failed_tickers"] == {}
    assert card["models"] == {t: f"models/{t}.keras" for t in sorted(FEW)}
    models = [p.stem for p in (run_dir / "models").glob("*.keras") if not p.name.startswith(".")]
    assert sorted(models) == sorted(FEW)
    for ticker in FEW:
        assert artifacts.read_json(run_dir / "models" / f"{ticker}.json")["ticker"] == ticker
    scores = artifacts.read_parquet(run_dir / "scores")  # scored on the executors, each by its own model
    assert sorted(scores["ticker"].unique()) == sorted(FEW)
    found = check_data_dir(sp_data)
    assert found.ok, found.problems
    before = artifacts.read_parquet(run_dir / artifacts.FORECAST)
    done = subprocess.run(
        [sys.executable, "-m", "forecaster", "forecast", "--data-dir", str(sp_data), "--remote", cluster.connect_url],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    after = artifacts.read_parquet(run_dir / artifacts.FORECAST)
    pd.testing.assert_frame_equal(before, after)  # the same windows and models: the run's own forecast


#: What the recipe of docs/spark-cluster.md leaves out: Spark's jars (the cluster has its own) and what only the
#: driver, the dashboard, the notebooks or the tests use.
DRIVER_ONLY = [
    "pyspark/jars",
    "playwright",
    "plotly",
    "dash",
    "dash_ag_grid",
    "jupyterlab",
    "IPython",
    "jedi",
    "babel",
    "debugpy",
    "bokeh_sampledata",
    "curl_cffi",
    "lxml",
]
#: Beyond the recipe: what requirements-mlflow and requirements-dev add to the test's environment (tracking runs
#: on the driver; linters and the docs toolchain nowhere): 235 MB of the 1,589 the executor would fetch and unpack.
DEV_ONLY = ["mlflow", "databricks", "sqlalchemy", "mypy", "mypyc", "sphinx", "pydata_sphinx_theme", "mutmut", "libcst"]
EXCLUDE_FROM_PACK = [
    *(option for name in DRIVER_ONLY + DEV_ONLY for option in ("--exclude", f"lib/python*/site-packages/{name}/*")),
    *("--exclude", "lib/python*/site-packages/*__mypyc*.so", "--exclude", "bin/ruff", "--exclude", "share/jupyter/*"),
]


def test_spark_submit_with_the_environment_shipped_gives_the_metrics_of_local_mode(
    cluster, sp_data, local_metrics, tmp_path
):
    """The recipe of docs/spark-cluster.md: venv-pack this environment, ship it with --archives, and point the
    executors' Python at the unpacked copy; spark-submit's --master applies (the default local[*] does not
    override it), and the run on the cluster gives the metrics of local mode (the ``--master`` option itself is
    the per-ticker test's)."""
    # .tar.gz: Spark's unpacking of a plain .tar refuses the venv's symlink to its base Python. Level 0: the
    # test need not wait for compression. Spark's jars and the browser driver are of no use to a Python worker.
    packed = tmp_path / "forecaster-env.tar.gz"
    subprocess.run(
        [
            str(Path(sys.prefix) / "bin" / "venv-pack"),
            "-p",
            sys.prefix,
            "-o",
            str(packed),
            "-q",
            "--compress-level",
            "0",
            *EXCLUDE_FROM_PACK,
        ],
        check=True,
        timeout=600,
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYSPARK_")}
    env.update(PYTHONPATH=str(config.PROJECT_ROOT), PYSPARK_DRIVER_PYTHON=sys.executable)
    # One executor: it is what proves the archive is unpacked and used; a second would unpack 1.35 GB again.
    command = [
        str(Path(sys.prefix) / "bin" / "spark-submit"),
        "--master",
        cluster.master_url,
        "--conf",
        "spark.cores.max=1",
        "--archives",
        f"{packed}#env",
        "--conf",
        "spark.pyspark.python=./env/bin/python",
        "--conf",
        f"spark.pyspark.driver.python={sys.executable}",
        str(config.PROJECT_ROOT / "forecaster" / "__main__.py"),
        "run",
        "--source",
        "cache",
        "--data-dir",
        str(sp_data),
        "--report",
        str(tmp_path / "submitted.json"),
        *TINY,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-4000:]
    _assert_same(local_metrics, _metrics(tmp_path / "submitted.json"))
    # The tasks ran on the cluster's executors (not in a local[*] driver) with ./env/bin/python - the archive
    # unpacked in each executor's working folder; with no such file, every Python task would have failed.
    assert list(cluster.dir.glob("work-*/app-*/*/env/bin/python"))
