"""Spark preparation of the S&P 500 file beside a plain pandas/numpy implementation, and at 10x scale.

    python benchmarks/prepare.py [--csv ../shared/data/all_stocks_5yr.csv]

In one run: imports the file into a temporary cache (not timed), starts Spark and warms
it up on a few tickers (reported as spark_startup_s), then times
1. Spark preparation of every ticker (``forecaster.prepare.table.prepare``),
2. the pandas reference producing the same output (``tests.reference_preparation``),
   including reading the same cache files and writing its Parquet,
checks the two outputs are equal, times Spark on a 10x universe (each ticker copied ten
times with its prices scaled, written as ten times as many cache files), and measures the
peak memory of the training feeder streaming every train window of the 1x output in
batches, in a fresh process. Prints ``spark_over_pandas``, ``scale_10x`` and ``peak_rss_mb``.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forecaster import config  # noqa: E402
from forecaster.data import cache  # noqa: E402
from forecaster.data.ingest import import_csv  # noqa: E402
from forecaster.prepare.session import get_spark  # noqa: E402
from forecaster.prepare.table import prepare  # noqa: E402
from forecaster.prepare.windows import read_prepared  # noqa: E402
from tests.reference_preparation import prepare_pandas  # noqa: E402

DEFAULT_CSV = ROOT.parent / "shared" / "data" / "all_stocks_5yr.csv"
LOOKBACK, HORIZON, TEST_START = 60, 5, "2017-02-08"
FEATURES = config.DEFAULT_FEATURES

_FEEDER = """
import sys, time
sys.path.insert(0, {root!r})
import forecaster, keras
baseline = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
from forecaster.prepare.windows import load_windows, window_dataset
windows = load_windows({table!r}, "train", {features!r}, {lookback}, {horizon})
dataset = window_dataset(windows, batch_size=64, shuffle=True, seed=0)
total = 0
for i in range(len(dataset)):
    x, y = dataset[i]
    total += len(x)
size = total * {lookback} * len({features!r}) * 4 / 2**20
print(total, size, baseline, int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024)
"""


def timed(label: str, fn):
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    print(f"{label}={seconds:.2f}", flush=True)
    return result, seconds


def pandas_prepare(data_dir: Path, tickers: list[str], out: Path) -> None:
    prices = cache.load_cached(data_dir, tickers)
    table, stats, _, _ = prepare_pandas(
        prices,
        lookback=LOOKBACK,
        horizon=HORIZON,
        test_start=TEST_START,
        val_share=config.DEFAULT_VAL_SHARE,
        features=FEATURES,
    )
    out.mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), out / "table.parquet")
    pq.write_table(pa.Table.from_pandas(stats, preserve_index=False), out / "scaling.parquet")
    return table


def scaled_universe(data_dir: Path, out_dir: Path, copies: int) -> list[Path]:
    """``copies`` copies of every cached ticker, prices scaled by a per-copy factor."""
    paths = []
    for ticker in cache.cached_tickers(data_dir):
        prices = cache.read_ticker(data_dir, ticker).prices
        for k in range(copies):
            factor = 1.0 + 0.1 * k
            copy = prices.assign(
                ticker=f"{ticker}.S{k}",
                **{c: prices[c] * factor for c in ["open", "high", "low", "close", "adj_close"]},
            )
            paths.append(cache.write_ticker(out_dir, f"{ticker}.S{k}", copy, "synthetic", "scaled copy"))
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--copies", type=int, default=10, help="size of the scaled universe, in copies")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        import_csv([args.csv], work / "cache", on_bad_rows="drop", progress=False)
        tickers = cache.cached_tickers(work / "cache")
        paths = [cache.prices_path(work / "cache", t) for t in tickers]
        print(f"tickers={len(tickers)}", flush=True)

        def start():
            spark = get_spark()
            prepare(spark, paths[:5], work / "warmup", lookback=LOOKBACK, horizon=HORIZON, test_start=TEST_START)
            return spark

        spark, _ = timed("spark_startup_s", start)
        spark_result, spark_s = timed(
            "spark_s",
            lambda: prepare(spark, paths, work / "spark", lookback=LOOKBACK, horizon=HORIZON, test_start=TEST_START),
        )
        pandas_table, pandas_s = timed("pandas_s", lambda: pandas_prepare(work / "cache", tickers, work / "pandas"))
        print(f"spark_over_pandas={spark_s / pandas_s:.2f}", flush=True)

        spark_table = read_prepared(spark_result.table_path, FEATURES)
        pandas_table = pandas_table.sort_values(["ticker", "pos"], ignore_index=True)
        equal = spark_table["split"].tolist() == pandas_table["split"].tolist() and all(
            np.allclose(spark_table[c], pandas_table[c], rtol=1e-9, atol=1e-12)
            for c in spark_table.columns
            if c.startswith("x_") or c in ("adj_close", "target_scale")
        )
        print(f"outputs_equal={str(equal).lower()} rows={len(spark_table)}", flush=True)

        big_paths = scaled_universe(work / "cache", work / "big", args.copies)
        _, big_s = timed(
            f"spark_{args.copies}x_s",
            lambda: prepare(
                spark, big_paths, work / "spark_big", lookback=LOOKBACK, horizon=HORIZON, test_start=TEST_START
            ),
        )
        print(f"scale_10x={big_s / spark_s:.2f} (rows x{args.copies})", flush=True)
        spark.stop()

        code = _FEEDER.format(
            root=str(ROOT), table=str(spark_result.table_path), features=FEATURES, lookback=LOOKBACK, horizon=HORIZON
        )
        windows, size_mb, baseline, peak = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
        print(f"feeder_windows={windows} materialised_windows_mb={float(size_mb):.0f}")
        print(f"feeder_baseline_rss_mb={float(baseline):.0f} (Python with Keras and JAX imported)")
        print(f"peak_rss_mb={float(peak):.0f}")
        return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
