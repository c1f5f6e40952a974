"""The daily cycle on real data: import a month at a time, refresh, and the ledger scores what was issued."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecaster import artifacts
from forecaster.config import PROJECT_ROOT
from forecaster.data import cache
from forecaster.data.ingest import import_csv
from forecaster.evaluate import ledger
from forecaster.jobs.refresh import RefreshBusy, exclusive, refresh
from tests.conftest import MONTH_ENDS, TINY_MODEL
from tests.conftest import cut_csv as _cut


def test_refresh_scores_what_was_issued_as_a_hand_computation_does(replay):
    data_dir, csv, results = replay
    actual = csv.assign(Date=pd.to_datetime(csv["Date"])).set_index("Date")["Adj Close"]
    issued = ledger.read_issued(data_dir)
    origins = sorted(f"{d:%Y-%m-%d}" for d in issued["origin_date"].unique())
    assert origins == ["2017-12-29", *MONTH_ENDS]  # the run's forecast, then one per refresh
    scored = ledger.read_scored(data_dir)
    assert len(scored) == 4 * TINY_MODEL.horizon  # every issue but the last has met its outcomes
    for _, row in scored.iterrows():
        truth = actual[row["target_date"]]
        assert row["actual"] == pytest.approx(truth)
        assert row["error"] == pytest.approx(truth - row["lstm"])
        assert row["naive_error"] == pytest.approx(truth - row["origin_price"])  # naive: the origin's close
        assert row["in_80"] == (row["lstm_lo80"] <= truth <= row["lstm_hi80"])
        assert row["in_95"] == (row["lstm_lo95"] <= truth <= row["lstm_hi95"])
    # The first trading days after each origin, from the exchange calendar.
    assert sorted(f"{d:%Y-%m-%d}" for d in scored[scored["step"] == 1]["target_date"]) == [
        "2018-01-02",
        "2018-02-01",
        "2018-03-01",
        "2018-04-02",
    ]

    record = ledger.track_record(data_dir)
    step1 = scored[scored["step"] == 1]
    every = record[(record["step"] == 1) & (record["window"] == "all")].iloc[0]
    assert every["scored"] == 4
    assert every["coverage_80"] == pytest.approx(step1["in_80"].mean())
    ratio = np.sqrt((step1["error"] ** 2).mean()) / np.sqrt((step1["naive_error"] ** 2).mean())
    assert every["rmse_ratio_vs_naive"] == pytest.approx(ratio)

    # Imported tickers are not fetched, and the summary says so; nothing was retrained.
    assert all("import" in r.not_fetched["AAPL"] and not r.failed and r.retrained is None for r in results)
    assert [r.scored for r in results] == [3, 3, 3, 3] and all(r.issued == 3 for r in results)
    assert "1 not fetched (imported: use `import`)" in results[0].summary()


def test_a_second_refresh_with_nothing_new_does_nothing_and_the_same_forecast_is_stored_once(replay):
    data_dir, _, _ = replay
    before = ledger.files(data_dir)
    again = refresh(data_dir, retrain_after=1000)
    assert (again.scored, again.issued) == (0, 0) and ledger.files(data_dir) == before
    run_dir = artifacts.latest_run_dir(data_dir)
    assert ledger.record(data_dir, run_dir, artifacts.read_parquet(run_dir / artifacts.FORECAST)) == 0


def test_one_refresh_at_a_time(replay):
    data_dir, _, _ = replay
    with exclusive(data_dir), pytest.raises(RefreshBusy, match=f"pid {os.getpid()}"):
        refresh(data_dir)


def test_the_track_record_command_prints_json_for_scripts(replay):
    data_dir, _, _ = replay
    done = subprocess.run(
        [sys.executable, "-m", "forecaster", "track-record", "--data-dir", str(data_dir), "--json"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["track_record"]
    assert {r["window"] for r in rows} == {"30d", "90d", "all"} and rows[0]["ticker"] == "AAPL"


def _raw_keys(data_dir: Path, kind: str) -> pd.DataFrame:
    files = sorted((ledger.ledger_dir(data_dir) / kind).glob("*.parquet"))
    if not files:
        return pd.DataFrame(columns=ledger.KEY)
    return pd.concat([artifacts.read_parquet(f)[ledger.KEY] for f in files], ignore_index=True)


@pytest.mark.slow
def test_a_refresh_killed_at_random_moments_loses_and_doubles_nothing(replay, tmp_path):
    data_dir, csv, _ = replay
    work = tmp_path / "data"
    shutil.copytree(data_dir, work)
    # The file ends on 2018-04-30: replay the end of April again, a day at a time, over the ledger the replay left
    # (nine refreshes: the first runs whole, the other eight are killed or finish).
    days = [d for d in csv["Date"] if "2018-04-17" <= d <= "2018-04-27"]
    assert len(days) == 9
    rng = random.Random(7)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    command = [sys.executable, "-m", "forecaster", "refresh", "--data-dir", str(work), "--retrain-after", "1000"]
    kills, took = 0, None
    for day in days:
        import_csv([_cut(csv, day, tmp_path)], work, progress=False)  # one more day: the refresh has work
        before = {kind: set(map(tuple, _raw_keys(work, kind).astype(str).to_numpy())) for kind in ("issued", "scored")}
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if took is None:  # the first refresh runs whole: how long one takes here
            assert process.wait(timeout=300) == 0
            took = time.monotonic() - started
        else:
            time.sleep(rng.uniform(0.05, 1.0) * took)  # anywhere from start-up to the last write
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # the refresh and its Spark JVM, at once
                kills += 1
            process.wait(timeout=30)
        for kind in ("issued", "scored"):
            keys = _raw_keys(work, kind)  # every file readable
            assert not keys.astype(str).duplicated().any(), f"{kind} entries doubled after a kill"
            assert before[kind] <= set(map(tuple, keys.astype(str).to_numpy())), f"{kind} entries lost"
        cache.read_ticker(work, "AAPL")  # the cache readable
    assert kills >= 5, f"only {kills} refreshes were killed mid-way"
    final = subprocess.run(
        [sys.executable, "-m", "forecaster", "refresh", "--data-dir", str(work), "--retrain-after", "1000"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert final.returncode == 0, final.stdout + final.stderr
    assert "refresh ok" in final.stdout
    issued = ledger.read_issued(work)
    assert pd.Timestamp(days[-1]) in set(issued["origin_date"])  # the rerun forecast from the newest day
    print(f"\n{kills} refreshes killed at random moments of a {took:.1f} s refresh; ledger and cache intact")


def test_prices_brought_by_import_score_the_ledger_at_once(replay, tmp_path):
    data_dir, csv, _ = replay
    work = tmp_path / "data"
    shutil.copytree(data_dir, work)
    shutil.rmtree(ledger.ledger_dir(work) / ledger.SCORED)  # as if the outcomes had not been seen yet
    whole = _cut(csv, "2018-04-30", tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "forecaster", "import", "--csv", str(whole), "--data-dir", str(work), "--no-progress"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"{4 * TINY_MODEL.horizon} issued forecasts met their day and were scored" in done.stdout
    assert len(ledger.read_scored(work)) == 4 * TINY_MODEL.horizon
