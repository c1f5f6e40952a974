"""Do the bands keep their promise out of time? The LSTM's, naive's constant band and GARCH's, side by side.

    python benchmarks/intervals.py [--sets book crash sp500] [--sp500-tickers N] [--epochs 20]

Runs the real pipeline with the default (validation-chosen) settings on:

- ``book``: AAPL, test from 2017-01-01 (a calm year and a half);
- ``crash``: AAPL, test from 2008-01-01 (trained on 2000-2007; the test holds the 2008 crash and the decade
  after), with the 80% band's coverage per calendar year;
- ``sp500``: the S&P 500 file, test from 2017-02-08 (``--sp500-tickers`` limits it; default: every ticker).

Prints one line per data set and model: coverage of the 80% and 95% bands, their mean width, and their mean
interval score over naive's on the same days (pooled over tickers and steps 1..H; for ``sp500`` the median
over tickers of each ticker's value, and the share of tickers whose interval score beats naive's).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forecaster.columns import LEVELS  # noqa: E402
from forecaster.config import ModelConfig, RunOptions  # noqa: E402
from forecaster.evaluate import metrics  # noqa: E402
from forecaster.jobs.run import run  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
MODELS = ("lstm", "naive", "garch")


def _scores(rows: pd.DataFrame, model: str) -> dict[str, float]:
    actual = rows["actual"].to_numpy()
    out = {}
    for level in LEVELS:
        lo, hi = rows[f"{model}_lo{level}"].to_numpy(), rows[f"{model}_hi{level}"].to_numpy()
        out[f"cov{level}"] = metrics.coverage(actual, lo, hi)
        out[f"width{level}"] = metrics.width(lo, hi)
        out[f"is{level}"] = metrics.interval_score(actual, lo, hi, level)
    return out


def _pooled(predictions: pd.DataFrame, name: str) -> None:
    naive = _scores(predictions, "naive")
    for model in MODELS:
        found = _scores(predictions, model)
        step1 = _scores(predictions[predictions["step"] == 1], model)
        print(
            f"{name:<7}{model:<7}{found['cov80']:>7.3f}{found['cov95']:>7.3f}{found['width80']:>9.2f}"
            f"{found['width95']:>9.2f}{found['is80'] / naive['is80']:>9.3f}{found['is95'] / naive['is95']:>9.3f}"
            f"   step 1: {step1['cov80']:.3f} / {step1['cov95']:.3f}",
            flush=True,
        )


def _by_year(predictions: pd.DataFrame) -> None:
    years = pd.to_datetime(predictions["target_date"]).dt.year
    print("        80% band coverage by calendar year (all steps):")
    print("        " + "".join(f"{y:>7}" for y in sorted(years.unique())), flush=True)
    for model in MODELS:
        per_year = [_scores(predictions[years == y], model)["cov80"] for y in sorted(years.unique())]
        print(f"  {model:<6}" + "".join(f"{c:>7.3f}" for c in per_year), flush=True)


def _per_ticker(predictions: pd.DataFrame, name: str) -> None:
    rows = []
    for ticker, part in predictions.groupby("ticker"):
        naive = _scores(part, "naive")
        for model in MODELS:
            found = _scores(part, model)
            rows.append(
                {
                    "ticker": ticker,
                    "model": model,
                    **{k: found[k] for k in ("cov80", "cov95")},
                    "r80": found["is80"] / naive["is80"],
                    "r95": found["is95"] / naive["is95"],
                }
            )
    table = pd.DataFrame(rows)
    for model in MODELS:
        part = table[table["model"] == model]
        print(
            f"{name:<7}{model:<7}median coverage {part['cov80'].median():.3f} / {part['cov95'].median():.3f}  "
            f"median IS ratio {part['r80'].median():.3f} / {part['r95'].median():.3f}  "
            f"below 1: {np.mean(part['r80'] < 1):.0%} / {np.mean(part['r95'] < 1):.0%} of {len(part)} tickers",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=["book", "crash", "sp500"], choices=["book", "crash", "sp500"])
    parser.add_argument("--sp500-tickers", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=ModelConfig().epochs)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(
        f"{'set':<7}{'model':<7}{'cov80':>7}{'cov95':>7}{'width80':>9}{'width95':>9}{'IS80/nv':>9}{'IS95/nv':>9}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="intervals-") as tmp:
        for name in args.sets:
            cfg = ModelConfig(epochs=args.epochs)
            if name in ("book", "crash"):
                opts = RunOptions(
                    source="csv",
                    csv_paths=[str(SHARED / "AAPL.csv")],
                    model=cfg,
                    verbose=0,
                    test_start="2017-01-01" if name == "book" else "2008-01-01",
                    data_dir=Path(tmp) / name,
                )
            else:
                tickers = None
                if args.sp500_tickers:
                    names = pd.read_csv(SHARED / "all_stocks_5yr.csv", usecols=["Name"])["Name"].unique()
                    tickers = sorted(names)[: args.sp500_tickers]
                opts = RunOptions(
                    source="csv",
                    csv_paths=[str(SHARED / "all_stocks_5yr.csv")],
                    tickers=tickers,
                    on_bad_rows="drop",
                    test_start="2017-02-08",
                    model=cfg,
                    verbose=0,
                    data_dir=Path(tmp) / name,
                )
            result = run(opts)
            predictions = pd.read_parquet(result.run_dir / "predictions.parquet")
            if name == "sp500":
                _per_ticker(predictions, name)
            else:
                _pooled(predictions, name)
            if name == "crash":
                _by_year(predictions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
