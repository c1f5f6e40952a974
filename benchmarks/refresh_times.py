"""How long the daily ``refresh`` takes for 20 tickers: with nothing new, and with one new day.

    python benchmarks/refresh_times.py [--tickers 20] [--repeats 3]

Imports the first ``--tickers`` tickers of ``../shared/data/all_stocks_5yr.csv`` cut one trading day before the
file's end, trains a run on them (the defaults, 5 epochs), then times fresh ``python -m forecaster refresh``
processes: with nothing new (the forecast from the last day is already issued), and after importing the last day
(the ledger scores the forecasts for it, and the next forecast is issued: Spark and Keras start). Prints the median
of ``--repeats`` and each run's summary line.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "all_stocks_5yr.csv"


def forecaster(*args: str) -> tuple[float, str]:
    """Run ``python -m forecaster ARGS``; the seconds it took and its last line of output."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "forecaster", *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    return time.perf_counter() - started, done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickers", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    prices = pd.read_csv(SHARED)
    names = sorted(prices["Name"].unique())[: args.tickers]
    prices = prices[prices["Name"].isin(names)]
    last = prices["date"].max()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        before, whole = Path(tmp) / "before.csv", Path(tmp) / "whole.csv"
        prices[prices["date"] < last].to_csv(before, index=False)
        prices.to_csv(whole, index=False)
        forecaster("import", "--csv", str(before), "--data-dir", str(data), "--no-progress")
        seconds, _ = forecaster("run", "--source", "cache", "--data-dir", str(data), "--epochs", "5", "--quiet")
        print(f"run on {len(names)} tickers to the day before {last}: {seconds:.1f} s")
        nothing, new_day = [], []
        for _ in range(args.repeats):
            seconds, line = forecaster("refresh", "--data-dir", str(data))
            nothing.append(seconds)
            print(f"nothing new: {seconds:.1f} s | {line}")
        for _ in range(args.repeats):
            # Back to the day before, with that day's forecast issued again from the ledger's point of view.
            forecaster("import", "--csv", str(before), "--data-dir", str(data), "--no-progress")
            forecaster("refresh", "--data-dir", str(data))
            forecaster("import", "--csv", str(whole), "--data-dir", str(data), "--no-progress")
            seconds, line = forecaster("refresh", "--data-dir", str(data))
            new_day.append(seconds)
            print(f"one new day: {seconds:.1f} s | {line}")
    print(
        f"tickers={len(names)} refresh_nothing_new_s={statistics.median(nothing):.1f} "
        f"refresh_one_new_day_s={statistics.median(new_day):.1f} "
        f"ratio={statistics.median(new_day) / statistics.median(nothing):.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
