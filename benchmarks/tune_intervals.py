"""Choose the distributional model's settings on validation data only (the test period is never cut).

    python benchmarks/tune_intervals.py [--data aapl sp20 sp500] [--members 1 3 5] [--windows 125 250 500]
        [--learning-rates 1e-4 1e-3] [--batch-sizes 64 256] [--feature-sets default +vol] [--ends per_end joint]

For each data set and feature set (the defaults, and the defaults plus the volatility features ``range
abs_return rv_5 rv_20``) and each ensemble size, trains on the train split with early stopping on the
validation split, then scores the validation split's second half with the online calibration (bands from the
validation outcomes known at each origin, for each calibration window and each way of calibrating a band's ends,
``intervals.ENDS_CHOICES``). Prints, side by side: the validation pinball loss (the model's own loss), the
coverage of the 80% and 95% bands, their interval scores over the naive band's on the same windows, the training
time, and per step the median across tickers of the 80% band's interval score over naive's (what the report's
summary gives on the test period) with its coverage.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forecaster.columns import QUANTILES  # noqa: E402
from forecaster.config import DEFAULT_FEATURES, ModelConfig  # noqa: E402
from forecaster.data.ingest import import_csv  # noqa: E402
from forecaster.evaluate import baselines, metrics  # noqa: E402
from forecaster.model import intervals, training  # noqa: E402
from forecaster.prepare.session import get_spark  # noqa: E402
from forecaster.prepare.table import prepare  # noqa: E402
from forecaster.prepare.windows import load_windows, read_split  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
DATA = {
    "aapl": (SHARED / "AAPL.csv", None, "2017-01-01"),
    "sp20": (
        SHARED / "all_stocks_5yr.csv",
        [
            "AAPL",
            "MSFT",
            "IBM",
            "GE",
            "F",
            "XOM",
            "JPM",
            "T",
            "PFE",
            "KO",
            "PEP",
            "WMT",
            "INTC",
            "CSCO",
            "ORCL",
            "MRK",
            "CVX",
            "BA",
            "MMM",
            "HD",
        ],
        "2017-02-08",
    ),
    "sp500": (SHARED / "all_stocks_5yr.csv", None, "2017-02-08"),
}
VOLATILITY = ("range", "abs_return", "rv_5", "rv_20")


def _validation_scores(val, quantiles: np.ndarray, naive_quantiles, window: int, ends: str) -> dict[str, Any]:
    """Online bands on the second half of validation (calibrated with the outcomes known at each origin)."""
    known = training.score_frame(val, quantiles, "per_end")  # each end's scores: a joint calibration takes the larger
    second = val.origin_date >= np.sort(val.origin_date)[len(val) // 2]
    part = val.subset(second)
    origins = pd.DataFrame({"ticker": part.ticker, "origin_date": part.origin_date})
    corrections = intervals.rolling_corrections(known, origins, window=window, ends=ends)
    bands = intervals.calibrated_bands(quantiles[second], corrections)
    naive = baselines.naive_bands(part, naive_quantiles)
    actual = part.targets()[1]
    out: dict[str, Any] = {}
    for level, (lower, upper) in bands.items():
        lo = intervals.interval_prices(part.origin_price, lower, part.target_scale)
        hi = intervals.interval_prices(part.origin_price, upper, part.target_scale)
        out[f"cov{level}"] = metrics.coverage(actual.ravel(), lo.ravel(), hi.ravel())
        ours = metrics.interval_scores(actual, lo, hi, level)
        theirs = metrics.interval_scores(actual, naive[f"naive_lo{level}"], naive[f"naive_hi{level}"], level)
        out[f"is{level}"] = float(np.nanmean(ours) / np.nanmean(theirs))
        if level == 80:  # per step, the median over tickers of each ticker's ratio, as the report's summary
            mean = lambda values: pd.DataFrame(values).groupby(part.ticker).mean()  # noqa: E731
            by_ticker = mean(ours) / mean(theirs)
            out["median80"] = by_ticker.median().to_numpy()
            out["step_cov80"] = mean((actual >= lo) & (actual <= hi)).median().to_numpy()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", nargs="+", default=list(DATA), choices=list(DATA))
    parser.add_argument("--members", type=int, nargs="+", default=[1, 3, 5])
    parser.add_argument("--windows", type=int, nargs="+", default=[125, 250, 500])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--learning-rates", type=float, nargs="+", default=[ModelConfig().learning_rate])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[ModelConfig().batch_size])
    parser.add_argument("--feature-sets", nargs="+", default=["default", "+vol"], choices=["default", "+vol"])
    parser.add_argument("--ends", nargs="+", default=list(intervals.ENDS_CHOICES), choices=intervals.ENDS_CHOICES)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    spark = get_spark()
    print(
        f"{'data':<6}{'features':<10}{'lr':>7}{'batch':>6}{'K':>3}{'W':>5}{'ends':>8}{'epochs':>7}{'val pinball':>13}"
        f"{'cov80':>7}{'cov95':>7}{'IS80/naive':>11}{'IS95/naive':>11}{'train s':>9}"
        "   median IS80/naive (80% coverage) per step",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.data:
            csv, tickers, test_start = DATA[name]
            work = Path(tmp) / name
            report = import_csv([csv], work, tickers=tickers, on_bad_rows="drop", progress=False)
            paths = [work / "prices" / f"{o.ticker}.parquet" for o in report.outcomes]
            sets = {"default": DEFAULT_FEATURES, "+vol": (*DEFAULT_FEATURES, *VOLATILITY)}
            for label, features in ((k, v) for k, v in sets.items() if k in args.feature_sets):
                cfg = replace(ModelConfig(), epochs=args.epochs)
                prepared = prepare(
                    spark,
                    paths,
                    work / f"prep-{label}",
                    lookback=cfg.lookback,
                    horizon=cfg.horizon,
                    test_start=test_start,
                    features=features,
                )
                train, val = (
                    load_windows(prepared.table_path, s, features, cfg.lookback, cfg.horizon) for s in ("train", "val")
                )
                naive_quantiles = baselines.naive_band_quantiles(
                    read_split(prepared.table_path, "train", features), cfg.horizon
                )
                for members, rate, batch in itertools.product(args.members, args.learning_rates, args.batch_sizes):
                    started = time.perf_counter()
                    trained = training.fit(
                        train,
                        val,
                        len(features),
                        replace(cfg, members=members, learning_rate=rate, batch_size=batch),
                        verbose=0,
                    )
                    seconds = time.perf_counter() - started
                    quantiles = training.predict_scaled(trained.models["global"], val)
                    miss = val.y[..., None] - quantiles  # the ensemble's own validation pinball loss
                    levels = np.asarray(QUANTILES)
                    pinball = float(np.mean(np.maximum(levels * miss, (levels - 1) * miss)))
                    for window, ends in itertools.product(args.windows, args.ends):
                        found = _validation_scores(val, quantiles, naive_quantiles, window, ends)
                        epochs = trained.results["global"].epochs_run
                        steps = " ".join(
                            f"{r:.3f} ({c:.2f})" for r, c in zip(found["median80"], found["step_cov80"], strict=True)
                        )
                        print(
                            f"{name:<6}{label:<10}{rate:>7.0e}{batch:>6}{members:>3}{window:>5}{ends:>8}{epochs:>7}"
                            f"{pinball:>13.5f}{found['cov80']:>7.3f}"
                            f"{found['cov95']:>7.3f}{found['is80']:>11.3f}{found['is95']:>11.3f}{seconds:>9.1f}"
                            f"   {steps}",
                            flush=True,
                        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
