"""Faults tried on purpose: runs at once on one data dir, and what a reader sees meanwhile."""

from __future__ import annotations

import subprocess
import sys
import time

from forecaster import artifacts, cache
from forecaster.ingest import store_sample

TINY_RUN = ["--lookback", "20", "--horizon", "2", "--epochs", "1", "--units", "4", "--layers", "1", "--quiet",
            "--ma-window", "5", "--test-start", "2012-06-01"]


def _complete(run_dir) -> bool:
    names = (artifacts.MODEL, artifacts.MODEL_CARD, artifacts.PREDICTIONS, artifacts.REPORT, artifacts.FORECAST,
             artifacts.PRICES_SNAPSHOT)
    if not all((run_dir / name).is_file() for name in names):
        return False
    artifacts.read_json(run_dir / artifacts.REPORT)
    artifacts.read_parquet(run_dir / artifacts.PREDICTIONS)
    return True


def test_two_runs_at_once_on_one_data_dir_do_not_corrupt_each_other(tmp_path):
    store_sample(tmp_path, ["IBM", "MSFT"])
    commands = [[sys.executable, "-m", "forecaster", "run", "--source", "cache", "--tickers", ticker,
                 "--data-dir", str(tmp_path), *TINY_RUN] for ticker in ("IBM", "MSFT")]
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
    assert {e.ticker for e in map(lambda t: cache.read_ticker(tmp_path, t), ["IBM", "MSFT"])} == {"IBM", "MSFT"}
