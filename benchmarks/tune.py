"""Choose hyper-parameters on validation loss only (the test period is never looked at).

    python benchmarks/tune.py [--csv ../shared/data/AAPL.csv] [--test-start 2017-01-01]

Prepares the data once per lookback with Spark, trains every configuration of a small
grid with early stopping, and prints each one's best validation loss (the pinball loss of the
quantile ensemble, averaged over members, steps and quantiles) and training time, best first.
Test windows are not cut, let alone predicted. ``tune_intervals.py`` scores the bands as well.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forecaster.columns import GLOBAL  # noqa: E402
from forecaster.config import ModelConfig  # noqa: E402
from forecaster.data.ingest import import_csv  # noqa: E402
from forecaster.model import training  # noqa: E402
from forecaster.prepare.session import get_spark  # noqa: E402
from forecaster.prepare.table import prepare  # noqa: E402
from forecaster.prepare.windows import load_windows  # noqa: E402

DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "AAPL.csv"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--tickers", nargs="+", default=None, help="tickers of the file to use (default: all)")
    parser.add_argument("--test-start", default="2017-01-01")
    parser.add_argument("--lookbacks", type=int, nargs="+", default=[20, 60])
    parser.add_argument("--units", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--learning-rates", type=float, nargs="+", default=[1e-3, 3e-4])
    parser.add_argument("--members", type=int, default=ModelConfig().members)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    spark = get_spark()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        report = import_csv([args.csv], work, tickers=args.tickers, on_bad_rows="drop", progress=False)
        paths = [work / "prices" / f"{o.ticker}.parquet" for o in report.outcomes]
        for lookback in args.lookbacks:
            base = replace(ModelConfig(), lookback=lookback, epochs=args.epochs)
            prepared = prepare(
                spark,
                paths,
                work / f"prep-{lookback}",
                lookback=lookback,
                horizon=base.horizon,
                test_start=args.test_start,
            )
            train, val = (
                load_windows(prepared.table_path, s, prepared.features, lookback, base.horizon)
                for s in ("train", "val")
            )
            for units, layers, rate in itertools.product(args.units, args.layers, args.learning_rates):
                cfg = replace(base, units=units, layers=layers, learning_rate=rate, members=args.members)
                trained = training.fit(train, val, len(prepared.features), cfg, verbose=0)
                result = trained.results[GLOBAL]
                results.append(
                    (result.best_val_loss, lookback, units, layers, rate, result.best_epoch, result.train_seconds)
                )
                print(
                    f"lookback={lookback} units={units} layers={layers} lr={rate:g}: "
                    f"val_loss={result.best_val_loss:.5f} (epoch {result.best_epoch}, "
                    f"{result.train_seconds:.0f} s)",
                    flush=True,
                )
    print("\nbest first (validation loss only):")
    for loss, lookback, units, layers, rate, epoch, seconds in sorted(results):
        print(
            f"  val_loss={loss:.5f} lookback={lookback} units={units} layers={layers} lr={rate:g} "
            f"best_epoch={epoch} train_s={seconds:.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
