"""Spark preparation: clean prices, add features, label splits by date, scale from train rows.

The output is a long table, one row per ticker and trading day, that numpy cuts into
windows later (``forecaster.windows``). Splits are contiguous stretches of each
ticker's days, separated so that no window touches two splits::

    position:  0 ........ b_train | a_val-L ... a_val ... m-1 | a_test-L ... a_test ... n-1
    split:     train              | val (L lead-in rows, then  | test (L lead-in rows, then
                                  |      validation targets)   |       test targets)

A window is ``lookback`` input rows ending at its origin ``t`` plus up to ``horizon``
target rows after it, all inside one split. The lead-in rows give the first
validation and test targets their inputs without sharing a row with the split
before, so a train window's target never reaches validation or test rows, and the
scaling statistics, computed from train rows only, never see a later row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from forecaster import config
from forecaster.errors import DataError

log = logging.getLogger(__name__)

#: A ticker needs at least this many train windows and validation windows to be kept.
MIN_TRAIN_WINDOWS = 100
MIN_VAL_WINDOWS = 20

# How each feature is computed from one day's row and the row before it (``prev_adj``).
_FEATURE_EXPRESSIONS = {
    "log_return": lambda: F.log(F.col("adj_close") / F.col("prev_adj")),
    "open_rel": lambda: F.log(F.col("open") / F.col("close")),
    "high_rel": lambda: F.log(F.col("high") / F.col("close")),
    "low_rel": lambda: F.log(F.col("low") / F.col("close")),
    "log_volume": lambda: F.log1p(F.col("volume")),
}
AVAILABLE_FEATURES = tuple(_FEATURE_EXPRESSIONS)
#: The feature whose train standard deviation scales the target (log returns).
TARGET_SCALE_FEATURE = "log_return"


@dataclass(frozen=True)
class Prepared:
    """Where preparation wrote its output and how it cut each ticker."""

    table_path: Path
    scaling_path: Path
    test_start: str  # the requested (or default) first test date, YYYY-MM-DD
    features: tuple[str, ...]
    lookback: int
    horizon: int
    bounds: pd.DataFrame  # one row per kept ticker: n, a_val, a_test, first/last dates
    skipped: dict[str, str]  # ticker -> why it was left out


def feature_column(name: str) -> str:
    """Name of the scaled feature column in the prepared table."""
    return f"x_{name}"


def clean_prices(prices: DataFrame) -> DataFrame:
    """Drop incomplete or non-positive rows and repeated days; keep real trading days only."""
    required = ["open", "high", "low", "close", "adj_close", "volume"]
    cleaned = prices.dropna(subset=["ticker", "date", *required])
    positive = F.lit(True)
    for column in ["open", "high", "low", "close", "adj_close"]:
        positive = positive & (F.col(column) > 0)
    return cleaned.where(positive & (F.col("volume") >= 0)).dropDuplicates(["ticker", "date"])


def add_features(prices: DataFrame, features: tuple[str, ...]) -> DataFrame:
    """Add the named feature columns and each row's position in its ticker's history."""
    unknown = sorted(set(features) - set(AVAILABLE_FEATURES))
    if unknown:
        raise DataError(f"unknown features {unknown}; available: {list(AVAILABLE_FEATURES)}")
    by_ticker = Window.partitionBy("ticker").orderBy("date")
    with_prev = prices.withColumn("prev_adj", F.lag("adj_close").over(by_ticker))
    # The first day has no previous close, so no return: it starts no history.
    with_features = with_prev.where(F.col("prev_adj").isNotNull())
    for name in features:
        with_features = with_features.withColumn(name, _FEATURE_EXPRESSIONS[name]())
    return with_features.withColumn("pos", F.row_number().over(by_ticker) - 1).drop("prev_adj")


def default_test_start(prices: DataFrame) -> str:
    """First date of the last year of trading days (at most ``MAX_TEST_SHARE`` of all days)."""
    dates = prices.select("date").distinct()
    n_dates = dates.count()
    test_days = max(1, min(config.DEFAULT_TEST_DAYS, int(n_dates * config.MAX_TEST_SHARE)))
    first = dates.orderBy(F.desc("date")).limit(test_days).agg(F.min("date")).first()[0]
    return first.isoformat()


def split_bounds(featured: DataFrame, test_start: str, lookback: int, horizon: int,
                 val_share: float) -> pd.DataFrame:
    """Per ticker: rows ``n``, first test position ``a_test``, first validation target ``a_val``.

    Only one small row per ticker reaches the driver.
    """
    bounds = featured.groupBy("ticker").agg(
        F.count("*").alias("n"),
        F.min(F.when(F.col("date") >= F.lit(test_start).cast("date"), F.col("pos"))).alias("a_test"),
        F.min("date").alias("first_date"),
        F.max("date").alias("last_date"),
    ).toPandas()
    pre_test = bounds["a_test"] - lookback  # rows left for train + validation
    n_val_targets = (pre_test * val_share).round()
    bounds["a_val"] = pre_test - n_val_targets
    bounds["train_windows"] = bounds["a_val"] - lookback - (lookback + horizon - 1)
    bounds["val_windows"] = n_val_targets - horizon + 1
    return bounds.sort_values("ticker").reset_index(drop=True)


def _check_bounds(bounds: pd.DataFrame, test_start: str, lookback: int, horizon: int) -> dict[str, str]:
    """Say why each unusable ticker is left out; raise if none is usable."""
    skipped: dict[str, str] = {}
    for row in bounds.itertuples():
        if pd.isna(row.a_test):
            skipped[row.ticker] = f"no trading days on or after the test start {test_start} (last day {row.last_date})"
        elif row.train_windows < MIN_TRAIN_WINDOWS or row.val_windows < MIN_VAL_WINDOWS:
            skipped[row.ticker] = (
                f"only {int(row.a_test)} days before the test start {test_start}: lookback {lookback} and horizon "
                f"{horizon} leave {max(int(row.train_windows), 0)} train and {max(int(row.val_windows), 0)} validation "
                f"windows (needs {MIN_TRAIN_WINDOWS} and {MIN_VAL_WINDOWS})"
            )
    for ticker, why in skipped.items():
        log.warning("skipping %s: %s", ticker, why)
    if len(skipped) == len(bounds):
        details = "; ".join(f"{t}: {why}" for t, why in skipped.items())
        raise DataError(f"no ticker has enough history to train and test on: {details}")
    return skipped


def label_splits(featured: DataFrame, bounds: pd.DataFrame, lookback: int, spark: SparkSession) -> DataFrame:
    """Label each row train / val / test from its position (see the module docstring)."""
    edges = spark.createDataFrame(bounds[["ticker", "a_val", "a_test"]].astype({"a_val": "int64", "a_test": "int64"}))
    joined = featured.join(F.broadcast(edges), on="ticker", how="inner")
    split = (
        F.when(F.col("pos") >= F.col("a_test") - lookback, F.lit("test"))
        .when(F.col("pos") >= F.col("a_val") - lookback, F.lit("val"))
        .otherwise(F.lit("train"))
    )
    return joined.withColumn("split", split).drop("a_val", "a_test")


def scaling_statistics(labelled: DataFrame, features: tuple[str, ...]) -> DataFrame:
    """Per-ticker mean and standard deviation of every feature, from train rows only."""
    aggregates = []
    for name in features:
        aggregates += [F.mean(name).alias(f"{name}_mean"), F.stddev_pop(name).alias(f"{name}_std")]
    stats = labelled.where(F.col("split") == "train").groupBy("ticker").agg(*aggregates)
    for name in features:
        # A constant feature (e.g. volume never reported) would divide by zero.
        std = F.col(f"{name}_std")
        stats = stats.withColumn(f"{name}_std", F.when(std.isNull() | (std == 0), F.lit(1.0)).otherwise(std))
    return stats


def apply_scaling(labelled: DataFrame, stats: DataFrame, features: tuple[str, ...]) -> DataFrame:
    """Add the z-scored ``x_<feature>`` columns and the ticker's ``target_scale``."""
    scaled = labelled.join(F.broadcast(stats), on="ticker", how="inner")
    for name in features:
        scaled = scaled.withColumn(feature_column(name), (F.col(name) - F.col(f"{name}_mean")) / F.col(f"{name}_std"))
    scaled = scaled.withColumn("target_scale", F.col(f"{TARGET_SCALE_FEATURE}_std"))
    keep = ["ticker", "date", "pos", "split", "adj_close", "target_scale", *map(feature_column, features)]
    return scaled.select(*keep)


