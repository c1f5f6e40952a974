"""The book's AAPL case: train < 2017, test 2017-01-03 .. 2018-04-30, LSTM beside naive.

    python benchmarks/book_split.py [--csv ../shared/data/AAPL.csv] [--seeds 1 2 3]

Runs the real pipeline once per seed (default settings otherwise) and prints, per seed and
step, the RMSE of the LSTM and of each baseline, the LSTM's ratio to naive, its directional
accuracy and interval coverage, then the mean ratio per step over the seeds.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecaster.config import ModelConfig  # noqa: E402
from forecaster.jobs.run import RunOptions, run  # noqa: E402

DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "AAPL.csv"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--test-start", default="2017-01-01")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    ratios: dict[str, list[float]] = {}
    print(
        "seed step  lstm_rmse naive_rmse drift_rmse  ma_rmse garch_rmse  ratio  lstm_dir  cov80  cov95 IS80/nv IS95/nv"
    )
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as data_dir:
            opts = RunOptions(
                source="csv",
                csv_paths=[str(args.csv)],
                test_start=args.test_start,
                model=replace(ModelConfig(), seed=seed),
                data_dir=Path(data_dir),
                verbose=0,
            )
            report = run(opts).report
        for step, by_model in report["tickers"]["AAPL"]["metrics"].items():
            lstm, naive = by_model["lstm"]["rmse"], by_model["naive"]["rmse"]
            drift, ma = by_model["drift"]["rmse"], by_model["moving_average"]["rmse"]
            garch = by_model["garch"]["rmse"]
            entry = by_model["lstm"]
            ratios.setdefault(step, []).append(lstm / naive)
            is_ratio = {
                level: entry[f"interval_score_{level}"] / by_model["naive"][f"interval_score_{level}"]
                for level in (80, 95)
            }
            print(
                f"{seed:>4} {step:>4} {lstm:>10.4f} {naive:>10.4f} {drift:>10.4f} {ma:>8.4f} {garch:>10.4f}"
                f" {lstm / naive:>6.3f} {entry['directional_accuracy'] or 0:>9.3f} {entry['coverage_80']:>6.3f}"
                f" {entry['coverage_95']:>6.3f} {is_ratio[80]:>7.3f} {is_ratio[95]:>7.3f}",
                flush=True,
            )
    for step, values in ratios.items():
        print(f"mean_ratio_step_{step}={sum(values) / len(values):.4f} max={max(values):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
