"""Spark preparation: clean prices, add features, label splits by date, scale from train rows.

The output is a long table, one row per ticker and trading day, written as Parquet
partitioned by split, plus per-ticker scaling statistics; numpy cuts it into windows
later (``forecaster.prepare.windows``). How rows are assigned to splits is in
``forecaster.prepare.splits``: no row serves windows of two splits, and the scaling
statistics, computed from train rows only, never see a later row.

Everything runs as Spark built-in expressions over windows partitioned by ticker;
only one small row per ticker (its split bounds) ever reaches the driver.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from forecaster import artifacts, config
from forecaster.columns import CROSS_SECTIONAL, FEATURE_NAMES, feature_column
from forecaster.config import MISSING_POLICIES
from forecaster.errors import DataError
from forecaster.prepare.session import parallelism, write_parquet
from forecaster.prepare.splits import (
    check_test_start,
    compute_bounds,
    default_test_start,
    skip_reasons,
    walk_forward_folds,
)

log = logging.getLogger(__name__)

PRICE_FIELDS = ("open", "high", "low", "close", "adj_close", "volume")


def _moving_average_gap(days: int) -> Callable[[], Column]:
    def expression() -> Column:
        trailing = Window.partitionBy("ticker").orderBy("date").rowsBetween(-(days - 1), 0)
        full = F.count("adj_close").over(trailing) == days  # only complete windows: no partial averages
        return F.when(full, F.log(F.col("adj_close") / F.avg("adj_close").over(trailing)))

    return expression


def _volume_relative(days: int) -> Callable[[], Column]:
    def expression() -> Column:
        trailing = Window.partitionBy("ticker").orderBy("date").rowsBetween(-(days - 1), 0)
        full = F.count("volume").over(trailing) == days
        return F.when(full, F.log1p(F.col("volume")) - F.avg(F.log1p(F.col("volume"))).over(trailing))

    return expression


def _realised_volatility(days: int) -> Callable[[], Column]:
    def expression() -> Column:
        trailing = Window.partitionBy("ticker").orderBy("date").rowsBetween(-(days - 1), 0)
        squared = F.pow(F.col(RETURN), 2)
        full = F.count(squared).over(trailing) == days
        return F.when(full, F.sqrt(F.avg(squared).over(trailing)))

    return expression


def _change_over(days: int) -> Callable[[], Column]:
    def expression() -> Column:
        # The oldest row of the trailing window: ``days`` rows back, or the ticker's first row while its history
        # is shorter (the change over the days there are: the documented fill, so that a long horizon does not
        # take a year of rows from every ticker).
        trailing = Window.partitionBy("ticker").orderBy("date").rowsBetween(-days, 0)
        return F.log(F.col("adj_close") / F.first("adj_close").over(trailing))

    return expression


def _high_gap(days: int) -> Callable[[], Column]:
    def expression() -> Column:
        trailing = Window.partitionBy("ticker").orderBy("date").rowsBetween(-(days - 1), 0)
        return F.log(F.col("adj_close") / F.max("adj_close").over(trailing))  # the days there are, if fewer

    return expression


def _drift(days: int) -> Callable[[], Column]:
    def expression() -> Column:
        trailing = Window.partitionBy("ticker").orderBy("date").rowsBetween(-(days - 1), 0)
        return F.avg(F.col(RETURN)).over(trailing)  # the returns there are, if fewer

    return expression


#: The day's log return of the adjusted close: one column that the return features and the cross-section read.
RETURN = "_return"
#: The trailing days of the volatility that ``volatility_relative`` compares with the market's.
VOLATILITY_DAYS = 20
#: A volatility below this (a price that stood still for the whole window) counts as this, so that its log exists.
VOLATILITY_FLOOR = 1e-6


def _with_market(featured: DataFrame) -> DataFrame:
    """The day's market: the mean log return of the run's tickers that have one that day, each ticker's rank
    among them (0 lowest .. 1 highest, 0.5 on a day with one ticker) and the mean of their trailing volatilities
    (over the days there are, while a ticker's history is shorter than ``VOLATILITY_DAYS``). Only rows of the
    same day: nothing later."""
    trailing = Window.partitionBy("ticker").orderBy("date").rowsBetween(-(VOLATILITY_DAYS - 1), 0)
    measured = F.sqrt(F.avg(F.pow(F.col(RETURN), 2)).over(trailing))  # null on a ticker's first day
    volatility = F.when(measured.isNotNull(), F.greatest(measured, F.lit(VOLATILITY_FLOOR)))
    featured = featured.withColumn("_volatility", volatility)
    day = Window.partitionBy("date")
    # Ranked among the day's returns: the rows without one (a ticker's first day) sort first and are taken off.
    by_return = day.orderBy(F.col(RETURN).asc_nulls_first())
    with_return = F.count(RETURN).over(day)
    rank = F.rank().over(by_return) - (F.count("*").over(day) - with_return)
    position = F.when(with_return > 1, (rank - 1) / (with_return - 1)).otherwise(F.lit(0.5))
    return (
        featured.withColumn("_market_return", F.avg(RETURN).over(day))
        .withColumn("_market_volatility", F.avg("_volatility").over(day))
        .withColumn("_return_rank", F.when(F.col(RETURN).isNotNull(), position))
    )


#: Features by name. Each uses the day's row and earlier rows of the same ticker only, except the
#: ``CROSS_SECTIONAL`` ones, which also use the other tickers' rows of the same day.
FEATURES: dict[str, Callable[[], Column]] = {
    "log_return": lambda: F.col(RETURN),  # the series the target is made of
    "log_adj_close": lambda: F.log(F.col("adj_close")),  # price level (log), z-scored per ticker
    "open_rel": lambda: F.log(F.col("open") / F.col("close")),  # OHLC relative to the close
    "high_rel": lambda: F.log(F.col("high") / F.col("close")),
    "low_rel": lambda: F.log(F.col("low") / F.col("close")),
    "range": lambda: F.log(F.col("high") / F.col("low")),  # the day's range
    "abs_return": lambda: F.abs(F.col(RETURN)),  # the day's move, either way
    "rv_5": _realised_volatility(5),  # realised volatility: root mean squared log return of the last 5 days
    "rv_20": _realised_volatility(20),
    "log_volume": lambda: F.log1p(F.col("volume")),  # volume (log), z-scored per ticker
    "volume_rel_20": _volume_relative(20),  # log volume against its 20-day mean
    "ma_gap_5": _moving_average_gap(5),  # adjusted close against its 5-day moving average
    "ma_gap_20": _moving_average_gap(20),
    "ma_gap_50": _moving_average_gap(50),
    "return_60": _change_over(60),  # log change of the adjusted close over 60 trading days
    "return_120": _change_over(120),
    "return_250": _change_over(250),
    "high_52w_gap": _high_gap(250),  # adjusted close against its highest of the last 250 days (<= 0)
    "drift_250": _drift(250),  # mean daily log return of the last 250 days
    "market_return": lambda: F.col("_market_return"),  # the run's tickers' mean log return that day
    "relative_return": lambda: F.col(RETURN) - F.col("_market_return"),  # the stock's return less the market's
    "return_rank": lambda: F.col("_return_rank"),  # its return's rank among the day's tickers, 0 .. 1
    # log of its trailing volatility over the day's mean of the tickers' trailing volatilities
    "volatility_relative": lambda: F.log(F.col("_volatility") / F.col("_market_volatility")),
}
AVAILABLE_FEATURES = FEATURE_NAMES
if tuple(FEATURES) != FEATURE_NAMES:  # the command line offers FEATURE_NAMES without importing Spark
    raise ImportError(f"forecaster.columns.FEATURE_NAMES must list exactly these features: {tuple(FEATURES)}")
#: The scaling statistics' one file inside the ``scaling`` folder (Spark and pyarrow read the folder).
SCALING_FILE = "part-00000.parquet"
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


def clean_prices(prices: DataFrame, missing: str = "drop") -> DataFrame:
    """Repeated days removed; missing values dropped or forward-filled; non-positive prices dropped.

    No day is invented: only the trading days in the data remain, in order.
    """
    if missing not in MISSING_POLICIES:
        raise DataError(f"missing-value policy must be one of {MISSING_POLICIES}, not {missing!r}")
    cleaned = prices.dropna(subset=["ticker", "date"]).dropDuplicates(["ticker", "date"])
    if missing == "ffill":
        so_far = Window.partitionBy("ticker").orderBy("date").rowsBetween(Window.unboundedPreceding, 0)
        for column in PRICE_FIELDS:
            cleaned = cleaned.withColumn(column, F.last(column, ignorenulls=True).over(so_far))
    cleaned = cleaned.dropna(subset=list(PRICE_FIELDS))
    positive = F.lit(True)
    for column in ["open", "high", "low", "close", "adj_close"]:
        positive = positive & (F.col(column) > 0)
    return cleaned.where(positive & (F.col("volume") >= 0))


def add_features(prices: DataFrame, features: tuple[str, ...]) -> DataFrame:
    """Add the named feature columns, a ``usable`` flag and each usable row's position ``pos``.

    A row is usable when it has a previous day (for the return) and every feature
    (moving averages need their full window). Unusable rows stay, flagged, so a ticker
    with none left is still seen and reported.
    """
    unknown = sorted(set(features) - set(AVAILABLE_FEATURES))
    if unknown:
        raise DataError(f"unknown features {unknown}; available: {list(AVAILABLE_FEATURES)}")
    by_ticker = Window.partitionBy("ticker").orderBy("date")
    featured = prices.withColumn("prev_adj", F.lag("adj_close").over(by_ticker))
    featured = featured.withColumn(RETURN, F.log(F.col("adj_close") / F.col("prev_adj")))
    if set(features) & set(CROSS_SECTIONAL):
        featured = _with_market(featured)
    for name in features:
        featured = featured.withColumn(name, FEATURES[name]())
    usable = F.col("prev_adj").isNotNull()
    for name in features:
        usable = usable & F.col(name).isNotNull()
    featured = featured.withColumn("usable", usable)
    # Position among usable rows: a running count, so unusable rows need no second pass; and the first usable
    # price so far (the random walk with drift's anchor), from earlier rows only.
    so_far = by_ticker.rowsBetween(Window.unboundedPreceding, 0)
    position = F.sum(F.col("usable").cast("int")).over(so_far) - 1
    first = F.first(F.when(F.col("usable"), F.col("adj_close")), ignorenulls=True).over(so_far)
    helpers = ["prev_adj", RETURN, "_volatility", "_market_return", "_market_volatility", "_return_rank"]
    return featured.withColumn("pos", position).withColumn("first_adj", first).drop(*helpers)


def ticker_spans(featured: DataFrame, test_start: str) -> pd.DataFrame:
    """Per ticker, in one Spark job: usable rows ``n``, the position ``a_test`` of the first usable day on or
    after ``test_start``, and the first and last usable days."""
    usable = F.col("usable")
    spans = cast(
        pd.DataFrame,
        featured.groupBy("ticker")
        .agg(
            F.count(F.when(usable, 1)).alias("n"),
            F.min(F.when(usable & (F.col("date") >= F.lit(test_start).cast("date")), F.col("pos"))).alias("a_test"),
            F.min(F.when(usable, F.col("date"))).alias("first_date"),
            F.max(F.when(usable, F.col("date"))).alias("last_date"),
        )
        .toPandas(),
    )
    return spans.sort_values("ticker", ignore_index=True)


def label_splits(featured: DataFrame, bounds: pd.DataFrame, lookback: int, spark: SparkSession) -> DataFrame:
    """Label each row train / val / test (see ``forecaster.prepare.splits``); rows past a fold's end are dropped."""
    columns = ["ticker", "a_val", "a_test"] + (["test_end"] if "test_end" in bounds else [])
    edges = spark.createDataFrame(bounds[columns].astype({c: "int64" for c in columns[1:]}))
    labelled = featured.join(F.broadcast(edges), on="ticker", how="inner")
    if "test_end" in bounds:
        labelled = labelled.where(F.col("pos") < F.col("test_end")).drop("test_end")
    split = (
        F.when(F.col("pos") >= F.col("a_test") - lookback, F.lit("test"))
        .when(F.col("pos") >= F.col("a_val") - lookback, F.lit("val"))
        .otherwise(F.lit("train"))
    )
    return labelled.withColumn("split", split).drop("a_val", "a_test")


def scaling_statistics(labelled: DataFrame, features: tuple[str, ...]) -> DataFrame:
    """Per-ticker mean and standard deviation of every feature (and of log returns), from train rows only."""
    names = list(dict.fromkeys([*features, TARGET_SCALE_FEATURE]))
    aggregates = []
    for name in names:
        aggregates += [F.mean(name).alias(f"{name}_mean"), F.stddev_pop(name).alias(f"{name}_std")]
    stats = labelled.where(F.col("split") == "train").groupBy("ticker").agg(*aggregates)
    for name in names:
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
    keep = ["ticker", "date", "pos", "split", "adj_close", "first_adj", "target_scale", *map(feature_column, features)]
    return scaled.select(*keep)


def prepare(
    spark: SparkSession,
    price_paths: list[Path],
    out_dir: Path,
    *,
    lookback: int,
    horizon: int,
    test_start: str | None = None,
    val_share: float = config.DEFAULT_VAL_SHARE,
    features: tuple[str, ...] = config.DEFAULT_FEATURES,
    missing: str = "drop",
    n_folds: int = 1,
    fold: int = 0,
) -> Prepared:
    """Prepare cached prices for training and write the table and scaling statistics as Parquet.

    With ``n_folds > 1``, the test stretch is cut into expanding-window folds and
    ``fold`` (0-based) is prepared: it trains before its part and tests on it.

    Example:
        >>> prepared = prepare(spark, [Path("data/prices/AAPL.parquet")], Path("/tmp/prep"),
        ...                    lookback=60, horizon=5)  # doctest: +SKIP
    """
    if lookback < 1 or horizon < 1:
        raise DataError(f"lookback and horizon must be at least 1 (got lookback={lookback}, horizon={horizon})")
    prices = clean_prices(spark.read.parquet(*[str(p) for p in price_paths]), missing)
    # Cached: read by the spans, the scaling statistics and the table's write - three jobs, one pass over the files.
    featured = add_features(prices, features).cache()
    if test_start is None:
        days = cast(pd.DataFrame, featured.where(F.col("usable")).select("date").distinct().toPandas())
        dates = days["date"]  # small: one per day
        if dates.empty:
            raise DataError(f"no usable price rows in {len(price_paths)} files ({price_paths[0]} ...)")
        test_start = default_test_start(sorted(dates))
    spans = ticker_spans(featured, test_start)
    if spans["first_date"].isna().all():
        raise DataError(f"no usable price rows in {len(price_paths)} files ({price_paths[0]} ...)")
    check_test_start(test_start, spans["first_date"].dropna().min(), spans["last_date"].dropna().max())
    bounds = compute_bounds(spans, lookback, horizon, val_share)
    vanished = bounds.loc[bounds["n"] == 0, "ticker"].tolist()
    skipped = skip_reasons(bounds, test_start, lookback, horizon, vanished)
    bounds = bounds[~bounds["ticker"].isin(skipped)].reset_index(drop=True)
    if n_folds > 1:
        fold_bounds = walk_forward_folds(bounds, n_folds)[fold]
        bounds = compute_bounds(bounds.assign(a_test=fold_bounds["a_test"]), lookback, horizon, val_share)
        bounds["test_end"] = fold_bounds["test_end"]
    labelled = label_splits(featured.where(F.col("usable")).drop("usable"), bounds, lookback, spark)
    table_path, scaling_path = out_dir / "table", out_dir / "scaling"
    # One row per ticker: collected once, written beside the table and joined back without recomputing it.
    stats = scaling_statistics(labelled, features).toPandas()
    artifacts.write_parquet(scaling_path / SCALING_FILE, stats)
    scaled = (
        apply_scaling(labelled, spark.createDataFrame(stats), features)
        # By ticker, so every core writes; files within a split stay sorted by ticker and position.
        .repartition(parallelism(spark), "ticker")
        .sortWithinPartitions("ticker", "pos")
    )
    write_parquet(scaled.write.mode("overwrite").partitionBy("split"), table_path)
    featured.unpersist()
    log.info("prepared %d tickers (test from %s) into %s", len(bounds), test_start, out_dir)
    return Prepared(table_path, scaling_path, test_start, tuple(features), lookback, horizon, bounds, skipped)
