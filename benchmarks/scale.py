"""Scale-out on a real Spark standalone cluster (tests/cluster.py, 127.0.0.1): per-ticker training of the
same tickers with one worker of one core, then with two workers of one core each, side by side; and
distributed scoring of the backtest windows with ``predict_batch_udf``.

    python benchmarks/scale.py [--tickers 40] [--epochs 3]

Prints ``speedup_2_workers=<t(1 worker) / t(2 workers)>`` (goal >= 1.7 on a 2-core machine: per-ticker
work is embarrassingly parallel), ``predict_rows_per_s=<windows scored per second>`` with one model for
every ticker, and ``predict_rows_per_s_per_ticker_models`` with each ticker's own model. Worker k is
pinned to core k (``taskset``) and each executor's XLA held to one thread (``XLA_FLAGS``), so a task
uses the one core Spark gives it; without that, the one-worker case would quietly use both cores. Both
configurations first train two tickers untimed, so that starting executors and importing Keras in their
Python workers are not timed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from forecaster import cli, config  # noqa: E402
from forecaster.config import ModelConfig  # noqa: E402
from tests.cluster import LocalCluster  # noqa: E402
from tests.conftest import SP500_CSV  # noqa: E402

ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def prepare(data_dir: Path, tickers: list[str], cfg: ModelConfig) -> Path:
    """Import and prepare ``tickers`` (local mode); the prepared table's folder."""
    assert (
        cli.main(
            [
                "import",
                "--csv",
                str(SP500_CSV),
                "--tickers",
                *tickers,
                "--on-bad-rows",
                "drop",
                "--data-dir",
                str(data_dir),
                "--no-progress",
            ]
        )
        == 0
    )
    assert (
        cli.main(
            [
                "prepare",
                "--tickers",
                *tickers,
                "--lookback",
                str(cfg.lookback),
                "--horizon",
                str(cfg.horizon),
                "--data-dir",
                str(data_dir),
            ]
        )
        == 0
    )
    from forecaster import artifacts

    return artifacts.latest_run_dir(data_dir, artifacts.PREPARED)


def time_training(
    workers: int, prepared: Path, run_dir: Path, cfg: ModelConfig, tickers: list[str]
) -> tuple[float, int, tuple[int, float] | None]:
    """Seconds of the Spark job that trains every ticker's model on a fresh cluster of ``workers`` one-core
    workers, the models trained, and (two workers) the scoring measurement."""
    from pyspark.sql import SparkSession

    from forecaster.model import per_ticker
    from forecaster.prepare.session import get_spark

    features = tuple(config.DEFAULT_FEATURES)
    with LocalCluster(workers=workers, cores=1, executor_env={"XLA_FLAGS": ONE_THREAD}, pin_cores=True) as cluster:
        active = SparkSession.getActiveSession()
        if active is not None:
            active.stop()
        spark = get_spark(master=cluster.master_url)
        table = prepared / "table"
        per_ticker.train_on_executors(spark, table, run_dir / f"warm-{workers}", features, cfg, tickers[:2])
        started = time.perf_counter()
        results = per_ticker.train_on_executors(spark, table, run_dir / f"workers-{workers}", features, cfg, tickers)
        seconds = time.perf_counter() - started
        scoring = score(spark, prepared, run_dir / f"workers-{workers}", cfg) if workers == 2 else None
        spark.stop()
    print(
        f"{workers} worker(s): mean training seconds per model inside its task {results['train_seconds'].mean():.2f}",
        flush=True,
    )
    return seconds, int((results["status"] == "ok").sum()), scoring


def score(spark, prepared: Path, run_dir: Path, cfg: ModelConfig) -> dict[str, tuple[int, float]]:
    """Windows scored and seconds on the cluster, for every test window: with one model for all tickers
    (as after global training), and with each ticker's own model (as after ``--per-ticker``)."""
    from forecaster import artifacts
    from forecaster.model import scoring

    models = {path.stem: path for path in sorted((run_dir / "models").glob("[!.]*.keras"))}
    timings = {}
    for name, files in (("one_model", {"global": next(iter(models.values()))}), ("per_ticker_models", models)):
        started = time.perf_counter()
        scoring.score_split_to(
            spark,
            prepared / "table",
            files,
            tuple(config.DEFAULT_FEATURES),
            cfg.lookback,
            cfg.horizon,
            run_dir / f"scored-{name}",
        )
        timings[name] = (len(artifacts.read_parquet(run_dir / f"scored-{name}")), time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickers", type=int, default=40, help="S&P tickers, one model each")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per model (early stopping may end sooner)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cfg = ModelConfig(epochs=args.epochs, patience=args.epochs)
    names = sorted(pd.read_csv(SP500_CSV, usecols=["Name"])["Name"].unique())[: args.tickers]
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        prepared = prepare(Path(tmp) / "data", names, cfg)
        one, n_one, _ = time_training(1, prepared, Path(tmp) / "runs", cfg, names)
        two, n_two, scored = time_training(2, prepared, Path(tmp) / "runs", cfg, names)
    print(f"tickers={args.tickers} models_1_worker={n_one} models_2_workers={n_two} epochs<={args.epochs}")
    print(f"seconds_1_worker={one:.1f} seconds_2_workers={two:.1f}")
    print(f"speedup_2_workers={one / two:.2f}")
    rows, seconds = scored["one_model"]
    print(f"predict_rows={rows} predict_seconds={seconds:.1f} predict_rows_per_s={rows / seconds:.0f}")
    rows, seconds = scored["per_ticker_models"]
    print(f"per-ticker models: predict_seconds={seconds:.1f} predict_rows_per_s_per_ticker_models={rows / seconds:.0f}")


if __name__ == "__main__":
    main()
