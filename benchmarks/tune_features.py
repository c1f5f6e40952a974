"""Which inputs rank stocks? Feature sets compared on validation days only (the test period is never cut).

    python benchmarks/tune_features.py [--csv ../shared/data/all_stocks_5yr.csv] [--sets default long cross both]
                                       [--epochs 10]

Prepares the universe once per feature set with Spark (test start 2017-02-08, as ``benchmarks/sp500.py``),
trains the global model with the defaults of ``ModelConfig`` on the training windows, and prints, on the
validation windows, per set: the best validation loss, and per step the Rank IC across tickers of the model's
median forecast with the realised change (mean over validation origin days, its t-statistic and Newey-West's),
beside the same days' one-day reversal (minus the last day's return), the anchor any ranking signal must beat.

Sets: ``default`` (``config.DEFAULT_FEATURES``), ``long`` (+ ``return_60 return_120 return_250 high_52w_gap
drift_250``), ``cross`` (+ ``market_return relative_return return_rank volatility_relative``), ``both``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecaster.config import DEFAULT_FEATURES, ModelConfig  # noqa: E402
from forecaster.data.ingest import import_csv  # noqa: E402
from forecaster.evaluate import cross_section  # noqa: E402
from forecaster.model import network, training  # noqa: E402
from forecaster.prepare.session import get_spark  # noqa: E402
from forecaster.prepare.table import prepare  # noqa: E402
from forecaster.prepare.windows import Windows, load_windows  # noqa: E402

DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "all_stocks_5yr.csv"
LONG = ("return_60", "return_120", "return_250", "high_52w_gap", "drift_250")
CROSS = ("market_return", "relative_return", "return_rank", "volatility_relative")
SETS = {
    "default": DEFAULT_FEATURES,
    "long": (*DEFAULT_FEATURES, *LONG),
    "cross": (*DEFAULT_FEATURES, *CROSS),
    "both": (*DEFAULT_FEATURES, *LONG, *CROSS),
}


def validation_rank_ic(val: Windows, median: np.ndarray) -> dict[int, dict[str, dict[str, float | None]]]:
    """Per step: the Rank IC summary (``cross_section.summary``) of the model's median (as the ``lstm`` signal)
    and of the one-day reversal (``reversal_1d``) against the realised change, over the validation days."""
    horizon = val.y.shape[1]
    last_two = val.history(2)
    reversal = -(last_two[:, 1] / last_two[:, 0] - 1)
    frames = [
        pd.DataFrame(
            {
                "ticker": val.ticker.astype(str),
                "origin_date": val.origin_date,
                "step": step + 1,
                "realised": val.y[:, step],  # scaled per ticker: the same ranks within a day as the change's ...
                "lstm": median[:, step],  # ... up to each ticker's scale, so both are in price terms below
                "reversal_1d": reversal,
            }
        )
        for step in range(horizon)
    ]
    signals = pd.concat(frames, ignore_index=True)
    scale = np.tile(val.target_scale, horizon)
    signals["realised"] = np.expm1(signals["realised"] * scale)
    signals["lstm"] = np.expm1(signals["lstm"] * scale)
    summary = cross_section.summary(cross_section.daily_ic(signals))
    return {int(step): {s: v["rank_ic"] for s, v in by.items()} for step, by in summary.items()}


def validation_windows(
    csv: Path, sets: list[str], test_start: str, cfg: ModelConfig
) -> Iterator[tuple[str, Any, Windows, Windows]]:
    """Per feature set of ``sets`` (``SETS``' names): ``csv`` imported once, prepared with Spark (test from
    ``test_start``), and its training and validation windows - (name, prepared, train, val). The test period is
    never cut into windows."""
    spark = get_spark()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        report = import_csv([csv], work, on_bad_rows="drop", progress=False)
        paths = [work / "prices" / f"{o.ticker}.parquet" for o in report.outcomes]
        for name in sets:
            prepared = prepare(
                spark,
                paths,
                work / f"prep-{name}",
                lookback=cfg.lookback,
                horizon=cfg.horizon,
                test_start=test_start,
                features=SETS[name],
            )
            train, val = (
                load_windows(prepared.table_path, s, prepared.features, cfg.lookback, cfg.horizon)
                for s in ("train", "val")
            )
            yield name, prepared, train, val


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    parser.add_argument("--test-start", default="2017-02-08")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=ModelConfig().seed)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    cfg = replace(ModelConfig(), epochs=args.epochs, seed=args.seed)
    for name, prepared, train, val in validation_windows(args.csv, args.sets, args.test_start, cfg):
        features = prepared.features
        trained = training.fit(train, val, len(features), cfg, verbose=0)
        result = next(iter(trained.results.values()))
        median = training.predict_scaled(next(iter(trained.models.values())), val)[..., network.MEDIAN]
        print(
            f"{name}: {len(features)} features, {len(prepared.bounds)} tickers, {len(val)} validation windows, "
            f"val_loss={result.best_val_loss:.5f} (epoch {result.best_epoch}, {result.train_seconds:.0f} s)",
            flush=True,
        )
        for step, by_signal in validation_rank_ic(val, median).items():
            parts = [
                f"{signal} {fmt(ic['mean'], '+.4f')} (t {fmt(ic['t'], '.1f')}, NW {fmt(ic['t_nw'], '.1f')})"
                for signal, ic in by_signal.items()
            ]
            print(f"  step {step}, validation Rank IC over {by_signal['lstm']['days']} days: " + ", ".join(parts))
    return 0


def fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


if __name__ == "__main__":
    sys.exit(main())
