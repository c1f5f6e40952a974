"""The ``forecast`` job: the next trading days beyond the last cached day, from the latest published run's
model(s), without retraining.

``run`` writes ``forecast.parquet`` for the data it trained on; ``python -m forecaster forecast`` recomputes it
later from the cache (after a ``fetch`` brought new days) with the same model, features and train-only
scaling. Spark computes each ticker's latest scaled rows (the same feature code as ``run``); the one window
per ticker is scored in the driver, which has loaded those models anyway to check them against their card.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from forecaster import artifacts
from forecaster.columns import CROSS_SECTIONAL, RANK_SIGNAL
from forecaster.config import DEFAULT_MA_WINDOW
from forecaster.data import cache
from forecaster.data.sources.schema import validate_ticker
from forecaster.errors import ArtifactError, DataError
from forecaster.evaluate import ledger

if TYPE_CHECKING:
    from forecaster.prepare.windows import Windows

log = logging.getLogger(__name__)


def forecast_latest(
    data_dir: Path, tickers: list[str] | None = None, master: str | None = None, remote: str | None = None
) -> tuple[Path, pd.DataFrame]:
    """Forecast the next trading days for ``tickers`` (default: the run's) from the cache; update the run.

    Returns the run folder and the new forecast rows. Rows of other tickers in the
    run's ``forecast.parquet`` are kept; the file is replaced atomically.

    Example:
        >>> run_dir, frame = forecast_latest(Path("data"), ["AAPL"])  # doctest: +SKIP
    """
    run_dir = artifacts.latest_run_dir(data_dir)
    if run_dir is None:
        raise ArtifactError(f"no published run in {data_dir}: train one first with `python -m forecaster run`")
    card = artifacts.read_json(run_dir / artifacts.MODEL_CARD)
    wanted = [validate_ticker(t) for t in tickers] if tickers else list(card["tickers"])
    unknown = sorted(set(wanted) - set(card["tickers"]))
    if unknown:
        raise DataError(
            f"tickers {unknown} are not in the latest run's model (it knows {card['tickers']}); "
            "train a run that includes them"
        )
    if "baselines" not in card:
        raise ArtifactError(f"{run_dir}: made before quantile forecasts; retrain with `python -m forecaster run`")
    # A damaged or missing cache file stops here, named; the prices also feed GARCH's filter.
    prices = {t: cache.read_ticker(data_dir, t).prices for t in wanted}
    if set(card["features"]) & set(CROSS_SECTIONAL):
        check_universe(data_dir, card, max(prices[t]["date"].max() for t in wanted))
    known = artifacts.read_parquet(run_dir / card["intervals"]["calibration"])
    new_days = {t: int((prices[t]["date"] > pd.Timestamp(card["data_range"][t][1])).sum()) for t in wanted}
    # Spark starts before Keras is imported: JAX's threads would make the JVM's fork unsafe.
    from forecaster.prepare.session import get_spark

    spark = get_spark(master, remote)
    lookback, horizon = int(card["lookback"]), int(card["horizon"])
    with ThreadPoolExecutor(1, thread_name_prefix="forecaster-models") as background:
        # Keras loads (and checks each model against its card) while Spark computes the rows: the two wait on
        # different things, the driver's Python and the JVM.
        loading = background.submit(_load_models, run_dir, card, wanted)
        # The last window, and those whose outcomes arrived since the run: they recalibrate the bands.
        rows = _last_rows(spark, data_dir, run_dir, card, wanted, lookback + max(new_days.values()) + horizon)
        trained = loading.result()
    frame = _forecast(rows, card, wanted, trained, known, prices)
    forecast_path = run_dir / artifacts.FORECAST
    if forecast_path.exists():
        previous = artifacts.read_parquet(forecast_path)
        frame = pd.concat([previous[~previous["ticker"].isin(wanted)], frame], ignore_index=True)
    artifacts.write_parquet(forecast_path, frame.sort_values(["ticker", "step"], ignore_index=True))
    log.info(
        "forecast %d tickers from %s into %s",
        len(wanted),
        pd.Timestamp(frame["origin_date"].max()).date(),
        forecast_path,
    )
    issued = frame[frame["ticker"].isin(wanted)].reset_index(drop=True)
    ledger.record(data_dir, run_dir, issued)
    return run_dir, issued


def _forecast(
    rows: pd.DataFrame,
    card: dict[str, Any],
    tickers: list[str],
    trained: Any,
    known: pd.DataFrame,
    prices: dict[str, pd.DataFrame],
) -> pd.DataFrame:
    """The forecast frame from each ticker's latest rows: the model's quantiles (scored here, in the driver),
    recalibrated with every outcome known by the last day, beside the baselines with their bands."""
    from forecaster.evaluate import backtest, garch
    from forecaster.model import intervals, scoring, training

    last, recent = _last_windows(rows, card, tickers)
    horizon = int(card["horizon"])

    def predict(w: Windows) -> np.ndarray:
        return scoring.predict_windows(trained.models.get, w.x, w.ticker if trained.per_ticker else None, horizon)

    # Calibrated as the run calibrated its backtest (runs before the card named it: one correction for both ends).
    ends = card["intervals"].get("ends", "joint")
    fresh = training.score_frame(recent, predict(recent), ends)
    data_ends = {t: pd.Timestamp(card["data_range"][t][1]) for t in tickers}
    fresh = fresh[fresh["target_date"] > fresh["ticker"].map(data_ends)]
    log.info("bands calibrated with the run's %d known outcomes and %d outcomes since the run", len(known), len(fresh))
    known = pd.concat([known, fresh], ignore_index=True)
    origins = pd.DataFrame({"ticker": last.ticker, "origin_date": last.origin_date})
    outputs = backtest.ModelOutputs(
        predict(last),
        intervals.per_window(trained.shrink, last.ticker, horizon),
        intervals.rolling_corrections(known, origins, ends=ends),
    )
    baselines = card["baselines"]
    variance = np.stack(
        [
            garch.variances(
                prices[t]["adj_close"].to_numpy(np.float64), baselines["garch"][t], horizon, len(prices[t]) - 1
            )[-1]
            if t in baselines["garch"]
            else np.full(horizon, np.nan)
            for t in last.ticker.astype(str)
        ]
    )
    garch_columns = garch.forecasts(last.origin_price, variance, last.ticker, baselines["garch"])
    columns = backtest.price_forecasts(
        last,
        outputs,
        int(card.get("moving_average_window", DEFAULT_MA_WINDOW)),
        baselines["naive_band_quantiles"],
        garch_columns,
    )
    if trained.rank_model is not None:
        # The ranking model's scores, in calls of the executors' batch size: the numbers a run's scoring gives.
        columns[RANK_SIGNAL] = scoring.predict_windows(lambda _: trained.rank_model, last.x, None, horizon)
    return backtest.forecast_beyond(last, columns)


def _load_models(run_dir: Path, card: dict[str, Any], tickers: list[str]) -> Any:
    """The run's models of ``tickers``, each checked against its card's shapes (Keras is imported here)."""
    from forecaster.model import training

    return training.load(run_dir, card, tickers)


def _universe(card: dict[str, Any]) -> list[str]:
    """The tickers the run prepared (its card's ``data``; its modelled tickers in a card without it)."""
    return list(card.get("data") or card["tickers"])


def check_universe(data_dir: Path, card: dict[str, Any], last_day: pd.Timestamp) -> None:
    """A cross-sectional feature is each day's market of the tickers the run prepared: refuse, before Spark
    starts, a cache that lacks some of them, or in which most of them stop before ``last_day`` (the last day to
    forecast from), where a few tickers would stand for the whole market."""
    universe = _universe(card)
    missing = [t for t in universe if not cache.prices_path(data_dir, t).exists()]
    if missing:
        raise DataError(
            f"the model's features {sorted(set(card['features']) & set(CROSS_SECTIONAL))} are computed across the "
            f"run's {len(universe)} tickers, and the cache lacks {len(missing)} of them ({', '.join(missing[:10])}"
            f"{' ...' if len(missing) > 10 else ''}): fetch or import them first"
        )
    ends = {t: pd.Timestamp(cache.read_meta(cache.prices_path(data_dir, t))["last_date"]) for t in universe}
    behind = sorted(t for t, end in ends.items() if end < last_day)
    if len(behind) > len(universe) / 2:
        raise DataError(
            f"{len(behind)} of the run's {len(universe)} tickers have no prices for {last_day:%Y-%m-%d} (e.g. "
            f"{', '.join(behind[:5])}): the model's cross-sectional features need each day's market; refresh "
            "every ticker of the run first (`python -m forecaster refresh`)"
        )


def _last_rows(
    spark: Any, data_dir: Path, run_dir: Path, card: dict[str, Any], tickers: list[str], days: int
) -> pd.DataFrame:
    """Each ticker's last ``days`` usable cached days, scaled with the run's train statistics; one Spark job."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from forecaster.prepare.table import add_features, apply_scaling, clean_prices

    features = tuple(card["features"])
    # A cross-sectional feature is a day's market of the tickers the run prepared, as in training, however few
    # of them are forecast now.
    universe = _universe(card) if set(features) & set(CROSS_SECTIONAL) else tickers
    paths = [str(cache.prices_path(data_dir, t)) for t in universe]
    featured = add_features(clean_prices(spark.read.parquet(*paths), card.get("missing", "drop")), features)
    featured = featured.where(F.col("ticker").isin(tickers))
    latest_first = Window.partitionBy("ticker").orderBy(F.desc("date"))
    recent = (
        featured.where(F.col("usable"))
        .withColumn("rank", F.row_number().over(latest_first))
        .where(F.col("rank") <= days)
        .drop("rank", "usable")
        .withColumn("split", F.lit("test"))
    )
    stats = spark.read.parquet(str(run_dir / card.get("scaling", artifacts.PREPARED_SCALING)))
    return apply_scaling(recent, stats, features).toPandas()  # lookback rows per ticker: small


def _last_windows(table: pd.DataFrame, card: dict[str, Any], tickers: list[str]) -> tuple[Any, Any]:
    """From ``_last_rows``: one window per ticker ending on its last cached day, and every window of those rows
    (their outcomes, where known, recalibrate the bands)."""
    from forecaster.prepare.windows import make_windows

    features, lookback, horizon = tuple(card["features"]), int(card["lookback"]), int(card["horizon"])
    table["date"] = pd.to_datetime(table["date"])
    short = {t: int(n) for t, n in table.groupby("ticker")["date"].size().items() if n < lookback}
    missing = sorted(set(tickers) - set(table["ticker"]))
    if short or missing:
        raise DataError(
            f"the model needs {lookback} usable days per ticker (its card's lookback); too few for {short or missing}"
        )
    table = table.sort_values(["ticker", "date"], ignore_index=True)
    return (
        make_windows(table, "test", features, lookback, horizon, last_only=True),
        make_windows(table, "test", features, lookback, horizon),
    )
