"""Faults tried on purpose: runs at once on one data dir, and what a reader sees meanwhile."""

from __future__ import annotations

import subprocess
import sys
import time

import pandas as pd
import pytest

from forecaster import artifacts
from forecaster.data import cache
from forecaster.data.ingest import store_sample
from forecaster.evaluate import report_files
from forecaster.jobs.check import check_data_dir
from forecaster.jobs.run import RunOptions, run
from tests.conftest import TINY_MODEL
from tests.killing import kill_after, new_file

pytestmark = [pytest.mark.slow, pytest.mark.spark]

TINY_RUN = [
    "--lookback",
    "20",
    "--horizon",
    "2",
    "--epochs",
    "1",
    "--units",
    "4",
    "--members",
    "1",
    "--quiet",
    "--ma-window",
    "5",
    "--test-start",
    "2012-06-01",
]


def _complete(run_dir) -> bool:
    names = (
        artifacts.MODEL,
        artifacts.MODEL_CARD,
        artifacts.PREDICTIONS,
        artifacts.REPORT,
        artifacts.FORECAST,
        artifacts.PRICES_SNAPSHOT,
    )
    if not all((run_dir / name).is_file() for name in names):
        return False
    artifacts.read_json(run_dir / artifacts.REPORT)
    artifacts.read_parquet(run_dir / artifacts.PREDICTIONS)
    return True


def test_two_runs_at_once_on_one_data_dir_do_not_corrupt_each_other(tmp_path):
    store_sample(tmp_path, ["IBM", "MSFT"])
    commands = [
        [
            sys.executable,
            "-m",
            "forecaster",
            "run",
            "--source",
            "cache",
            "--tickers",
            ticker,
            "--data-dir",
            str(tmp_path),
            *TINY_RUN,
        ]
        for ticker in ("IBM", "MSFT")
    ]
    processes = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for c in commands]
    seen = set()
    while any(p.poll() is None for p in processes):
        # Whatever LATEST points at, at any moment, is a complete run.
        latest = artifacts.latest_run_dir(tmp_path)
        if latest is not None and latest.name not in seen:
            assert _complete(latest)
            seen.add(latest.name)
        time.sleep(0.2)
    outputs = [p.communicate()[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    runs = [d for d in (tmp_path / artifacts.RUNS).iterdir() if d.is_dir()]
    assert len(runs) == 2 and all(_complete(d) for d in runs)
    assert artifacts.latest_run_dir(tmp_path) in runs
    # Each run reports its own ticker, and the price cache both read is what was stored, row for row.
    assert sorted(sorted(report_files.read_report(d)["tickers"]) for d in runs) == [["IBM"], ["MSFT"]]
    reference = tmp_path / "reference"
    store_sample(reference, ["IBM", "MSFT"])
    for ticker in ("IBM", "MSFT"):
        pd.testing.assert_frame_equal(
            cache.read_ticker(tmp_path, ticker).prices, cache.read_ticker(reference, ticker).prices
        )


def test_kill_9_during_a_run_leaves_only_complete_artifacts_and_a_rerun_finishes(spark, tmp_path):
    options = RunOptions(
        source="sample",
        tickers=["IBM"],
        model=TINY_MODEL,
        data_dir=tmp_path,
        verbose=0,
        ma_window=5,
        test_start="2012-06-01",
    )
    good = run(options).run_dir
    command = [
        "-m",
        "forecaster",
        "run",
        "--source",
        "cache",
        "--tickers",
        "IBM",
        "--data-dir",
        str(tmp_path),
        *TINY_RUN,
        "--epochs",
        "3",
    ]
    # Killed while Spark prepares, while Keras trains, and while the artifacts are written (once the report is
    # being written, the model, predictions and scores are already there: the most a kill can leave behind).
    kill_points = [(r"Spark \S+ session", 2.0), (r"fold 1 of 1", 0.5), (artifacts.REPORT, 0.0)]
    for marker, delay in kill_points:
        if marker == artifacts.REPORT:
            marker = new_file(tmp_path, f"{artifacts.RUNS}/*/{marker}")
        attempt = kill_after(command, marker, delay)
        assert attempt.killed, f"finished before the kill point {marker!r} + {delay} s:\n{attempt.output[-2000:]}"
        found = check_data_dir(tmp_path)
        assert found.ok, found.problems
        assert found.run == good.name  # killed before publishing: the good run is still the one readers see
        assert found.cache_files == 1
    assert run(options).run_dir != good
    assert check_data_dir(tmp_path).ok