def prepare(spark: SparkSession, price_paths: list[Path], out_dir: Path, *, lookback: int, horizon: int,
            test_start: str | None = None, val_share: float = config.DEFAULT_VAL_SHARE,
            features: tuple[str, ...] = config.DEFAULT_FEATURES) -> Prepared:
    """Prepare cached prices for training and write the table and scaling statistics as Parquet.

    Example:
        >>> prepared = prepare(spark, [Path("data/prices/AAPL.parquet")], Path("/tmp/prep"),
        ...                    lookback=60, horizon=5)  # doctest: +SKIP
    """
    if lookback < 1 or horizon < 1:
        raise DataError(f"lookback and horizon must be at least 1 (got lookback={lookback}, horizon={horizon})")
    prices = clean_prices(spark.read.parquet(*[str(p) for p in price_paths]))
    featured = add_features(prices, features).cache()
    span = featured.agg(F.min("date"), F.max("date")).first()
    if span[0] is None:
        raise DataError(f"no usable price rows in {[str(p) for p in price_paths]}")
    if test_start is None:
        test_start = default_test_start(featured)
    elif not (span[0].isoformat() < test_start <= span[1].isoformat()):
        raise DataError(f"--test-start {test_start} is outside the data, which runs {span[0]} .. {span[1]}")
    bounds = split_bounds(featured, test_start, lookback, horizon, val_share)
    skipped = _check_bounds(bounds, test_start, lookback, horizon)
    bounds = bounds[~bounds["ticker"].isin(skipped)].reset_index(drop=True)
    labelled = label_splits(featured, bounds, lookback, spark)
    stats = scaling_statistics(labelled, features)
    table_path, scaling_path = out_dir / "table", out_dir / "scaling"
    stats.write.mode("overwrite").parquet(str(scaling_path))
    (apply_scaling(labelled, stats, features)
     .repartition("ticker").sortWithinPartitions("ticker", "pos")
     .write.mode("overwrite").parquet(str(table_path)))
    featured.unpersist()
    log.info("prepared %d tickers (test from %s) into %s", len(bounds), test_start, out_dir)
    return Prepared(table_path, scaling_path, test_start, tuple(features), lookback, horizon, bounds, skipped)
